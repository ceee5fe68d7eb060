/**
 * The soak itself, run by `npm run bench -- soak` in a process of its own with
 * the heap limit `npm start` uses (bench/soak.ts): millions of orders through
 * their whole life on the engine clock, compressed, against one engine on the
 * embedded store (or PostgreSQL), with the outbox pump's part played here.
 *
 * Each order (1 to 3 lines, paid) is placed, and then, in engine time: 2% are
 * cancelled after 5 minutes; every shipment is accepted after 10 minutes,
 * picked after an hour (5% short: a line picked at 0, routed again, and the
 * new shipment worked the same way), packed, shipped after 4 hours and
 * delivered 2 days later; 4% of delivered orders ask to return a line 7 days
 * later, received and restocked 3 days after that. One order in four comes
 * after a cart hold that is left to expire. The clock moves by one
 * day / --orders-per-day per order placed, so an order's later steps find it
 * long gone from memory (loaded back by the prefetch step).
 *
 * Every 250,000 orders the load pauses, the heap is measured after a full
 * collection, and the load resumes (the pause is not counted in the loop
 * figures). At the end the engine is closed and opened again (reopenMs).
 * Prints one JSON object on its last line.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import { Engine, loadConfig, openJournalStore, Queries as Q, route, TimerHeap, tuneGarbageCollection, type Command, type JournalLocation, type Reply } from "../engine/index.ts"
import { freshDatabase } from "../engine/testing/postgres.ts"
import { parseOptions } from "./options.ts"
import { percentile, round } from "./report.ts"
import { options } from "./soak-options.ts"
import { workload } from "./workload.ts"

// collected as the engine's own processes are (engine/runtime/gc-tuning.ts)
tuneGarbageCollection()
const o = parseOptions(options, process.argv.slice(2)).values
const target = o.orders
const ordersPerDay = o["orders-per-day"]
const inFlightMax = o["in-flight"]
const markEvery = o["mark-every"]
const usePostgres = o.store === "postgres"

const minute = 60_000
const hour = 60 * minute
const day = 24 * hour
const gc = () => (globalThis as { gc?: () => void }).gc?.()
const heapMB = () => round(process.memoryUsage().heapUsed / 2 ** 20, 1)

/** One later step of an order, due at a time on the engine clock. */
type Step =
  | { readonly k: "cancel"; readonly orderId: string }
  | { readonly k: "accept" | "pack" | "ship" | "deliver"; readonly orderId: string; readonly shipmentId: string; readonly nodeId: string }
  | { readonly k: "pick"; readonly orderId: string; readonly shipmentId: string; readonly nodeId: string; readonly short: number }
  | { readonly k: "return"; readonly orderId: string; readonly lineNo: number }
  | { readonly k: "receive"; readonly orderId: string; readonly returnId: string; readonly lineNo: number; readonly nodeId: string }

const dir = mkdtempSync(join(tmpdir(), "oms-soak-"))
let location: JournalLocation = { backend: "embedded", dataDir: join(dir, "data") }
let dropDatabase = async () => {}
if (usePostgres) {
  const db = await freshDatabase()
  dropDatabase = db.drop
  location = { backend: "postgres", url: db.url }
}

const w = workload({ nodes: 50, skus: 2_000, stockPerPool: 1_000_000, seed: 7 })
const config = loadConfig({}, process.env)
const clock = { t: Date.UTC(2026, 10, 1) }
const batchMs: Array<number> = []
let { store, close: closeStore } = await openJournalStore(location)
const open = () => Engine.open({
  store, config, router: route, clock: () => clock.t,
  onBatch: (ms, commands) => {
    if (commands > 0) batchMs.push(ms)
  }
})
let engine = await open()
for (const c of [...w.setup, ...w.loads]) {
  const r = await engine.submit(c)
  if (!r.ok) throw new Error(`${c.type}: ${r.code} ${r.message}`)
}
gc()
const heapStartMB = heapMB()

