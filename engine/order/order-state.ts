/**
 * The Order actor's state and its evolve: one order, from placement through
 * routing, payment, shipments (pick, pack, ship, deliver), cancellations and
 * returns, and the customer notifications each transition puts in the
 * outbox. Its status and the read model clients see (OrderView) are in
 * order-view.ts; the command handlers are listed in order-actor.ts.
 *
 * Line accounting, asserted after every routing:
 *   ordered = cancelled + backordered + sum of live shipment quantities
 *
 * Longer than the ~450 lines other files keep to: one actor's state, evolve
 * and view change together (one actor per file, STYLE.md).
 */
import type { LineQty, OrderLeg, ReturnLineReceipt, TrackingStatus } from "../domain/commands.ts"
import { invariant } from "../domain/errors.ts"
import { parseDate } from "../promise/calendar.ts"
import type { OrderEvent, OrderPlaced, RouteExplanation } from "../domain/events.ts"

/** The read model, for the many readers that know it from here. */
export type { OrderLineView, OrderStatus, OrderView } from "./order-view.ts"

export interface ShipmentPromise {
  readonly carrier: string
  readonly service: string
  /** End of the promised delivery day, epoch ms (23:59:59.999 UTC). */
  readonly promisedBy: number
}

// ---- state --------------------------------------------------------------------------

export type ShipmentStatus = "routed" | "accepted" | "picked" | "packed" | "shipped" | "delivered" | "withdrawn"

export interface ShipmentLine {
  readonly lineNo: number
  readonly sku: string
  /** Units this shipment carries (reduced by cancellation or short pick). */
  qty: number
  readonly reservationId: string
}

export interface Shipment {
  readonly shipmentId: string
  readonly nodeId: string
  readonly lines: Array<ShipmentLine>
  status: ShipmentStatus
  readonly distanceKm: number
  readonly costCents: number
  readonly routedAt: number
  carrier: string | null
  trackingId: string | null
  updatedAt: number
  /** The carrier service and promised delivery of an order with a promise (null otherwise). */
  readonly promise: ShipmentPromise | null
  /** The newest carrier tracking status, and how many tracking updates came. */
  tracking: TrackingStatus | null
  scans: number
  /** The carrier's newest estimate, "YYYY-MM-DD". */
  estimatedDelivery: string | null
  /** The promised day ended before delivery, or the carrier's estimate lies past it (ShipmentLate). */
  late: boolean
}

export interface ReturnRecord {
  readonly returnId: string
  readonly lines: ReadonlyArray<LineQty>
  readonly reason: string
  readonly exchangeOrderId: string | null
  status: "requested" | "received" | "refunded"
  received: ReadonlyArray<ReturnLineReceipt> | null
  receivedAt: number | null
  refundCents: number
}

export type NotificationKind =
  | "confirmed" | "shipped" | "out_for_delivery" | "delivery_exception" | "delivered" | "cancelled" | "return_received" | "refunded"

export interface Notification {
  readonly id: string
  readonly orderId: string
  readonly channel: string
  readonly kind: NotificationKind
  readonly at: number
  readonly data: Readonly<Record<string, string | number | null>>
}

export interface Feedback {
  readonly rating: number
  readonly comment: string
  readonly at: number
}

export interface HistoryEntry {
  readonly seq: number
  readonly event: OrderEvent
}

export interface OrderState extends Pick<
  OrderPlaced,
  "orderId" | "channel" | "externalId" | "lines" | "customer" | "destination" | "fulfillment" | "pickupNodeId" | "exchangeFor"
