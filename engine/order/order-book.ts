/**
 * The orders of one partition and the indexes the engine needs to act on
 * them quickly: by (channel, external id) for idempotent capture, by SKU for
 * backorders waiting on stock, by node for shipments open there, payment
 * deadlines, and today's shipments per node (node load, for capacity).
 * Every index is derived from order events by applyOrderEvent.
 */
import type { EngineConfig } from "../config.ts"
import { invariant } from "../domain/errors.ts"
import type { OrderEvent, SplitEvent } from "../domain/events.ts"
import { TimerHeap } from "../runtime/timer-heap.ts"
import { KeyFilter } from "./key-filter.ts"
import { evolveOrder, isOpenShipment, newOrder, type OrderState } from "./order-state.ts"

export interface NodeLoad {
  day: number
  shipments: number
}

export interface OrderBook {
  readonly partition: number
  readonly orders: Map<string, OrderState>
  readonly byExternal: Map<string, string>
  /**
   * Cluster mode: external ids (by externalKey) claimed by orders split over
   * partitions, with the partitions of their legs. Kept in the partition an
   * ordinary order with the same external id would live in, so that the two
   * never share an external id.
   */
  readonly splits: Map<string, ReadonlyArray<number>>
  /** SKU -> orders with a backordered quantity of it, oldest first. */
  readonly backorders: Map<string, Set<string>>
  /** node id -> orders that have (or had) an open shipment there; checked when the node goes offline. */
  readonly openAtNode: Map<string, Set<string>>
  readonly paymentDeadlines: TimerHeap
  /** Ends of promised days of shipments with a promise ("orderId shipmentId"), checked for lateness when due. */
  readonly promiseDeadlines: TimerHeap
  /** Shipments routed to each node on the current day (UTC, engine clock). */
  readonly nodeLoad: Map<string, NodeLoad>
  nextOrderNo: number
  /**
   * Resident orders changed since their newest stored version (order_state): they may not leave
   * memory until a snapshot stored them. `orders` is the resident set; the rest is in the store.
   */
  dirty: Set<string>
  /** Orders whose version a snapshot in progress is storing: they stay until it is stored. */
  storing: Set<string>
  /** The placement keys of the orders placed within the idempotency window (in memory or not). */
  keys: KeyFilter
  /** Called before an order changes (a snapshot in progress keeps the version it must store). */
  beforeChange: ((o: OrderState) => void) | undefined
  /** Advanced once a batch: resident orders are stamped with it when used (order/residency.ts, touchOrder). */
  useClock: number
}

export const emptyOrderBook = (partition: number, idempotencyWindowMs = 90 * 86_400_000): OrderBook => ({
  partition,
  orders: new Map(),
  byExternal: new Map(),
  splits: new Map(),
  backorders: new Map(),
  openAtNode: new Map(),
  paymentDeadlines: new TimerHeap(),
  promiseDeadlines: new TimerHeap(),
  nodeLoad: new Map(),
  nextOrderNo: 1,
  dirty: new Set(),
  storing: new Set(),
  keys: new KeyFilter(idempotencyWindowMs),
  beforeChange: undefined,
  useClock: 0
})

export const dayOf = (at: number): number => Math.floor(at / 86_400_000)

/** The id of a shipment's promise timer, and back. */
export const promiseTimerId = (orderId: string, shipmentId: string): string => `${orderId} ${shipmentId}`
export const promiseTimerTarget = (id: string): { readonly orderId: string; readonly shipmentId: string } => {
  const space = id.indexOf(" ")
  return { orderId: id.slice(0, space), shipmentId: id.slice(space + 1) }
}

export const externalKey = (channel: string, externalId: string): string => `${channel}\u0000${externalId}`

/**
 * The idempotency key of a leg of a split order: (channel, externalId, partition).
 * It differs from every ordinary order's key (the \u0001 prefix), since the
 * legs of an order and an ordinary order may share an external id.
 */
export const legKey = (channel: string, externalId: string, partition: number): string =>
  `\u0001${partition}\u0000${channel}\u0000${externalId}`

/** The key under which an order is found again when its placement is repeated. */
export const placementKey = (o: Pick<OrderState, "channel" | "externalId" | "leg">): string =>
  o.leg ? legKey(o.channel, o.externalId, o.leg.partition) : externalKey(o.channel, o.externalId)

export const orderIdFor = (partition: number, orderNo: number): string => `o${partition}-${orderNo.toString(36)}`

export const partitionOfOrder = (orderId: string): number => {
  const dash = orderId.indexOf("-")
  if (orderId.charCodeAt(0) !== 111 /* o */ || dash < 2) return -1
  const p = Number(orderId.slice(1, dash))
  return Number.isInteger(p) ? p : -1
}

