/**
 * Fulfillment node events on a shipment: accept, reject, pick (with short
 * picks), pack, ship, deliver; and the engine's own when a node goes offline.
 * Which command applies in which shipment status is the transition table
 * (shipment-transitions.ts); the handlers here check the rest (the node is
 * the shipment's, payment authorised before a node starts work, picked
 * quantities, carrier and tracking id), then tell the pools and record the
 * event.
 *
 * - A rejection, or a node going offline before the pick, withdraws the
 *   shipment: its stock goes back and its units are routed again (without
 *   the node, when it refused).
 * - A short pick writes the missing units off the node's on hand, releases
 *   them, and routes them again without the node.
 * - Shipping takes the units off the pool (StockShipped).
 */
import type { LineQty, ShipmentCommand } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { Reply } from "../domain/replies.ts"
import { checkId, checkText, isCount } from "../domain/validate.ts"
import type { OrderBook } from "./order-book.ts"
import { acceptedOrder, findOrder, type OrderContext } from "./order-context.ts"
import type { OrderState, Shipment } from "./order-state.ts"
import { routeOrder } from "./route-order.ts"
import { shipmentStep, shipmentTransitions } from "./shipment-transitions.ts"

/** The order's shipment, when (`checkNode`) the node reporting is the shipment's. */
export const shipmentOf = (o: OrderState, c: { readonly shipmentId: unknown; readonly nodeId?: unknown }, checkNode: boolean): Shipment | Rejection => {
  const s = o.shipments.find((x) => x.shipmentId === c.shipmentId)
  if (!s) return reject("shipment_not_found")
  if (checkNode && s.nodeId !== c.nodeId) return reject("wrong_node", `shipment ${s.shipmentId} is routed to ${s.nodeId}`)
  return s
}

/** Releases a shipment's open stock and routes its quantities again, without the node when it refused. */
const withdraw = (o: OrderState, s: Shipment, reason: "rejected" | "node_offline", detail: string, ctx: OrderContext) => {
  for (const l of s.lines) if (l.qty > 0) ctx.pools.release(l.reservationId, l.sku, l.qty, reason)
  ctx.emit({ type: "ShipmentWithdrawn", orderId: o.orderId, shipmentId: s.shipmentId, reason, detail, at: ctx.now })
  routeOrder(o, reason, ctx)
}

const paymentFirst = (o: OrderState): Rejection | undefined =>
  o.payment === "authorised" ? undefined : reject("invalid_state", "the order's payment is not authorised yet")

/** What a picked report means per line: picked quantities (absent lines: all), and the short ones. */
const pickedLines = (s: Shipment, reported: ReadonlyArray<LineQty> | undefined): { picked: Array<LineQty>; short: Array<LineQty> } | Rejection => {
  if (reported !== undefined) {
    if (!Array.isArray(reported)) return reject("malformed_command", "lines must be a list")
    for (const p of reported) {
      if (typeof p !== "object" || p === null || !isCount(p.qty)) return reject("quantity_must_be_positive", "picked quantities are whole numbers >= 0")
      if (!s.lines.some((l) => l.lineNo === p.lineNo)) return reject("line_not_found", `line ${p.lineNo} is not on the shipment`)
    }
  }
  const picked: Array<LineQty> = []
  const short: Array<LineQty> = []
  for (const l of s.lines) {
    const p = reported?.find((x) => x.lineNo === l.lineNo)
    const qty = p === undefined ? l.qty : p.qty
    if (qty > l.qty) return reject("quantity_exceeds_open", `line ${l.lineNo} has ${l.qty} on the shipment`)
    picked.push({ lineNo: l.lineNo, qty })
    if (qty < l.qty) short.push({ lineNo: l.lineNo, qty: l.qty - qty })
  }
  return { picked, short }
}

type NodeEvent<C> = (o: OrderState, s: Shipment, c: C, ctx: OrderContext) => Rejection | undefined
type Of<T extends ShipmentCommand["type"]> = Extract<ShipmentCommand, { type: T }>

/** Each node event once the transition table let it apply: the rest of its checks, then what it does. */
const nodeEvents: { readonly [T in ShipmentCommand["type"]]: NodeEvent<Of<T>> } = {
  "shipment.accept": (o, s, _c, ctx) => {
    const bad = paymentFirst(o)
    if (bad) return bad
    ctx.emit({ type: "ShipmentAccepted", orderId: o.orderId, shipmentId: s.shipmentId, at: ctx.now })
    return undefined
  },
  "shipment.reject": (o, s, c, ctx) => {
    const bad = checkText(c.reason ?? "", "reason")
    if (bad) return bad
    withdraw(o, s, "rejected", c.reason ?? "", ctx)
    return undefined
  },
  "shipment.pick": (o, s, c, ctx) => {
    const bad = paymentFirst(o)
    if (bad) return bad
    const result = pickedLines(s, c.lines)
    if ("ok" in result) return result
    const { picked, short } = result
    // the pools first (the missing units released and written off), then the event, then the units routed again
    for (const sh of short) {
      const line = s.lines.find((l) => l.lineNo === sh.lineNo)!
      ctx.pools.release(line.reservationId, line.sku, sh.qty, "short_pick")
      ctx.pools.writeOff(line.sku, s.nodeId, sh.qty, `short pick on ${s.shipmentId}`)
    }
    ctx.emit({ type: "ShipmentPicked", orderId: o.orderId, shipmentId: s.shipmentId, at: ctx.now, picked, short })
    if (short.length > 0) routeOrder(o, "short_pick", ctx)
    return undefined
  },
  "shipment.pack": (o, s, _c, ctx) => {
    ctx.emit({ type: "ShipmentPacked", orderId: o.orderId, shipmentId: s.shipmentId, at: ctx.now })
    return undefined
  },
  "shipment.ship": (o, s, c, ctx) => {
    const bad = checkId(c.carrier, ctx.config) ?? checkId(c.trackingId, ctx.config)
    if (bad) return reject("malformed_command", "ship needs a carrier and a trackingId")
    for (const l of s.lines) if (l.qty > 0) ctx.pools.ship(l.reservationId, l.sku, l.qty)
    ctx.emit({ type: "ShipmentShipped", orderId: o.orderId, shipmentId: s.shipmentId, at: ctx.now, carrier: c.carrier, trackingId: c.trackingId })
    return undefined
  },
  "shipment.deliver": (o, s, _c, ctx) => {
    ctx.emit({ type: "ShipmentDelivered", orderId: o.orderId, shipmentId: s.shipmentId, at: ctx.now })
    return undefined
  }
}

export const shipmentEvent = (book: OrderBook, c: ShipmentCommand, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, undefined)
  if ("ok" in o) return o
  const s = shipmentOf(o, c, true)
  if ("ok" in s) return s
  const step = shipmentStep(s, c)
  if (step === "repeat") return acceptedOrder(o, true)
  if (step !== "apply") return step
  const refused = (nodeEvents[c.type] as NodeEvent<ShipmentCommand>)(o, s, c, ctx)
  return refused ?? acceptedOrder(o)
}

/** A node went offline: its shipments not yet picked (those it could still reject) are withdrawn and routed elsewhere. */
export const nodeWithdrawn = (o: OrderState, nodeId: string, ctx: OrderContext): void => {
  const notPicked = shipmentTransitions["shipment.reject"].from
  for (const s of [...o.shipments]) {
    if (s.nodeId === nodeId && notPicked.includes(s.status)) withdraw(o, s, "node_offline", `node ${nodeId} offline`, ctx)
  }
}
