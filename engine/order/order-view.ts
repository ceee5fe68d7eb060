/**
 * The Order actor's read side: its status (derived from lines, payment and
 * shipments, never stored) and the view clients see (OrderView), computed
 * from the state in one pass over the shipments.
 */
import type { LineQty, OrderLeg, TrackingStatus } from "../domain/commands.ts"
import type { OrderLine } from "../domain/events.ts"
import type { LatLon } from "../domain/network.ts"
import { dateOf } from "../promise/calendar.ts"
import { lineIndex, type Feedback, type OrderState, type ReturnRecord, type ShipmentPromise, type ShipmentStatus } from "./order-state.ts"

export type OrderStatus =
  | "awaiting_payment" | "backordered" | "routed" | "in_fulfillment" | "partially_shipped" | "shipped"
  | "delivered" | "partially_returned" | "returned" | "cancelled"

/** Units per line by where they stand, in one pass over the shipments. */
interface LineTally {
  readonly shipped: Array<number>
  readonly delivered: Array<number>
  /** A live shipment has moved past "routed". */
  started: boolean
  live: number
}

const tally = (o: OrderState): LineTally => {
  const t: LineTally = { shipped: o.lines.map(() => 0), delivered: o.lines.map(() => 0), started: false, live: 0 }
  for (const s of o.shipments) {
    if (s.status === "withdrawn") continue
    t.live++
    if (s.status !== "routed") t.started = true
    if (s.status !== "shipped" && s.status !== "delivered") continue
    for (const l of s.lines) {
      const i = lineIndex(o, l.lineNo)
      t.shipped[i] += l.qty
      if (s.status === "delivered") t.delivered[i] += l.qty
    }
  }
  return t
}

const sum = (xs: ReadonlyArray<number>): number => {
  let n = 0
  for (let i = 0; i < xs.length; i++) n += xs[i]
  return n
}

const statusOf = (o: OrderState, t: LineTally): OrderStatus => {
  let total = 0
  for (const l of o.lines) total += l.qty
  const cancelled = sum(o.cancelled)
  if (cancelled === total) return "cancelled"
  if (o.payment === "pending") return "awaiting_payment"
  const open = total - cancelled
  const delivered = sum(t.delivered)
  const shipped = sum(t.shipped)
  if (delivered === open) {
    const returned = sum(o.returnRequested)
    if (returned === 0) return "delivered"
    return returned === delivered ? "returned" : "partially_returned"
  }
  if (shipped === open) return "shipped"
  if (shipped > 0) return "partially_shipped"
  if (t.started) return "in_fulfillment"
  if (sum(o.backordered) > 0 && t.live === 0) return "backordered"
  return "routed"
}

export const orderStatus = (o: OrderState): OrderStatus => statusOf(o, tally(o))

export interface OrderLineView extends OrderLine {
  readonly cancelled: number
  readonly backordered: number
  readonly shipped: number
  readonly delivered: number
  readonly returned: number
}

export interface OrderView {
  readonly orderId: string
  readonly channel: string
  readonly externalId: string
  readonly status: OrderStatus
  readonly payment: OrderState["payment"]
  readonly fulfillment: "ship" | "pickup"
  readonly destination: LatLon
  readonly lines: ReadonlyArray<OrderLineView>
  readonly shipments: ReadonlyArray<{
    readonly shipmentId: string
    readonly nodeId: string
    readonly status: ShipmentStatus
    readonly lines: ReadonlyArray<LineQty>
    readonly distanceKm: number
    readonly costCents: number
    readonly carrier: string | null
    readonly trackingId: string | null
    readonly promise: ShipmentPromise | null
    readonly tracking: TrackingStatus | null
    readonly estimatedDelivery: string | null
    readonly late: boolean
  }>
  readonly returns: ReadonlyArray<{ readonly returnId: string; readonly status: ReturnRecord["status"]; readonly lines: ReadonlyArray<LineQty>; readonly refundCents: number }>
  readonly explanation: string | null
  readonly feedback: Feedback | null
  /** Delivery promise and B2B terms asked at placement (null / false when not asked). */
  readonly service: string | null
  readonly deliverBy: string | null
  readonly purchaseOrder: string | null
  readonly shipComplete: boolean
  readonly requestedDeliveryDate: string | null
  /** Cluster mode: the leg of a split order this order is, and whether it was undone (compensated); null for an ordinary order. */
  readonly leg: (OrderLeg & { readonly compensated: boolean }) | null
  readonly placedAt: number
  readonly updatedAt: number
}

export const orderView = (o: OrderState): OrderView => {
  const t = tally(o)
  return {
    orderId: o.orderId,
    channel: o.channel,
    externalId: o.externalId,
    status: statusOf(o, t),
    payment: o.payment,
    fulfillment: o.fulfillment,
    destination: o.destination,
    lines: o.lines.map((l, i) => ({
      lineNo: l.lineNo,
      sku: l.sku,
      qty: l.qty,
      unitPriceCents: l.unitPriceCents,
      cancelled: o.cancelled[i],
      backordered: o.backordered[i],
      shipped: t.shipped[i],
      delivered: t.delivered[i],
      returned: o.returnRequested[i]
    })),
    shipments: o.shipments.map((s) => ({
      shipmentId: s.shipmentId, nodeId: s.nodeId, status: s.status,
      lines: s.lines.map((l) => ({ lineNo: l.lineNo, qty: l.qty })),
      distanceKm: s.distanceKm, costCents: s.costCents, carrier: s.carrier, trackingId: s.trackingId,
      promise: s.promise ?? null, tracking: s.tracking ?? null, estimatedDelivery: s.estimatedDelivery ?? null, late: s.late === true
    })),
    returns: o.returns.map((r) => ({ returnId: r.returnId, status: r.status, lines: r.lines, refundCents: r.refundCents })),
    explanation: o.lastExplanation?.summary ?? null,
    feedback: o.feedback ?? null,
    service: o.service ?? null,
    deliverBy: (o.deliverByDay ?? null) === null ? null : dateOf(o.deliverByDay!),
    purchaseOrder: o.purchaseOrder ?? null,
    shipComplete: o.shipComplete === true,
    requestedDeliveryDate: o.requestedDeliveryDate ?? null,
    leg: o.leg ? { partition: o.leg.partition, lineNos: o.leg.lineNos, compensated: o.compensated === true } : null,
    placedAt: o.placedAt,
    updatedAt: o.updatedAt
  }
}
