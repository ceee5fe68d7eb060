/**
 * The shipment state machine, checked cell by cell: every node and carrier
 * command against every shipment status, written out here a second time as
 * the expected answer (apply, repeat, or the statuses a refusal names), and
 * each applied command making only the events its row names.
 */
import { describe, expect, it } from "vitest"
import type { ShipmentCommand, TrackShipment } from "../domain/commands.ts"
import { orderHarness } from "../testing/actors.ts"
import { places } from "../testing/fixture.ts"
import { placeOrder } from "./capture.ts"
import { shipmentEvent } from "./fulfilment.ts"
import type { Shipment, ShipmentStatus } from "./order-state.ts"
import { shipmentStep, shipmentTransitions, type ShipmentCommandType } from "./shipment-transitions.ts"
import { trackShipment } from "./tracking.ts"

const statuses: ReadonlyArray<ShipmentStatus> = ["routed", "accepted", "picked", "packed", "shipped", "delivered", "withdrawn"]

const shipment = (status: ShipmentStatus): Shipment => ({
  shipmentId: "o0-1-s1", nodeId: "WH-DAL", lines: [{ lineNo: 1, sku: "TV-55", qty: 1, reservationId: "o0-1-s1/1" }], status,
  distanceKm: 10, costCents: 900, routedAt: 0, carrier: status === "shipped" || status === "delivered" ? "ups" : null,
  trackingId: status === "shipped" || status === "delivered" ? "1Z1" : null, updatedAt: 0, promise: null, tracking: null, scans: 0,
  estimatedDelivery: null, late: false
})

const ref = { orderId: "o0-1", shipmentId: "o0-1-s1", nodeId: "WH-DAL" }
const commands: { readonly [T in ShipmentCommandType]: ShipmentCommand | TrackShipment } = {
  "shipment.accept": { type: "shipment.accept", ...ref },
  "shipment.reject": { type: "shipment.reject", ...ref, reason: "no room" },
  "shipment.pick": { type: "shipment.pick", ...ref },
  "shipment.pack": { type: "shipment.pack", ...ref },
  "shipment.ship": { type: "shipment.ship", ...ref, carrier: "ups", trackingId: "1Z1" },
  "shipment.deliver": { type: "shipment.deliver", ...ref },
  "shipment.track": { type: "shipment.track", ...ref, status: "delivered" }
}

/** What each status makes of each command: "apply", "repeat", or the statuses the refusal names. */
const expected: { readonly [T in ShipmentCommandType]: { readonly [S in ShipmentStatus]: string } } = {
  "shipment.accept": { routed: "apply", accepted: "repeat", picked: "routed", packed: "routed", shipped: "routed", delivered: "routed", withdrawn: "routed" },
  "shipment.reject": { routed: "apply", accepted: "apply", picked: "routed or accepted", packed: "routed or accepted", shipped: "routed or accepted", delivered: "routed or accepted", withdrawn: "routed or accepted" },
  "shipment.pick": { routed: "apply", accepted: "apply", picked: "routed or accepted", packed: "routed or accepted", shipped: "routed or accepted", delivered: "routed or accepted", withdrawn: "routed or accepted" },
  "shipment.pack": { routed: "picked", accepted: "picked", picked: "apply", packed: "repeat", shipped: "picked", delivered: "picked", withdrawn: "picked" },
  "shipment.ship": { routed: "picked or packed", accepted: "picked or packed", picked: "apply", packed: "apply", shipped: "repeat", delivered: "picked or packed", withdrawn: "picked or packed" },
  "shipment.deliver": { routed: "shipped", accepted: "shipped", picked: "shipped", packed: "shipped", shipped: "apply", delivered: "repeat", withdrawn: "shipped" },
  "shipment.track": { routed: "shipped", accepted: "shipped", picked: "shipped", packed: "shipped", shipped: "apply", delivered: "repeat", withdrawn: "shipped" }
}

const outcome = (s: Shipment, c: ShipmentCommand | TrackShipment): string => {
  const step = shipmentStep(s, c)
  if (typeof step === "string") return step
  expect(step.code).toBe("invalid_state")
  return step.message.replace(/^shipment o0-1-s1 is \w+, expected /, "")
}

describe("shipment transition table", () => {
  it("applies, repeats or refuses each command in each status as the table says, naming the statuses it needs", () => {
    for (const type of Object.keys(shipmentTransitions) as Array<ShipmentCommandType>) {
      for (const status of statuses) expect(outcome(shipment(status), commands[type]), `${type} in ${status}`).toBe(expected[type][status])
    }
  })

  it("repeats only what says the same: another tracking id, or a scan other than delivered, is refused", () => {
    expect(outcome(shipment("shipped"), { ...commands["shipment.ship"], trackingId: "1Z2" } as ShipmentCommand)).toBe("picked or packed")
    expect(outcome(shipment("delivered"), { ...commands["shipment.track"], status: "in_transit" } as TrackShipment)).toBe("shipped")
  })

  it("makes only the events its row names, from placement to delivery", () => {
    const h = orderHarness()
    h.atp.set("TV-55@WH-DAL", 3)
    const placed = placeOrder(h.book, { type: "order.place", channel: "web", externalId: "t-1", lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" }, h.ctx)
    if (!placed.ok) throw new Error(placed.code)
    const at = { orderId: placed.order!.orderId, shipmentId: placed.order!.shipments[0].shipmentId, nodeId: "WH-DAL" }
    const flow: Array<ShipmentCommand | TrackShipment> = [
      { type: "shipment.accept", ...at },
      { type: "shipment.pick", ...at },
      { type: "shipment.pack", ...at },
      { type: "shipment.ship", ...at, carrier: "ups", trackingId: "1Z9" },
      { type: "shipment.track", ...at, status: "in_transit" },
      { type: "shipment.deliver", ...at }
    ]
    for (const c of flow) {
      const before = h.events.length
      const r = c.type === "shipment.track" ? trackShipment(h.book, c, h.ctx) : shipmentEvent(h.book, c, h.ctx)
      expect(r.ok, c.type).toBe(true)
      const made = h.events.slice(before).map((e) => e.type)
      expect(made.length, c.type).toBeGreaterThan(0)
      for (const e of made) expect(shipmentTransitions[c.type].makes, c.type).toContain(e)
    }
    expect(h.book.orders.get(at.orderId)!.shipments[0].status).toBe("delivered")
  })
})
