/**
 * Orders waiting on stock: which orders of a partition have a backorder of a
 * SKU, and the order in which waiting orders are served when stock arrives
 * (or a node's shipments are routed again): first come, first served, the
 * same whatever the partitioning.
 */
import type { OrderBook } from "./order-book.ts"
import type { OrderContext } from "./order-context.ts"
import type { OrderState } from "./order-state.ts"

/** Orders of this partition waiting on a SKU (the index is pruned as it is read). */
export const backorderedOn = (book: OrderBook, sku: string): Array<OrderState> => {
  const waiting = book.backorders.get(sku)
  if (!waiting) return []
  const out: Array<OrderState> = []
  for (const id of waiting) {
    const o = book.orders.get(id)!
    const i = o.lines.findIndex((l) => l.sku === sku)
    if (i < 0 || o.backordered[i] === 0) waiting.delete(id)
    else out.push(o)
  }
  return out
}

/** First come, first served, the same whatever the partitioning: placement time, then channel and external id. */
export const byPlacement = (a: OrderState, b: OrderState): number =>
  a.placedAt - b.placedAt || (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0) ||
  (a.externalId < b.externalId ? -1 : a.externalId > b.externalId ? 1 : 0)

/** Whether any node has available stock of the SKU (no point routing backorders otherwise). */
export const anyAtp = (ctx: OrderContext, sku: string): boolean => ctx.net.nodes.some((n) => ctx.stock.atp(sku, n.nodeId) > 0)
