/**
 * Order pushes to WS connections subscribed to an order: each committed event
 * of the order (`push: "order"`) and each customer notification the outbox
 * pump delivered for it (`push: "notification"`). Every event is sent as it
 * commits; a slow consumer's pushes queue up to orderPushesQueuedMax (see
 * ws-session.ts).
 */
import type { Changes } from "./changes.ts"
import type { WsSession } from "./ws-session.ts"

export class OrderFeed {
  private readonly byOrder = new Map<string, Set<WsSession>>()

  get subscribedOrders(): number {
    return this.byOrder.size
  }

  subscribe(session: WsSession, orderId: string): void {
    session.orders.add(orderId)
    let set = this.byOrder.get(orderId)
    if (!set) this.byOrder.set(orderId, (set = new Set()))
    set.add(session)
  }

  unsubscribe(session: WsSession, orderId: string): void {
    session.orders.delete(orderId)
    const set = this.byOrder.get(orderId)
    if (!set) return
    set.delete(session)
    if (set.size === 0) this.byOrder.delete(orderId)
  }

  drop(session: WsSession): void {
    for (const id of [...session.orders]) this.unsubscribe(session, id)
  }

  onChanges(changes: Changes): void {
    if (this.byOrder.size === 0) return
    for (const c of changes.orders) {
      const sessions = this.byOrder.get(c.orderId)
      if (!sessions) continue
      const text = JSON.stringify({ push: "order", orderId: c.orderId, seq: c.seq, event: c.event })
      for (const s of sessions) s.pushOrder(text, "order")
    }
    for (const n of changes.notifications) {
      const sessions = this.byOrder.get(n.orderId)
      if (!sessions) continue
      const text = JSON.stringify({ push: "notification", notification: n })
      for (const s of sessions) s.pushOrder(text, "notification")
    }
  }
}