const steps = new TimerHeap<Step>()
const random = w.random
let placed = 0
let answered = 0
let refused = 0
const refusals = new Map<string, number>()
let inFlight = 0
const marks: Array<{ orders: number; heapMB: number; residentOrders: number; rssMB: number; seconds: number }> = []

const schedule = (at: number, step: Step) => steps.push(at, step)

const newOrder = (): Command => {
  const lines = new Set<string>()
  const n = 1 + Math.floor(random() * 3)
  while (lines.size < n) lines.add(w.nextSku())
  return {
    type: "order.place", channel: "web", externalId: `S-${placed}`, payment: "authorised",
    lines: [...lines].map((sku) => ({ sku, qty: 1, unitPriceCents: 2_500 })), customer: { location: w.nextCustomer() }
  }
}

const onReply = (step: Step | undefined, r: Reply) => {
  answered++
  if (!r.ok) {
    refused++
    refusals.set(r.code, (refusals.get(r.code) ?? 0) + 1)
    return
  }
  const o = r.order
  if (o === undefined) return
  const now = clock.t
  if (step === undefined) {
    if (random() < 0.02) return schedule(now + 5 * minute, { k: "cancel", orderId: o.orderId })
    for (const s of o.shipments) schedule(now + 10 * minute, { k: "accept", orderId: o.orderId, shipmentId: s.shipmentId, nodeId: s.nodeId })
    return
  }
  switch (step.k) {
    case "accept":
      return schedule(now + hour, { ...step, k: "pick", short: random() < 0.05 ? 1 : 0 })
    case "pick": {
      const s = o.shipments.find((x) => x.shipmentId === step.shipmentId)
      if (s !== undefined && s.status === "picked") schedule(now + hour, { ...step, k: "pack" })
      // a short pick routes the missing units again: the new shipments are worked the same way
      for (const x of o.shipments) {
        if (x.status === "routed" && x.shipmentId !== step.shipmentId) schedule(now + 10 * minute, { k: "accept", orderId: o.orderId, shipmentId: x.shipmentId, nodeId: x.nodeId })
      }
      return
    }
    case "pack":
      return schedule(now + 2 * hour, { ...step, k: "ship" })
    case "ship":
      return schedule(now + 2 * day, { ...step, k: "deliver" })
    case "deliver":
      if (o.status === "delivered" && random() < 0.04) schedule(now + 7 * day, { k: "return", orderId: o.orderId, lineNo: o.lines[0].lineNo })
      return
    case "return": {
      const ret = o.returns[o.returns.length - 1]
      const nodeId = o.shipments.find((s) => s.status === "delivered")?.nodeId ?? w.nodeIds[0]
      if (ret !== undefined) schedule(now + 3 * day, { k: "receive", orderId: o.orderId, returnId: ret.returnId, lineNo: step.lineNo, nodeId })
      return
    }
  }
}

const commandOf = (step: Step): Command => {
  switch (step.k) {
    case "cancel": return { type: "order.cancel", orderId: step.orderId, reason: "customer changed their mind" }
    case "accept": return { type: "shipment.accept", orderId: step.orderId, shipmentId: step.shipmentId, nodeId: step.nodeId }
    case "pick": {
      const lines = step.short > 0 ? [{ lineNo: 1, qty: 0 }] : undefined
      return { type: "shipment.pick", orderId: step.orderId, shipmentId: step.shipmentId, nodeId: step.nodeId, ...(lines ? { lines } : {}) }
    }
    case "pack": return { type: "shipment.pack", orderId: step.orderId, shipmentId: step.shipmentId, nodeId: step.nodeId }
    case "ship": return { type: "shipment.ship", orderId: step.orderId, shipmentId: step.shipmentId, nodeId: step.nodeId, carrier: "ups", trackingId: `1Z${step.shipmentId}` }
    case "deliver": return { type: "shipment.deliver", orderId: step.orderId, shipmentId: step.shipmentId, nodeId: step.nodeId }
    case "return": return { type: "return.request", orderId: step.orderId, lines: [{ lineNo: step.lineNo, qty: 1 }], reason: "did not fit" }
    case "receive": return {
      type: "return.receive", orderId: step.orderId, returnId: step.returnId, nodeId: step.nodeId,
      lines: [{ lineNo: step.lineNo, qty: 1, disposition: "restock" }]
    }
  }
}

