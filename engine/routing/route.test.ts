/**
 * Routing, rule by rule (eligibility, single node against splits, policies,
 * pickup, capacity, the explanation), and against a brute-force reference on
 * small random networks. Longer than the ~450 lines other files keep to:
 * every case builds its network with the same few helpers below.
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import type { CostWeights, FulfillmentNode, LatLon, NodeKind, NodeService, NodeStatus, RoutingPolicy } from "../domain/network.ts"
import { defaultPolicy, defaultWeights, distanceKm } from "../domain/network.ts"
import { route } from "./route.ts"
import type { CapacityLookup, RouteRequest, RouteResult, RoutingLine, StockLookup } from "./types.ts"

// ---- helpers --------------------------------------------------------------------

const customer: LatLon = { lat: 32.7767, lon: -96.797 }

/** A point `km` north of the customer (about `km` away). */
const north = (km: number): LatLon => ({ lat: customer.lat + km / 111.2, lon: customer.lon })

interface NodeSpec {
  readonly id: string
  readonly km?: number
  readonly kind?: NodeKind
  readonly status?: NodeStatus
  readonly priority?: number
  readonly services?: ReadonlyArray<NodeService>
  readonly groups?: ReadonlyArray<string>
}

const node = (s: NodeSpec): FulfillmentNode => ({
  nodeId: s.id,
  name: s.id,
  kind: s.kind ?? "warehouse",
  location: north(s.km ?? 100),
  status: s.status ?? "online",
  capacityPerDay: 1000,
  priority: s.priority ?? 1,
  services: s.services ?? (s.kind === "store" ? ["ship", "pickup"] : ["ship"]),
  groups: s.groups ?? []
})

/** Stock as "SKU@NODE" -> atp. */
const stockOf = (table: Record<string, number>): StockLookup => ({
  atp: (sku, nodeId) => table[`${sku}@${nodeId}`] ?? 0
})

const capacityOf = (remaining: Record<string, number> = {}, used: Record<string, number> = {}): CapacityLookup => ({
  remaining: (nodeId) => remaining[nodeId] ?? 100,
  usedShare: (nodeId) => used[nodeId] ?? 0
})

const line = (lineNo: number, sku: string, qty: number, weightGrams = 1000): RoutingLine => ({ lineNo, sku, qty, weightGrams })

const request = (lines: ReadonlyArray<RoutingLine>, extra: Omit<Partial<RouteRequest>, "policy"> & { policy?: Partial<RoutingPolicy> } = {}): RouteRequest => ({
  lines,
  destination: customer,
  fulfillment: "ship",
  pickupNodeId: null,
  excludedNodeIds: new Set(),
  ...extra,
  policy: { ...defaultPolicy, ...extra.policy }
})

const nodesOf = (r: RouteResult): Array<string> => r.shipments.map((s) => s.nodeId)

const planned = (r: RouteResult, lineNo: number): number =>
  r.shipments.reduce((n, s) => n + s.lines.filter((l) => l.lineNo === lineNo).reduce((m, l) => m + l.qty, 0), 0)

const backordered = (r: RouteResult, lineNo: number): number =>
  r.backordered.filter((b) => b.lineNo === lineNo).reduce((n, b) => n + b.qty, 0)

const verdictOf = (r: RouteResult, nodeId: string): string | undefined =>
  r.explanation.candidates.find((c) => c.nodeId === nodeId)?.verdict

// ---- single node or split --------------------------------------------------------

