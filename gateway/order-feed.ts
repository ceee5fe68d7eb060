/**
 * Order pushes to WS connections subscribed to an order: each committed event
 * of the order (`push: "order"`, with the event's journal `seq`) and each
 * customer notification the outbox pump delivered for it
 * (`push: "notification"`). Every event is sent as it commits; a slow
 * consumer's pushes queue up to orderPushesQueuedMax (see ws-session.ts).
 *
 * Nothing committed is missed, and nothing is pushed twice to a connection:
 *
 * - While a subscription's order is being read (to check it exists and may be
 *   seen), its live events wait on the pending subscription; once confirmed,
 *   those after the read are pushed (begin / confirm / cancel).
 * - When this process may have missed changes (a `resync`, see changes.ts) it
 *   reads each subscribed order's history from the engine and pushes the
 *   events after the last seq pushed before the resync began, except those the
 *   live path pushed meanwhile. So right after a resync, events may arrive
 *   out of seq order: clients order them by `seq`.
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
  /** While a resync runs: what was pushed before it began (floor), and what was pushed since. */
  catchUp?: { readonly floor: number; readonly pushed: Set<number> }
}

/** A subscription whose order is still being read: its live events wait here. */
export interface PendingSubscription {
  readonly session: WsSession
  readonly orderId: string
  readonly held: Array<{ readonly seq: number; readonly text: string }>
}

const orderPush = (orderId: string, seq: number, event: unknown): string => JSON.stringify({ push: "order", orderId, seq, event })

export class OrderFeed {
  private readonly byOrder = new Map<string, Watched>()
  private readonly pending = new Map<string, Set<PendingSubscription>>()
  private resyncing: Promise<void> | undefined
  private resyncAgain = false

  constructor(private readonly engine: EngineAccess) {}

  get subscribedOrders(): number {
    return this.byOrder.size
  }

  /** Starts a subscription before the order is read: events committed during the read are held for it. */
  begin(session: WsSession, orderId: string): PendingSubscription {
    const p: PendingSubscription = { session, orderId, held: [] }
    let set = this.pending.get(orderId)
    if (!set) this.pending.set(orderId, (set = new Set()))
    set.add(p)
    return p
  }

  /** The order was not found, may not be seen, or the connection went away: nothing is kept. */
  cancel(p: PendingSubscription): void {
    const set = this.pending.get(p.orderId)
    set?.delete(p)
    if (set?.size === 0) this.pending.delete(p.orderId)
  }

  /** The order was read with its newest event at `knownSeq`: subscribes, and pushes what committed after it meanwhile. */
  confirm(p: PendingSubscription, knownSeq: number): void {
    this.cancel(p)
    const { session, orderId } = p
    session.orders.add(orderId)
    let w = this.byOrder.get(orderId)
    if (!w) this.byOrder.set(orderId, (w = { sessions: new Set(), lastSeq: knownSeq }))
    w.sessions.add(session)
    for (const h of p.held) {
      if (h.seq <= knownSeq) continue
      if (h.seq > w.lastSeq) w.lastSeq = h.seq
      session.pushOrder(h.text, "order")
    }
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
    if (this.byOrder.size === 0 && this.pending.size === 0) return
    for (const c of changes.orders) {
      const pending = this.pending.get(c.orderId)
      const w = this.byOrder.get(c.orderId)
      if (!pending && !w) continue
      const text = orderPush(c.orderId, c.seq, c.event)
      if (pending) for (const p of pending) p.held.push({ seq: c.seq, text })
      if (w && this.take(w, c.seq)) for (const s of w.sessions) s.pushOrder(text, "order")
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

  /** Whether event `seq` of a watched order is still to be pushed; if so, records it as pushed. */
  private take(w: Watched, seq: number): boolean {
    if (w.catchUp) {
      if (seq <= w.catchUp.floor || w.catchUp.pushed.has(seq)) return false
      w.catchUp.pushed.add(seq)
    } else if (seq <= w.lastSeq) return false
    if (seq > w.lastSeq) w.lastSeq = seq
    return true
  }

  /** Reads every subscribed order's history and pushes the events this process has not pushed. */
  private resync(): Promise<void> {
    for (const w of this.byOrder.values()) w.catchUp ??= { floor: w.lastSeq, pushed: new Set() }
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
              if (!this.take(w, h.seq)) continue
              // the gateway's own bookkeeping of the outbox is not pushed live either (changes.ts)
              if (h.event.type === "NotificationsDelivered") continue
              const text = orderPush(orderId, h.seq, h.event)
              for (const s of w.sessions) s.pushOrder(text, "order")
            }
          }
        }
        await Promise.all(Array.from({ length: Math.min(resyncConcurrency, ids.length) }, worker))
      } while (this.resyncAgain)
      for (const w of this.byOrder.values()) w.catchUp = undefined
    })().finally(() => {
      this.resyncing = undefined
    })
    return this.resyncing
  }
}
