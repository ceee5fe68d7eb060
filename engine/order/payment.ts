/**
 * Payment (order.payment, and the payment deadline the engine keeps). An
 * order placed with payment pending holds its stock until the payment is
 * authorised (the reservations are allocated) or declined, or until
 * paymentTimeoutMs passes (the order is cancelled, its stock goes back).
 * The order's payment state chooses the handler: a pending payment is
 * settled; a settled one answers a repeat of the same outcome and refuses
 * any other.
 */
import type { RecordPayment } from "../domain/commands.ts"
import { reject } from "../domain/errors.ts"
import type { Reply } from "../domain/replies.ts"
import { cancelOpen } from "./cancellation.ts"
import type { OrderBook } from "./order-book.ts"
import { acceptedOrder, findOrder, type OrderContext } from "./order-context.ts"
import { isOpenShipment, type OrderState } from "./order-state.ts"
import { orderStatus } from "./order-view.ts"

/** The reservations of the order's open shipments go from held to allocated. */
const allocateHeld = (o: OrderState, ctx: OrderContext) => {
  for (const s of o.shipments) {
    if (!isOpenShipment(s)) continue
    for (const l of s.lines) if (l.qty > 0) ctx.pools.allocate(l.reservationId, l.sku)
  }
}

type PaymentHandler = (o: OrderState, c: RecordPayment, ctx: OrderContext) => Reply

/** Pending: authorised allocates the order's stock; declined cancels what is open. */
const settle: PaymentHandler = (o, c, ctx) => {
  if (orderStatus(o) === "cancelled") return reject("invalid_state", "the order was cancelled")
  // the order's event first, then its follow-ups on the pools, in the journal as they always were
  if (c.outcome === "authorised") {
    ctx.emit({ type: "PaymentAuthorised", orderId: o.orderId, at: ctx.now })
    allocateHeld(o, ctx)
  } else {
    ctx.emit({ type: "PaymentFailed", orderId: o.orderId, outcome: "declined", at: ctx.now })
    cancelOpen(o, undefined, "payment_declined", ctx)
  }
  return acceptedOrder(o)
}

/** Settled: the same outcome again is a repeat; anything else is refused. */
const settled: PaymentHandler = (o, c) =>
  o.payment === c.outcome ? acceptedOrder(o, true) : reject("invalid_state", `payment is already ${o.payment}`)

/** order.payment by the order's payment state. */
export const paymentHandlers: { readonly [P in OrderState["payment"]]: PaymentHandler } = {
  pending: settle,
  authorised: settled,
  declined: settled,
  timeout: settled
}

export const recordPayment = (book: OrderBook, c: RecordPayment, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, c.channel)
  if ("ok" in o) return o
  if (c.outcome !== "authorised" && c.outcome !== "declined") return reject("malformed_command", "outcome must be authorised or declined")
  return paymentHandlers[o.payment](o, c, ctx)
}

/** The payment deadline of a pending order passed: its stock goes back and the order is cancelled. */
export const expirePayment = (o: OrderState, ctx: OrderContext): void => {
  if (o.payment !== "pending") return
  ctx.emit({ type: "PaymentFailed", orderId: o.orderId, outcome: "timeout", at: ctx.now })
  cancelOpen(o, undefined, "payment_timeout", ctx)
}
