/**
 * The customer notification outbox: each order keeps the notifications its
 * transitions queued (order-state.ts) until the gateway reports them
 * delivered (notifications.delivered); then they leave it.
 */
import type { EngineConfig } from "../config.ts"
import type { MarkNotificationsDelivered } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { OrderBook } from "./order-book.ts"
import type { OrderContext } from "./order-context.ts"

/** A list of notification ids, at most bulkRowsMax. */
export const checkDeliveredIds = (c: MarkNotificationsDelivered, config: EngineConfig): Rejection | undefined => {
  if (!Array.isArray(c.ids) || c.ids.some((id) => typeof id !== "string")) return reject("malformed_command", "ids must be a list of strings")
  if (c.ids.length > config.bulkRowsMax) return reject("too_many_lines")
  return undefined
}

/** The gateway delivered these notifications (of orders of this book): they leave the outbox (unknown ids are ignored). */
export const markDelivered = (book: OrderBook, ids: ReadonlyArray<string>, ctx: OrderContext): number => {
  const byOrder = new Map<string, Array<string>>()
  for (const id of ids) {
    const orderId = id.slice(0, id.indexOf("/"))
    const o = book.orders.get(orderId)
    if (!o || !o.outbox.some((n) => n.id === id)) continue
    let list = byOrder.get(orderId)
    if (!list) byOrder.set(orderId, (list = []))
    if (!list.includes(id)) list.push(id)
  }
  let n = 0
  for (const [orderId, list] of byOrder) {
    ctx.emit({ type: "NotificationsDelivered", orderId, ids: list })
    n += list.length
  }
  return n
}
