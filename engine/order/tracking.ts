/**
 * Carrier tracking and late shipments. A tracking update of a shipped
 * shipment (shipment.track) records in_transit, out_for_delivery and
 * exception (ShipmentTracked; the last two notify the customer); delivered
 * moves the shipment as shipment.deliver does. A shipment with a promise is
 * late (ShipmentLate) when the carrier's estimate lies past the promised day,
 * or when the promised day ends before delivery (the engine's timer).
 */
import { trackingStatuses, type TrackShipment } from "../domain/commands.ts"
import { reject } from "../domain/errors.ts"
import type { Reply } from "../domain/replies.ts"
import { checkText } from "../domain/validate.ts"
import { dayOf, parseDate } from "../promise/calendar.ts"
import { shipmentOf } from "./fulfilment.ts"
import type { OrderBook } from "./order-book.ts"
import { acceptedOrder, findOrder, type OrderContext } from "./order-context.ts"
import type { OrderState } from "./order-state.ts"
import { shipmentStep } from "./shipment-transitions.ts"

export const trackShipment = (book: OrderBook, c: TrackShipment, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, undefined)
  if ("ok" in o) return o
  if (typeof c.shipmentId !== "string") return reject("invalid_id")
  // a node's key names its node, which must be the shipment's; a carrier's update names none
  const s = shipmentOf(o, c, c.nodeId !== undefined)
  if ("ok" in s) return s
  if (!trackingStatuses.includes(c.status)) return reject("malformed_command", `status must be one of ${trackingStatuses.join(", ")}`)
  const bad = checkText(c.detail ?? "", "detail", 200)
  if (bad) return bad
  let estimate: number | undefined
  if (c.estimatedDelivery !== undefined) {
    estimate = parseDate(c.estimatedDelivery)
    if (estimate === undefined) return reject("invalid_date", "estimatedDelivery must be a calendar date YYYY-MM-DD")
  }
  const step = shipmentStep(s, c)
  if (step === "repeat") return acceptedOrder(o, true)
  if (step !== "apply") return step
  const ref = { orderId: o.orderId, shipmentId: s.shipmentId, at: ctx.now }
  if (c.status === "delivered") {
    ctx.emit({ type: "ShipmentDelivered", ...ref })
    return acceptedOrder(o)
  }
  const late = !!s.promise && !s.late && estimate !== undefined && estimate > dayOf(s.promise.promisedBy)
  ctx.emit({
    type: "ShipmentTracked", ...ref, status: c.status, detail: c.detail ?? "",
    estimatedDelivery: c.estimatedDelivery ?? null, scan: (s.scans ?? 0) + 1
  })
  if (late) ctx.emit({ type: "ShipmentLate", ...ref, promisedBy: s.promise!.promisedBy, cause: "estimate" })
  return acceptedOrder(o)
}

/** The promised day of a shipment ended (engine timer): late, unless it was delivered, withdrawn or already late. */
export const promiseDue = (o: OrderState, shipmentId: string, ctx: OrderContext): void => {
  const s = o.shipments.find((x) => x.shipmentId === shipmentId)
  if (!s || !s.promise || s.late || s.status === "delivered" || s.status === "withdrawn") return
  if (s.lines.every((l) => l.qty === 0) || ctx.now <= s.promise.promisedBy) return
  ctx.emit({ type: "ShipmentLate", orderId: o.orderId, shipmentId, promisedBy: s.promise.promisedBy, cause: "not_delivered", at: ctx.now })
}