describe("single node preference", () => {
  it("a node that fills everything beats a split over nodes that are cheaper per package", () => {
    const nodes = [node({ id: "WH-far", km: 600 }), node({ id: "ST-1", km: 5, kind: "store" }), node({ id: "ST-2", km: 6, kind: "store" })]
    const stock = stockOf({ "A@WH-far": 5, "B@WH-far": 5, "A@ST-1": 5, "B@ST-2": 5 })
    const r = route(request([line(1, "A", 1), line(2, "B", 1)]), nodes, stock, capacityOf())
    expect(nodesOf(r)).toEqual(["WH-far"])
    expect(r.backordered).toEqual([])
    expect(r.shipments[0].lines).toEqual([{ lineNo: 1, qty: 1 }, { lineNo: 2, qty: 1 }])
    // The stores are cheaper one package at a time, which is why this test means something.
    const store = r.explanation.candidates.find((c) => c.nodeId === "ST-1")
    expect(store?.costCents).toBeLessThan(r.shipments[0].costCents)
    expect(store?.verdict).toBe("fills line 1 only")
  })

  it("ties on cost go to the single node", () => {
    // No per-package, per-km or split cost: a split costs exactly what the single node costs.
    const weights: CostWeights = { ...defaultWeights, perPackageCents: 0, perKmCents: 0, splitPenaltyCents: 0, loadPenaltyCents: 0 }
    const nodes = [node({ id: "ST-1", km: 50 }), node({ id: "ST-2", km: 50 }), node({ id: "WH", km: 50 })]
    const stock = stockOf({ "A@ST-1": 1, "B@ST-2": 1, "A@WH": 1, "B@WH": 1 })
    const r = route(request([line(1, "A", 1), line(2, "B", 1)], { policy: { weights } }), nodes, stock, capacityOf())
    expect(nodesOf(r)).toEqual(["WH"])
  })

  it("splits when the split is cheaper than the one node that fills everything, and says so", () => {
    const weights: CostWeights = { ...defaultWeights, splitPenaltyCents: 0 }
    const nodes = [node({ id: "WH-far", km: 2500 }), node({ id: "ST-1", km: 5 }), node({ id: "ST-2", km: 5 })]
    const stock = stockOf({ "A@WH-far": 5, "B@WH-far": 5, "A@ST-1": 5, "B@ST-2": 5 })
    const r = route(request([line(1, "A", 1), line(2, "B", 1)], { policy: { weights } }), nodes, stock, capacityOf())
    expect(nodesOf(r).sort()).toEqual(["ST-1", "ST-2"])
    expect(r.explanation.summary).toContain("cheaper than shipping everything from WH-far")
    expect(verdictOf(r, "WH-far")).toMatch(/^costs \$\d+\.\d\d more$/)
  })

  it("the cheapest of several nodes that fill everything wins", () => {
    const nodes = [node({ id: "WH-1", km: 900 }), node({ id: "WH-2", km: 300 }), node({ id: "WH-3", km: 600 })]
    const stock = stockOf({ "A@WH-1": 5, "A@WH-2": 5, "A@WH-3": 5 })
    const r = route(request([line(1, "A", 2)]), nodes, stock, capacityOf())
    expect(nodesOf(r)).toEqual(["WH-2"])
    expect(verdictOf(r, "WH-3")).toMatch(/^costs \$\d+\.\d\d more$/)
  })
})

describe("splits", () => {
  const nodes = [node({ id: "N1", km: 100 }), node({ id: "N2", km: 200 }), node({ id: "N3", km: 300 })]
  const stock = stockOf({ "A@N1": 5, "B@N2": 5, "C@N3": 5 })
  const lines = [line(1, "A", 2), line(2, "B", 2), line(3, "C", 2)]

  it("splits when no single node can fill the order", () => {
    const r = route(request(lines, { policy: { maxSplits: 2 } }), nodes, stock, capacityOf())
    expect(nodesOf(r).sort()).toEqual(["N1", "N2", "N3"])
    expect(r.backordered).toEqual([])
    expect(r.explanation.summary).toMatch(/^Split into 3 packages/)
    expect(r.explanation.summary).toContain("no single node fills the whole order")
    const shipmentCosts = r.shipments.reduce((n, s) => n + s.costCents, 0)
    expect(r.totalCostCents).toBe(shipmentCosts + 2 * defaultWeights.splitPenaltyCents)
  })

  it("never plans more than maxSplits + 1 shipments; the rest is backordered", () => {
    const one = route(request(lines, { policy: { maxSplits: 1 } }), nodes, stock, capacityOf())
    expect(one.shipments.length).toBe(2)
    expect(one.backordered.reduce((n, b) => n + b.qty, 0)).toBe(2)
    expect(one.explanation.summary).toContain("would take more than the 2 packages allowed")

    const none = route(request(lines, { policy: { maxSplits: 0 } }), nodes, stock, capacityOf())
    expect(none.shipments.length).toBe(1)
    expect(none.backordered.reduce((n, b) => n + b.qty, 0)).toBe(4)
  })

  it("splits a single line across nodes when no node has all of it", () => {
    const stock2 = stockOf({ "A@N1": 6, "A@N2": 5, "A@N3": 1 })
    const r = route(request([line(1, "A", 10)]), nodes, stock2, capacityOf())
    expect(planned(r, 1)).toBe(10)
    expect(r.backordered).toEqual([])
    expect(r.shipments.length).toBe(2)
    for (const s of r.shipments) expect(s.lines[0].qty).toBeLessThanOrEqual(stock2.atp("A", s.nodeId))
  })

  it("lines of the same SKU share the stock of a node", () => {
    const r = route(request([line(1, "A", 3), line(2, "A", 3)], { policy: { maxSplits: 0 } }), nodes, stockOf({ "A@N1": 4 }), capacityOf())
    expect(planned(r, 1) + planned(r, 2)).toBe(4)
    expect(backordered(r, 1) + backordered(r, 2)).toBe(2)
  })
})

