/**
 * Returns and exchanges. The rules:
 *
 * - A return (return.request) names lines and quantities that were delivered
 *   and not yet asked back.
 * - The node that receives it (return.receive) reports what came back, at
 *   most what was asked, each line restocked at that node or written off; a
 *   refund of the received units follows, unless the return is part of an
 *   exchange. A return's status chooses: only a requested return takes a
 *   receipt.
 * - An exchange (order.exchange) is a return plus a new, already paid order
 *   for the replacements, shipped to the same customer.
 */
import type { ExchangeOrder, LineQty, ReceiveReturn, RequestReturn } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { Reply } from "../domain/replies.ts"
import { checkLineQtys, checkText } from "../domain/validate.ts"
import { nodeById } from "../network/network-actor.ts"
import { checkOrderLines } from "./capture.ts"
import type { OrderBook } from "./order-book.ts"
import { acceptedOrder, findOrder, type OrderContext } from "./order-context.ts"
import { lineIndex, shippedQty, type OrderState, type ReturnRecord } from "./order-state.ts"

/** Lines that can go back: delivered, and not asked back already. */
const checkReturnLines = (o: OrderState, lines: ReadonlyArray<LineQty>, ctx: OrderContext): Rejection | undefined => {
  const bad = checkLineQtys(lines, ctx.config)
  if (bad) return bad
  for (const l of lines) {
    const i = lineIndex(o, l.lineNo)
    if (i < 0) return reject("line_not_found", `no line ${l.lineNo}`)
    const returnable = shippedQty(o, l.lineNo, ["delivered"]) - o.returnRequested[i]
    if (l.qty > returnable) return reject("quantity_exceeds_open", `line ${l.lineNo} has ${returnable} delivered and not yet returned`)
  }
  return undefined
}

const nextReturnId = (o: OrderState): string => `${o.orderId}-r${o.returns.length + 1}`

export const requestReturn = (book: OrderBook, c: RequestReturn, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, c.channel)
  if ("ok" in o) return o
  const bad = checkText(c.reason ?? "", "reason") ?? checkReturnLines(o, c.lines, ctx)
  if (bad) return bad
  ctx.emit({
    type: "ReturnRequested", orderId: o.orderId, returnId: nextReturnId(o),
    lines: c.lines.map((l) => ({ lineNo: l.lineNo, qty: l.qty })), reason: c.reason ?? "", exchangeOrderId: null, at: ctx.now
  })
  return acceptedOrder(o)
}

type ReceiptHandler = (o: OrderState, r: ReturnRecord, c: ReceiveReturn, ctx: OrderContext) => Reply

/** A requested return: the receipt is checked, restocked units go back to the node's pool, then the receipt and the refund are recorded. */
const receive: ReceiptHandler = (o, r, c, ctx) => {
  if (typeof c.nodeId !== "string" || !nodeById(ctx.net, c.nodeId)) return reject("unknown_node")
  const bad = checkLineQtys(c.lines, ctx.config)
  if (bad) return bad
  for (const l of c.lines) {
    const asked = r.lines.find((x) => x.lineNo === l.lineNo)
    if (!asked) return reject("line_not_found", `line ${l.lineNo} is not on return ${r.returnId}`)
    if (l.qty > asked.qty) return reject("quantity_exceeds_open", `return ${r.returnId} asked for ${asked.qty} of line ${l.lineNo}`)
    if (l.disposition !== "restock" && l.disposition !== "writeOff") return reject("malformed_command", "disposition must be restock or writeOff")
  }
  const lines = c.lines.map((l) => ({ lineNo: l.lineNo, qty: l.qty, disposition: l.disposition }))
  const amountCents = lines.reduce((n, l) => n + l.qty * o.lines[lineIndex(o, l.lineNo)].unitPriceCents, 0)
  for (const l of lines) {
    if (l.disposition === "restock") ctx.pools.restock(o.lines[lineIndex(o, l.lineNo)].sku, c.nodeId, l.qty, o.orderId, r.returnId)
  }
  ctx.emit({ type: "ReturnReceived", orderId: o.orderId, returnId: r.returnId, nodeId: c.nodeId, lines, at: ctx.now })
  if (r.exchangeOrderId === null) ctx.emit({ type: "RefundIssued", orderId: o.orderId, returnId: r.returnId, amountCents, at: ctx.now })
  return acceptedOrder(o)
}

/** A return already received (or refunded) takes no second receipt. */
const received: ReceiptHandler = (_o, r) => reject("invalid_state", `return ${r.returnId} is already ${r.status}`)

/** return.receive by the return's status. */
export const receiptHandlers: { readonly [S in ReturnRecord["status"]]: ReceiptHandler } = {
  requested: receive,
  received,
  refunded: received
}

export const receiveReturn = (book: OrderBook, c: ReceiveReturn, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, undefined)
  if ("ok" in o) return o
  const r = o.returns.find((x) => x.returnId === c.returnId)
  if (!r) return reject("return_not_found")
  return receiptHandlers[r.status](o, r, c, ctx)
}

/**
 * An exchange: a return of some delivered units plus a new, already paid
 * order for the replacements. The new order is placed first (by the actor
 * that owns it, which may refuse it: then nothing happens here), since the
 * return names it.
 */
export const exchange = (book: OrderBook, c: ExchangeOrder, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, c.channel)
  if ("ok" in o) return o
  const bad = checkText(c.reason ?? "", "reason") ?? checkReturnLines(o, c.returnLines, ctx) ?? checkOrderLines(c.newLines, ctx.net, ctx.config)
  if (bad) return bad
  const returnId = nextReturnId(o)
  const placed = ctx.placeOrder({
    type: "order.place",
    channel: o.channel,
    externalId: `exchange:${returnId}`,
    lines: c.newLines,
    customer: { ...o.customer, location: o.destination },
    payment: "authorised",
    fulfillment: o.fulfillment,
    ...(o.pickupNodeId !== null ? { pickupNodeId: o.pickupNodeId } : {})
  })
  if (!placed.ok) return placed
  ctx.emit({
    type: "ReturnRequested", orderId: o.orderId, returnId,
    lines: c.returnLines.map((l) => ({ lineNo: l.lineNo, qty: l.qty })), reason: c.reason ?? "",
    exchangeOrderId: placed.order!.orderId, at: ctx.now
  })
  return acceptedOrder(o)
}
