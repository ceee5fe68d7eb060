/**
 * Order pushes to WS connections subscribed to an order: each committed event
 * of the order (`push: "order"`, with the event's journal `seq`) and each
 * customer notification the outbox pump delivered for it
 * (`push: "notification"`). Every event is sent as it commits; a slow
 * consumer's pushes queue up to orderPushesQueuedMax (see ws-session.ts).
 *
 * The feed remembers, per subscribed order, the last event seq it pushed.
 * When this process may have missed changes (a `resync`, see changes.ts) it
 * reads each subscribed order's history from the engine and pushes the events
 * after that seq, so a subscriber on an edge gateway cut off from Redis still
 * sees every transition. An event is never pushed twice by the live path;
 * after a resync a new subscriber may see an event again that its
 * subscription reply already reflected (clients dedupe by `seq`).
 */
import type { EngineAccess } from "./engine-access.ts"
import type { Changes } from "./changes.ts"
import type { WsSession } from "./ws-session.ts"

/** Histories read at once during a resync. */
const resyncConcurrency = 16

interface Watched {
  readonly sessions: Set<WsSession>
  /** The newest event seq pushed (or known to the subscribers when they subscribed). */
  lastSeq: number
}

export class OrderFeed {
  private readonly byOrder = new Map<string, Watched>()
  private resyncing: Promise<void> | undefined
  private resyncAgain = false

  constructor(private readonly engine: EngineAccess) {}

  get subscribedOrders(): number {
    return this.byOrder.size
  }

  /** `knownSeq`: the newest event seq of the order when the subscriber read it. */
  subscribe(session: WsSession, orderId: string, knownSeq: number): void {
    session.orders.add(orderId)
    let w = this.byOrder.get(orderId)
    if (!w) this.byOrder.set(orderId, (w = { sessions: new Set(), lastSeq: knownSeq }))
    w.sessions.add(session)
  }

  unsubscribe(session: WsSession, orderId: string): void {
    session.orders.delete(orderId)
    const w = this.byOrder.get(orderId)
    if (!w) return
    w.sessions.delete(session)
    if (w.sessions.size === 0) this.byOrder.delete(orderId)
  }

  drop(session: WsSession): void {
    for (const id of [...session.orders]) this.unsubscribe(session, id)
  }

  onChanges(changes: Changes): void {
    if (changes.resync) void this.resync()
    if (this.byOrder.size === 0) return
    for (const c of changes.orders) {
      const w = this.byOrder.get(c.orderId)
      if (!w || c.seq <= w.lastSeq) continue
      w.lastSeq = c.seq
      const text = JSON.stringify({ push: "order", orderId: c.orderId, seq: c.seq, event: c.event })
      for (const s of w.sessions) s.pushOrder(text, "order")
    }
    for (const n of changes.notifications) {
      const w = this.byOrder.get(n.orderId)
      if (!w) continue
      const text = JSON.stringify({ push: "notification", notification: n })
      for (const s of w.sessions) s.pushOrder(text, "notification")
    }
  }

  /** Resolves when the resync in progress (if any) is done; for tests and shutdown. */
  settled(): Promise<void> {
    return this.resyncing ?? Promise.resolve()
  }

  /** Reads every subscribed order's history and pushes the events after the last one pushed. */
  private resync(): Promise<void> {
    if (this.resyncing) {
      // a resync is running: whatever it has already read may predate this gap, so run once more after it
      this.resyncAgain = true
      return this.resyncing
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false
        const ids = [...this.byOrder.keys()]
        let next = 0
        const worker = async (): Promise<void> => {
          while (next < ids.length) {
            const orderId = ids[next++]
            const history = await this.engine.orderHistory(orderId).catch(() => null)
            const w = this.byOrder.get(orderId)
            if (!history || !w) continue
            for (const h of history) {
              if (h.seq <= w.lastSeq) continue
              w.lastSeq = h.seq
              // the gateway's own bookkeeping of the outbox is not pushed live either (changes.ts)
              if (h.event.type === "NotificationsDelivered") continue
              const text = JSON.stringify({ push: "order", orderId, seq: h.seq, event: h.event })
              for (const s of w.sessions) s.pushOrder(text, "order")
            }
          }
        }
        await Promise.all(Array.from({ length: Math.min(resyncConcurrency, ids.length) }, worker))
      } while (this.resyncAgain)
    })().finally(() => {
      this.resyncing = undefined
    })
    return this.resyncing
  }
}
