/**
 * The shipment state machine as one table: for each command a fulfillment
 * node (or a carrier) sends about a shipment, the shipment statuses in which
 * it applies, the status in which it repeats one already applied (answered
 * with the order as it is, `existing`, nothing changes), and the order
 * events it makes. In every other status it is refused with invalid_state,
 * naming the statuses it needs.
 *
 *   routed --accept--> accepted --pick--> picked --pack--> packed --ship--> shipped --deliver/track--> delivered
 *     |  \______________pick_____________^   \_____________ship____________^
 *     +-- reject (routed or accepted) --> withdrawn, routed again elsewhere
 *
 * A node going offline withdraws shipments not yet picked the same way
 * (fulfilment.ts, nodeWithdrawn); a cancellation empties open shipments.
 */
import type { ShipmentCommand, TrackShipment } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { OrderEvent } from "../domain/events.ts"
import type { Shipment, ShipmentStatus } from "./order-state.ts"

export type ShipmentCommandType = ShipmentCommand["type"] | TrackShipment["type"]

export interface ShipmentTransition {
  /** The statuses in which the command applies. */
  readonly from: ReadonlyArray<ShipmentStatus>
  /** The status in which the command repeats one already applied (see `sameAsApplied`), if any. */
  readonly repeatedIn: ShipmentStatus | null
  /** The order events it makes (a rejection or short pick routes the units again: OrderRouted). */
  readonly makes: ReadonlyArray<OrderEvent["type"]>
}

export const shipmentTransitions: { readonly [T in ShipmentCommandType]: ShipmentTransition } = {
  "shipment.accept": { from: ["routed"], repeatedIn: "accepted", makes: ["ShipmentAccepted"] },
  "shipment.reject": { from: ["routed", "accepted"], repeatedIn: null, makes: ["ShipmentWithdrawn", "OrderRouted"] },
  "shipment.pick": { from: ["routed", "accepted"], repeatedIn: null, makes: ["ShipmentPicked", "OrderRouted"] },
  "shipment.pack": { from: ["picked"], repeatedIn: "packed", makes: ["ShipmentPacked"] },
  "shipment.ship": { from: ["picked", "packed"], repeatedIn: "shipped", makes: ["ShipmentShipped"] },
  "shipment.deliver": { from: ["shipped"], repeatedIn: "delivered", makes: ["ShipmentDelivered"] },
  "shipment.track": { from: ["shipped"], repeatedIn: "delivered", makes: ["ShipmentTracked", "ShipmentLate", "ShipmentDelivered"] }
}

/** A repeat says what was applied: the same tracking id for ship, a delivery for a tracking update. */
const sameAsApplied = (s: Shipment, c: ShipmentCommand | TrackShipment): boolean =>
  c.type === "shipment.ship" ? s.trackingId === c.trackingId : c.type === "shipment.track" ? c.status === "delivered" : true

export const wrongState = (s: Shipment, expected: ReadonlyArray<ShipmentStatus>): Rejection =>
  reject("invalid_state", `shipment ${s.shipmentId} is ${s.status}, expected ${expected.join(" or ")}`)

/** What the shipment's status makes of the command: apply it, answer it as a repeat, or refuse it. */
export const shipmentStep = (s: Shipment, c: ShipmentCommand | TrackShipment): "apply" | "repeat" | Rejection => {
  const t = shipmentTransitions[c.type]
  if (t.repeatedIn === s.status && sameAsApplied(s, c)) return "repeat"
  return t.from.includes(s.status) ? "apply" : wrongState(s, t.from)
}