// ---- eligibility ----------------------------------------------------------------

describe("capacity", () => {
  it("a node with no capacity left is never chosen", () => {
    const nodes = [node({ id: "NEAR", km: 10 }), node({ id: "FAR", km: 900 })]
    const stock = stockOf({ "A@NEAR": 5, "A@FAR": 5 })
    const r = route(request([line(1, "A", 1)]), nodes, stock, capacityOf({ NEAR: 0 }))
    expect(nodesOf(r)).toEqual(["FAR"])
    expect(verdictOf(r, "NEAR")).toBe("over capacity")
    expect(r.explanation.summary).toContain("1 over capacity")

    const none = route(request([line(1, "A", 1)]), nodes, stock, capacityOf({ NEAR: 0, FAR: 0.5 }))
    expect(none.shipments).toEqual([])
    expect(none.backordered).toEqual([{ lineNo: 1, qty: 1 }])
  })

  it("the load penalty shifts the choice to a less busy node", () => {
    const nodes = [node({ id: "NEAR", km: 100 }), node({ id: "FAR", km: 300 })]
    const stock = stockOf({ "A@NEAR": 5, "A@FAR": 5 })
    // 200 km more costs 40 + 20 cents at 1 kg; a full day at NEAR costs 300 cents.
    expect(nodesOf(route(request([line(1, "A", 1)]), nodes, stock, capacityOf()))).toEqual(["NEAR"])
    expect(nodesOf(route(request([line(1, "A", 1)]), nodes, stock, capacityOf({}, { NEAR: 0.9 })))).toEqual(["FAR"])
  })
})

describe("node status and exclusions", () => {
  const nodes = [
    node({ id: "OFF", km: 5, status: "offline" }),
    node({ id: "PAUSED", km: 6, status: "paused" }),
    node({ id: "REJECTED", km: 7 }),
    node({ id: "OK", km: 800 })
  ]
  const stock = stockOf({ "A@OFF": 9, "A@PAUSED": 9, "A@REJECTED": 9, "A@OK": 9 })

  it("offline, paused and excluded nodes are never chosen", () => {
    const r = route(request([line(1, "A", 2)], { excludedNodeIds: new Set(["REJECTED"]) }), nodes, stock, capacityOf())
    expect(nodesOf(r)).toEqual(["OK"])
    expect(verdictOf(r, "OFF")).toBe("offline")
    expect(verdictOf(r, "PAUSED")).toBe("paused")
    // Nodes that failed the cheap checks still report their real distance.
    expect(r.explanation.candidates.find((c) => c.nodeId === "OFF")?.distanceKm).toBeCloseTo(5, 0)
    expect(verdictOf(r, "REJECTED")).toBe("excluded for this order")
    expect(r.explanation.summary).toContain("1 offline")
    expect(r.explanation.summary).toContain("1 paused")
    expect(r.explanation.summary).toContain("1 excluded")
  })

  it("everything is backordered when no node is eligible", () => {
    const r = route(request([line(1, "A", 2)], { excludedNodeIds: new Set(["REJECTED", "OK"]) }), nodes, stock, capacityOf())
    expect(r.shipments).toEqual([])
    expect(r.backordered).toEqual([{ lineNo: 1, qty: 2 }])
    expect(r.totalCostCents).toBe(0)
    expect(r.explanation.summary).toMatch(/^Backordered all 2 units: no node is eligible/)
  })
})

