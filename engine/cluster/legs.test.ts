/**
 * Split orders (cluster mode): the split of an order into legs, the composite
 * id, the line mapping and the group status as pure functions; and a leg's
 * life in one engine: placed in the partition it names, idempotent by
 * (channel, external id, partition), undone by a compensation that gives the
 * stock back, notifies no one and frees the key.
 */
import { describe, expect, it } from "vitest"
import type { PlaceOrder } from "../domain/commands.ts"
import type { OrderView } from "../order/order-state.ts"
import * as Queries from "../runtime/queries.ts"
import { partitionOf } from "../runtime/partition.ts"
import { MemoryJournal } from "../store/memory-journal.ts"
import { fixtureCommands, ManualClock, openEngine, places, run, testConfig } from "../testing/fixture.ts"
import { compositeOrderId, groupPayment, groupStatus, groupView, legIdsOf, linesByLeg, splitOrder } from "./legs.ts"

const partitions = testConfig().partitions
// with 4 partitions: TV-55 in p0, SOUNDBAR in p1, HDMI in p3
const part = (sku: string) => partitionOf(sku, partitions)
const order = (externalId: string, skus: ReadonlyArray<string>, extra: Partial<PlaceOrder> = {}): PlaceOrder => ({
  type: "order.place", channel: "web", externalId, customer: { name: "A", location: places.dallas }, payment: "authorised",
  lines: skus.map((sku, i) => ({ sku, qty: i + 1 })), ...extra
})

describe("the split of an order into legs", () => {
  it("places an order whose lines and holds all lie in its own partition whole, and one elsewhere as a single leg", () => {
    let externalId = ""
    for (let i = 0; externalId === ""; i++) if (partitionOf(`web\u0000X-${i}`, partitions) === part("TV-55")) externalId = `X-${i}`
    expect(splitOrder(order(externalId, ["TV-55"], { holdIds: ["h0-a"] }), partitions)).toEqual({ kind: "whole" })
    const away = splitOrder(order(externalId, ["SOUNDBAR"]), partitions)
    expect(away).toMatchObject({ kind: "legs", legs: [{ leg: { partition: part("SOUNDBAR"), lineNos: [1] } }] })
  })

  it("makes one leg per partition, lines in the client's order with their client line numbers, holds with their partition", () => {
    expect([part("TV-55"), part("SOUNDBAR"), part("HDMI")]).toEqual([0, 1, 3])
    const c = order("X-2", ["HDMI", "TV-55", "SOUNDBAR", "HDMI-2"], { holdIds: ["h3-a", "h0-b"], service: "two_day", purchaseOrder: "PO-1" })
    const plan = splitOrder(c, partitions)
    if (!("kind" in plan) || plan.kind !== "legs") throw new Error("expected legs")
    const p = (s: string) => partitionOf(s, partitions)
    const expected = new Map<number, Array<number>>()
    ;["HDMI", "TV-55", "SOUNDBAR", "HDMI-2"].forEach((s, i) => expected.set(p(s), [...(expected.get(p(s)) ?? []), i + 1]))
    expect(plan.legs.map((l) => l.leg.partition)).toEqual([...expected.keys()].sort((a, b) => a - b))
    for (const leg of plan.legs) {
      expect(leg.leg.lineNos).toEqual(expected.get(leg.leg.partition))
      expect(leg.lines.map((l) => l.sku)).toEqual(leg.leg.lineNos.map((n) => c.lines[n - 1].sku))
      expect(leg.holdIds).toEqual(["h3-a", "h0-b"].filter((h) => h.startsWith(`h${leg.leg.partition}-`)))
      // every leg carries the order's terms
      expect(leg).toMatchObject({ channel: "web", externalId: "X-2", payment: "authorised", service: "two_day", purchaseOrder: "PO-1", customer: c.customer })
    }
  })

  it("refuses a hold whose partition holds no line of the order, and leaves legs and malformed orders to the engine", () => {
    expect(splitOrder(order("X-3", ["TV-55", "SOUNDBAR"], { holdIds: ["h3-z"] }), partitions)).toMatchObject({ ok: false, code: "hold_mismatch" })
    expect(splitOrder(order("X-3", ["TV-55", "SOUNDBAR"], { holdIds: ["nope"] }), partitions)).toMatchObject({ ok: false, code: "hold_not_found" })
    expect(splitOrder(order("X-3", ["TV-55", "SOUNDBAR"], { leg: { partition: 0, lineNos: [1, 2] } }), partitions)).toEqual({ kind: "whole" })
    expect(splitOrder({ ...order("X-3", []), lines: "x" } as unknown as PlaceOrder, partitions)).toEqual({ kind: "whole" })
  })
})

