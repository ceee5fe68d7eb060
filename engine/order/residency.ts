/**
 * Which Order actors stay in memory, and how one leaves and comes back.
 *
 * An order is resident (in its book's `orders`) while it has live work the
 * engine must act on without asking the store, or until memory is needed:
 *
 * - pinned: payment pending (its deadline timer), a backordered line (stock
 *   arrival re-tries it), notifications not yet delivered (the outbox pump);
 * - dirty: changed since its newest stored version, or being stored by a
 *   snapshot in progress (engine/runtime/snapshots.ts).
 *
 * Every other resident order may leave (passivation), settled ones first
 * (nothing open: delivered, cancelled, returned), then the least recently
 * used, until at most `ordersResidentMax` are resident. One that left is
 * loaded back from its newest stored version (`order_state`) before a batch
 * that needs it runs (engine/runtime/prefetch.ts): it is exactly the order
 * that left, since only an order whose newest version is stored may leave.
 */
import { decodeValue, encodeValue } from "../runtime/codec.ts"
import type { OrderKey, OrderRow } from "../store/journal.ts"
import { placementKey, touchOrder, usedAt, type OrderBook } from "./order-book.ts"
import { isOpenShipment, type OrderState } from "./order-state.ts"

/** Live work that keeps an order in memory whatever the limit. */
export const isPinned = (o: OrderState): boolean => {
  if (o.payment === "pending" || o.outbox.length > 0) return true
  for (let i = 0; i < o.backordered.length; i++) if (o.backordered[i] > 0) return true
  return false
}

/** Nothing open: no shipment waiting at a node or with a carrier (delivered, cancelled, returned orders). */
export const isSettled = (o: OrderState): boolean => {
  for (const s of o.shipments) if (isOpenShipment(s) || s.status === "shipped") return false
  return true
}

/** The order's newest event (a sequence number of its stream). */
export const lastSeqOf = (o: OrderState): number => o.history[o.history.length - 1]

/** The placement key an order answers to (see OrderRow). */
export const orderKeyOf = (o: Pick<OrderState, "channel" | "externalId" | "leg">): OrderKey => ({
  channel: o.channel, externalId: o.externalId, leg: o.leg ? o.leg.partition : -1
})

/**
 * The sequence number of the newest stored version of each resident order
 * that has one (loaded from it, or stored by a snapshot): a new version of an
 * order that never had one replaces nothing, so nothing is pruned for it.
 * A property under a symbol (never encoded), not a WeakMap: a weak table of
 * every resident order would be walked by each major collection's pause.
 */
const storedSeq: unique symbol = Symbol("storedSeq")
type WithStoredSeq = OrderState & { [storedSeq]?: number }

export const hasStoredVersion = (o: OrderState): boolean => (o as WithStoredSeq)[storedSeq] !== undefined
export const markStored = (o: OrderState, seq: number): void => {
  ;(o as WithStoredSeq)[storedSeq] = seq
}

/** A stored version of the order as it is now. */
export const orderRow = (stream: string, o: OrderState): OrderRow => ({
  orderId: o.orderId,
  stream,
  seq: lastSeqOf(o),
  ...orderKeyOf(o),
  keyed: o.compensated !== true,
  placedAt: o.placedAt,
  payload: encodeValue(o)
})

/** The order a stored version holds; orders stored by older versions kept events in their history, now only sequence numbers. */
export const orderOfRow = (row: OrderRow): OrderState => upgradeOrder(decodeValue<OrderState>(row.payload))

export const upgradeOrder = (o: OrderState): OrderState => {
  // orders stored before kept the whole explanation of their newest routing: only its summary is read
  if (o.lastExplanation !== null && "candidates" in o.lastExplanation) o.lastExplanation = { summary: o.lastExplanation.summary }
  const history = o.history as Array<number | { readonly seq: number }>
  if (history.length > 0 && typeof history[0] !== "number") {
    ;(o as { history: Array<number> }).history = history.map((h) => (typeof h === "number" ? h : h.seq))
  }
  return o
}