describe("pickup in store", () => {
  const nodes = [
    node({ id: "WH", km: 1, services: ["ship"] }),
    node({ id: "ST-PICK", km: 12, kind: "store", priority: 3 }),
    node({ id: "ST-OTHER", km: 2, kind: "store" }),
    node({ id: "ST-SHIP-ONLY", km: 3, kind: "store", services: ["ship"] })
  ]
  const stock = stockOf({ "A@WH": 9, "B@WH": 9, "A@ST-PICK": 2, "B@ST-PICK": 0, "A@ST-OTHER": 9, "B@ST-OTHER": 9, "A@ST-SHIP-ONLY": 9 })

  it("serves only from the pickup node and backorders what it lacks", () => {
    const r = route(
      request([line(1, "A", 3), line(2, "B", 1)], { fulfillment: "pickup", pickupNodeId: "ST-PICK" }),
      nodes, stock, capacityOf({}, { "ST-PICK": 0.5 })
    )
    expect(nodesOf(r)).toEqual(["ST-PICK"])
    expect(r.shipments[0].lines).toEqual([{ lineNo: 1, qty: 2 }])
    expect(r.backordered).toEqual([{ lineNo: 1, qty: 1 }, { lineNo: 2, qty: 1 }])
    // No carrier cost: priority and load only.
    expect(r.shipments[0].costCents).toBe(Math.round(2 * defaultWeights.priorityStepCents + 0.5 * defaultWeights.loadPenaltyCents))
    // The real distance is reported.
    expect(r.shipments[0].distanceKm).toBeGreaterThan(11)
    expect(r.shipments[0].distanceKm).toBeLessThan(13)
    expect(r.explanation.summary).toContain("ST-PICK")
    expect(r.explanation.candidates.map((c) => c.nodeId)).toEqual(["ST-PICK"])
  })

  it("pickup is not limited by maxDistanceKm or shipFromStore", () => {
    const r = route(
      request([line(1, "A", 1)], { fulfillment: "pickup", pickupNodeId: "ST-PICK", policy: { maxDistanceKm: 5, shipFromStore: false } }),
      nodes, stock, capacityOf()
    )
    expect(nodesOf(r)).toEqual(["ST-PICK"])
    expect(r.explanation.summary).toMatch(/^Ready for pickup at ST-PICK/)
  })

  it("backorders everything when the pickup node does not offer pickup or is missing", () => {
    const noPickup = route(request([line(1, "A", 1)], { fulfillment: "pickup", pickupNodeId: "ST-SHIP-ONLY" }), nodes, stock, capacityOf())
    expect(noPickup.shipments).toEqual([])
    expect(noPickup.backordered).toEqual([{ lineNo: 1, qty: 1 }])
    expect(noPickup.explanation.summary).toContain("does not offer pickup")

    const missing = route(request([line(1, "A", 1)], { fulfillment: "pickup", pickupNodeId: null }), nodes, stock, capacityOf())
    expect(missing.shipments).toEqual([])
    expect(missing.backordered).toEqual([{ lineNo: 1, qty: 1 }])
  })
})

