/**
 * `npm run bench -- engine`: the engine in one process on the embedded store
 * with group commit, on a Zipf-skewed catalog over 50 nodes at real cities.
 *
 * 1. reservations: single-line holds, closed loop, every one durably acknowledged;
 * 2. orders: three-line paid orders, routed and allocated;
 * 3. latency: an open loop at half the measured reservation rate, p50/p99 from submit to durable ack;
 * 4. memory: heap per idle pool with 1,000,000 pools;
 * 5. recovery: reopening on 1,000,000 pools and 5,000,000 journal events, by replay and from a snapshot.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Engine, loadConfig, openJournalStore, route, type Command, type EngineConfig, type JournalLocation } from "../engine/index.ts"
import { freshDatabase } from "../engine/testing/postgres.ts"
import { parseOptions, storeOption } from "./options.ts"
import { percentile, round, type BenchResult } from "./report.ts"
import { workload, type Workload } from "./workload.ts"

let usePostgres = false

const gc = () => (globalThis as { gc?: () => void }).gc?.()

interface Opened {
  engine: Engine
  close(): Promise<void>
}

/** `--store postgres` runs on a fresh database of the local PostgreSQL (DATABASE_URL) instead of the embedded store. */
let postgresUrls = new Map<string, string>()
const dropDatabases: Array<() => Promise<void>> = []

const open = async (dataDir: string, config: Partial<EngineConfig> = {}): Promise<Opened> => {
  let location: JournalLocation = { backend: "embedded", dataDir }
  if (usePostgres) {
    let url = postgresUrls.get(dataDir)
    if (url === undefined) {
      const db = await freshDatabase()
      dropDatabases.push(db.drop)
      postgresUrls.set(dataDir, (url = db.url))
    }
    location = { backend: "postgres", url }
  }
  const { store, close } = await openJournalStore(location)
  const engine = await Engine.open({ store, config: loadConfig({ holdTtlMsDefault: 3_600_000, ...config }, {}), router: route })
  return { engine, close: async () => { await engine.close(); await close() } }
}

const setUp = async (engine: Engine, w: Workload) => {
  for (const c of [...w.setup, ...w.loads]) {
    const r = await engine.submit(c)
    if (!r.ok) throw new Error(`${c.type}: ${r.code} ${r.message}`)
  }
}

/** Keeps `inFlight` commands outstanding for `durationMs`; returns acks per second and latencies. */
const closedLoop = async (engine: Engine, next: () => Command, inFlight: number, durationMs: number) => {
  let ok = 0
  let refused = 0
  const latencies: Array<number> = []
  const started = performance.now()
  const deadline = started + durationMs
  await new Promise<void>((done) => {
    let outstanding = 0
    const launch = () => {
      outstanding++
      const t0 = performance.now()
      engine.submit(next()).then((r) => {
        const t1 = performance.now()
        if (latencies.length < 2_000_000) latencies.push(t1 - t0)
        if (r.ok) ok++
        else refused++
        outstanding--
        if (t1 < deadline) launch()
        else if (outstanding === 0) done()
      })
    }
    for (let i = 0; i < inFlight; i++) launch()
  })
  const elapsed = (performance.now() - started) / 1000
  return { perSec: ok / elapsed, refusedPerSec: refused / elapsed, ok, refused, latencies }
}

/** Submits at a fixed rate (open loop) and measures submit-to-ack latency. */
const openLoop = async (engine: Engine, next: () => Command, perSec: number, durationMs: number) => {
  const latencies: Array<number> = []
  const tickMs = 2
  const started = performance.now()
  let sent = 0
  const pending: Array<Promise<unknown>> = []
  while (performance.now() - started < durationMs) {
    const due = Math.floor(((performance.now() - started) / 1000) * perSec)
    for (; sent < due; sent++) {
      const t0 = performance.now()
      pending.push(engine.submit(next()).then(() => latencies.push(performance.now() - t0)))
    }
    await new Promise((r) => setTimeout(r, tickMs))
  }
  await Promise.all(pending)
  return { sent, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) }
}

export const options = {
  seconds: { type: "number", default: 10, min: 0.1, help: "seconds per throughput phase" },
  store: storeOption
} as const