describe("composite order ids", () => {
  it("joins leg ids with a URL-safe separator and parses them back", () => {
    const id = compositeOrderId(["o0-1", "o1-a", "o3-2z"])
    expect(id).toBe("o0-1_o1-a_o3-2z")
    expect(encodeURIComponent(id)).toBe(id)
    expect(legIdsOf(id)).toEqual(["o0-1", "o1-a", "o3-2z"])
  })

  it("is not a composite id unless it names two or more legs of distinct partitions", () => {
    for (const id of ["o0-1", "o0-1_", "o0-1_o0-2", "o0-1_x", "_o1-1", "o0-1__o1-1", "ext_id", 42]) expect(legIdsOf(id)).toBeUndefined()
  })
})

describe("line numbers of a split order", () => {
  const legs = [{ orderId: "o0-1", lineNos: [2, 3] }, { orderId: "o3-1", lineNos: [1, 4] }]

  it("maps the client's line numbers to the legs' own", () => {
    const mapped = linesByLeg(legs, [{ lineNo: 4, qty: 1 }, { lineNo: 2, qty: 2 }, { lineNo: 1, qty: 3 }])
    expect(mapped).toEqual(new Map([["o3-1", [{ lineNo: 2, qty: 1 }, { lineNo: 1, qty: 3 }]], ["o0-1", [{ lineNo: 1, qty: 2 }]]]))
  })

  it("refuses a line number no leg has", () => {
    expect(linesByLeg(legs, [{ lineNo: 5, qty: 1 }])).toMatchObject({ ok: false, code: "line_not_found" })
  })
})

describe("the status of a split order", () => {
  it("is the least advanced leg's, cancelled legs aside", () => {
    expect(groupStatus(["routed", "in_fulfillment"])).toBe("routed")
    expect(groupStatus(["awaiting_payment", "routed"])).toBe("awaiting_payment")
    expect(groupStatus(["cancelled", "shipped"])).toBe("shipped")
    expect(groupStatus(["cancelled", "cancelled"])).toBe("cancelled")
    expect(groupStatus(["delivered", "delivered"])).toBe("delivered")
  })

  it("is partially shipped while some goods left and others not, partially returned when one leg came back", () => {
    expect(groupStatus(["routed", "shipped"])).toBe("partially_shipped")
    expect(groupStatus(["backordered", "delivered"])).toBe("partially_shipped")
    expect(groupStatus(["delivered", "returned"])).toBe("partially_returned")
  })

  it("pays when every leg paid", () => {
    expect(groupPayment(["authorised", "authorised"])).toBe("authorised")
    expect(groupPayment(["authorised", "pending"])).toBe("pending")
    expect(groupPayment(["pending", "declined"])).toBe("declined")
  })
})

describe("a leg in the engine", () => {
  it("lives in its partition, is idempotent per partition, and a compensation gives its stock back, notifies no one and frees its key", async () => {
    const clock = new ManualClock()
    const engine = await openEngine(new MemoryJournal(), clock)
    await run(engine, [...fixtureCommands, { type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 5 }, { type: "inventory.receive", sku: "SOUNDBAR", nodeId: "WH-DAL", qty: 5 }])
    const plan = splitOrder(order("L-1", ["TV-55", "SOUNDBAR"]), partitions)
    if (!("kind" in plan) || plan.kind !== "legs") throw new Error("expected legs")
    const [tvLeg, soundbarLeg] = plan.legs
    const placed = await engine.submit(tvLeg)
    if (!placed.ok) throw new Error(placed.message)
    expect(placed.order).toMatchObject({ orderId: "o0-1", leg: { partition: 0, lineNos: [1], compensated: false }, status: "routed" })
    expect(await engine.submit(tvLeg)).toMatchObject({ ok: true, existing: true, order: { orderId: "o0-1" } })
    expect(Queries.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ allocated: 1 })

    // a leg with a line of another partition, or malformed, is refused by name
    expect(await engine.submit({ ...tvLeg, leg: { partition: 1, lineNos: [1] } })).toMatchObject({ ok: false, code: "spans_partitions" })
    expect(await engine.submit({ ...tvLeg, leg: { partition: 0, lineNos: [1, 2] } })).toMatchObject({ ok: false, code: "invalid_leg" })
    expect(await engine.submit({ ...tvLeg, leg: { partition: 9, lineNos: [1] } })).toMatchObject({ ok: false, code: "invalid_leg" })
    // a compensation is for legs only, whole
    const whole = await engine.submit(order("W-1", ["SOUNDBAR"]))
    if (!whole.ok) throw new Error(whole.message)
    expect(await engine.submit({ type: "order.cancel", orderId: whole.order!.orderId, reason: "x", compensation: true })).toMatchObject({ ok: false, code: "invalid_leg" })
    expect(await engine.submit({ type: "order.cancel", orderId: "o0-1", lines: [{ lineNo: 1, qty: 1 }], reason: "x", compensation: true })).toMatchObject({ ok: false, code: "invalid_leg" })

    const undone = await engine.submit({ type: "order.cancel", orderId: "o0-1", reason: "compensation: test", compensation: true })
    expect(undone).toMatchObject({ ok: true, order: { status: "cancelled", leg: { compensated: true } } })
    expect(Queries.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ onHand: 5, allocated: 0, held: 0 })
    expect(Queries.outbox(engine.view).filter((n) => n.orderId === "o0-1")).toEqual([])
    expect((await Queries.orderLegByExternal(engine, "web", "L-1", 0))).toBeUndefined()
    // a retry places the leg again, as a new order
    expect(await engine.submit(tvLeg)).toMatchObject({ ok: true, order: { orderId: "o0-2", status: "routed" } })
    expect(await engine.submit(soundbarLeg)).toMatchObject({ ok: true, order: { leg: { partition: 1, lineNos: [2] } } })
    expect((await Queries.orderLegByExternal(engine, "web", "L-1", 0))?.orderId).toBe("o0-2")
    await engine.close()
  })
})

