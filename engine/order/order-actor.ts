/**
 * The Order actor: one per order, its state and evolve in order-state.ts,
 * and its command handlers by concern, each in its own file:
 *
 * | concern                         | commands                          | file                                 |
 * |---------------------------------|-----------------------------------|--------------------------------------|
 * | capture                         | order.place                       | capture.ts                           |
 * | payment                         | order.payment, payment deadline   | payment.ts                           |
 * | routing and reservation         | (after placement, re-routes)      | route-plan.ts, route-order.ts        |
 * | fulfillment (shipment states)   | shipment.accept ... deliver       | shipment-transitions.ts, fulfilment.ts |
 * | carrier tracking, late          | shipment.track, promise timer     | tracking.ts                          |
 * | cancellation                    | order.cancel                      | cancellation.ts                      |
 * | returns and exchanges           | return.request, return.receive, order.exchange | returns.ts              |
 * | feedback                        | order.feedback                    | feedback.ts                          |
 * | notifications                   | notifications.delivered           | outbox.ts                            |
 * | waiting on stock                | (backorder retries)               | backorders.ts                        |
 *
 * Every handler validates first and refuses with a named error before it
 * emits anything, so a refused command changes nothing; then it sends its
 * commands to StockPool actors through the PoolPort and emits the order's
 * events, which the runtime journals in the same group commit. The state
 * chooses the handler where the state decides what a command means: a
 * shipment's status through the transition table, the payment state for
 * order.payment, a return's status for return.receive.
 *
 * Below: which handler serves each command sent to an existing order (by its
 * order id, domain/ownership.ts). Placement and notifications are addressed
 * otherwise and called by the dispatcher directly.
 */
import type { CommandOf, CommandsAddressedBy, CommandsOwnedBy } from "../domain/ownership.ts"
import type { Reply } from "../domain/replies.ts"
import { cancel } from "./cancellation.ts"
import { recordFeedback } from "./feedback.ts"
import { shipmentEvent } from "./fulfilment.ts"
import type { OrderBook } from "./order-book.ts"
import type { OrderContext } from "./order-context.ts"
import { recordPayment } from "./payment.ts"
import { exchange, receiveReturn, requestReturn } from "./returns.ts"
import { trackShipment } from "./tracking.ts"

/** The commands sent to an existing order, found by its order id. */
export type OrderCommandType = Extract<CommandsOwnedBy<"order">, CommandsAddressedBy<"orderId">>
export type OrderCommand = CommandOf<OrderCommandType>

export type OrderHandler<C> = (book: OrderBook, c: C, ctx: OrderContext) => Reply

export const orderCommands: { readonly [T in OrderCommandType]: OrderHandler<CommandOf<T>> } = {
  "order.payment": recordPayment,
  "order.cancel": cancel,
  "order.exchange": exchange,
  "order.feedback": recordFeedback,
  "return.request": requestReturn,
  "return.receive": receiveReturn,
  "shipment.accept": shipmentEvent,
  "shipment.reject": shipmentEvent,
  "shipment.pick": shipmentEvent,
  "shipment.pack": shipmentEvent,
  "shipment.ship": shipmentEvent,
  "shipment.deliver": shipmentEvent,
  "shipment.track": trackShipment
}

/** Runs the order's handler of a command sent to an existing order of `book`. */
export const executeOrderCommand = (book: OrderBook, c: OrderCommand, ctx: OrderContext): Reply =>
  (orderCommands[c.type] as OrderHandler<OrderCommand>)(book, c, ctx)