describe("channel policy", () => {
  const nodes = [
    node({ id: "ST-EAST", km: 5, kind: "store", groups: ["east"] }),
    node({ id: "WH-WEST", km: 400, groups: ["west"] }),
    node({ id: "WH-CENTRAL", km: 1200, groups: ["central"] })
  ]
  const stock = stockOf({ "A@ST-EAST": 5, "A@WH-WEST": 5, "A@WH-CENTRAL": 5 })
  const order = [line(1, "A", 1)]

  it("allowed node ids and allowed groups restrict the nodes; with both, either qualifies", () => {
    expect(nodesOf(route(request(order), nodes, stock, capacityOf()))).toEqual(["ST-EAST"])
    const byId = route(request(order, { policy: { allowedNodeIds: ["WH-CENTRAL"] } }), nodes, stock, capacityOf())
    expect(nodesOf(byId)).toEqual(["WH-CENTRAL"])
    expect(verdictOf(byId, "ST-EAST")).toBe("not allowed for this channel")
    const byGroup = route(request(order, { policy: { allowedGroups: ["west", "central"] } }), nodes, stock, capacityOf())
    expect(nodesOf(byGroup)).toEqual(["WH-WEST"])
    const both = route(request(order, { policy: { allowedNodeIds: ["WH-CENTRAL"], allowedGroups: ["west"] } }), nodes, stock, capacityOf())
    expect(nodesOf(both)).toEqual(["WH-WEST"])
    const both2 = route(request(order, { policy: { allowedNodeIds: ["WH-CENTRAL"], allowedGroups: ["nowhere"] } }), nodes, stock, capacityOf())
    expect(nodesOf(both2)).toEqual(["WH-CENTRAL"])
  })

  it("shipFromStore off keeps stores out of ship orders", () => {
    const r = route(request(order, { policy: { shipFromStore: false } }), nodes, stock, capacityOf())
    expect(nodesOf(r)).toEqual(["WH-WEST"])
    expect(verdictOf(r, "ST-EAST")).toBe("store: ship from store is off for this channel")
  })

  it("nodes beyond maxDistanceKm are not considered", () => {
    const r = route(request(order, { policy: { maxDistanceKm: 800, shipFromStore: false } }), nodes, stock, capacityOf())
    expect(nodesOf(r)).toEqual(["WH-WEST"])
    expect(verdictOf(r, "WH-CENTRAL")).toBe("beyond 800 km")
    const none = route(request(order, { policy: { maxDistanceKm: 300, shipFromStore: false } }), nodes, stock, capacityOf())
    expect(none.shipments).toEqual([])
    expect(none.backordered).toEqual([{ lineNo: 1, qty: 1 }])
  })

  it("nodes that do not ship are not considered for ship orders", () => {
    const pickupOnly = [node({ id: "ST-PICKUP-ONLY", km: 5, kind: "store", services: ["pickup"] }), ...nodes.slice(1)]
    const r = route(request(order), pickupOnly, stockOf({ "A@ST-PICKUP-ONLY": 5, "A@WH-WEST": 5 }), capacityOf())
    expect(nodesOf(r)).toEqual(["WH-WEST"])
    expect(verdictOf(r, "ST-PICKUP-ONLY")).toBe("does not ship")
  })
})

describe("backorder", () => {
  it("backorders everything when no node has the items", () => {
    const nodes = [node({ id: "N1" }), node({ id: "N2" })]
    const r = route(request([line(1, "A", 2), line(2, "B", 1)]), nodes, stockOf({}), capacityOf())
    expect(r.shipments).toEqual([])
    expect(r.backordered).toEqual([{ lineNo: 1, qty: 2 }, { lineNo: 2, qty: 1 }])
    expect(r.explanation.summary).toMatch(/^Backordered all 3 units: no eligible node has any of the items; 2 nodes considered, 2 out of stock/)
    expect(r.explanation.candidates.map((c) => c.verdict)).toEqual(["out of stock", "out of stock"])
  })

  it("plans what can be filled and backorders the rest", () => {
    const nodes = [node({ id: "N1" }), node({ id: "N2" })]
    const r = route(request([line(1, "A", 2), line(2, "B", 3)]), nodes, stockOf({ "A@N1": 2, "B@N2": 1 }), capacityOf())
    expect(planned(r, 1)).toBe(2)
    expect(planned(r, 2)).toBe(1)
    expect(r.backordered).toEqual([{ lineNo: 2, qty: 2 }])
    expect(r.explanation.summary).toContain("2 units backordered (line 2): no eligible node has enough stock")
  })
})