> {
  readonly placedAt: number
  readonly paymentDeadline: number
  payment: "pending" | "authorised" | "declined" | "timeout"
  readonly shipments: Array<Shipment>
  /** Per line index. */
  readonly backordered: Array<number>
  readonly cancelled: Array<number>
  readonly returnRequested: Array<number>
  readonly excludedNodes: Array<string>
  readonly returns: Array<ReturnRecord>
  routeAttempts: number
  cancellations: number
  /**
   * The summary of the newest routing's explanation (its candidates stay in the journal, in the
   * OrderRouted event, read back with the order's history): what the order view shows.
   */
  lastExplanation: Pick<RouteExplanation, "summary"> | null
  /** The customer's feedback after delivery (one per order); absent in orders restored from older snapshots. */
  feedback?: Feedback | null
  /** Delivery promise asked at placement: a service level code and/or a last delivery day (days since 1970-01-01, UTC). */
  readonly service: string | null
  readonly deliverByDay: number | null
  /** B2B: purchase-order reference, ship complete, requested delivery date ("YYYY-MM-DD"). */
  readonly purchaseOrder: string | null
  readonly shipComplete: boolean
  readonly requestedDeliveryDate: string | null
  /** Cluster mode: the leg of a split order this order is (absent or null: an ordinary order). */
  readonly leg?: OrderLeg | null
  /** The leg was undone by the gateway's compensation: its idempotency key is free again. */
  compensated?: boolean
  readonly outbox: Array<Notification>
  /**
   * Journal sequence numbers of the order's events (its stream's): OrderPlaced's, then the newest
   * orderHistoryMax. The events themselves are read back from the journal (Queries.orderHistory).
   */
  readonly history: Array<number>
  updatedAt: number
}

export const lineIndex = (o: OrderState, lineNo: number): number => o.lines.findIndex((l) => l.lineNo === lineNo)

export const isLiveShipment = (s: Shipment): boolean => s.status !== "withdrawn"
export const isOpenShipment = (s: Shipment): boolean =>
  s.status === "routed" || s.status === "accepted" || s.status === "picked" || s.status === "packed"

/** Units of a line on live shipments, optionally only those in the given statuses. */
export const shippedQty = (o: OrderState, lineNo: number, statuses: ReadonlyArray<ShipmentStatus>): number => {
  let n = 0
  for (const s of o.shipments) {
    if (!statuses.includes(s.status)) continue
    for (const l of s.lines) if (l.lineNo === lineNo) n += l.qty
  }
  return n
}

/** Units of each line not on a live shipment, not backordered, not cancelled: what still needs a route. */
export const unrouted = (o: OrderState): Array<LineQty> => {
  const out: Array<LineQty> = []
  o.lines.forEach((line, i) => {
    let placed = o.cancelled[i] + o.backordered[i]
    for (const s of o.shipments) {
      if (!isLiveShipment(s)) continue
      for (const l of s.lines) if (l.lineNo === line.lineNo) placed += l.qty
    }
    invariant(placed <= line.qty, () => `order ${o.orderId} line ${line.lineNo} over-routed`)
    if (placed < line.qty) out.push({ lineNo: line.lineNo, qty: line.qty - placed })
  })
  return out
}

// ---- evolve --------------------------------------------------------------------------

/** The last acceptable delivery day: the earlier of deliverBy and the B2B requested delivery date (null: neither). */
export const deliverByDayOf = (e: Pick<OrderPlaced, "deliverBy" | "requestedDeliveryDate">): number | null => {
  const a = e.deliverBy !== undefined ? parseDate(e.deliverBy) : undefined
  const b = e.requestedDeliveryDate !== undefined ? parseDate(e.requestedDeliveryDate) : undefined
  if (a === undefined) return b ?? null
  return b === undefined ? a : Math.min(a, b)
}

/** Whether the order asks for a delivery promise (a service level or a date). */
export const hasPromise = (o: OrderState): boolean => o.fulfillment === "ship" && ((o.service ?? null) !== null || (o.deliverByDay ?? null) !== null)

