/**
 * What an Order actor's handlers work with (OrderContext): the batch's clock
 * reading, the limits, the network, what routing reads (stock, node
 * capacity, the router), the StockPool actors through the PoolPort, and a way
 * to journal the order's events. Also the small lookups every handler shares.
 * Tests build one by hand around an OrderBook.
 */
import type { EngineConfig } from "../config.ts"
import type { PlaceOrder } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { OrderEvent } from "../domain/events.ts"
import type { Accepted, Reply } from "../domain/replies.ts"
import type { NetworkState } from "../network/network-actor.ts"
import type { Hold } from "../pool/pool-actor.ts"
import type { PoolPort } from "../pool/pool-port.ts"
import type { PromiseConstraint } from "../promise/promise.ts"
import type { CapacityLookup, Router, StockLookup } from "../routing/types.ts"
import type { OrderBook } from "./order-book.ts"
import type { OrderState } from "./order-state.ts"
import { orderView } from "./order-view.ts"

export type { PoolPort }

export interface OrderContext {
  readonly now: number
  readonly config: EngineConfig
  readonly net: NetworkState
  readonly stock: StockLookup
  readonly capacity: CapacityLookup
  readonly route: Router
  /** Commands to StockPool actors, in whichever partition owns the pool. */
  readonly pools: PoolPort
  /** Journals an event of an order of this partition and applies it. */
  emit(e: OrderEvent): OrderState
  /** Places an order in whichever partition owns it (used by exchanges). */
  placeOrder(c: PlaceOrder): Reply
}

/** The answer to a command on an order: the order as it now stands (`existing` for a repeat). */
export const acceptedOrder = (o: OrderState, existing = false): Accepted =>
  existing ? { ok: true, order: orderView(o), existing: true } : { ok: true, order: orderView(o) }

/** The order, if it exists and (when the caller names one) belongs to the caller's channel. */
export const findOrder = (book: OrderBook, orderId: unknown, channel: string | undefined): OrderState | Rejection => {
  if (typeof orderId !== "string") return reject("invalid_id")
  const o = book.orders.get(orderId)
  if (!o || (channel !== undefined && o.channel !== channel)) return reject("order_not_found")
  return o
}

export const weightOf = (ctx: OrderContext, sku: string): number => ctx.net.skus[ctx.net.skuIndex.get(sku)!].weightGrams

/** The delivery promise an order asks for (service level and/or last day), as routing takes it. */
export const promiseConstraintOf = (o: Pick<OrderState, "service" | "deliverByDay">): PromiseConstraint => ({
  ...(o.service !== null && o.service !== undefined ? { service: o.service } : {}),
  ...(o.deliverByDay !== null && o.deliverByDay !== undefined ? { deliverByDay: o.deliverByDay } : {})
})

/** ATP with the units of the order's own cart holds counted as available again (the stock itself when there are none). */
export const creditHolds = (stock: StockLookup, holds: ReadonlyArray<Hold>): StockLookup => {
  if (holds.length === 0) return stock
  const credit = new Map<string, number>()
  for (const h of holds) credit.set(`${h.sku}\u0000${h.nodeId}`, (credit.get(`${h.sku}\u0000${h.nodeId}`) ?? 0) + h.qty)
  return { atp: (sku, nodeId) => stock.atp(sku, nodeId) + (credit.get(`${sku}\u0000${nodeId}`) ?? 0) }
}