describe("explanation", () => {
  it("names the chosen node and lists at most 5 candidates, chosen first, with verdicts", () => {
    const nodes = [
      node({ id: "WH-Dallas", km: 20 }),
      node({ id: "WH-Tulsa", km: 380 }),
      node({ id: "ST-Partial", km: 3, kind: "store" }),
      node({ id: "ST-Empty", km: 4, kind: "store" }),
      node({ id: "ST-Full", km: 2, kind: "store" }),
      node({ id: "ST-Off", km: 1, kind: "store", status: "offline" }),
      node({ id: "WH-Far", km: 3000 })
    ]
    const stock = stockOf({ "A@WH-Dallas": 9, "B@WH-Dallas": 9, "A@WH-Tulsa": 9, "B@WH-Tulsa": 9, "A@ST-Partial": 9, "A@ST-Full": 9, "B@ST-Full": 9, "A@WH-Far": 9, "B@WH-Far": 9 })
    const r = route(request([line(1, "A", 1), line(2, "B", 1)], { policy: { maxDistanceKm: 2000 } }), nodes, stock, capacityOf({ "ST-Full": 0 }))
    expect(nodesOf(r)).toEqual(["WH-Dallas"])
    const summary = r.explanation.summary
    expect(summary).toMatch(/^Shipped from WH-Dallas in 1 package \(20 km, \$\d+\.\d\d\): the cheapest node that fills the whole order;/)
    expect(summary).toContain("4 nodes considered, 1 out of stock, 1 offline, 1 beyond 2,000 km, 1 over capacity")
    const c = r.explanation.candidates
    expect(c.length).toBe(5)
    expect(c[0]).toMatchObject({ nodeId: "WH-Dallas", verdict: "chosen", fills: [1, 2], costCents: r.shipments[0].costCents })
    expect(c[1].nodeId).toBe("WH-Tulsa")
    expect(c[1].verdict).toMatch(/^costs \$\d+\.\d\d more$/)
    expect(c[1].costCents - r.totalCostCents).toBe(Number(c[1].verdict.match(/\$(\d+\.\d\d)/)![1]) * 100)
    expect(c[2]).toMatchObject({ nodeId: "ST-Partial", verdict: "fills line 1 only", fills: [1] })
    // Then the nearest nodes that could not take part.
    expect(c.slice(3).map((x) => [x.nodeId, x.verdict])).toEqual([["ST-Off", "offline"], ["ST-Full", "over capacity"]])
    expect(JSON.stringify(r.explanation).length).toBeLessThan(1200)
  })

  it("the reported cost follows the documented formula", () => {
    const weights: CostWeights = { perPackageCents: 500, perKmCents: 0.2, perKgPer100KmCents: 10, splitPenaltyCents: 400, priorityStepCents: 50, loadPenaltyCents: 300 }
    const n = node({ id: "WH", km: 412, priority: 3 })
    const r = route(request([line(1, "A", 2, 1500), line(2, "B", 1, 250)], { policy: { weights } }), [n], stockOf({ "A@WH": 5, "B@WH": 5 }), capacityOf({}, { WH: 0.25 }))
    const d = distanceKm(n.location, customer)
    const kg = 2 * 1.5 + 0.25
    const expected = 500 + 0.2 * d + (10 * kg * d) / 100 + 50 * 2 + 300 * 0.25
    expect(r.shipments[0].costCents).toBe(Math.round(expected))
    expect(r.totalCostCents).toBe(Math.round(expected))
    expect(r.shipments[0].distanceKm).toBeCloseTo(d, 1)
  })
})

// ---- properties ---------------------------------------------------------------------

const SKUS = ["A", "B", "C", "D", "E"]

interface World {
  readonly nodes: ReadonlyArray<FulfillmentNode>
  readonly atp: Record<string, number>
  readonly remaining: Record<string, number>
  readonly used: Record<string, number>
  readonly request: RouteRequest
}

