/**
 * One OpsTick from partial ticks (ops-feed-types.ts PartialTick): the owner
 * gateway merges its engine's one; a cluster gateway merges the latest of
 * every runner, heard on Redis (redis-fanout.ts opsPartialsChannel).
 *
 * Each figure is merged the way it sums soundly:
 *   - rates are the sum of each source's own rate over its latest interval
 *     (a runner whose tick arrived just after the gateway's still counts);
 *     fill and split rate come from summed numerators and denominators;
 *   - per-tick counts and lists (backordered units, cancellations, re-routes,
 *     holds expired, routing samples, arcs, status changes, hot and low SKUs,
 *     alerts) come from the partial ticks heard since the previous merge, each
 *     used once, so an event is never counted or drawn twice; lists are
 *     concatenated and cut to the same limits as one engine's;
 *   - state (holds open, node loads, engine) comes from each source's latest:
 *     a node's shipments today are summed over the sources (each counts its
 *     own partitions), its status and capacity taken from the newest;
 *   - latency percentiles are the gateway's own (its requests, measured where
 *     the client waits), so no percentiles are combined;
 *   - node_over_capacity is judged on the summed loads, here, once.
 * A source not heard for a few tick intervals is forgotten (PartialTicks), so
 * a dead runner's figures vanish; streams no fresh source reports are
 * named in an engine_not_running alert until their new owner reports them.
 */
import type { GatewayConfig } from "./config.ts"
import { bySeverity } from "./ops-aggregator.ts"
import { mergePipelines } from "./ops-pipeline.ts"
import type { Alert, NodeRow, OpsTick, PartialTick, PoolReading } from "./ops-feed-types.ts"

/** One source's latest partial tick, and those not merged yet (the latest among them, if new). */
export interface SourceTicks {
  readonly latest: PartialTick
  readonly unsent: ReadonlyArray<PartialTick>
}

export interface MergeInput {
  readonly sources: ReadonlyArray<SourceTicks>
  /** The merging gateway's own figures over its tick (GatewayFigures.take). */
  readonly gateway: {
    readonly intervalMs: number
    readonly requestsPerSec: number
    readonly latencyMs: OpsTick["metrics"]["latencyMs"]
    /** Commands it saw refused with store_unavailable in the tick. */
    readonly storeErrors: number
  }
  readonly limits: Pick<GatewayConfig, "opsAlertsPerTickMax" | "opsSkusListedMax" | "opsArcsPerTickMax" | "opsRoutingSamplesPerTickMax">
  /** Nodes at or past their daily capacity at the previous merge (the alert is raised when a node gets there). */
  readonly overCapacity: ReadonlySet<string>
  /** Cluster mode: every stream some runner should report. */
  readonly expectedStreams?: ReadonlyArray<string>
  /** Wall clock of the tick (default now). */
  readonly at?: number
}

const busiestListed = 5

/** Critical kinds: never cut from a tick's list. */
const criticalKinds: ReadonlySet<Alert["kind"]> = new Set(["engine_not_running", "store_errors", "shipment_late"])

/** Of alerts sorted most severe first: every critical one, and the others up to `max` in all. */
export const keptAlerts = (sorted: ReadonlyArray<Alert>, max: number): Array<Alert> => {
  const critical = sorted.filter((a) => criticalKinds.has(a.kind))
  return critical.length >= max ? critical : [...critical, ...sorted.filter((a) => !criticalKinds.has(a.kind)).slice(0, max - critical.length)]
}

const sum = <A>(xs: ReadonlyArray<A>, f: (a: A) => number): number => xs.reduce((n, x) => n + f(x), 0)

/** Units per second over a partial tick's own interval. */
const perSecond = (count: number, intervalMs: number): number => count / Math.max(0.001, intervalMs / 1000)

/** Of several engine states, the one to show: running only when all run. */
export const worstOf = (states: ReadonlyArray<string>): string =>
  states.find((s) => s === "stopped") ?? states.find((s) => s === "moved") ?? states.find((s) => s !== "running") ?? "running"