const addTo = (index: Map<string, Set<string>>, key: string, orderId: string) => {
  let set = index.get(key)
  if (!set) index.set(key, (set = new Set()))
  set.add(orderId)
}

/**
 * When each resident order was last used, on its book's use clock (advanced
 * once a batch): a plain property under a symbol, so stamping costs one store
 * (no reordering of the book's map per use), and it never reaches the stored
 * versions (symbols are not encoded). Orders leave memory least recently used
 * first (residency.ts).
 */
const lastUse: unique symbol = Symbol("lastUse")
type Stamped = OrderState & { [lastUse]?: number }

/** Marks an order as just used. */
export const touchOrder = (book: OrderBook, o: OrderState): void => {
  ;(o as Stamped)[lastUse] = book.useClock
}

export const usedAt = (o: OrderState): number => (o as Stamped)[lastUse] ?? 0

/** Applies an order event to its order and to the book's indexes; `seq` is the event's journal position. */
export const applyOrderEvent = (book: OrderBook, e: OrderEvent, seq: number, config: EngineConfig): OrderState => {
  let o: OrderState
  if (e.type === "OrderPlaced") {
    invariant(e.orderId === orderIdFor(book.partition, book.nextOrderNo), () => `order ${e.orderId} out of sequence`)
    book.nextOrderNo++
    o = newOrder(e)
    book.orders.set(o.orderId, o)
    book.byExternal.set(placementKey(o), o.orderId)
    book.keys.add(placementKey(o), e.at)
    if (o.payment === "pending") book.paymentDeadlines.push(o.paymentDeadline, o.orderId)
  } else {
    o = book.orders.get(e.orderId)!
    invariant(o !== undefined, () => `event ${e.type} for order ${e.orderId}, which is not in memory`)
    book.beforeChange?.(o)
  }
  book.dirty.add(o.orderId)
  touchOrder(book, o)
  const openBefore = shipmentEventTypes.has(e.type) ? openNodes(o) : undefined
  evolveOrder(o, e)
  o.history.push(seq)
  if (o.history.length > config.orderHistoryMax) o.history.splice(1, 1) // keep OrderPlaced, drop the oldest after it
  if (openBefore !== undefined) {
    // a node's index lists only orders with a shipment still open there
    const openAfter = openNodes(o)
    for (const nodeId of openBefore) if (!openAfter.has(nodeId)) book.openAtNode.get(nodeId)?.delete(o.orderId)
  }
  if (e.type === "OrderRouted") {
    o.lines.forEach((line, i) => {
      if (o.backordered[i] > 0) addTo(book.backorders, line.sku, o.orderId)
      else book.backorders.get(line.sku)?.delete(o.orderId)
    })
    const day = dayOf(e.at)
    for (const s of e.shipments) {
      if (s.promise !== undefined) book.promiseDeadlines.push(s.promise.promisedBy + 1, promiseTimerId(o.orderId, s.shipmentId))
      addTo(book.openAtNode, s.nodeId, o.orderId)
      const load = book.nodeLoad.get(s.nodeId)
      if (!load || load.day !== day) book.nodeLoad.set(s.nodeId, { day, shipments: 1 })
      else load.shipments++
    }
  } else if (e.type === "OrderCancelled") {
    // a compensated leg frees its key: a retry of the split order places the leg again
    if (e.compensation === true && book.byExternal.get(placementKey(o)) === o.orderId) book.byExternal.delete(placementKey(o))
    o.lines.forEach((line, i) => {
      if (o.backordered[i] === 0) book.backorders.get(line.sku)?.delete(o.orderId)
    })
  }
  return o
}

/** Order events after which a shipment may no longer be open at its node. */
const shipmentEventTypes: ReadonlySet<string> = new Set([
  "ShipmentWithdrawn", "ShipmentPicked", "ShipmentShipped", "ShipmentDelivered", "OrderCancelled", "PaymentFailed"
])

const openNodes = (o: OrderState): Set<string> => {
  const nodes = new Set<string>()
  for (const s of o.shipments) if (isOpenShipment(s)) nodes.add(s.nodeId)
  return nodes
}

/** Applies a split claim event to the book's claims. */
export const applySplitEvent = (book: OrderBook, e: SplitEvent): void => {
  const key = externalKey(e.channel, e.externalId)
  if (e.type === "SplitClaimed") book.splits.set(key, [...e.partitions])
  else book.splits.delete(key)
}

/** Orders with a shipment still open at the node (the index is pruned as it is read). */
export const ordersOpenAt = (book: OrderBook, nodeId: string): Array<OrderState> => {
  const set = book.openAtNode.get(nodeId)
  if (!set) return []
  const out: Array<OrderState> = []
  for (const id of set) {
    const o = book.orders.get(id)!
    if (o.shipments.some((s) => s.nodeId === nodeId && isOpenShipment(s))) out.push(o)
    else set.delete(id)
  }
  return out
}