/** The closed loop's next step, called when a command comes back (set by drive). */
let wake = () => {}

/**
 * The outbox pump's part: notifications reported delivered (orders with pending ones stay in memory), as the
 * gateway's pump reports them (gateway/outbox-pump.ts): commands of at most reportIdsMax ids, sent together,
 * one round of them at a time.
 */
const reportIdsMax = 500
const reportsPerRound = 10
let pumping = false
const pump = () => {
  // one round at a time: a second one would name the same notifications
  if (pumping) return
  const ids = Q.outbox(engine.view, reportIdsMax * reportsPerRound).map((n) => n.id)
  if (ids.length === 0) return
  pumping = true
  const reports: Array<Promise<void>> = []
  for (let i = 0; i < ids.length; i += reportIdsMax) {
    inFlight++
    reports.push(engine.submit({ type: "notifications.delivered", ids: ids.slice(i, i + reportIdsMax) }).then((r) => {
      inFlight--
      if (!r.ok) refusals.set(`pump:${r.code}`, (refusals.get(`pump:${r.code}`) ?? 0) + 1)
    }))
  }
  void Promise.all(reports).then(() => {
    pumping = false
    // a full round: more are waiting
    if (ids.length === reportIdsMax * reportsPerRound) pump()
    wake()
  })
}

const loop = monitorEventLoopDelay({ resolution: 5 })
// the collector's pauses, apart (a loop pause is the engine's work or the collector's); the marks' own collections are not counted
let gcPauseMaxMs = 0
let gcPauseMs = 0
/** The marks' windows (performance.now() times): their own collections are not the load's. */
const markWindows: Array<readonly [number, number]> = []
let markStarted = 0
const gcPauses: Array<number> = []
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (markWindows.some(([from, to]) => e.startTime >= from && e.startTime <= to) || e.startTime >= markStarted && markStarted > 0) continue
    gcPauseMs += e.duration
    gcPauses.push(e.duration)
    if (e.duration > gcPauseMaxMs) gcPauseMaxMs = e.duration
  }
}).observe({ entryTypes: ["gc"] })
let loopPauseMaxMs = 0
let loadMs = 0

/** Runs the closed loop until `until` orders are placed (and, with drain, until no step is left). */
const drive = (until: number, drain: boolean) =>
  new Promise<void>((done) => {
    let lastPump = 0
    let pumpedAt = answered
    const launch = () => {
      while (inFlight < inFlightMax) {
        let step: Step | undefined
        let c: Command
        if (steps.peekTime() <= clock.t) {
          step = steps.pop()
          c = commandOf(step)
        } else if (placed < until) {
          clock.t += Math.round(day / ordersPerDay)
          if (placed % 4 === 0) {
            inFlight++
            void engine.submit({ type: "hold.create", channel: "web", sku: w.nextSku(), qty: 1, location: w.nextCustomer(), ttlMs: 15 * minute })
              .then(() => { inFlight--; launch() })
          }
          c = newOrder()
          placed++
        } else if (drain && steps.size > 0) {
          clock.t = Math.max(clock.t, steps.peekTime())
          continue
        } else break
        inFlight++
        const s = step
        void engine.submit(c).then((r) => {
          inFlight--
          onReply(s, r)
          // the pump reports up to reportIdsMax notifications at a time (one report in flight), every 100 orders placed, and every 500 answers while steps drain without new orders
          if (placed - lastPump >= 100 || answered - pumpedAt >= 500 || (placed >= until && steps.size === 0)) {
            lastPump = placed
            pumpedAt = answered
            pump()
          }
          launch()
        })
      }
      if (inFlight === 0 && placed >= until && (!drain || steps.size === 0)) done()
    }
    wake = launch
    launch()
  })