/** Nodes: shipments summed over the sources; status, kind and capacity from the newest; in network order. */
export const mergeNodes = (latest: ReadonlyArray<PartialTick>): Array<NodeRow> => {
  const rows = new Map<string, { kind: string; status: string; capacityPerDay: number; shipmentsToday: number; rejections: number; shortPicks: number }>()
  for (const p of [...latest].sort((a, b) => b.at - a.at)) {
    for (const n of p.nodes) {
      const seen = rows.get(n.nodeId)
      if (!seen) rows.set(n.nodeId, { kind: n.kind, status: n.status, capacityPerDay: n.capacityPerDay, shipmentsToday: n.shipmentsToday, rejections: n.rejections, shortPicks: n.shortPicks })
      else {
        seen.shipmentsToday += n.shipmentsToday
        seen.rejections += n.rejections
        seen.shortPicks += n.shortPicks
      }
    }
  }
  return [...rows].map(([nodeId, n]) => ({
    nodeId, kind: n.kind, status: n.status, shipmentsToday: n.shipmentsToday, capacityPerDay: n.capacityPerDay,
    load: n.capacityPerDay > 0 ? Math.round((n.shipmentsToday / n.capacityPerDay) * 1000) / 1000 : 0,
    rejections: n.rejections, shortPicks: n.shortPicks
  }))
}

/** Reservations per SKU summed over the partial ticks, most first. */
const mergeHot = (parts: ReadonlyArray<PartialTick>, listed: number): Array<{ sku: string; reservations: number }> => {
  const bySku = new Map<string, number>()
  for (const p of parts) for (const h of p.hot) bySku.set(h.sku, (bySku.get(h.sku) ?? 0) + h.reservations)
  return [...bySku].sort((a, b) => b[1] - a[1]).slice(0, listed).map(([sku, reservations]) => ({ sku, reservations }))
}

/** Low pools, the later reading of a pool listed twice, lowest first. */
const mergeLow = (parts: ReadonlyArray<PartialTick>, listed: number): Array<{ sku: string; nodeId: string; atp: number }> => {
  const byPool = new Map<string, { sku: string; nodeId: string; atp: number }>()
  for (const p of parts) for (const l of p.low) byPool.set(`${l.sku}\u0000${l.nodeId}`, l)
  return [...byPool.values()].sort((a, b) => a.atp - b.atp).slice(0, listed)
}

const sumByKey = (records: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const r of records) for (const [k, n] of Object.entries(r)) out[k] = (out[k] ?? 0) + n
  return out
}

/**
 * The OpsTick viewers get, the nodes now at or past capacity (for the next
 * merge), and the low pools' readings of the partial ticks merged (for the
 * alert groups, ops-alerts.ts; each pool is in one partition, so one source).
 */