export const newOrder = (e: OrderPlaced): OrderState => ({
  orderId: e.orderId,
  channel: e.channel,
  externalId: e.externalId,
  lines: e.lines,
  customer: e.customer,
  destination: e.destination,
  fulfillment: e.fulfillment,
  pickupNodeId: e.pickupNodeId,
  exchangeFor: e.exchangeFor,
  placedAt: e.at,
  paymentDeadline: e.paymentDueAt,
  payment: e.paymentAuthorised ? "authorised" : "pending",
  shipments: [],
  backordered: e.lines.map(() => 0),
  cancelled: e.lines.map(() => 0),
  returnRequested: e.lines.map(() => 0),
  excludedNodes: [],
  returns: [],
  routeAttempts: 0,
  cancellations: 0,
  lastExplanation: null,
  feedback: null,
  service: e.service ?? null,
  deliverByDay: deliverByDayOf(e),
  purchaseOrder: e.purchaseOrder ?? null,
  shipComplete: e.shipComplete === true,
  requestedDeliveryDate: e.requestedDeliveryDate ?? null,
  leg: e.leg ?? null,
  compensated: false,
  outbox: [],
  history: [],
  updatedAt: e.at
})

const notify = (o: OrderState, kind: NotificationKind, sub: string, at: number, data: Notification["data"]) => {
  o.outbox.push({ id: sub ? `${o.orderId}/${kind}/${sub}` : `${o.orderId}/${kind}`, orderId: o.orderId, channel: o.channel, kind, at, data })
}

const shipmentOf = (o: OrderState, shipmentId: string): Shipment => {
  const s = o.shipments.find((x) => x.shipmentId === shipmentId)
  invariant(s !== undefined, () => `order ${o.orderId} has no shipment ${shipmentId}`)
  return s!
}

/** A node that rejected or short-picked the order is not routed to again for it. */
const exclude = (o: OrderState, nodeId: string) => {
  if (!o.excludedNodes.includes(nodeId)) o.excludedNodes.push(nodeId)
}

