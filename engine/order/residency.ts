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
 */
const storedVersions = new WeakMap<OrderState, number>()

export const hasStoredVersion = (o: OrderState): boolean => storedVersions.has(o)
export const markStored = (o: OrderState, seq: number): void => {
  storedVersions.set(o, seq)
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
  const excess = book.orders.size - max
  if (excess <= 0) return 0
  const settled: Array<OrderState> = []
  const open: Array<OrderState> = []
  for (const o of book.orders.values()) {
    if (keep?.has(o.orderId) || !mayLeave(book, o)) continue
    ;(isSettled(o) ? settled : open).push(o)
  }
  if (settled.length > excess) settled.sort(byLastUse)
  else if (settled.length + open.length > excess) open.sort(byLastUse)
  let left = 0
  for (const list of [settled, open]) {
    for (const o of list) {
      if (left >= excess) return left
      book.orders.delete(o.orderId)
      const key = placementKey(o)
      if (book.byExternal.get(key) === o.orderId) book.byExternal.delete(key)
      left++
    }
  }
  return left
}