describe("the claim of a split order's external id in the engine", () => {
  /** An external id of channel web whose home partition is `home`. */
  const homedAt = (home: number, prefix: string): string => {
    for (let i = 0; ; i++) if (partitionOf(`web\u0000${prefix}-${i}`, partitions) === home) return `${prefix}-${i}`
  }
  const claim = (externalId: string, ps: ReadonlyArray<number>) => ({ type: "order.claimSplit" as const, channel: "web", externalId, partitions: ps })
  const release = (externalId: string, ps: ReadonlyArray<number>) => ({ type: "order.releaseSplit" as const, channel: "web", externalId, partitions: ps })

  it("is taken once per external id, repeated as existing, refused over other partitions or an ordinary order, and released", async () => {
    const engine = await openEngine(new MemoryJournal(), new ManualClock())
    await run(engine, [...fixtureCommands, { type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 5 }])
    const x = homedAt(0, "C")
    expect(await engine.submit(claim(x, [3, 1]))).toEqual({ ok: true, split: { partitions: [1, 3] } })
    expect(await engine.submit(claim(x, [1, 3]))).toEqual({ ok: true, split: { partitions: [1, 3] }, existing: true })
    expect(await engine.submit(claim(x, [0, 1]))).toMatchObject({ ok: false, code: "exists_with_different_lines" })
    expect(Queries.splitClaim(engine.view, "web", x)).toEqual([1, 3])
    // case B: the external id with lines all in its home partition (not split) is refused; a leg of the split is not
    const before = Queries.pool(engine.view, "TV-55", "WH-DAL")
    expect(await engine.submit(order(x, ["TV-55"]))).toMatchObject({ ok: false, code: "exists_with_different_lines" })
    expect(Queries.pool(engine.view, "TV-55", "WH-DAL")).toEqual(before)
    expect((await Queries.orderByExternal(engine, "web", x))).toBeUndefined()
    expect(await engine.submit(order(x, ["SOUNDBAR"], { leg: { partition: 1, lineNos: [1] } }))).toMatchObject({ ok: true, order: { leg: { partition: 1 } } })
    expect((await Queries.externalIdUse(engine, "web", x))).toEqual({ split: [1, 3] })

    // case A: an ordinary order holds the external id: no claim is taken over it
    const y = homedAt(0, "W")
    const whole = await engine.submit(order(y, ["TV-55"]))
    expect(whole).toMatchObject({ ok: true })
    const events = engine.stats().events
    expect(await engine.submit(claim(y, [0, 1]))).toMatchObject({ ok: false, code: "exists_with_different_lines" })
    expect(Queries.splitClaim(engine.view, "web", y)).toBeUndefined()
    expect((await Queries.externalIdUse(engine, "web", y))).toMatchObject({ order: { externalId: y } })

    // malformed claims are refused by name, and journal nothing
    expect(await engine.submit(claim(homedAt(0, "M"), []))).toMatchObject({ ok: false, code: "invalid_leg" })
    expect(await engine.submit(claim(homedAt(0, "M"), [1, 1]))).toMatchObject({ ok: false, code: "invalid_leg" })
    expect(await engine.submit(claim(homedAt(0, "M"), [1, partitions]))).toMatchObject({ ok: false, code: "invalid_leg" })
    expect(await engine.submit({ ...claim(homedAt(0, "M"), [1]), channel: "nope" })).toMatchObject({ ok: false, code: "unknown_channel" })
    expect(engine.stats().events).toBe(events)

    // a release names the claim's partitions; then an ordinary order may take the external id
    expect(await engine.submit(release(x, [1]))).toMatchObject({ ok: false, code: "exists_with_different_lines" })
    expect(await engine.submit(release(x, [1, 3]))).toEqual({ ok: true })
    expect(await engine.submit(release(x, [1, 3]))).toEqual({ ok: true, existing: true })
    expect(Queries.splitClaim(engine.view, "web", x)).toBeUndefined()
    expect(await engine.submit(order(x, ["TV-55"]))).toMatchObject({ ok: true, order: { externalId: x, leg: null } })
    expect(await engine.submit(claim(x, [1, 3]))).toMatchObject({ ok: false, code: "exists_with_different_lines" })
    await engine.close()
  })

  it("is journaled: kept by a replay of the journal and by a snapshot, and its release too", async () => {
    const store = new MemoryJournal()
    const clock = new ManualClock()
    let engine = await openEngine(store, clock)
    await run(engine, fixtureCommands)
    const [a, b] = [homedAt(2, "R"), homedAt(2, "S")]
    await run(engine, [claim(a, [0, 1]), claim(b, [1, 3])])
    await engine.close()
    // from the journal alone
    engine = await openEngine(store, clock)
    expect([Queries.splitClaim(engine.view, "web", a), Queries.splitClaim(engine.view, "web", b)]).toEqual([[0, 1], [1, 3]])
    expect(await engine.submit(order(a, ["TV-55"]))).toMatchObject({ ok: false, code: "exists_with_different_lines" })
    // from a snapshot (nothing after it in the journal)
    await engine.snapshotNow()
    await engine.close()
    engine = await openEngine(store, clock)
    expect([Queries.splitClaim(engine.view, "web", a), Queries.splitClaim(engine.view, "web", b)]).toEqual([[0, 1], [1, 3]])
    expect(await engine.submit(claim(b, [1, 3]))).toMatchObject({ ok: true, existing: true })
    // a release after the snapshot, replayed over it
    await run(engine, [release(a, [0, 1])])
    await engine.close()
    engine = await openEngine(store, clock)
    expect(Queries.splitClaim(engine.view, "web", a)).toBeUndefined()
    expect(Queries.splitClaim(engine.view, "web", b)).toEqual([1, 3])
    expect(await engine.submit(order(a, ["TV-55"]))).toMatchObject({ ok: true })
    await engine.close()
  })
})

