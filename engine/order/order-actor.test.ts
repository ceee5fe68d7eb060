/**
 * The Order actor's handlers in isolation: a hand-built OrderContext around
 * one OrderBook (engine/testing/actors.ts) whose pools accept every
 * reservation and record every message, a fixed stock view, the real router.
 * Placement validation and idempotency, payment by payment state, fulfilment
 * with a short pick, cancellation, returns; each checked by the order events
 * it makes and the messages it sends to the pools.
 */
import { beforeEach, describe, expect, it } from "vitest"
import type { PlaceOrder } from "../domain/commands.ts"
import type { Reply } from "../domain/replies.ts"
import { orderHarness, type OrderHarness } from "../testing/actors.ts"
import { places } from "../testing/fixture.ts"
import { cancel, planCancel } from "./cancellation.ts"
import { placeOrder } from "./capture.ts"
import { shipmentEvent } from "./fulfilment.ts"
import { executeOrderCommand } from "./order-actor.ts"
import type { OrderState } from "./order-state.ts"
import { paymentHandlers, recordPayment } from "./payment.ts"
import { receiveReturn, requestReturn } from "./returns.ts"

let h: OrderHarness
const code = (r: Reply) => (r.ok ? "ok" : r.code)
const types = () => h.events.map((e) => e.type)
const order = (orderId: string): OrderState => h.book.orders.get(orderId)!

const place = (extra: Partial<PlaceOrder> = {}): Reply =>
  placeOrder(h.book, {
    type: "order.place", channel: "web", externalId: "web-1", lines: [{ sku: "TV-55", qty: 3, unitPriceCents: 50_000 }],
    customer: { location: places.dallas }, payment: "authorised", ...extra
  }, h.ctx)