const worldArb = (minNodes: number, maxNodes: number): fc.Arbitrary<World> =>
  fc.integer({ min: minNodes, max: maxNodes }).chain((count) => {
    const ids = Array.from({ length: count }, (_, i) => `N${i}`)
    const nodeArb = (id: string) =>
      fc.record({
        kind: fc.constantFrom<NodeKind>("warehouse", "store"),
        status: fc.constantFrom<NodeStatus>("online", "online", "online", "paused", "offline"),
        lat: fc.double({ min: 26, max: 48, noNaN: true }),
        lon: fc.double({ min: -122, max: -70, noNaN: true }),
        priority: fc.integer({ min: 1, max: 3 }),
        services: fc.constantFrom<ReadonlyArray<NodeService>>(["ship"], ["ship", "pickup"], ["pickup"]),
        groups: fc.subarray(["east", "west", "outlet"]),
        remaining: fc.constantFrom(0, 1, 1, 5, 100),
        used: fc.double({ min: 0, max: 1, noNaN: true }),
        atp: fc.tuple(...SKUS.map(() => fc.constantFrom(0, 0, 1, 2, 3, 5, 10)))
      }).map((r) => ({ id, ...r }))
    return fc.record({
      specs: fc.tuple(...ids.map(nodeArb)),
      lines: fc.array(fc.record({ sku: fc.constantFrom(...SKUS), qty: fc.integer({ min: 1, max: 8 }), weightGrams: fc.integer({ min: 0, max: 5000 }) }), { minLength: 1, maxLength: 5 }),
      pickup: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
      pickupNode: fc.constantFrom(...ids, "NOPE"),
      excluded: fc.subarray(ids, { maxLength: Math.min(3, ids.length) }),
      allowedNodeIds: fc.oneof(fc.constant([] as Array<string>), fc.subarray(ids)),
      allowedGroups: fc.oneof(fc.constant([] as Array<string>), fc.subarray(["east", "west", "outlet"])),
      maxSplits: fc.integer({ min: 0, max: 4 }),
      maxDistanceKm: fc.constantFrom(0, 0, 500, 1500, 3000),
      shipFromStore: fc.boolean(),
      dest: fc.record({ lat: fc.double({ min: 26, max: 48, noNaN: true }), lon: fc.double({ min: -122, max: -70, noNaN: true }) })
    }).map((w): World => {
      const atp: Record<string, number> = {}
      const remaining: Record<string, number> = {}
      const used: Record<string, number> = {}
      const nodes = w.specs.map((s) => {
        s.atp.forEach((q, k) => (atp[`${SKUS[k]}@${s.id}`] = q))
        remaining[s.id] = s.remaining
        used[s.id] = s.used
        return {
          nodeId: s.id, name: s.id, kind: s.kind, location: { lat: s.lat, lon: s.lon }, status: s.status,
          capacityPerDay: 100, priority: s.priority, services: s.services, groups: s.groups
        } satisfies FulfillmentNode
      })
      const request: RouteRequest = {
        lines: w.lines.map((l, i) => ({ lineNo: i + 1, ...l })),
        destination: w.dest,
        fulfillment: w.pickup ? "pickup" : "ship",
        pickupNodeId: w.pickup ? w.pickupNode : null,
        excludedNodeIds: new Set(w.excluded),
        policy: {
          ...defaultPolicy,
          allowedNodeIds: w.allowedNodeIds,
          allowedGroups: w.allowedGroups,
          maxSplits: w.maxSplits,
          maxDistanceKm: w.maxDistanceKm,
          shipFromStore: w.shipFromStore
        }
      }
      return { nodes, atp, remaining, used, request }
    })
  })

/** Eligibility, written out from the contract independently of the router. */
const eligible = (w: World, n: FulfillmentNode): boolean => {
  const p = w.request.policy
  if (n.status !== "online") return false
  if (w.request.excludedNodeIds.has(n.nodeId)) return false
  const restricted = p.allowedNodeIds.length > 0 || p.allowedGroups.length > 0
  if (restricted && !p.allowedNodeIds.includes(n.nodeId) && !n.groups.some((g) => p.allowedGroups.includes(g))) return false
  if (w.request.fulfillment === "pickup") {
    if (n.nodeId !== w.request.pickupNodeId || !n.services.includes("pickup")) return false
  } else {
    if (!n.services.includes("ship")) return false
    if (n.kind === "store" && !p.shipFromStore) return false
    if (p.maxDistanceKm > 0 && distanceKm(n.location, w.request.destination) > p.maxDistanceKm) return false
  }
  return w.remaining[n.nodeId] >= 1
}

/** Fewest units left unfilled by any set of at most `maxShipments` eligible nodes (all subsets). */
const bruteForceUnfilled = (w: World, maxShipments: number): number => {
  const pool = w.nodes.filter((n) => eligible(w, n))
  const want = new Map<string, number>()
  for (const l of w.request.lines) want.set(l.sku, (want.get(l.sku) ?? 0) + l.qty)
  let best = Infinity
  for (let mask = 0; mask < 1 << pool.length; mask++) {
    const chosen = pool.filter((_, i) => mask & (1 << i))
    if (chosen.length > maxShipments) continue
    let unfilled = 0
    for (const [sku, q] of want) {
      const have = chosen.reduce((n, node) => n + (w.atp[`${sku}@${node.nodeId}`] ?? 0), 0)
      unfilled += Math.max(0, q - have)
    }
    best = Math.min(best, unfilled)
  }
  return best
}

const routeWorld = (w: World): RouteResult =>
  route(w.request, w.nodes, stockOf(w.atp), capacityOf(w.remaining, w.used))

