/**
 * Cancellation (order.cancel, and the engine's own after a declined or
 * timed-out payment). The rules:
 *
 * - Units can be cancelled while backordered or on a shipment that has not
 *   left (routed, accepted, picked, packed); shipped units are returned, not
 *   cancelled.
 * - Lines and quantities may be named; absent, everything still cancellable.
 * - Backorder goes first, then the least advanced shipments; their
 *   reservations go back to the pools.
 * - A compensation (set by the cluster gateway only) undoes a leg of a split
 *   placement that failed as a whole: a leg, whole, never cancelled before,
 *   nothing accepted by a node yet; no customer notification, and the leg's
 *   idempotency key is freed.
 */
import type { CancelOrder, LineQty } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { ShipmentLineQty } from "../domain/events.ts"
import type { Reply } from "../domain/replies.ts"
import { checkLineQtys, checkText } from "../domain/validate.ts"
import type { OrderBook } from "./order-book.ts"
import { acceptedOrder, findOrder, type OrderContext } from "./order-context.ts"
import { isOpenShipment, lineIndex, shippedQty, type OrderState, type ShipmentStatus } from "./order-state.ts"

/** Shipment statuses whose units can still be cancelled, least advanced first (the order they are taken from). */
const cancellableStatuses: ReadonlyArray<ShipmentStatus> = ["routed", "accepted", "picked", "packed"]

/** Units of a line that can still be cancelled: backordered or on a shipment that has not left. */
export const cancellable = (o: OrderState, lineNo: number): number =>
  o.backordered[lineIndex(o, lineNo)] + shippedQty(o, lineNo, cancellableStatuses)

/**
 * A compensation undoes a leg the customer never saw as placed: only a leg,
 * whole, not cancelled before, and with nothing accepted by a node yet.
 */
const compensable = (o: OrderState, c: CancelOrder): Rejection | undefined => {
  if (c.compensation !== true) return reject("malformed_command", "compensation must be true when given")
  if (!o.leg) return reject("invalid_leg", `order ${o.orderId} is not a leg of a split order`)
  if (c.lines !== undefined) return reject("invalid_leg", "a compensation cancels the whole leg")
  if (o.cancellations > 0 || o.shipments.some((s) => s.status !== "routed" && s.status !== "withdrawn")) {
    return reject("invalid_state", `leg ${o.orderId} has been worked on; cancel it as an order`)
  }
  return undefined
}

/** What a cancellation takes, and the reservations it gives back. */
export interface CancelPlan {
  readonly lines: ReadonlyArray<LineQty>
  readonly fromBackorder: ReadonlyArray<LineQty>
  readonly fromShipments: ReadonlyArray<ShipmentLineQty>
  readonly releases: ReadonlyArray<{ readonly reservationId: string; readonly sku: string; readonly qty: number }>
}

/** Decides the cancellation of `lines` (all that is open when absent): backorder first, then the least advanced shipments. Null: nothing is open. */
export const planCancel = (o: OrderState, lines: ReadonlyArray<LineQty> | undefined): CancelPlan | null => {
  const wanted = lines ?? o.lines.map((l) => ({ lineNo: l.lineNo, qty: cancellable(o, l.lineNo) })).filter((l) => l.qty > 0)
  if (wanted.length === 0) return null
  const fromBackorder: Array<LineQty> = []
  const fromShipments: Array<ShipmentLineQty> = []
  const releases: Array<CancelPlan["releases"][number]> = []
  const byProgress = [...o.shipments].filter(isOpenShipment).sort((a, b) => cancellableStatuses.indexOf(a.status) - cancellableStatuses.indexOf(b.status))
  for (const w of wanted) {
    let left = w.qty
    const bo = Math.min(left, o.backordered[lineIndex(o, w.lineNo)])
    if (bo > 0) fromBackorder.push({ lineNo: w.lineNo, qty: bo })
    left -= bo
    for (const s of byProgress) {
      if (left === 0) break
      const line = s.lines.find((l) => l.lineNo === w.lineNo)
      if (!line || line.qty === 0) continue
      const take = Math.min(left, line.qty)
      fromShipments.push({ shipmentId: s.shipmentId, lineNo: w.lineNo, qty: take })
      releases.push({ reservationId: line.reservationId, sku: line.sku, qty: take })
      left -= take
    }
  }
  return { lines: wanted, fromBackorder, fromShipments, releases }
}

/** Cancels what `planCancel` decides: the reservations go back, then OrderCancelled. False when nothing was open. */
export const cancelOpen = (o: OrderState, lines: ReadonlyArray<LineQty> | undefined, reason: string, ctx: OrderContext, compensation = false): boolean => {
  const plan = planCancel(o, lines)
  if (!plan) return false
  const total = o.lines.reduce((n, l) => n + l.qty, 0)
  const cancelledAfter = o.cancelled.reduce((n, q) => n + q, 0) + plan.lines.reduce((n, l) => n + l.qty, 0)
  for (const r of plan.releases) ctx.pools.release(r.reservationId, r.sku, r.qty, reason)
  ctx.emit({
    type: "OrderCancelled", orderId: o.orderId, cancellationNo: o.cancellations + 1, lines: plan.lines,
    fromBackorder: plan.fromBackorder, fromShipments: plan.fromShipments, reason, complete: cancelledAfter === total, at: ctx.now,
    ...(compensation ? { compensation: true as const } : {})
  })
  return true
}

export const cancel = (book: OrderBook, c: CancelOrder, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, c.channel)
  if ("ok" in o) return o
  const bad = checkText(c.reason ?? "", "reason") ?? (c.lines !== undefined ? checkLineQtys(c.lines, ctx.config) : undefined) ??
    (c.compensation !== undefined ? compensable(o, c) : undefined)
  if (bad) return bad
  if (c.lines !== undefined) {
    for (const l of c.lines) {
      if (lineIndex(o, l.lineNo) < 0) return reject("line_not_found", `no line ${l.lineNo}`)
      const open = cancellable(o, l.lineNo)
      if (l.qty > open) return reject("quantity_exceeds_open", `line ${l.lineNo} has ${open} cancellable`)
    }
  }
  if (!cancelOpen(o, c.lines, c.reason ?? "", ctx, c.compensation === true)) return reject("invalid_state", "nothing on the order can still be cancelled")
  return acceptedOrder(o)
}