/** Places a paid order of 3 TVs and answers its order id and its shipment at WH-DAL. */
const placed = (extra: Partial<PlaceOrder> = {}) => {
  const r = place(extra)
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`)
  const o = r.order!
  return { orderId: o.orderId, shipmentId: o.shipments[0]?.shipmentId ?? "", nodeId: "WH-DAL" }
}

beforeEach(() => {
  h = orderHarness()
  h.atp.set("TV-55@WH-DAL", 5)
  h.atp.set("TV-55@WH-COL", 5)
})

describe("placement", () => {
  it("validates everything before it writes anything", () => {
    const refused: Array<[Partial<PlaceOrder>, string]> = [
      [{ channel: "nope" }, "unknown_channel"],
      [{ lines: [] }, "malformed_command"],
      [{ lines: [{ sku: "TV-55", qty: 1 }, { sku: "TV-55", qty: 2 }] }, "duplicate_line"],
      [{ lines: [{ sku: "NOPE", qty: 1 }] }, "unknown_sku"],
      [{ lines: [{ sku: "TV-55", qty: -1 }] }, "quantity_must_be_positive"],
      [{ customer: { place: "Nowhere-on-Earth-123" } }, "invalid_location"],
      [{ payment: "later" as never }, "malformed_command"],
      [{ fulfillment: "pickup", pickupNodeId: "WH-DAL" }, "node_not_available"],
      [{ service: "teleport" }, "unknown_service"],
      [{ deliverBy: "2020-01-01" }, "invalid_date"],
      [{ holdIds: ["h0-9"] }, "hold_not_found"],
      [{ leg: { partition: 0, lineNos: [1, 2] } }, "invalid_leg"]
    ]
    for (const [extra, expected] of refused) expect(code(place(extra)), JSON.stringify(extra)).toBe(expected)
    expect(h.events).toEqual([])
    expect(h.messages).toEqual([])
  })

  it("records the order, reserves where routing chose and routes it; a repeat answers the same order", () => {
    const r = place({ payment: "pending" })
    expect(r).toMatchObject({ ok: true, order: { status: "awaiting_payment", shipments: [{ nodeId: "WH-DAL", lines: [{ lineNo: 1, qty: 3 }] }] } })
    const orderId = r.ok ? r.order!.orderId : ""
    expect(types()).toEqual(["OrderPlaced", "OrderRouted"])
    expect(h.messages).toEqual([["reserve", `${orderId}-s1/1`, orderId, "TV-55", "WH-DAL", 3, "held", 0]])
    expect(place({ payment: "pending" })).toMatchObject({ ok: true, existing: true, order: { orderId } })
    expect(code(place({ lines: [{ sku: "TV-55", qty: 2, unitPriceCents: 50_000 }] }))).toBe("exists_with_different_lines")
    expect(types()).toEqual(["OrderPlaced", "OrderRouted"])
  })

  it("with onShortage reject, refuses an order it cannot place whole and writes nothing; by default backorders the rest", () => {
    const lines = [{ sku: "TV-55", qty: 12, unitPriceCents: 50_000 }]
    const refused = place({ lines, onShortage: "reject" })
    expect(refused).toMatchObject({ ok: false, code: "insufficient_stock" })
    expect(refused.ok ? "" : refused.message).toContain("line 1 (TV-55) short by 2")
    expect(code(place({ lines, onShortage: "later" as never }))).toBe("malformed_command")
    expect(types()).toEqual([])
    expect(h.messages).toEqual([])
    // enough stock: placed and routed whole, as without the option
    expect(place({ externalId: "web-2", lines: [{ sku: "TV-55", qty: 10 }], onShortage: "reject" })).toMatchObject({ ok: true, order: { status: "routed" } })
    // the default keeps placing and backorders what no node has
    h.atp.clear()
    expect(place({ externalId: "web-3", lines })).toMatchObject({ ok: true, order: { lines: [{ backordered: 12 }] } })
  })

  it("turns the cart holds it names into the reservation", () => {
    h.holds.set("h0-1", { holdId: "h0-1", slot: 0, sku: "TV-55", nodeId: "WH-COL", channel: "web", qty: 3, expiresAt: h.now + 60_000, key: null, placedAt: h.now, cartId: null, customerId: null, extensions: 0 })
    const { orderId } = placed({ holdIds: ["h0-1"] })
    expect(h.messages).toEqual([
      ["endHold", "h0-1", "converted"],
      ["reserve", `${orderId}-s1/1`, orderId, "TV-55", "WH-COL", 3, "allocated", 3]
    ])
  })
})

describe("payment", () => {
  it("settles a pending payment once: authorised allocates the reservations; a repeat is answered, a change refused", () => {
    const { orderId } = placed({ payment: "pending" })
    h.messages.length = 0
    expect(Object.keys(paymentHandlers)).toEqual(["pending", "authorised", "declined", "timeout"])
    expect(recordPayment(h.book, { type: "order.payment", orderId, outcome: "authorised" }, h.ctx)).toMatchObject({ ok: true, order: { payment: "authorised" } })
    expect(h.messages).toEqual([["allocate", `${orderId}-s1/1`, "TV-55"]])
    expect(recordPayment(h.book, { type: "order.payment", orderId, outcome: "authorised" }, h.ctx)).toMatchObject({ existing: true })
    expect(recordPayment(h.book, { type: "order.payment", orderId, outcome: "declined" }, h.ctx)).toMatchObject({ ok: false, code: "invalid_state", message: "payment is already authorised" })
    expect(code(recordPayment(h.book, { type: "order.payment", orderId, outcome: "maybe" as never }, h.ctx))).toBe("malformed_command")
    expect(types()).toEqual(["OrderPlaced", "OrderRouted", "PaymentAuthorised"])
  })

  it("cancels the order and gives its stock back when the payment is declined", () => {
    const { orderId } = placed({ payment: "pending" })
    h.messages.length = 0
    expect(executeOrderCommand(h.book, { type: "order.payment", orderId, outcome: "declined" }, h.ctx)).toMatchObject({ order: { status: "cancelled" } })
    expect(h.messages).toEqual([["release", `${orderId}-s1/1`, "TV-55", 3, "payment_declined"]])
    expect(types().slice(-2)).toEqual(["PaymentFailed", "OrderCancelled"])
  })
})

describe("fulfilment", () => {
  it("refuses node work before payment, and re-routes a short pick without the node", () => {
    const pending = placed({ externalId: "web-pending", payment: "pending" })
    expect(shipmentEvent(h.book, { type: "shipment.accept", ...pending }, h.ctx)).toMatchObject({ code: "invalid_state", message: "the order's payment is not authorised yet" })
    const s = placed()
    h.messages.length = 0
    expect(code(shipmentEvent(h.book, { type: "shipment.accept", ...s, nodeId: "WH-COL" }, h.ctx))).toBe("wrong_node")
    expect(code(shipmentEvent(h.book, { type: "shipment.pick", ...s, lines: [{ lineNo: 1, qty: 4 }] }, h.ctx))).toBe("quantity_exceeds_open")
    const r = shipmentEvent(h.book, { type: "shipment.pick", ...s, lines: [{ lineNo: 1, qty: 1 }] }, h.ctx)
    expect(r).toMatchObject({ ok: true, order: { shipments: [{ nodeId: "WH-DAL", status: "picked", lines: [{ qty: 1 }] }, { nodeId: "WH-COL", lines: [{ qty: 2 }] }] } })
    expect(h.messages).toEqual([
      ["release", `${s.orderId}-s1/1`, "TV-55", 2, "short_pick"],
      ["writeOff", "TV-55", "WH-DAL", 2, `short pick on ${s.shipmentId}`],
      ["reserve", `${s.orderId}-s2/1`, s.orderId, "TV-55", "WH-COL", 2, "allocated", 0]
    ])
    expect(types().slice(-2)).toEqual(["ShipmentPicked", "OrderRouted"])
    expect(order(s.orderId).excludedNodes).toEqual(["WH-DAL"])
  })
})

describe("cancellation", () => {
  it("cancels what has not left, backorder first, and gives the reservations back", () => {
    h.atp.set("TV-55@WH-COL", 0)
    h.atp.set("TV-55@WH-DAL", 2)
    const s = placed()
    const o = order(s.orderId)
    expect(o.backordered).toEqual([1])
    expect(planCancel(o, [{ lineNo: 1, qty: 2 }])).toEqual({
      lines: [{ lineNo: 1, qty: 2 }], fromBackorder: [{ lineNo: 1, qty: 1 }],
      fromShipments: [{ shipmentId: s.shipmentId, lineNo: 1, qty: 1 }], releases: [{ reservationId: `${s.shipmentId}/1`, sku: "TV-55", qty: 1 }]
    })
    h.messages.length = 0
    expect(code(cancel(h.book, { type: "order.cancel", orderId: s.orderId, lines: [{ lineNo: 1, qty: 4 }], reason: "x" }, h.ctx))).toBe("quantity_exceeds_open")
    expect(cancel(h.book, { type: "order.cancel", orderId: s.orderId, lines: [{ lineNo: 1, qty: 2 }], reason: "changed mind" }, h.ctx))
      .toMatchObject({ ok: true, order: { lines: [{ cancelled: 2, backordered: 0 }] } })
    expect(h.messages).toEqual([["release", `${s.shipmentId}/1`, "TV-55", 1, "changed mind"]])
  })

  it("has nothing to cancel once everything shipped", () => {
    const s = placed()
    for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"] as const) shipmentEvent(h.book, { type, ...s }, h.ctx)
    shipmentEvent(h.book, { type: "shipment.ship", ...s, carrier: "ups", trackingId: "1Z1" }, h.ctx)
    expect(cancel(h.book, { type: "order.cancel", orderId: s.orderId, reason: "too late" }, h.ctx)).toMatchObject({ code: "invalid_state", message: "nothing on the order can still be cancelled" })
    expect(code(cancel(h.book, { type: "order.cancel", orderId: s.orderId, reason: "x", compensation: true }, h.ctx))).toBe("invalid_leg")
  })
})

describe("returns", () => {
  it("takes back delivered units only, restocks and refunds them once", () => {
    const s = placed()
    expect(code(requestReturn(h.book, { type: "return.request", orderId: s.orderId, lines: [{ lineNo: 1, qty: 1 }], reason: "x" }, h.ctx))).toBe("quantity_exceeds_open")
    for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"] as const) shipmentEvent(h.book, { type, ...s }, h.ctx)
    shipmentEvent(h.book, { type: "shipment.ship", ...s, carrier: "ups", trackingId: "1Z1" }, h.ctx)
    shipmentEvent(h.book, { type: "shipment.deliver", ...s }, h.ctx)
    expect(requestReturn(h.book, { type: "return.request", orderId: s.orderId, lines: [{ lineNo: 1, qty: 2 }], reason: "too big" }, h.ctx))
      .toMatchObject({ ok: true, order: { status: "partially_returned", returns: [{ returnId: `${s.orderId}-r1`, status: "requested" }] } })
    h.messages.length = 0
    const receipt = { type: "return.receive" as const, orderId: s.orderId, returnId: `${s.orderId}-r1`, nodeId: "WH-DAL" }
    expect(code(receiveReturn(h.book, { ...receipt, lines: [{ lineNo: 1, qty: 3, disposition: "restock" }] }, h.ctx))).toBe("quantity_exceeds_open")
    expect(receiveReturn(h.book, { ...receipt, lines: [{ lineNo: 1, qty: 1, disposition: "restock" }, { lineNo: 1, qty: 1, disposition: "writeOff" }] }, h.ctx)).toMatchObject({ code: "duplicate_line" })
    expect(receiveReturn(h.book, { ...receipt, lines: [{ lineNo: 1, qty: 2, disposition: "restock" }] }, h.ctx))
      .toMatchObject({ ok: true, order: { returns: [{ status: "refunded", refundCents: 100_000 }] } })
    expect(h.messages).toEqual([["restock", "TV-55", "WH-DAL", 2, s.orderId, `${s.orderId}-r1`]])
    expect(types().slice(-2)).toEqual(["ReturnReceived", "RefundIssued"])
    expect(receiveReturn(h.book, { ...receipt, lines: [{ lineNo: 1, qty: 2, disposition: "restock" }] }, h.ctx))
      .toMatchObject({ code: "invalid_state", message: `return ${s.orderId}-r1 is already refunded` })
  })
})
