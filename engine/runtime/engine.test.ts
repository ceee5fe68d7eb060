/**
 * Example tests for each named engine feature, through the engine's public
 * API: inventory sync, holds and their TTL, ATP per channel, order capture
 * and idempotency, payment, routing and re-routing, fulfillment, cancellation,
 * returns, exchanges, the notification outbox, history, bad input.
 * Longer than the ~450 lines other files keep to: one example per feature, all
 * on the same fixture network and clock (architecture.md, Tests).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { Command } from "../domain/commands.ts"
import type { Accepted, Reply } from "../domain/replies.ts"
import { MemoryJournal } from "../store/memory-journal.ts"
import { route } from "../routing/index.ts"
import { fixtureCommands, ManualClock, openEngine, places, run, testConfig } from "../testing/fixture.ts"
import { Engine } from "./engine.ts"
import * as Q from "./queries.ts"

let store: MemoryJournal
let clock: ManualClock
let engine: Engine

const ok = (r: Reply): Accepted => {
  if (!r.ok) throw new Error(`refused: ${r.code} ${r.message}`)
  return r
}
const code = (r: Reply) => (r.ok ? "ok" : r.code)
const submit = (c: Command) => engine.submit(c)
const stock = (rows: Array<[string, string, number]>) =>
  run(engine, [{ type: "inventory.load", rows: rows.map(([sku, nodeId, onHand]) => ({ sku, nodeId, onHand })) }])
const place = (externalId: string, lines: Array<[string, number]>, extra: Partial<Command & { type: "order.place" }> = {}) =>
  submit({
    type: "order.place", channel: "web", externalId, lines: lines.map(([sku, qty]) => ({ sku, qty, unitPriceCents: 1000 })),
    customer: { location: places.dallas }, payment: "authorised", ...extra
  })

beforeEach(async () => {
  store = new MemoryJournal()
  clock = new ManualClock()
  engine = await openEngine(store, clock)
  await run(engine, fixtureCommands)
})
afterEach(() => engine.close())

describe("inventory and availability", () => {
  it("receives, adjusts by delta and by count, and computes ATP with safety stock", async () => {
    ok(await submit({ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 10, reference: "PO-1" }))
    ok(await submit({ type: "inventory.adjust", sku: "TV-55", nodeId: "WH-DAL", delta: -2, reason: "damaged" }))
    ok(await submit({ type: "inventory.setSafetyStock", sku: "TV-55", nodeId: "WH-DAL", qty: 3 }))
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ onHand: 8, safetyStock: 3, atp: 5 })
    ok(await submit({ type: "inventory.adjust", sku: "TV-55", nodeId: "WH-DAL", count: 2, reason: "cycle count" }))
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ onHand: 2, atp: 0 })
  })

  it("rejects a bulk load with one bad row and applies none of it", async () => {
    const r = await submit({ type: "inventory.load", rows: [{ sku: "TV-55", nodeId: "WH-DAL", onHand: 5 }, { sku: "NOPE", nodeId: "WH-DAL", onHand: 1 }] })
    expect(code(r)).toBe("unknown_sku")
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")!.onHand).toBe(0)
  })

  it("sums ATP over online nodes, nearest first, and restricts it per channel", async () => {
    await stock([["TV-55", "WH-DAL", 5], ["TV-55", "ST-HOU", 2], ["TV-55", "WH-COL", 4]])
    const web = Q.availability(engine.view, "TV-55", { channel: "web", location: places.houston })!
    expect(web.atp).toBe(11)
    expect(web.nodes[0].nodeId).toBe("ST-HOU")
    ok(await submit({ type: "channel.upsert", channel: "east-only", policy: { allowedGroups: ["east"] } }))
    expect(Q.availability(engine.view, "TV-55", { channel: "east-only" })!.atp).toBe(4)
    ok(await submit({ type: "node.setStatus", nodeId: "WH-COL", status: "offline" }))
    expect(Q.availability(engine.view, "TV-55", { channel: "web" })!.atp).toBe(7)
  })

  it("refuses to count below what is held or allocated", async () => {
    await stock([["TV-55", "WH-DAL", 5]])
    ok(await place("A1", [["TV-55", 4]]))
    expect(code(await submit({ type: "inventory.adjust", sku: "TV-55", nodeId: "WH-DAL", count: 3, reason: "count" }))).toBe("below_reserved")
  })
})

describe("holds", () => {
  beforeEach(() => stock([["TV-55", "WH-DAL", 5], ["TV-55", "WH-COL", 5]]))

  it("holds at a node, expires by itself on the engine clock, and releases the stock", async () => {
    const h = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, nodeId: "WH-DAL", ttlMs: 60_000 })).hold!
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ held: 2, atp: 3 })
    clock.advance(59_000)
    await engine.flush()
    expect(Q.hold(engine.view, h.holdId)).toMatchObject({ holdId: h.holdId, qty: 2, expiresAt: h.expiresAt })
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ held: 2, atp: 3 })
    clock.advance(1_000)
    await engine.flush()
    // ended: its final state is answered (holdEndedRetentionMs)
    expect(Q.hold(engine.view, h.holdId)).toMatchObject({ holdId: h.holdId, status: "expired", endedAt: h.expiresAt })
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ held: 0, atp: 5 })
    expect(code(await submit({ type: "hold.release", channel: "web", holdId: h.holdId }))).toBe("hold_expired")
  })

  it("extends and releases; a foreign channel cannot touch it", async () => {
    const h = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL", ttlMs: 60_000 })).hold!
    expect(code(await submit({ type: "hold.release", channel: "marketplace", holdId: h.holdId }))).toBe("hold_foreign")
    clock.advance(50_000)
    const extended = ok(await submit({ type: "hold.extend", channel: "web", holdId: h.holdId, ttlMs: 60_000 })).hold!
    expect(extended.expiresAt).toBe(clock.t + 60_000)
    clock.advance(30_000)
    await engine.flush()
    // 80 s after it was placed with a TTL of 60 s: alive only because it was extended
    expect(Q.hold(engine.view, h.holdId)).toMatchObject({ holdId: h.holdId, expiresAt: extended.expiresAt })
    ok(await submit({ type: "hold.release", channel: "web", holdId: h.holdId }))
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")!.held).toBe(0)
    expect(code(await submit({ type: "hold.release", channel: "web", holdId: h.holdId }))).toBe("hold_used")
  })

  it("picks the best node for a customer location and is idempotent on its key", async () => {
    const a = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, location: places.cleveland, key: "cart-9" })).hold!
    expect(a.nodeId).toBe("WH-COL")
    const again = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, location: places.cleveland, key: "cart-9" }))
    expect(again.existing).toBe(true)
    expect(again.hold!.holdId).toBe(a.holdId)
    expect(code(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 3, key: "cart-9" }))).toBe("hold_key_conflict")
  })

  it("never holds more than ATP", async () => {
    expect(code(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 6, nodeId: "WH-DAL" }))).toBe("insufficient_stock")
  })
})

describe("orders", () => {
  beforeEach(() => stock([["TV-55", "WH-DAL", 5], ["HDMI", "WH-DAL", 10], ["TV-55", "WH-COL", 5], ["SOUNDBAR", "WH-COL", 3]]))

  it("routes a whole order to one node and allocates it", async () => {
    const o = ok(await place("W-1", [["TV-55", 1], ["HDMI", 2]])).order!
    expect(o.status).toBe("routed")
    expect(o.shipments).toHaveLength(1)
    expect(o.shipments[0].nodeId).toBe("WH-DAL")
    expect(o.explanation).toContain("WH-DAL")
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ allocated: 1, atp: 4 })
  })

  it("splits when no node has everything, and backorders what nobody has", async () => {
    const o = ok(await place("W-2", [["HDMI", 1], ["SOUNDBAR", 1], ["TV-55", 12]])).order!
    expect(o.shipments.map((s) => s.nodeId).sort()).toEqual(["WH-COL", "WH-DAL"])
    expect(o.lines.find((l) => l.sku === "TV-55")!.backordered).toBe(2)
    expect(o.status).toBe("routed")
    ok(await submit({ type: "inventory.receive", sku: "TV-55", nodeId: "WH-COL", qty: 2 }))
    const after = (await Q.order(engine, o.orderId))!
    expect(after.lines.find((l) => l.sku === "TV-55")!.backordered).toBe(0)
    expect(after.shipments.length).toBe(3)
  })

  it("is idempotent on channel and external id, and names a conflicting repeat", async () => {
    const a = ok(await place("W-3", [["TV-55", 1]])).order!
    const b = ok(await place("W-3", [["TV-55", 1]]))
    expect(b.existing).toBe(true)
    expect(b.order!.orderId).toBe(a.orderId)
    expect(code(await place("W-3", [["TV-55", 2]]))).toBe("exists_with_different_lines")
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")!.allocated).toBe(1)
  })

  it("turns cart holds into the order's allocation", async () => {
    const h = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, nodeId: "WH-COL" })).hold!
    const o = ok(await place("W-4", [["TV-55", 2]], { holdIds: [h.holdId] })).order!
    expect(o.shipments[0].nodeId).toBe("WH-COL")
    expect(Q.pool(engine.view, "TV-55", "WH-COL")).toMatchObject({ held: 0, allocated: 2, atp: 3 })
    expect(code(await place("W-5", [["TV-55", 2]], { holdIds: [h.holdId] }))).toBe("hold_used")
    const foreign = ok(await submit({ type: "hold.create", channel: "marketplace", sku: "TV-55", qty: 1, nodeId: "WH-DAL" })).hold!
    expect(code(await place("W-6", [["TV-55", 1]], { holdIds: [foreign.holdId] }))).toBe("hold_foreign")
  })

  it("holds stock until payment; a decline or a timeout releases it", async () => {
    const a = ok(await place("P-1", [["TV-55", 2]], { payment: "pending" })).order!
    expect(a.status).toBe("awaiting_payment")
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ held: 2, allocated: 0 })
    ok(await submit({ type: "order.payment", orderId: a.orderId, outcome: "authorised" }))
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ held: 0, allocated: 2 })
    const b = ok(await place("P-2", [["TV-55", 1]], { payment: "pending" })).order!
    ok(await submit({ type: "order.payment", orderId: b.orderId, outcome: "declined" }))
    expect((await Q.order(engine, b.orderId))!.status).toBe("cancelled")
    const c = ok(await place("P-3", [["TV-55", 1]], { payment: "pending" })).order!
    clock.advance(engine.config.paymentTimeoutMs)
    await engine.flush()
    expect((await Q.order(engine, c.orderId))).toMatchObject({ status: "cancelled", payment: "timeout" })
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ held: 0, allocated: 2 })
  })

  it("follows a shipment through pick, pack, ship and deliver, with notifications", async () => {
    const o = ok(await place("F-1", [["TV-55", 1], ["HDMI", 1]])).order!
    const s = o.shipments[0]
    const ref = { orderId: o.orderId, shipmentId: s.shipmentId, nodeId: s.nodeId }
    expect(code(await submit({ type: "shipment.accept", ...ref, nodeId: "WH-COL" }))).toBe("wrong_node")
    ok(await submit({ type: "shipment.accept", ...ref }))
    ok(await submit({ type: "shipment.pick", ...ref }))
    ok(await submit({ type: "shipment.pack", ...ref }))
    expect(code(await submit({ type: "order.cancel", orderId: o.orderId, reason: "x", lines: [{ lineNo: 1, qty: 2 }] }))).toBe("quantity_exceeds_open")
    ok(await submit({ type: "shipment.ship", ...ref, carrier: "UPS", trackingId: "1Z999" }))
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ onHand: 4, allocated: 0 })
    expect(code(await submit({ type: "order.cancel", orderId: o.orderId, reason: "too late" }))).toBe("invalid_state")
    ok(await submit({ type: "shipment.deliver", ...ref }))
    expect((await Q.order(engine, o.orderId))!.status).toBe("delivered")
    const kinds = Q.outbox(engine.view).filter((n) => n.orderId === o.orderId).map((n) => n.kind)
    expect(kinds).toEqual(["confirmed", "shipped", "delivered"])
    const shipped = Q.outbox(engine.view).find((n) => n.kind === "shipped")!
    expect(shipped.data.trackingId).toBe("1Z999")
    expect(ok(await submit({ type: "notifications.delivered", ids: [shipped.id, shipped.id] })).delivered).toBe(1)
    expect(Q.outbox(engine.view).some((n) => n.id === shipped.id)).toBe(false)
    expect(ok(await submit({ type: "notifications.delivered", ids: [shipped.id] })).delivered).toBe(0)
  })

  it("re-routes on rejection (never back to the rejecting node), on a short pick and when a node goes offline", async () => {
    const o = ok(await place("R-1", [["TV-55", 1]])).order!
    const first = o.shipments[0]
    ok(await submit({ type: "shipment.reject", orderId: o.orderId, shipmentId: first.shipmentId, nodeId: first.nodeId, reason: "damaged" }))
    let v = (await Q.order(engine, o.orderId))!
    const second = v.shipments.find((s) => s.status === "routed")!
    expect(second.nodeId).not.toBe(first.nodeId)
    expect(Q.pool(engine.view, "TV-55", first.nodeId)!.allocated).toBe(0)

    const o2 = ok(await place("R-2", [["HDMI", 3]])).order!
    const s2 = o2.shipments[0]
    ok(await submit({ type: "inventory.receive", sku: "HDMI", nodeId: "WH-COL", qty: 5 }))
    ok(await submit({ type: "shipment.accept", orderId: o2.orderId, shipmentId: s2.shipmentId, nodeId: s2.nodeId }))
    ok(await submit({ type: "shipment.pick", orderId: o2.orderId, shipmentId: s2.shipmentId, nodeId: s2.nodeId, lines: [{ lineNo: 1, qty: 1 }] }))
    v = (await Q.order(engine, o2.orderId))!
    expect(v.shipments.find((s) => s.nodeId === "WH-COL")!.lines[0].qty).toBe(2)
    expect(Q.pool(engine.view, "HDMI", "WH-DAL")!.onHand).toBe(8)

    const o3 = ok(await place("R-3", [["SOUNDBAR", 1]])).order!
    ok(await submit({ type: "inventory.receive", sku: "SOUNDBAR", nodeId: "WH-DAL", qty: 1 }))
    ok(await submit({ type: "node.setStatus", nodeId: o3.shipments[0].nodeId, status: "offline" }))
    v = (await Q.order(engine, o3.orderId))!
    expect(v.shipments[0].status).toBe("withdrawn")
    expect(v.shipments[1]).toMatchObject({ nodeId: "WH-DAL", status: "routed" })
  })

  it("cancels part of an order, then the rest, releasing stock", async () => {
    const o = ok(await place("C-1", [["HDMI", 4]])).order!
    ok(await submit({ type: "order.cancel", orderId: o.orderId, reason: "changed mind", lines: [{ lineNo: 1, qty: 1 }] }))
    expect(Q.pool(engine.view, "HDMI", "WH-DAL")!.allocated).toBe(3)
    expect(code(await submit({ type: "order.cancel", orderId: o.orderId, channel: "marketplace", reason: "x" }))).toBe("order_not_found")
    ok(await submit({ type: "order.cancel", orderId: o.orderId, reason: "all" }))
    expect((await Q.order(engine, o.orderId))!.status).toBe("cancelled")
    expect(Q.pool(engine.view, "HDMI", "WH-DAL")).toMatchObject({ allocated: 0, atp: 10 })
    expect(Q.outbox(engine.view).filter((n) => n.kind === "cancelled")).toHaveLength(2)
  })

  it("takes returns after delivery: restock or write off, then a refund; exchanges place a new order", async () => {
    const o = ok(await place("X-1", [["HDMI", 3]])).order!
    const s = o.shipments[0]
    const ref = { orderId: o.orderId, shipmentId: s.shipmentId, nodeId: s.nodeId }
    expect(code(await submit({ type: "return.request", orderId: o.orderId, lines: [{ lineNo: 1, qty: 1 }], reason: "early" }))).toBe("quantity_exceeds_open")
    for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"] as const) ok(await submit({ type, ...ref }))
    ok(await submit({ type: "shipment.ship", ...ref, carrier: "USPS", trackingId: "94001" }))
    ok(await submit({ type: "shipment.deliver", ...ref }))
    const r = ok(await submit({ type: "return.request", orderId: o.orderId, lines: [{ lineNo: 1, qty: 2 }], reason: "too many" })).order!
    const returnId = r.returns[0].returnId
    ok(await submit({ type: "return.receive", orderId: o.orderId, returnId, nodeId: "WH-COL", lines: [{ lineNo: 1, qty: 1, disposition: "restock" }] }))
    const after = (await Q.order(engine, o.orderId))!
    expect(after.returns[0]).toMatchObject({ status: "refunded", refundCents: 1000 })
    expect(Q.pool(engine.view, "HDMI", "WH-COL")!.onHand).toBe(1)
    expect(Q.outbox(engine.view).filter((n) => n.orderId === o.orderId).map((n) => n.kind)).toContain("refunded")
    const x = ok(await submit({ type: "order.exchange", orderId: o.orderId, returnLines: [{ lineNo: 1, qty: 1 }], newLines: [{ sku: "SOUNDBAR", qty: 1 }], reason: "swap" })).order!
    const exchangeReturn = x.returns[1]
    expect(exchangeReturn.status).toBe("requested")
    const replacement = (await Q.orderByExternal(engine, "web", `exchange:${exchangeReturn.returnId}`))!
    expect(replacement.shipments[0].nodeId).toBe("WH-COL")
    expect((await Q.orderHistory(engine, o.orderId))!.map((h) => h.event.type)).toEqual([
      "OrderPlaced", "OrderRouted", "ShipmentAccepted", "ShipmentPicked", "ShipmentPacked", "ShipmentShipped",
      "ShipmentDelivered", "ReturnRequested", "ReturnReceived", "RefundIssued", "ReturnRequested"
    ])
  })

  it("serves pickup in store only from the chosen store", async () => {
    await stock([["HDMI", "ST-AUS", 2]])
    const o = ok(await place("PU-1", [["HDMI", 3]], { fulfillment: "pickup", pickupNodeId: "ST-AUS" })).order!
    expect(o.shipments).toHaveLength(1)
    expect(o.shipments[0]).toMatchObject({ nodeId: "ST-AUS", lines: [{ lineNo: 1, qty: 2 }] })
    expect(o.lines[0].backordered).toBe(1)
    expect(code(await place("PU-2", [["HDMI", 1]], { fulfillment: "pickup", pickupNodeId: "WH-DAL" }))).toBe("node_not_available")
  })

  it("reads back a pool's audit trail from the journal", async () => {
    ok(await place("H-1", [["TV-55", 1]]))
    const trail = await Q.poolHistory(engine, "TV-55", "WH-DAL")
    expect(trail.map((j) => j.event.type)).toEqual(["StockAdjusted", "StockReserved"])
  })

  it("follows a rarely touched pool's own events through a busy partition's journal, also after a restart", async () => {
    await stock([["TV-55", "WH-COL", 1_000]])
    ok(await submit({ type: "inventory.receive", sku: "TV-55", nodeId: "ST-HOU", qty: 3, reference: "PO-7" }))
    // the same SKU at another node: the same partition, 300 batches in between
    for (let i = 0; i < 300; i++) ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-COL" }))
    ok(await submit({ type: "inventory.adjust", sku: "TV-55", nodeId: "ST-HOU", delta: -1, reason: "damaged" }))
    await engine.snapshotNow()
    for (let i = 0; i < 50; i++) ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-COL" }))
    await engine.close()
    engine = await openEngine(store, clock)

    let reads = 0
    const readBatches = store.readBatches.bind(store)
    store.readBatches = (stream, afterSeq, limit) => {
      reads++
      return readBatches(stream, afterSeq, limit)
    }
    const trail = await Q.poolHistory(engine, "TV-55", "ST-HOU")
    expect(trail.map((j) => j.event.type)).toEqual(["StockReceived", "StockAdjusted"])
    expect(trail[0].seq).toBeLessThan(trail[1].seq)
    // one lookup per event of the pool, not a walk through the 350 batches of its neighbour
    expect(reads).toBe(2)
    expect((await Q.poolHistory(engine, "TV-55", "WH-COL", 5)).map((j) => j.event.type)).toEqual(Array(5).fill("HoldPlaced"))
    expect(await Q.poolHistory(engine, "TV-55", "WH-NOWHERE")).toEqual([])
  })
})

describe("bad input changes nothing", () => {
  beforeEach(() => stock([["TV-55", "WH-DAL", 5]]))

  const cases: Array<[string, unknown, string]> = [
    ["unknown command", { type: "order.teleport" }, "unknown_command"],
    ["not an object", "hello", "malformed_command"],
    ["unknown SKU", { type: "hold.create", channel: "web", sku: "NOPE", qty: 1 }, "unknown_sku"],
    ["negative quantity", { type: "hold.create", channel: "web", sku: "TV-55", qty: -1 }, "quantity_must_be_positive"],
    ["fractional quantity", { type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 1.5 }, "quantity_must_be_positive"],
    ["huge quantity", { type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 1e12 }, "quantity_too_large"],
    ["TTL out of range", { type: "hold.create", channel: "web", sku: "TV-55", qty: 1, ttlMs: 5 }, "ttl_out_of_range"],
    ["unknown channel", { type: "hold.create", channel: "tv-shop", sku: "TV-55", qty: 1 }, "unknown_channel"],
    ["no lines", { type: "order.place", channel: "web", externalId: "B1", lines: [], customer: { location: places.dallas } }, "malformed_command"],
    ["duplicate lines", { type: "order.place", channel: "web", externalId: "B2", lines: [{ sku: "TV-55", qty: 1 }, { sku: "TV-55", qty: 1 }], customer: { location: places.dallas } }, "duplicate_line"],
    ["no address", { type: "order.place", channel: "web", externalId: "B3", lines: [{ sku: "TV-55", qty: 1 }], customer: { place: "Atlantis-under-the-sea" } }, "invalid_location"],
    ["unknown hold", { type: "hold.release", channel: "web", holdId: "h0-zzz" }, "hold_not_found"],
    ["unknown order", { type: "order.cancel", orderId: "o1-zz", reason: "x" }, "order_not_found"],
    ["id too long", { type: "hold.create", channel: "web", sku: "x".repeat(500), qty: 1 }, "invalid_id"]
  ]
  it.each(cases)("%s", async (_name, command, expected) => {
    const before = JSON.stringify([Q.pool(engine.view, "TV-55", "WH-DAL"), engine.stats().orders, engine.stats().holds])
    expect(code(await submit(command as Command))).toBe(expected)
    expect(JSON.stringify([Q.pool(engine.view, "TV-55", "WH-DAL"), engine.stats().orders, engine.stats().holds])).toBe(before)
  })
})

describe("durability", () => {
  it("answers every command when a fault stops the engine while batches wait behind an append, and closes", async () => {
    // an append held open: A is in it, B is processed and waits for the next one, C trips a fault (a routing bug)
    class HeldJournal extends MemoryJournal {
      gate: Promise<void> | undefined
      open = () => {}
      override async append(...args: Parameters<MemoryJournal["append"]>): Promise<void> {
        if (this.gate) await this.gate
        return super.append(...args)
      }
    }
    const held = new HeldJournal()
    let routerFails = false
    const faulty = await Engine.open({
      store: held, config: testConfig(), clock: clock.now, timerPollMs: 5, log: () => {},
      router: (...args) => {
        if (routerFails) throw new Error("a routing bug")
        return route(...args)
      }
    })
    await run(faulty, [...fixtureCommands, { type: "inventory.load", rows: [{ sku: "TV-55", nodeId: "WH-DAL", onHand: 50 }] }])
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
    held.gate = new Promise<void>((resolve) => (held.open = resolve))
    const hold = (): Promise<Reply> => faulty.submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL" })
    const a = hold()
    await turn()
    const b = hold()
    await turn()
    routerFails = true
    const c = faulty.submit({
      type: "order.place", channel: "web", externalId: "F1", lines: [{ sku: "TV-55", qty: 1, unitPriceCents: 100 }],
      customer: { location: places.dallas }, payment: "authorised"
    })
    const closed = faulty.close()
    await turn()
    held.gate = undefined
    held.open()
    expect(code(await c)).toBe("engine_stopped")
    expect(code(await a)).toBe("ok")
    // B ran on state the fault made doubtful and was never appended: refused, not left unanswered
    expect(code(await b)).toBe("engine_stopped")
    await closed
    expect(faulty.lifecycle).toBe("stopped")
    // what was acknowledged is in the journal, and nothing else: A's hold only
    const reopened = await openEngine(held, clock)
    expect(reopened.stats().holds).toBe(1)
    await reopened.close()
  })

  it("answers store_unavailable while the store is down, never success, and reloads by itself", async () => {
    await stock([["TV-55", "WH-DAL", 5]])
    store.down = true
    const r = await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL" })
    expect(code(r)).toBe("store_unavailable")
    expect(code(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL" }))).toBe("store_unavailable")
    store.down = false
    await new Promise((resolve) => setTimeout(resolve, engine.config.storeRetryMs * 2.5))
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ held: 0, atp: 5 })
    ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL" }))
  })

  it("recovers the same state from snapshot + journal after a restart", async () => {
    await stock([["TV-55", "WH-DAL", 5], ["HDMI", "WH-DAL", 5]])
    ok(await place("D-1", [["TV-55", 1], ["HDMI", 1]]))
    await engine.snapshotNow()
    ok(await place("D-2", [["TV-55", 2]]))
    const h = ok(await submit({ type: "hold.create", channel: "web", sku: "HDMI", qty: 2, nodeId: "WH-DAL" })).hold!
    const before = { pools: [Q.pool(engine.view, "TV-55", "WH-DAL"), Q.pool(engine.view, "HDMI", "WH-DAL")], d2: (await Q.orderByExternal(engine, "web", "D-2")), hold: Q.hold(engine.view, h.holdId) }
    await engine.close()
    engine = await openEngine(store, clock)
    const after = { pools: [Q.pool(engine.view, "TV-55", "WH-DAL"), Q.pool(engine.view, "HDMI", "WH-DAL")], d2: (await Q.orderByExternal(engine, "web", "D-2")), hold: Q.hold(engine.view, h.holdId) }
    expect(after).toEqual(before)
    expect(code(await place("D-2", [["TV-55", 2]]))).toBe("ok")
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")!.allocated).toBe(3)
  })
})

describe("edge cases found in review", () => {
  beforeEach(() => stock([["TV-55", "WH-DAL", 10], ["TV-55", "WH-COL", 5], ["HDMI", "ST-HOU", 5]]))

  it("keeps a cart hold's units for its order even if safety stock was raised since", async () => {
    // enough elsewhere that the channel's holds may take 10 (holdChannelSharePercentMax)
    ok(await submit({ type: "inventory.receive", sku: "TV-55", nodeId: "WH-COL", qty: 10 }))
    const h = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 10, nodeId: "WH-DAL" })).hold!
    ok(await submit({ type: "inventory.setSafetyStock", sku: "TV-55", nodeId: "WH-DAL", qty: 3 }))
    const o = ok(await place("E-1", [["TV-55", 10]], { holdIds: [h.holdId] })).order!
    expect(o.shipments).toEqual([expect.objectContaining({ nodeId: "WH-DAL", lines: [{ lineNo: 1, qty: 10 }] })])
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ held: 0, allocated: 10 })
  })

  it("consolidates an order whose cart holds would split it, and prices shipments made from holds", async () => {
    ok(await submit({ type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 5 }))
    const tv = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-COL" })).hold!
    const o = ok(await place("E-0", [["TV-55", 1], ["HDMI", 1]], { holdIds: [tv.holdId] })).order!
    expect(o.shipments).toEqual([expect.objectContaining({ nodeId: "WH-DAL" })])
    expect(o.shipments[0].costCents).toBeGreaterThan(0)
    expect(o.explanation).toContain("Consolidated")
    expect(Q.pool(engine.view, "TV-55", "WH-COL")).toMatchObject({ held: 0, allocated: 0 })
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")!.allocated).toBe(1)
    const kept = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, nodeId: "WH-COL" })).hold!
    const p = ok(await place("E-00", [["TV-55", 2]], { holdIds: [kept.holdId] })).order!
    expect(p.shipments).toEqual([expect.objectContaining({ nodeId: "WH-COL" })])
    expect(p.shipments[0].costCents).toBeGreaterThan(0)
  })

  it("gives back a hold at a node that went offline and routes its line elsewhere", async () => {
    const h = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, nodeId: "WH-DAL" })).hold!
    ok(await submit({ type: "node.setStatus", nodeId: "WH-DAL", status: "offline" }))
    const o = ok(await place("E-2", [["TV-55", 2]], { holdIds: [h.holdId] })).order!
    expect(o.shipments.map((s) => s.nodeId)).toEqual(["WH-COL"])
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")!.held).toBe(0)
  })

  it("holds only where the channel may sell", async () => {
    ok(await submit({ type: "channel.upsert", channel: "east-only", policy: { allowedGroups: ["east"] } }))
    expect(code(await submit({ type: "hold.create", channel: "east-only", sku: "TV-55", qty: 1, nodeId: "WH-DAL" }))).toBe("node_not_available")
    expect(ok(await submit({ type: "hold.create", channel: "east-only", sku: "TV-55", qty: 1 })).hold!.nodeId).toBe("WH-COL")
  })

  it("refuses a payment for a cancelled order, and never confirms after cancelling", async () => {
    const o = ok(await place("E-3", [["TV-55", 1]], { payment: "pending" })).order!
    ok(await submit({ type: "order.cancel", orderId: o.orderId, reason: "changed mind" }))
    expect(code(await submit({ type: "order.payment", orderId: o.orderId, outcome: "authorised" }))).toBe("invalid_state")
    expect(Q.outbox(engine.view).filter((n) => n.orderId === o.orderId).map((n) => n.kind)).toEqual(["cancelled"])
  })

  it("withdraws a shipment of which nothing was found, and routes it again", async () => {
    const o = ok(await place("E-4", [["HDMI", 2]], { customer: { location: places.houston } })).order!
    const s = o.shipments[0]
    ok(await submit({ type: "shipment.accept", orderId: o.orderId, shipmentId: s.shipmentId, nodeId: s.nodeId }))
    ok(await submit({ type: "shipment.pick", orderId: o.orderId, shipmentId: s.shipmentId, nodeId: s.nodeId, lines: [{ lineNo: 1, qty: 0 }] }))
    const v = (await Q.order(engine, o.orderId))!
    expect(v.shipments[0].status).toBe("withdrawn")
    expect(v.lines[0].backordered).toBe(2)
    expect(code(await submit({ type: "shipment.pack", orderId: o.orderId, shipmentId: s.shipmentId, nodeId: s.nodeId }))).toBe("invalid_state")
  })

  it("re-routes open work when node.upsert takes a node offline", async () => {
    const o = ok(await place("E-5", [["TV-55", 1]])).order!
    ok(await submit({ type: "node.upsert", nodeId: "WH-DAL", name: "Dallas DC", kind: "warehouse", location: places.dallas, capacityPerDay: 1000, status: "offline" }))
    expect((await Q.order(engine, o.orderId))!.shipments.map((s) => [s.nodeId, s.status])).toEqual([["WH-DAL", "withdrawn"], ["WH-COL", "routed"]])
  })

  it("names a malformed routing policy instead of failing", async () => {
    expect(code(await submit({ type: "channel.upsert", channel: "x", policy: { allowedGroups: 5 } } as unknown as Command))).toBe("malformed_command")
    expect(code(await submit({ type: "channel.upsert", channel: "x", policy: { weights: null } } as unknown as Command))).toBe("malformed_command")
    ok(await submit({ type: "channel.upsert", channel: "x", policy: { weights: { perKmCents: 1, junk: { deep: 1 } } } } as unknown as Command))
    expect(engine.stats().state).toBe("running")
  })

  it("serves backorders from stock freed by an expired hold, and journals nothing for a retry that finds nothing", async () => {
    ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 5, nodeId: "WH-COL", ttlMs: 60_000 }))
    const o = ok(await place("E-6", [["TV-55", 12]], { channel: "marketplace" })).order!
    expect(o.lines[0].backordered).toBe(2)
    const eventsBefore = (await Q.orderHistory(engine, o.orderId))!.length
    // a store the marketplace may not ship from gets stock: the retry finds nothing and records nothing
    ok(await submit({ type: "inventory.receive", sku: "TV-55", nodeId: "ST-HOU", qty: 3 }))
    expect((await Q.orderHistory(engine, o.orderId))!.length).toBe(eventsBefore)
    clock.advance(60_000)
    await engine.flush()
    const after = (await Q.order(engine, o.orderId))!
    expect(after.lines[0].backordered).toBe(0)
    expect(after.shipments.map((x) => x.nodeId)).toEqual(["WH-DAL", "WH-COL"])
    expect((await Q.orderHistory(engine, o.orderId))!.length).toBe(eventsBefore + 1)
  })

  it("takes no snapshot of state the journal does not hold", async () => {
    store.down = true
    expect(code(await submit({ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 5 }))).toBe("store_unavailable")
    store.down = false
    await expect(engine.snapshotNow()).rejects.toThrow(/no snapshot/)
  })
})

describe("customer feedback", () => {
  const deliver = async (orderId: string) => {
    const o = (await Q.order(engine, orderId))!
    for (const s of o.shipments) {
      for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"] as const) {
        ok(await submit({ type, orderId, shipmentId: s.shipmentId, nodeId: s.nodeId }))
      }
      ok(await submit({ type: "shipment.ship", orderId, shipmentId: s.shipmentId, nodeId: s.nodeId, carrier: "UPS", trackingId: "1Z1" }))
      ok(await submit({ type: "shipment.deliver", orderId, shipmentId: s.shipmentId, nodeId: s.nodeId }))
    }
  }

  it("takes one rating and comment after delivery, shows it on the order and in its history, and keeps it across snapshot and replay", async () => {
    await stock([["TV-55", "WH-DAL", 5]])
    const o = ok(await place("F-1", [["TV-55", 1]])).order!
    expect(code(await submit({ type: "order.feedback", orderId: o.orderId, channel: "web", rating: 5, comment: "great" }))).toBe("not_delivered")
    await deliver(o.orderId)
    expect(code(await submit({ type: "order.feedback", orderId: o.orderId, channel: "web", rating: 6 }))).toBe("malformed_command")
    expect(code(await submit({ type: "order.feedback", orderId: o.orderId, channel: "web", rating: 4.5 }))).toBe("malformed_command")
    expect(code(await submit({ type: "order.feedback", orderId: o.orderId, channel: "web", rating: 4, comment: "x".repeat(engine.config.feedbackCommentLengthMax + 1) }))).toBe("malformed_command")
    expect(code(await submit({ type: "order.feedback", orderId: o.orderId, channel: "marketplace", rating: 4 }))).toBe("order_not_found")
    clock.advance(60_000)
    const r = ok(await submit({ type: "order.feedback", orderId: o.orderId, channel: "web", rating: 4, comment: "fast, box dented" }))
    expect(r.order!.feedback).toEqual({ rating: 4, comment: "fast, box dented", at: clock.t })
    const again = ok(await submit({ type: "order.feedback", orderId: o.orderId, channel: "web", rating: 4, comment: "fast, box dented" }))
    expect(again.existing).toBe(true)
    expect(code(await submit({ type: "order.feedback", orderId: o.orderId, channel: "web", rating: 1, comment: "changed my mind" }))).toBe("feedback_exists")
    const history = (await Q.orderHistory(engine, o.orderId))!.map((h) => h.event)
    expect(history[history.length - 1]).toMatchObject({ type: "FeedbackRecorded", rating: 4, comment: "fast, box dented" })

    // recovered from a snapshot taken after the feedback
    await engine.snapshotNow()
    await engine.close()
    engine = await openEngine(store, clock)
    expect((await Q.order(engine, o.orderId))!.feedback).toEqual({ rating: 4, comment: "fast, box dented", at: clock.t })
    expect(code(await submit({ type: "order.feedback", orderId: o.orderId, channel: "web", rating: 2 }))).toBe("feedback_exists")

    // and replayed from the journal alone (feedback after the snapshot)
    const p = ok(await place("F-2", [["TV-55", 1]])).order!
    await deliver(p.orderId)
    ok(await submit({ type: "order.feedback", orderId: p.orderId, channel: "web", rating: 2 }))
    await engine.close()
    engine = await openEngine(store, clock)
    expect((await Q.order(engine, p.orderId))!.feedback).toMatchObject({ rating: 2, comment: "" })
  })
})
