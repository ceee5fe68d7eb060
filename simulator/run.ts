/**
 * One simulated day, end to end: start (or reach) the engine and gateway,
 * provision the scenario's network through the admin and inventory routes,
 * open the storefront connections, play the day's demand in compressed time
 * with the node outage and the receipts at their hours, let open shipments
 * finish (the drain, faster), wait for abandoned holds to expire, and audit
 * the engine against the ledger.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"
import type { NodeLoadView, PoolView, UpsertChannel, UpsertNode } from "../engine/index.ts"
import { audit, httpReader, type AuditResult } from "./audit.ts"
import { Scheduler, SimClock } from "./clock.ts"
import { ShippingCost } from "./cost.ts"
import type { PolicyFile } from "./compare.ts"
import { dayMs, generateDemand } from "./demand.ts"
import { startLocalTarget, type LocalTarget } from "./engine-host.ts"
import { Fulfillment } from "./fulfillment.ts"
import { HttpApi } from "./http.ts"
import { Ledger, poolKey } from "./ledger.ts"
import { bucketSimMs, dayBuckets, Metrics } from "./metrics.ts"
import { buildNetwork, keysConfigOf, simKeys, type SimKeys, type SimNetwork } from "./network.ts"
import { serviceLevels } from "./promise.ts"
import { compressionOf, type Scenario } from "./scenario.ts"
import { openConnections, Storefront } from "./storefront.ts"

export interface ExternalTarget {
  readonly httpUrl: string
  readonly wsUrl: string
  readonly keys: SimKeys
}

export interface RunOptions {
  readonly scenario: Scenario
  readonly seed: number
  /** Wall-clock minutes for the simulated day (default: the scenario's). */
  readonly minutes?: number
  /** Multiplies the scenario's sessions. */
  readonly scale?: number
  /** A running gateway to drive; without it a fresh engine and gateway are started. */
  readonly target?: ExternalTarget
  /** Start the engine in this process rather than a child process. */
  readonly inProcess?: boolean
  /** A routing policy to apply after provisioning (what-if). */
  readonly policy?: PolicyFile
  /** Called with a progress line about twice a second. */
  readonly progress?: (line: string) => void
  /** Leave the started engine running (the caller closes `target`). */
  readonly keepOpen?: boolean
  readonly label?: string
}

export interface RunResult {
  readonly label: string
  readonly scenario: Scenario
  readonly seed: number
  readonly compression: number
  readonly startedAt: string
  readonly wall: { readonly provisionMs: number; readonly dayMs: number; readonly drainMs: number; readonly auditMs: number }
  readonly sessions: number
  readonly network: SimNetwork
  /** Channel policies as provisioned, then the what-if policy (in order). */
  readonly channelUpserts: ReadonlyArray<UpsertChannel>
  readonly metrics: Metrics
  readonly ledger: Ledger
  readonly audit: AuditResult
  readonly storefront: Storefront["outcomes"]
  readonly pushes: { availability: number; order: number }
  readonly fulfillment: Fulfillment["counts"]
  readonly outage: { nodeId: string; fromHour: number; toHour: number } | undefined
  readonly nodesAtEnd: ReadonlyArray<NodeLoadView>
  readonly drainComplete: boolean
  /** The simulator's event-loop delay p99 during the day (ms). */
  readonly loopDelayP99Ms: number
  readonly cpuSeconds: { readonly simulator: number; readonly engine: number | null }
  /** The started engine when keepOpen was set. */
  readonly local: LocalTarget | undefined
  readonly http: HttpApi
  readonly keys: SimKeys
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const hhmm = (sim: number) => {
  const m = Math.floor(sim / 60_000)
  const d = Math.floor(m / 1440)
  return `${d > 0 ? `+${d}d ` : ""}${String(Math.floor((m % 1440) / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`
}

const waitReady = async (http: HttpApi, opsKey: string): Promise<void> => {
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      await http.call("GET", "/readyz", opsKey)
      return
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`the gateway is not ready: ${String(e)}`)
      await sleep(200)
    }
  }
}