const checkInvariants = (w: World, r: RouteResult) => {
  const maxShipments = w.request.fulfillment === "pickup" ? 1 : w.request.policy.maxSplits + 1
  expect(r.shipments.length).toBeLessThanOrEqual(maxShipments)
  // One shipment per node, only eligible nodes, no empty shipment.
  expect(new Set(nodesOf(r)).size).toBe(r.shipments.length)
  for (const s of r.shipments) {
    const n = w.nodes.find((x) => x.nodeId === s.nodeId)!
    expect(eligible(w, n)).toBe(true)
    expect(s.lines.length).toBeGreaterThan(0)
    for (const l of s.lines) expect(l.qty).toBeGreaterThan(0)
  }
  // Never above atp, summed over lines of one SKU.
  for (const s of r.shipments) {
    const perSku = new Map<string, number>()
    for (const l of s.lines) {
      const sku = w.request.lines.find((x) => x.lineNo === l.lineNo)!.sku
      perSku.set(sku, (perSku.get(sku) ?? 0) + l.qty)
    }
    for (const [sku, q] of perSku) expect(q).toBeLessThanOrEqual(w.atp[`${sku}@${s.nodeId}`] ?? 0)
  }
  // Planned + backordered == ordered, per line.
  for (const l of w.request.lines) expect(planned(r, l.lineNo) + backordered(r, l.lineNo)).toBe(l.qty)
  for (const b of r.backordered) expect(b.qty).toBeGreaterThan(0)
  // Totals and explanation shape.
  const penalty = Math.round(w.request.policy.weights.splitPenaltyCents * Math.max(0, r.shipments.length - 1))
  expect(r.totalCostCents).toBe(r.shipments.reduce((n, s) => n + s.costCents, 0) + penalty)
  expect(r.explanation.candidates.length).toBeLessThanOrEqual(5)
  expect(r.explanation.candidates.slice(0, r.shipments.length).map((c) => [c.nodeId, c.verdict]))
    .toEqual(r.shipments.slice(0, 5).map((s) => [s.nodeId, "chosen"]))
  expect(r.explanation.candidates.slice(r.shipments.length).every((c) => c.verdict !== "chosen")).toBe(true)
  expect(r.explanation.summary.length).toBeGreaterThan(10)
  for (const c of r.explanation.candidates) {
    const n = w.nodes.find((x) => x.nodeId === c.nodeId)!
    expect(Math.abs(c.distanceKm - distanceKm(n.location, w.request.destination))).toBeLessThanOrEqual(0.051)
  }
  for (const s of r.shipments) {
    const n = w.nodes.find((x) => x.nodeId === s.nodeId)!
    expect(Math.abs(s.distanceKm - distanceKm(n.location, w.request.destination))).toBeLessThanOrEqual(0.051)
  }
  return maxShipments
}

describe("properties over random networks", () => {
  it("plans respect stock, eligibility, quantities and the split limit (2-30 nodes)", () => {
    fc.assert(
      fc.property(worldArb(2, 30), (w) => {
        const r = routeWorld(w)
        checkInvariants(w, r)
        // When one eligible node fills everything, nothing is backordered and no listed full node is cheaper.
        const want = new Map<string, number>()
        for (const l of w.request.lines) want.set(l.sku, (want.get(l.sku) ?? 0) + l.qty)
        const fills = (n: FulfillmentNode) => [...want].every(([sku, q]) => (w.atp[`${sku}@${n.nodeId}`] ?? 0) >= q)
        const full = w.nodes.filter((n) => eligible(w, n) && fills(n)).map((n) => n.nodeId)
        if (full.length > 0) {
          expect(r.backordered).toEqual([])
          for (const c of r.explanation.candidates) {
            if (full.includes(c.nodeId) && c.verdict !== "chosen") expect(r.totalCostCents).toBeLessThanOrEqual(c.costCents)
          }
        }
      }),
      { numRuns: 1500 }
    )
  })

  it("leaves as few units unfilled as any set of allowed size (brute force, <= 6 nodes)", () => {
    fc.assert(
      fc.property(worldArb(2, 6), (w) => {
        const r = routeWorld(w)
        const maxShipments = checkInvariants(w, r)
        const unfilled = r.backordered.reduce((n, b) => n + b.qty, 0)
        expect(unfilled).toBe(bruteForceUnfilled(w, maxShipments))
      }),
      { numRuns: 3000 }
    )
  })

  it("is deterministic and independent of earlier calls (scratch space reuse)", () => {
    fc.assert(
      fc.property(worldArb(2, 30), worldArb(2, 30), (a, b) => {
        const first = routeWorld(a)
        routeWorld(b)
        expect(routeWorld(a)).toEqual(first)
      }),
      { numRuns: 300 }
    )
  })
})