export const run = async (args: ReadonlyArray<string>): Promise<BenchResult> => {
  const o = parseOptions(options, args).values
  const durationMs = o.seconds * 1000
  usePostgres = o.store === "postgres"
  postgresUrls = new Map()
  const dir = mkdtempSync(join(tmpdir(), "oms-bench-"))
  try {
    // ---- throughput and latency on 100,000 pools ------------------------------------------
    const w = workload({ nodes: 50, skus: 2_000, stockPerPool: 100_000, doorbusterStock: 2_000 })
    let db = await open(join(dir, "throughput"))
    await setUp(db.engine, w)
    const pools = db.engine.stats().pools
    const nodeOf = () => w.nodeIds[Math.floor(w.random() * w.nodeIds.length)]
    const hold = (): Command => ({ type: "hold.create", channel: "web", sku: w.nextSku(), nodeId: nodeOf(), qty: 1 })
    let orderNo = 0
    const order = (): Command => {
      const skus = new Set<string>()
      while (skus.size < 3) skus.add(w.nextSku())
      return {
        type: "order.place", channel: "web", externalId: `B-${++orderNo}`, payment: "authorised",
        lines: [...skus].map((sku) => ({ sku, qty: 1 })), customer: { location: w.nextCustomer() }
      }
    }
    const reservations = await closedLoop(db.engine, hold, 8_192, durationMs)
    const orders = await closedLoop(db.engine, order, 4_096, durationMs)
    await db.close()
    // latency at half load, on a fresh engine so the heap of the runs above does not weigh on it
    db = await open(join(dir, "latency"))
    await setUp(db.engine, w)
    gc()
    const half = await openLoop(db.engine, hold, reservations.perSec / 2, Math.min(durationMs, 8_000))
    await db.close()

    // ---- memory and recovery on 1,000,000 pools ------------------------------------------------
    const big = workload({ nodes: 50, skus: 20_000, stockPerPool: 10 })
    db = await open(join(dir, "big"))
    for (const c of big.setup) await db.engine.submit(c)
    gc()
    // typed arrays live outside the JS heap: count them too
    const heapNow = () => {
      const m = process.memoryUsage()
      return m.heapUsed + m.arrayBuffers
    }
    const heapBefore = heapNow()
    for (const c of big.loads) await db.engine.submit(c)
    await db.engine.flush()
    gc()
    const heapAfter = heapNow()
    const bigPools = db.engine.stats().pools
    // more events: repeated absolute counts of every pool (each row a StockAdjusted event)
    let events = db.engine.stats().events
    for (let round = 1; events < 5_000_000; round++) {
      for (const c of big.loads) {
        const rows = (c as Command & { type: "inventory.load" }).rows.map((r) => ({ ...r, onHand: 10 + (round % 7) + 1 }))
        await db.engine.submit({ type: "inventory.load", rows })
      }
      await db.engine.flush()
      events = db.engine.stats().events
    }
    await db.close()
    let t0 = performance.now()
    db = await open(join(dir, "big"))
    const recoveryMs = performance.now() - t0
    const recoveredPools = db.engine.stats().pools
    await db.engine.snapshotNow()
    await db.close()
    t0 = performance.now()
    db = await open(join(dir, "big"))
    const recoveryFromSnapshotMs = performance.now() - t0
    await db.close()

    const figures = {
      reservationsPerSec: Math.round(reservations.perSec),
      reservationsRefusedPerSec: Math.round(reservations.refusedPerSec),
      reservationAckP50Ms: round(percentile(reservations.latencies, 50)),
      reservationAckP99Ms: round(percentile(reservations.latencies, 99)),
      ordersPerSec: Math.round(orders.perSec),
      orderAckP99Ms: round(percentile(orders.latencies, 99)),
      ackP50Ms: round(half.p50),
      ackP99Ms: round(half.p99),
      halfLoadPerSec: Math.round(reservations.perSec / 2),
      heapBytesPerPool: round((heapAfter - heapBefore) / bigPools, 1),
      pools,
      bigPools,
      journalEvents: events,
      recoveryMs: Math.round(recoveryMs),
      recoveredPools,
      recoveryFromSnapshotMs: Math.round(recoveryFromSnapshotMs),
      store: usePostgres ? "PostgreSQL (local server), group commit per batch" : "embedded PGlite (worker thread), group commit per batch",
      durationSec: durationMs / 1000
    }
    return {
      name: usePostgres ? "engine (PostgreSQL)" : "engine (embedded PGlite)",
      figures,
      rows: [
        ["pools (SKU x node), 50 nodes", pools, "Zipf s=1.1, 5 doorbusters"],
        ["reservations acknowledged", figures.reservationsPerSec, `/s durable (+${figures.reservationsRefusedPerSec}/s refused: sold out)`],
        ["  ack p50 / p99 at full load", `${figures.reservationAckP50Ms} / ${figures.reservationAckP99Ms}`, "ms (8,192 in flight)"],
        ["3-line orders routed+allocated", figures.ordersPerSec, "/s durable"],
        ["  order ack p99 at full load", figures.orderAckP99Ms, "ms (4,096 in flight)"],
        ["ack p50 / p99 at half load", `${figures.ackP50Ms} / ${figures.ackP99Ms}`, `ms at ${figures.halfLoadPerSec}/s`],
        ["heap per idle pool", figures.heapBytesPerPool, `bytes (${bigPools} pools; JS heap + typed arrays)`],
        ["recovery by replay", figures.recoveryMs, `ms (${recoveredPools} pools, ${events} events)`],
        ["recovery from snapshot", figures.recoveryFromSnapshotMs, "ms (same state)"]
      ]
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    for (const drop of dropDatabases.splice(0)) await drop()
  }
}
