/**
 * The merge of partial ops ticks (cluster mode: one per runner) into the tick
 * viewers get: sums, ratios from summed parts, node loads over partitions,
 * lists cut to the feed's limits, each partial tick's events used once, and
 * a runner not heard for a while left out.
 */
import { describe, expect, it } from "vitest"
import type { Alert, PartialTick } from "./ops-feed-types.ts"
import { isPartialTick, mergeTicks, PartialTicks, type MergeInput } from "./ops-merge.ts"

const limits = { opsAlertsPerTickMax: 3, opsSkusListedMax: 2, opsArcsPerTickMax: 3, opsRoutingSamplesPerTickMax: 2 }
const gateway = { intervalMs: 1000, requestsPerSec: 40, latencyMs: { p50: 1, p90: 2, p99: 3 }, storeErrors: 0 }

const node = (nodeId: string, shipmentsToday: number, extra: Partial<PartialTick["nodes"][number]> = {}) =>
  ({ nodeId, kind: "warehouse", status: "online", capacityPerDay: 10, shipmentsToday, rejections: 0, shortPicks: 0, ...extra })

const lowStock = (sku: string): Alert => ({ kind: "low_stock", sku, nodeId: "WH-A", message: `${sku} low` })

const partial = (source: string, over: Partial<PartialTick> = {}, counts: Partial<PartialTick["counts"]> = {}): PartialTick => ({
  source, at: 1_000, intervalMs: 1000, streams: [],
  counts: { orders: 0, reservations: 0, unitsOrdered: 0, unitsRouted: 0, placedRoutings: 0, splits: 0, backorderedUnits: 0, cancellations: 0, reroutes: 0, holdsExpired: 0, ...counts },
  byReason: {}, samples: [], statusChanges: [], arcs: [], holds: { open: 0, expiringSoon: 0 }, hot: [], low: [], alerts: [], alertsDropped: 0,
  nodes: [], engine: { state: "running", mailbox: 0, lastCommitMs: 1 },
  ...over
})

const arc = (orderId: string) => ({ orderId, kind: "single" as const, to: { lat: 1, lon: 2 }, from: ["WH-A"] })

const merge = (sources: ReadonlyArray<PartialTick>, extra: Partial<MergeInput> = {}) =>
  mergeTicks({ sources: sources.map((p) => ({ latest: p, unsent: [p] })), gateway, limits, overCapacity: new Set(), at: 5, ...extra })