/**
 * Loads the scenario's network through the gateway (ops token): nodes, SKUs,
 * channels, carriers (when the gateway has none), stock; answers the
 * carriers' service levels. Nodes the gateway has beyond the scenario's (a running
 * target) join the network, with none of the scenario's SKUs in stock, so that
 * every unit in play is one the simulator loaded.
 */
const provision = async (
  http: HttpApi, keys: SimKeys, scenarioNetwork: SimNetwork, policy: PolicyFile | undefined, shared: boolean
): Promise<{ network: SimNetwork; upserts: Array<UpsertChannel>; heldAtStart: Map<string, number>; services: Array<string> }> => {
  const ops = keys.ops
  const { nodes: existing } = await http.call<{ nodes: Array<NodeLoadView> }>("GET", "/v1/nodes", ops)
  const ours = new Set(scenarioNetwork.nodes.map((n) => n.nodeId))
  const foreign: Array<UpsertNode> = existing.filter((n) => !ours.has(n.nodeId)).map((n) => ({
    type: "node.upsert", nodeId: n.nodeId, name: n.name, kind: n.kind, location: n.location, capacityPerDay: n.capacityPerDay,
    priority: n.priority, services: n.services, groups: n.groups, status: n.status
  }))
  const nodes = [...scenarioNetwork.nodes, ...foreign]
  // On a shared gateway every pool of the scenario's SKUs gets a count, 0 where the scenario has no stock.
  const stocked = new Set(scenarioNetwork.stock.map((r) => poolKey(r.nodeId, r.sku)))
  const zeros = shared ? nodes.flatMap((n) => scenarioNetwork.skus.filter((s) => !stocked.has(poolKey(n.nodeId, s.sku))).map((s) => ({ sku: s.sku, nodeId: n.nodeId, onHand: 0 }))) : []
  const network: SimNetwork = { ...scenarioNetwork, nodes, stock: [...scenarioNetwork.stock, ...zeros] }
  await Promise.all(scenarioNetwork.nodes.map(({ type: _, ...n }) => http.call("POST", "/v1/admin/nodes", ops, n)))
  await Promise.all(network.skus.map(({ type: _, ...s }) => http.call("POST", "/v1/admin/skus", ops, s)))
  const upserts: Array<UpsertChannel> = [...network.channels]
  for (const { type: _, ...c } of network.channels) await http.call("POST", "/v1/admin/channels", ops, c)
  for (const c of policy?.channels ?? []) {
    await http.call("POST", "/v1/admin/channels", ops, c)
    upserts.push({ type: "channel.upsert", ...c })
  }
  // Carriers: a gateway's own stay as they are (its promises are what is being rehearsed); a fresh one gets the demo's.
  const readCarriers = () => http.call<{ carriers: Array<{ services: Array<{ service: string }> }> }>("GET", "/v1/admin/carriers", ops).then((r) => r.carriers)
  if ((await readCarriers()).length === 0) {
    for (const { type: _, ...c } of scenarioNetwork.carriers) await http.call("POST", "/v1/admin/carriers", ops, c)
  }
  const services = serviceLevels(await readCarriers())
  // On a shared gateway, earlier orders may still hold or allocate stock: never load below that.
  const heldAtStart = new Map<string, number>()
  let rows = network.stock
  if (shared) {
    rows = await Promise.all(network.stock.map(async (r) => {
      const { pool } = await http.call<{ pool: PoolView }>("GET", `/v1/pools/${encodeURIComponent(r.nodeId)}/${encodeURIComponent(r.sku)}`, ops)
      if (pool.held > 0) heldAtStart.set(poolKey(r.nodeId, r.sku), pool.held)
      return { ...r, onHand: Math.max(r.onHand, pool.held + pool.allocated) }
    }))
  }
  await http.call("POST", "/v1/inventory/load", ops, { rows, reference: "simulator opening stock" })
  return { network: { ...network, stock: rows }, upserts, heldAtStart, services }
}