describe("the group view", () => {
  it("lists the lines in the client's order, every leg's shipments with group line numbers, and the legs", () => {
    const leg = (orderId: string, lineNos: Array<number>, status: OrderView["status"], skus: Array<string>): OrderView => ({
      orderId, channel: "web", externalId: "G-1", status, payment: "authorised", fulfillment: "ship", destination: places.dallas,
      lines: skus.map((sku, i) => ({ lineNo: i + 1, sku, qty: 1, unitPriceCents: 100, cancelled: 0, backordered: 0, shipped: 0, delivered: 0, returned: 0 })),
      shipments: [{ shipmentId: `${orderId}-s1`, nodeId: "WH-DAL", status: "routed", lines: skus.map((_, i) => ({ lineNo: i + 1, qty: 1 })), distanceKm: 1, costCents: 1, carrier: null, trackingId: null, promise: null, tracking: null, estimatedDelivery: null, late: false }],
      returns: [], explanation: "ok", feedback: null, service: null, deliverBy: null, purchaseOrder: null, shipComplete: false, requestedDeliveryDate: null,
      leg: { partition: Number(orderId[1]), lineNos, compensated: false }, placedAt: 10 + lineNos[0], updatedAt: 20 + lineNos[0]
    })
    const g = groupView([leg("o0-1", [2, 3], "routed", ["TV-55", "TV-65"]), leg("o3-4", [1], "awaiting_payment", ["HDMI"])])
    expect(g.orderId).toBe("o0-1_o3-4")
    expect(g.lines.map((l) => [l.lineNo, l.sku])).toEqual([[1, "HDMI"], [2, "TV-55"], [3, "TV-65"]])
    expect(g.shipments.map((s) => [s.shipmentId, s.lines.map((l) => l.lineNo)])).toEqual([["o0-1-s1", [2, 3]], ["o3-4-s1", [1]]])
    expect(g.status).toBe("awaiting_payment")
    expect(g.leg).toBeNull()
    expect(g.placedAt).toBe(11)
    expect(g.updatedAt).toBe(22)
    expect(g.legs).toEqual([
      { orderId: "o0-1", partition: 0, lineNos: [2, 3], status: "routed", payment: "authorised" },
      { orderId: "o3-4", partition: 3, lineNos: [1], status: "awaiting_payment", payment: "authorised" }
    ])
  })
})