export const mergeTicks = (input: MergeInput): { tick: OpsTick; overCapacity: Set<string>; readings: Array<PoolReading> } => {
  const { limits, gateway } = input
  const latest = input.sources.map((s) => s.latest)
  const unsent = input.sources.flatMap((s) => s.unsent)
  const count = (k: keyof PartialTick["counts"]) => sum(unsent, (p) => p.counts[k])
  const rate = (k: keyof PartialTick["counts"]) => Math.round(sum(latest, (p) => perSecond(p.counts[k], p.intervalMs)))
  const unitsOrdered = sum(latest, (p) => p.counts.unitsOrdered)
  const placedRoutings = sum(latest, (p) => p.counts.placedRoutings)

  const table = mergeNodes(latest)
  const overCapacity = new Set<string>()
  const alerts: Array<Alert> = unsent.flatMap((p) => p.alerts)
  for (const n of table) {
    if (n.shipmentsToday < n.capacityPerDay) continue
    if (!input.overCapacity.has(n.nodeId)) {
      alerts.push({ kind: "node_over_capacity", nodeId: n.nodeId, message: `${n.nodeId}: ${n.shipmentsToday} shipments today, capacity ${n.capacityPerDay}` })
    }
    overCapacity.add(n.nodeId)
  }
  if (gateway.storeErrors > 0) alerts.push({ kind: "store_errors", message: `${gateway.storeErrors} commands refused with store_unavailable` })
  const reported = new Set(latest.flatMap((p) => p.streams))
  const missing = (input.expectedStreams ?? []).filter((s) => !reported.has(s))
  if (missing.length > 0) alerts.push({ kind: "engine_not_running", message: `${missing.join(", ")} reported by no runner` })
  const sorted = bySeverity(alerts)
  const kept = keptAlerts(sorted, limits.opsAlertsPerTickMax)

  const engines = latest.flatMap((p) => (p.engine ? [p.engine] : []))
  const busiest = [...table]
    .sort((a, b) => b.load - a.load)
    .slice(0, busiestListed)
    .map(({ nodeId, status, shipmentsToday, capacityPerDay, load }) => ({ nodeId, status, shipmentsToday, capacityPerDay, load }))

  const tick: OpsTick = {
    at: input.at ?? Date.now(),
    intervalMs: gateway.intervalMs,
    metrics: {
      ordersPerSec: rate("orders"),
      reservationsPerSec: rate("reservations"),
      requestsPerSec: gateway.requestsPerSec,
      latencyMs: gateway.latencyMs,
      fillRate: unitsOrdered > 0 ? Math.min(1, sum(latest, (p) => p.counts.unitsRouted) / unitsOrdered) : null,
      splitRate: placedRoutings > 0 ? sum(latest, (p) => p.counts.splits) / placedRoutings : null,
      backorderedUnits: count("backorderedUnits"),
      cancellations: count("cancellations"),
      reroutes: count("reroutes")
    },
    routing: { byReason: sumByKey(unsent.map((p) => p.byReason)), samples: unsent.flatMap((p) => p.samples).slice(0, limits.opsRoutingSamplesPerTickMax) },
    nodes: { statusChanges: unsent.flatMap((p) => p.statusChanges), busiest, table },
    arcs: unsent.flatMap((p) => p.arcs).slice(0, limits.opsArcsPerTickMax),
    holds: { open: sum(latest, (p) => p.holds.open), expiringSoon: sum(latest, (p) => p.holds.expiringSoon), expired: count("holdsExpired") },
    skus: { hot: mergeHot(unsent, limits.opsSkusListedMax), low: mergeLow(unsent, limits.opsSkusListedMax) },
    alerts: kept,
    pipeline: mergePipelines(latest.flatMap((p) => (p.pipeline ? [p.pipeline] : []))),
    alertsDropped: sum(unsent, (p) => p.alertsDropped) + Math.max(0, sorted.length - kept.length),
    engine: engines.length === 0 ? null : {
      state: missing.length > 0 ? worstOf(["recovering", ...engines.map((e) => e.state)]) : worstOf(engines.map((e) => e.state)),
      mailbox: sum(engines, (e) => e.mailbox),
      lastCommitMs: Math.max(...engines.map((e) => e.lastCommitMs))
    }
  }
  return { tick, overCapacity, readings: unsent.flatMap((p) => p.pools ?? []) }
}

/** Partial ticks kept per source between two merges (more only if the gateway's timer stalled). */
const unsentKeptMax = 16

/**
 * A cluster gateway's view of the runners' partial ticks: each runner's
 * latest, and those heard since the last merge. Freshness is judged by when
 * the gateway heard a tick (its own clock), not by the runner's clock.
 */
export class PartialTicks {
  private readonly bySource = new Map<string, { latest: PartialTick; heardAt: number; unsent: Array<PartialTick> }>()

  constructor(private readonly staleAfterMs: number) {}

  heard(p: PartialTick, now: number): void {
    const s = this.bySource.get(p.source)
    if (!s) {
      this.bySource.set(p.source, { latest: p, heardAt: now, unsent: [p] })
      return
    }
    s.latest = p
    s.heardAt = now
    s.unsent.push(p)
    if (s.unsent.length > unsentKeptMax) s.unsent.shift()
  }

  /** Every source heard within staleAfterMs with its unsent ticks (now marked sent); the others forgotten. */
  take(now: number): Array<SourceTicks> {
    const out: Array<SourceTicks> = []
    for (const [source, s] of this.bySource) {
      if (now - s.heardAt > this.staleAfterMs) {
        this.bySource.delete(source)
        continue
      }
      out.push({ latest: s.latest, unsent: s.unsent })
      s.unsent = []
    }
    return out
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null

/** A message from the partials channel that has the shape of a PartialTick (sent by a runner of the same version). */
export const isPartialTick = (x: unknown): x is PartialTick =>
  isObject(x) && typeof x.source === "string" && typeof x.at === "number" && typeof x.intervalMs === "number" &&
  Array.isArray(x.streams) && isObject(x.counts) && isObject(x.byReason) && isObject(x.holds) &&
  ["samples", "statusChanges", "arcs", "hot", "low", "alerts", "nodes"].every((k) => Array.isArray(x[k])) &&
  typeof x.alertsDropped === "number" && (x.engine === null || isObject(x.engine)) && (x.pools === undefined || Array.isArray(x.pools))