/** Applies one of this order's events (OrderPlaced creates the state: see newOrder). */
export const evolveOrder = (o: OrderState, e: OrderEvent): void => {
  switch (e.type) {
    case "OrderPlaced":
      if (e.paymentAuthorised) notify(o, "confirmed", "", e.at, { externalId: e.externalId })
      break
    case "OrderRouted": {
      for (const plan of e.shipments) {
        o.shipments.push({
          shipmentId: plan.shipmentId,
          nodeId: plan.nodeId,
          lines: plan.lines.map((l) => ({
            lineNo: l.lineNo, sku: o.lines[lineIndex(o, l.lineNo)].sku, qty: l.qty, reservationId: `${plan.shipmentId}/${l.lineNo}`
          })),
          status: "routed",
          distanceKm: plan.distanceKm,
          costCents: plan.costCents,
          routedAt: e.at,
          carrier: null,
          trackingId: null,
          updatedAt: e.at,
          promise: plan.promise ?? null,
          tracking: null,
          scans: 0,
          estimatedDelivery: null,
          late: false
        })
      }
      o.backordered.fill(0)
      for (const b of e.backordered) o.backordered[lineIndex(o, b.lineNo)] = b.qty
      o.routeAttempts++
      o.lastExplanation = { summary: e.explanation.summary }
      invariant(unrouted(o).length === 0, () => `order ${o.orderId} left quantities unrouted`)
      break
    }
    case "PaymentAuthorised":
      o.payment = "authorised"
      notify(o, "confirmed", "", e.at, { externalId: o.externalId })
      break
    case "PaymentFailed":
      o.payment = e.outcome
      break
    case "ShipmentAccepted":
      shipmentOf(o, e.shipmentId).status = "accepted"
      break
    case "ShipmentWithdrawn": {
      const s = shipmentOf(o, e.shipmentId)
      s.status = "withdrawn"
      if (e.reason === "rejected") exclude(o, s.nodeId)
      break
    }
    case "ShipmentPicked": {
      const s = shipmentOf(o, e.shipmentId)
      for (const p of e.picked) s.lines.find((l) => l.lineNo === p.lineNo)!.qty = p.qty
      // nothing found at all: the shipment is gone, its lines were routed again
      s.status = s.lines.every((l) => l.qty === 0) ? "withdrawn" : "picked"
      if (e.short.length > 0) exclude(o, s.nodeId)
      break
    }
    case "ShipmentPacked":
      shipmentOf(o, e.shipmentId).status = "packed"
      break
    case "ShipmentShipped": {
      const s = shipmentOf(o, e.shipmentId)
      s.status = "shipped"
      s.carrier = e.carrier
      s.trackingId = e.trackingId
      notify(o, "shipped", e.shipmentId, e.at, {
        shipmentId: e.shipmentId, carrier: e.carrier, trackingId: e.trackingId, nodeId: s.nodeId,
        ...(s.promise ? { service: s.promise.service, promisedBy: s.promise.promisedBy } : {})
      })
      break
    }
    case "ShipmentDelivered": {
      const s = shipmentOf(o, e.shipmentId)
      s.status = "delivered"
      s.tracking = "delivered"
      notify(o, "delivered", e.shipmentId, e.at, {
        shipmentId: e.shipmentId, ...(s.promise ? { promisedBy: s.promise.promisedBy, onTime: e.at <= s.promise.promisedBy ? 1 : 0 } : {})
      })
      break
    }
    case "ShipmentTracked": {
      const s = shipmentOf(o, e.shipmentId)
      s.tracking = e.status
      s.scans = e.scan
      if (e.estimatedDelivery !== null) s.estimatedDelivery = e.estimatedDelivery
      if (e.status !== "in_transit") {
        const kind = e.status === "out_for_delivery" ? "out_for_delivery" : "delivery_exception"
        notify(o, kind, `${e.shipmentId}.${e.scan}`, e.at, {
          shipmentId: e.shipmentId, carrier: s.carrier, trackingId: s.trackingId, detail: e.detail, estimatedDelivery: e.estimatedDelivery
        })
      }
      break
    }
    case "ShipmentLate":
      shipmentOf(o, e.shipmentId).late = true
      break
    case "OrderCancelled": {
      for (const l of e.lines) o.cancelled[lineIndex(o, l.lineNo)] += l.qty
      for (const b of e.fromBackorder) o.backordered[lineIndex(o, b.lineNo)] -= b.qty
      for (const r of e.fromShipments) {
        const line = shipmentOf(o, r.shipmentId).lines.find((l) => l.lineNo === r.lineNo)!
        line.qty -= r.qty
        invariant(line.qty >= 0, () => `order ${o.orderId} cancelled more than shipment ${r.shipmentId} held`)
      }
      for (const s of o.shipments) {
        if (isOpenShipment(s) && s.lines.every((l) => l.qty === 0)) s.status = "withdrawn"
      }
      o.cancellations = e.cancellationNo
      if (e.compensation === true) {
        // the customer never saw this leg as an order: nothing about it is sent that was not sent already
        o.compensated = true
        o.outbox.length = 0
      } else notify(o, "cancelled", String(e.cancellationNo), e.at, { reason: e.reason, complete: e.complete ? 1 : 0 })
      break
    }
    case "ReturnRequested":
      for (const l of e.lines) o.returnRequested[lineIndex(o, l.lineNo)] += l.qty
      o.returns.push({
        returnId: e.returnId, lines: e.lines, reason: e.reason, exchangeOrderId: e.exchangeOrderId,
        status: "requested", received: null, receivedAt: null, refundCents: 0
      })
      break
    case "ReturnReceived": {
      const r = o.returns.find((x) => x.returnId === e.returnId)!
      r.status = "received"
      r.received = e.lines
      r.receivedAt = e.at
      notify(o, "return_received", e.returnId, e.at, { returnId: e.returnId, nodeId: e.nodeId })
      break
    }
    case "RefundIssued": {
      const r = o.returns.find((x) => x.returnId === e.returnId)!
      r.status = "refunded"
      r.refundCents = e.amountCents
      notify(o, "refunded", e.returnId, e.at, { returnId: e.returnId, amountCents: e.amountCents })
      break
    }
    case "FeedbackRecorded":
      o.feedback = { rating: e.rating, comment: e.comment, at: e.at }
      break
    case "NotificationsDelivered": {
      const done = new Set(e.ids)
      for (let i = o.outbox.length - 1; i >= 0; i--) if (done.has(o.outbox[i].id)) o.outbox.splice(i, 1)
      break
    }
  }
  if ("at" in e) o.updatedAt = e.at
}