describe("merging the runners' partial ticks", () => {
  const a = partial("runner-a", {
    streams: ["net", "p0"], byReason: { placed: 3 }, holds: { open: 5, expiringSoon: 1 },
    arcs: [arc("o1"), arc("o2")], hot: [{ sku: "S1", reservations: 9 }, { sku: "S2", reservations: 4 }],
    low: [{ sku: "S1", nodeId: "WH-A", atp: 2 }], alerts: [lowStock("S1"), lowStock("S2")], alertsDropped: 1,
    nodes: [node("WH-A", 6, { rejections: 1 }), node("WH-B", 0)], engine: { state: "running", mailbox: 2, lastCommitMs: 1.5 }
  }, { orders: 3, reservations: 10, unitsOrdered: 6, unitsRouted: 6, placedRoutings: 3, splits: 0, cancellations: 1, holdsExpired: 2 })
  const b = partial("runner-b", {
    intervalMs: 500, streams: ["p1"], byReason: { placed: 1, short_pick: 2 }, holds: { open: 7, expiringSoon: 0 },
    arcs: [arc("o3"), arc("o4")], hot: [{ sku: "S3", reservations: 6 }], low: [{ sku: "S3", nodeId: "WH-A", atp: 0 }],
    alerts: [{ kind: "hot_sku", sku: "S3", message: "hot" }], nodes: [node("WH-A", 4, { shortPicks: 2 }), node("WH-B", 1)],
    engine: { state: "recovering", mailbox: 3, lastCommitMs: 4 }
  }, { orders: 1, reservations: 5, unitsOrdered: 4, unitsRouted: 2, placedRoutings: 1, splits: 1, reroutes: 2 })

  it("sums counts and rates, and takes fill and split rate from the summed parts", () => {
    const { tick } = merge([a, b])
    // b's counts cover half a second: its rate is twice its count
    expect(tick.metrics).toMatchObject({ ordersPerSec: 5, reservationsPerSec: 20, cancellations: 1, reroutes: 2, requestsPerSec: 40 })
    expect(tick.metrics.fillRate).toBeCloseTo(8 / 10)
    expect(tick.metrics.splitRate).toBeCloseTo(1 / 4)
    expect(tick.metrics.latencyMs).toEqual(gateway.latencyMs)
    expect(tick.routing.byReason).toEqual({ placed: 4, short_pick: 2 })
    expect(tick.holds).toEqual({ open: 12, expiringSoon: 1, expired: 2 })
    expect(tick.engine).toEqual({ state: "recovering", mailbox: 5, lastCommitMs: 4 })
    expect(tick.at).toBe(5)
  })

  it("sums node loads over the partitions and raises over-capacity once, when a node gets there", () => {
    const first = merge([a, b])
    expect(first.tick.nodes.table).toEqual([
      { nodeId: "WH-A", kind: "warehouse", status: "online", shipmentsToday: 10, capacityPerDay: 10, load: 1, rejections: 1, shortPicks: 2 },
      { nodeId: "WH-B", kind: "warehouse", status: "online", shipmentsToday: 1, capacityPerDay: 10, load: 0.1, rejections: 0, shortPicks: 0 }
    ])
    expect(first.tick.nodes.busiest.map((n) => n.nodeId)).toEqual(["WH-A", "WH-B"])
    expect(first.tick.alerts[0]).toMatchObject({ kind: "node_over_capacity", nodeId: "WH-A" })
    const again = merge([a, b], { overCapacity: first.overCapacity })
    expect(again.tick.alerts.some((x) => x.kind === "node_over_capacity")).toBe(false)
  })

  it("concatenates lists and cuts them to the feed's limits, counting the alerts left out", () => {
    const { tick } = merge([a, b], { overCapacity: new Set(["WH-A"]) })
    expect(tick.arcs.map((x) => x.orderId)).toEqual(["o1", "o2", "o3"])
    expect(tick.skus.hot).toEqual([{ sku: "S1", reservations: 9 }, { sku: "S3", reservations: 6 }])
    expect(tick.skus.low).toEqual([{ sku: "S3", nodeId: "WH-A", atp: 0 }, { sku: "S1", nodeId: "WH-A", atp: 2 }])
    // most severe first: the hot SKU before the low stock; 3 kept of 3 listed, plus the one runner a had left out
    expect(tick.alerts.map((x) => x.kind)).toEqual(["hot_sku", "low_stock", "low_stock"])
    expect(tick.alertsDropped).toBe(1)
    const withStoreErrors = merge([a, b], { overCapacity: new Set(["WH-A"]), gateway: { ...gateway, storeErrors: 2 } })
    expect(withStoreErrors.tick.alerts.map((x) => x.kind)).toEqual(["store_errors", "hot_sku", "low_stock"])
    expect(withStoreErrors.tick.alertsDropped).toBe(2)
  })

  it("names the streams no runner reports, and shows no engine when none reports", () => {
    const { tick } = merge([a, b], { expectedStreams: ["net", "p0", "p1", "p2"], overCapacity: new Set(["WH-A"]) })
    expect(tick.alerts[0]).toMatchObject({ kind: "engine_not_running", message: "p2 reported by no runner" })
    expect(tick.engine?.state).toBe("recovering")
    const none = merge([], { expectedStreams: ["net"] })
    expect(none.tick.engine).toBeNull()
    expect(none.tick.metrics).toMatchObject({ ordersPerSec: 0, fillRate: null, splitRate: null })
    expect(none.tick.alerts.map((x) => x.kind)).toEqual(["engine_not_running"])
  })
})

describe("the partial ticks a cluster gateway holds", () => {
  it("uses each partial tick's events once, keeps the latest's rates until a newer comes, and forgets a runner gone quiet", () => {
    const ticks = new PartialTicks(3_000)
    ticks.heard(partial("a", { arcs: [arc("o1")] }, { orders: 4, cancellations: 1 }), 0)
    ticks.heard(partial("b", {}, { orders: 2 }), 0)
    const first = mergeTicks({ sources: ticks.take(100), gateway, limits, overCapacity: new Set() }).tick
    expect(first.metrics).toMatchObject({ ordersPerSec: 6, cancellations: 1 })
    expect(first.arcs).toHaveLength(1)

    // nothing new from a or b: their rates stand, their events are not counted again
    const second = mergeTicks({ sources: ticks.take(1_100), gateway, limits, overCapacity: new Set() }).tick
    expect(second.metrics).toMatchObject({ ordersPerSec: 6, cancellations: 0 })
    expect(second.arcs).toHaveLength(0)

    // two from a before the next merge: both ticks' events count, the rate is the newer one's
    ticks.heard(partial("a", { arcs: [arc("o2")] }, { orders: 1, cancellations: 1 }), 1_500)
    ticks.heard(partial("a", { arcs: [arc("o3")] }, { orders: 3, cancellations: 2 }), 2_500)
    const third = mergeTicks({ sources: ticks.take(2_600), gateway, limits, overCapacity: new Set() }).tick
    expect(third.metrics).toMatchObject({ ordersPerSec: 5, cancellations: 3 })
    expect(third.arcs.map((x) => x.orderId)).toEqual(["o2", "o3"])

    // b last heard at 0: gone after 3 s
    expect(ticks.take(3_200).map((s) => s.latest.source)).toEqual(["a"])
    expect(ticks.take(6_000)).toEqual([])
  })

  it("takes only messages shaped as partial ticks", () => {
    expect(isPartialTick(partial("a"))).toBe(true)
    expect(isPartialTick(JSON.parse(JSON.stringify(partial("a", { engine: null }))))).toBe(true)
    expect(isPartialTick({ ...partial("a"), arcs: undefined })).toBe(false)
    expect(isPartialTick({ source: "a" })).toBe(false)
    expect(isPartialTick(null)).toBe(false)
  })
})