/**
 * Makes an order that was stored resident again. `restored`: it comes back
 * at recovery, so its timers are set again too (a pending payment's deadline).
 */
export const installOrder = (book: OrderBook, o: OrderState, restored: boolean): void => {
  book.orders.set(o.orderId, o)
  touchOrder(book, o)
  markStored(o, lastSeqOf(o))
  if (o.compensated !== true) book.byExternal.set(placementKey(o), o.orderId)
  if (restored && o.payment === "pending") book.paymentDeadlines.push(o.paymentDeadline, o.orderId)
  o.lines.forEach((l, i) => {
    if (o.backordered[i] > 0) {
      let set = book.backorders.get(l.sku)
      if (!set) book.backorders.set(l.sku, (set = new Set()))
      set.add(o.orderId)
    }
  })
}

const byLastUse = (a: OrderState, b: OrderState): number => usedAt(a) - usedAt(b)

/** May leave memory now: its newest version is stored and it has no live work. */
export const mayLeave = (book: OrderBook, o: OrderState): boolean =>
  !book.dirty.has(o.orderId) && !book.storing.has(o.orderId) && !isPinned(o)

/**
 * Lets orders leave memory until at most `max` are resident (or none may
 * leave): settled orders first, then open ones, least recently used first,
 * never one in `keep`. Returns how many left. One pass over the resident
 * orders, then a sort of those that may leave by their last use.
 */
export const evictOrders = (book: OrderBook, max: number, keep?: ReadonlySet<string>): number => {
  const sweep = new EvictionSweep(book, max)
  sweep.step(Infinity, keep)
  return sweep.left
}

/**
 * One eviction pass over a book, done a slice at a time (`step` until a
 * deadline, resumed on a later turn): a pass over a partition's resident
 * orders takes longer than the loop may stop. Between slices orders change;
 * each one is checked again when its turn to leave comes, so an order that
 * became dirty, pinned or was replaced meanwhile stays.
 */
export class EvictionSweep {
  private readonly orders: Iterator<OrderState>
  private readonly settled: Array<OrderState> = []
  private readonly open: Array<OrderState> = []
  private scanned = false
  /** The list being emptied (0: settled, 1: open) and the next entry in it. */
  private list = 0
  private next = 0
  /** Orders that left so far. */
  left = 0

  constructor(private readonly book: OrderBook, private readonly max: number) {
    this.orders = book.orders.values()
  }

  /** Works until performance.now() passes `deadline`; true when the pass is over. */
  step(deadline: number, keep?: ReadonlySet<string>): boolean {
    const book = this.book
    if (book.orders.size <= this.max) return true
    if (!this.scanned) {
      for (let n = 1; ; n++) {
        const r = this.orders.next()
        if (r.done === true) break
        const o = r.value
        if (!keep?.has(o.orderId) && mayLeave(book, o)) (isSettled(o) ? this.settled : this.open).push(o)
        if ((n & 255) === 0 && performance.now() > deadline) return false
      }
      this.scanned = true
      const excess = book.orders.size - this.max
      if (this.settled.length > excess) this.settled.sort(byLastUse)
      else if (this.settled.length + this.open.length > excess) this.open.sort(byLastUse)
      if (performance.now() > deadline) return false
    }
    const lists = [this.settled, this.open]
    for (let n = 1; this.list < lists.length; n++) {
      if (book.orders.size <= this.max) return true
      const list = lists[this.list]
      if (this.next >= list.length) {
        this.list++
        this.next = 0
        continue
      }
      const o = list[this.next++]
      if (book.orders.get(o.orderId) === o && !keep?.has(o.orderId) && mayLeave(book, o)) {
        book.orders.delete(o.orderId)
        const key = placementKey(o)
        if (book.byExternal.get(key) === o.orderId) book.byExternal.delete(key)
        this.left++
      }
      if ((n & 255) === 0 && performance.now() > deadline) return false
    }
    return true
  }
}