const started = performance.now()
const watchdog = setInterval(() => {
  const st = engine.stats()
  console.error(`soak: … ${placed} placed, ${answered} answered, ${inFlight} in flight, ${steps.size} steps waiting, engine ${st.state}, mailbox ${st.mailbox}, ${st.orders} in memory, ${st.orderLoads} loads`)
}, 10_000)
watchdog.unref()
loop.enable()
for (let mark = markEvery; ; mark += markEvery) {
  const until = Math.min(mark, target)
  const t0 = performance.now()
  await drive(until, until === target)
  // the mark's own work (a flush stores every change at once, a full collection) is not the loop's
  loopPauseMaxMs = Math.max(loopPauseMaxMs, loop.max / 1e6)
  loop.disable()
  markStarted = performance.now()
  await engine.flush()
  loadMs += performance.now() - t0 // the flush stores what the load changed: its time counts for the rate
  gc()
  gc()
  const stats = engine.stats()
  marks.push({ orders: placed, heapMB: heapMB(), residentOrders: stats.orders, rssMB: round(process.memoryUsage().rss / 2 ** 20, 0), seconds: round((performance.now() - started) / 1000, 1) })
  console.error(`soak: ${placed.toLocaleString("en-US")} orders, heap ${marks[marks.length - 1].heapMB} MB, ${stats.orders} in memory, ${stats.ordersLoaded} loaded, ${round(placed / (loadMs / 1000), 0)} orders/s`)
  if (until === target) break
  markWindows.push([markStarted, performance.now()])
  markStarted = 0
  loop.reset()
  loop.enable()
}
loop.disable()
const final = engine.stats()
const snapshotPauseMaxMs = final.snapshotPauseMaxMs
await engine.close()
const reopenStarted = performance.now()
engine = await open()
const reopenMs = performance.now() - reopenStarted
const reopened = engine.stats()
await engine.close()
await closeStore()
await dropDatabase()
rmSync(dir, { recursive: true, force: true })

const at = (n: number) => marks.reduce((best, m) => (Math.abs(m.orders - n) < Math.abs(best.orders - n) ? m : best), marks[0])
const figures = {
  orders: placed,
  commands: answered,
  refused: Object.fromEntries(refusals),
  ordersPerSec: round(placed / (loadMs / 1000), 0),
  commandsPerSec: round(answered / (loadMs / 1000), 0),
  heapStartMB,
  heapEndMB: marks[marks.length - 1].heapMB,
  heapAt1MMB: at(1_000_000).heapMB,
  heapGrowthFrom1MPct: round((marks[marks.length - 1].heapMB / at(1_000_000).heapMB - 1) * 100, 1),
  heapMarks: marks,
  residentOrders: final.orders,
  ordersResidentMax: config.ordersResidentMax,
  ordersLoaded: final.ordersLoaded,
  orderLoads: final.orderLoads,
  orderVersionsStored: final.orderVersionsStored,
  snapshots: final.snapshots,
  loopPauseMaxMs: round(loopPauseMaxMs, 1),
  gcPauseMaxMs: round(gcPauseMaxMs, 1),
  gcPauseP999Ms: round(percentile(gcPauses, 99.9), 1),
  gcShareOfLoadPct: round((gcPauseMs / loadMs) * 100, 1),
  batchP50Ms: round(percentile(batchMs, 50), 2),
  batchP999Ms: round(percentile(batchMs, 99.9), 2),
  batchMaxMs: round(percentile(batchMs, 100), 2),
  snapshotPauseMaxMs: round(snapshotPauseMaxMs, 2),
  reopenMs: round(reopenMs, 0),
  reopenedResidentOrders: reopened.orders,
  store: usePostgres ? "PostgreSQL" : "embedded PGlite",
  heapLimitMB: round(((await import("node:v8")).getHeapStatistics().heap_size_limit) / 2 ** 20, 0)
}
console.log(JSON.stringify(figures))
process.exit(0)