export const runDay = async (o: RunOptions): Promise<RunResult> => {
  const { scenario, seed } = o
  const label = o.label ?? "baseline"
  const startedAt = new Date().toISOString()
  const scenarioNetwork = buildNetwork(scenario)
  const compression = compressionOf(o.minutes ?? scenario.day.wallClockMinutes)
  const keys = o.target?.keys ?? simKeys(scenarioNetwork)
  const t0 = performance.now()
  const local = o.target ? undefined : await startLocalTarget(keysConfigOf(keys), { inProcess: o.inProcess ?? false })
  const httpUrl = o.target?.httpUrl ?? local!.httpUrl
  const wsUrl = o.target?.wsUrl ?? local!.wsUrl

  const clock = new SimClock(compression)
  const scheduler = new Scheduler(clock)
  const metrics = new Metrics(() => clock.now())
  const http = new HttpApi(httpUrl, metrics)
  const ledger = new Ledger(scenario.name, seed)
  let connections: Awaited<ReturnType<typeof openConnections>> | undefined
  let succeeded = false
  try {
    await waitReady(http, keys.ops)
    const { network, upserts: channelUpserts, heldAtStart, services } = await provision(http, keys, scenarioNetwork, o.policy, o.target !== undefined)
    ledger.stockLoaded(network.stock)
    for (const [key, held] of heldAtStart) ledger.data.pools[key].heldAtStart = held
    const provisionMs = performance.now() - t0

    const demand = generateDemand(scenario, network, seed, o.scale ?? 1)
    connections = await openConnections(wsUrl, keys.storefront, { ...scenario.sessions.connections, b2b: scenario.sessions.b2b?.connections ?? 0 }, metrics)
    const fulfillment = new Fulfillment({ scheduler, http, keys, ledger, scenario, seed })
    const idPrefix = o.target ? `sim${seed}-${Date.now().toString(36)}` : `sim${seed}`
    const pricer = new ShippingCost(network.nodes, network.skus, channelUpserts)
    const storefront = new Storefront({
      clock, scheduler, metrics, ledger, fulfillment, network, idPrefix, holdTtlSimMs: scenario.sessions.holdTtlMinutes * 60_000, pricer, services
    }, connections)

    let active = 0
    for (const s of demand) {
      scheduler.at(s.at, () => {
        active++
        void storefront.run(s).catch((e) => console.error(`simulator: session ${s.index}: ${String(e)}`)).finally(() => active--)
      })
    }
    let outage: RunResult["outage"]
    const out = scenario.nodes.outage
    if (out) {
      scheduler.at(out.fromHour * 3_600_000, () => void (async () => {
        let nodeId = out.node
        if (nodeId === "busiest-warehouse") {
          const { nodes } = await http.call<{ nodes: Array<NodeLoadView> }>("GET", "/v1/nodes", keys.ops)
          nodeId = nodes.filter((n) => n.kind === "warehouse" && n.status === "online").sort((a, b) => b.shipmentsToday - a.shipmentsToday || a.nodeId.localeCompare(b.nodeId))[0]?.nodeId ?? ""
        }
        if (!nodeId) return
        outage = { nodeId, fromHour: out.fromHour, toHour: out.toHour }
        await fulfillment.setNodeStatus(nodeId, "offline", "simulated outage", clock.now())
        await scheduler.until(out.toHour * 3_600_000)
        await fulfillment.setNodeStatus(nodeId, "online", "outage over", clock.now())
      })().catch((e) => console.error(`simulator: outage: ${String(e)}`)))
    }
    for (const r of scenario.nodes.receipts) {
      const skus = r.skus === "doorbusters" ? network.doorbusters : r.skus
      const nodes = r.nodes === "warehouses" ? network.nodes.filter((n) => n.kind === "warehouse").map((n) => n.nodeId) : r.nodes
      scheduler.at(r.atHour * 3_600_000, () => {
        for (const sku of skus) {
          for (const nodeId of nodes) void fulfillment.receive(sku, nodeId, r.qty, `receipt ${r.atHour}h`).catch((e) => console.error(`simulator: receipt: ${String(e)}`))
        }
      })
    }
    // Node load and open backorders at the end of each bucket.
    const sample = async (b: number) => {
      const { nodes } = await http.call<{ nodes: Array<NodeLoadView> }>("GET", "/v1/nodes", keys.ops)
      const bucket = metrics.buckets[b]
      for (const n of nodes) bucket.nodeLoad[n.nodeId] = n.capacityPerDay > 0 ? n.shipmentsToday / n.capacityPerDay : 0
      bucket.backorderedOpen = fulfillment.backorderedUnits()
    }
    for (let b = 0; b < dayBuckets; b++) scheduler.at((b + 1) * bucketSimMs - 1, () => void sample(b).catch(() => undefined))

    const progress = o.progress
    const ticker = progress
      ? setInterval(() => {
          const w = metrics.window()
          progress(`[${label}] sim ${hhmm(clock.now())}  ${String(w.rate).padStart(5)} req/s  p99 ${w.p99.toFixed(1).padStart(6)} ms  failures ${metrics.failures}  orders ${ledger.orders.length}  sessions ${active}  open work ${fulfillment.busy}`)
        }, 500)
      : undefined

    const loopDelay = monitorEventLoopDelay({ resolution: 10 })
    const cpu0 = process.cpuUsage()
    const engineCpu0 = local?.cpuSeconds() ?? null
    loopDelay.enable()
    const dayStart = performance.now()
    clock.start()
    scheduler.start()
    await scheduler.until(dayMs)
    const dayWall = performance.now() - dayStart
    loopDelay.disable()

    // Drain: no new sessions; open shipments, returns and cancellations finish, faster.
    const drainStart = performance.now()
    metrics.markDayEnd()
    clock.setCompression(compression * scenario.drain.speedup)
    const drainDeadline = drainStart + scenario.drain.maxWallSeconds * 1000
    let swept = false
    while (performance.now() < drainDeadline) {
      if (active === 0 && fulfillment.busy === 0) {
        if (swept) break
        // Once idle, read every order not settled yet: a missed push would show here.
        swept = true
        await fulfillment.sweep()
        continue
      }
      await sleep(50)
    }
    const drainComplete = active === 0 && fulfillment.busy === 0
    scheduler.stop()
    if (ticker) clearInterval(ticker)
    // Let requests already sent come back.
    for (let i = 0; i < 200 && active > 0; i++) await sleep(50)
    await sleep(200)
    const drainWall = performance.now() - drainStart

    // Every hold left to expire must have expired before the audit looks.
    const lastExpiry = Math.max(0, ...ledger.holds.filter((h) => h.fate === "abandoned" || h.fate === "open").map((h) => h.expiresAt))
    if (lastExpiry + 500 > Date.now()) await sleep(lastExpiry + 500 - Date.now())

    const cpu = process.cpuUsage(cpu0)
    const engineCpu1 = local?.cpuSeconds() ?? null
    const cpuSeconds = { simulator: (cpu.user + cpu.system) / 1e6, engine: engineCpu0 !== null && engineCpu1 !== null ? engineCpu1 - engineCpu0 : null }
    const nodesAtEnd = (await http.call<{ nodes: Array<NodeLoadView> }>("GET", "/v1/nodes", keys.ops)).nodes
    const auditResult = await audit(ledger, httpReader(new HttpApi(httpUrl), keys.ops))
    const pushes = storefront.pushes
    await storefront.close()
    connections = undefined
    succeeded = true
    return {
      label, scenario, seed, compression, startedAt,
      wall: { provisionMs: provisionMs, dayMs: dayWall, drainMs: drainWall, auditMs: auditResult.ms },
      sessions: demand.length, network, channelUpserts, metrics, ledger, audit: auditResult,
      storefront: storefront.outcomes, pushes, fulfillment: fulfillment.counts, outage, nodesAtEnd, drainComplete,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6, cpuSeconds,
      local: o.keepOpen ? local : undefined, http, keys
    }
  } finally {
    scheduler.stop()
    if (connections) await Promise.all(Object.values(connections).flat().map((c) => c.close())).catch(() => undefined)
    if (local && (!o.keepOpen || !succeeded)) await local.close()
  }
}
