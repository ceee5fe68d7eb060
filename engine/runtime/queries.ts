/**
 * Read models over the actors' state: availability (ATP per SKU, per node,
 * per channel, nearest first), pools, holds, orders, the notification outbox
 * and node load. Pools, holds and the outbox are read from memory. Orders are
 * read from memory when resident, else from their stored version (an order
 * that left memory is exactly its newest stored version), so order reads are
 * asynchronous. Histories (an order's events, a pool's audit trail) are read
 * back from the journal.
 */
import type { EngineEvent, JournaledEvent, OrderEvent, PoolRef } from "../domain/events.ts"
import { distanceKm, policyAllows, type Channel, type FulfillmentNode, type LatLon, type Sku } from "../domain/network.ts"
import type { HoldView, PoolView } from "../domain/replies.ts"
import { nodeById } from "../network/network-actor.ts"
import { dateOf, endOfDay } from "../promise/calendar.ts"
import { deliveryOptions, earliest, rateCents } from "../promise/promise.ts"
import { isOpenShipment, type HistoryEntry, type Notification, type OrderState, type OrderView } from "../order/order-state.ts"
import { orderView } from "../order/order-view.ts"
import { externalKey, partitionOfOrder } from "../order/order-book.ts"
import { partitionOfHold } from "../pool/pool-actor.ts"
import { holdViewAt } from "../pool/pool-views.ts"
import type { Dispatcher } from "./dispatch.ts"
import type { Engine } from "./engine.ts"
import { partitionOf, poolEventTypes } from "./partition.ts"

export interface NodeAvailability {
  readonly nodeId: string
  readonly kind: FulfillmentNode["kind"]
  readonly atp: number
  readonly distanceKm: number | null
}

/** Up to `qty` units (summed over this and every earlier option) can arrive by `arrivesBy`; this option adds `units` from `nodeId`. */
export interface PromiseOption {
  readonly qty: number
  readonly units: number
  readonly arrivesBy: string
  /** End of `arrivesBy`, epoch ms (23:59:59.999 UTC). */
  readonly promisedBy: number
  readonly nodeId: string
  readonly carrier: string
  readonly service: string
}

export interface Availability {
  readonly sku: string
  /** ATP summed over the online nodes the channel may sell from. */
  readonly atp: number
  readonly nodes: ReadonlyArray<NodeAvailability>
  /** With `promise` and a location: the earliest arrival of each quantity, earliest first. */
  readonly promise?: ReadonlyArray<PromiseOption>
}

export interface AvailabilityQuery {
  readonly channel?: string
  readonly location?: LatLon
  /** Most nodes listed (nearest first with a location, else most stock first). */
  readonly nodesMax?: number
  /** Add delivery promises to `location` (needs a location). */
  readonly promise?: boolean
  /** The engine clock reading to promise from (default: the last batch's). */
  readonly now?: number
}

/** Whether a channel's policy lets it sell from the node (every node when no channel is named). */
const allowedFor = (d: Dispatcher, channel: string | undefined, node: FulfillmentNode): boolean => {
  if (channel === undefined) return true
  const policy = d.net.channels.get(channel)?.policy
  return policy !== undefined && policyAllows(policy, node)
}

/** One SKU's availability as a gateway asks for it (with or without delivery promises). */
export interface AvailabilityRequest extends Omit<AvailabilityQuery, "now"> {
  readonly sku: string
}

/** Answers a batch of availability requests at engine time `now`: one answer per request, null for an unknown SKU. */
export const availabilityOf = (d: Dispatcher, now: number, requests: ReadonlyArray<AvailabilityRequest>): Array<Availability | null> =>
  requests.map((r) => availability(d, r.sku, { channel: r.channel, location: r.location, nodesMax: r.nodesMax, promise: r.promise === true, now }) ?? null)

/**
 * A number that changes whenever anything a SKU's availability reads from its
 * pools changes: the newest journal sequence number among the SKU's pools
 * (every change to a pool is an event of the SKU's partition, and sequence
 * numbers only grow). -1 for an unknown SKU, 0 for one without pools. With
 * `d.netLog.seq` (nodes, channels, catalog) and the Dispatcher object itself
 * (a reload makes a new one), it versions an availability answer
 * (gateway/availability-cache.ts).
 */
export const availabilityStamp = (d: Dispatcher, sku: string): number => {
  const skuNo = d.net.skuIndex.get(sku)
  if (skuNo === undefined) return -1
  const pools = d.partitionOfSku(sku).stock.pools
  const slots = pools.slotsOf(skuNo)
  if (slots === undefined) return 0
  let newest = 0
  for (let node = 0; node < slots.length; node++) {
    const slot = slots[node] - 1
    if (slot >= 0 && pools.lastSeq[slot] > newest) newest = pools.lastSeq[slot]
  }
  return newest
}

export const availability = (d: Dispatcher, sku: string, q: AvailabilityQuery = {}): Availability | undefined => {
  if (!d.net.skuIndex.has(sku)) return undefined
  const nodes: Array<NodeAvailability> = []
  let atp = 0
  for (const node of d.net.nodes) {
    if (node.status !== "online" || !allowedFor(d, q.channel, node)) continue
    const a = d.stock.atp(sku, node.nodeId)
    atp += a
    if (a > 0) nodes.push({ nodeId: node.nodeId, kind: node.kind, atp: a, distanceKm: q.location ? Math.round(distanceKm(q.location, node.location)) : null })
  }
  nodes.sort(q.location ? (a, b) => a.distanceKm! - b.distanceKm! : (a, b) => b.atp - a.atp)
  const listed = nodes.slice(0, q.nodesMax ?? 20)
  if (q.promise !== true || q.location === undefined) return { sku, atp, nodes: listed }
  return { sku, atp, nodes: listed, promise: promiseOptions(d, sku, q.location, q, q.nodesMax ?? 20) }
}

/**
 * The earliest arrival of each quantity of a SKU at a customer location: per
 * node that ships to customers (for the channel) and has stock, its earliest
 * carrier service (ties: cheaper), counting its cut-off, the carrier's days
 * and whether its capacity of today is used up; earliest first, with the
 * running total of units.
 */
const promiseOptions = (d: Dispatcher, sku: string, location: LatLon, q: AvailabilityQuery, max: number): Array<PromiseOption> => {
  const now = q.now ?? d.now
  const kg = d.net.skus[d.net.skuIndex.get(sku)!].weightGrams / 1000
  const policy = q.channel === undefined ? undefined : d.net.channels.get(q.channel)?.policy
  const found: Array<{ nodeId: string; units: number; day: number; rate: number; carrier: string; service: string }> = []
  for (const node of d.net.nodes) {
    if (node.status !== "online" || !node.services.includes("ship") || !allowedFor(d, q.channel, node)) continue
    if (node.kind === "store" && policy !== undefined && !policy.shipFromStore) continue
    const units = d.stock.atp(sku, node.nodeId)
    if (units <= 0) continue
    const o = earliest(deliveryOptions(node, d.net.carrierList, distanceKm(node.location, location), now, d.capacity.remaining(node.nodeId) >= 1), kg)
    if (o) found.push({ nodeId: node.nodeId, units, day: o.deliveryDay, rate: rateCents(o, kg), carrier: o.carrier, service: o.service })
  }
  found.sort((a, b) => a.day - b.day || a.rate - b.rate)
  let qty = 0
  return found.slice(0, max).map((f) => {
    qty += f.units
    return { qty, units: f.units, arrivesBy: dateOf(f.day), promisedBy: endOfDay(f.day), nodeId: f.nodeId, carrier: f.carrier, service: f.service }
  })
}

/** The carriers and their service levels. */
export const carriers = (d: Dispatcher) => d.net.carrierList

export const pool = (d: Dispatcher, sku: string, nodeId: string): PoolView | undefined =>
  d.net.skuIndex.has(sku) && nodeById(d.net, nodeId) ? d.poolView(sku, nodeId) : undefined

/**
 * Every pool that exists (had stock or a setting at some point), SKUs in
 * catalog order, nodes in network order; only `nodeId`'s when given.
 */
/**
 * Every pool (or one node's) in catalog order, then node order (the inventory
 * export). Reads the partitions' pool tables, so it costs the pools that
 * exist, not SKUs x nodes.
 */
export const pools = (d: Dispatcher, nodeId?: string): Array<PoolView> => {
  const onlyNode = nodeId === undefined ? -1 : d.net.nodeIndex.get(nodeId)
  if (onlyNode === undefined) return []
  const found: Array<{ skuNo: number; nodeNo: number }> = []
  for (const p of d.partitions) {
    const t = p.stock.pools
    for (let slot = 0; slot < t.size; slot++) {
      if (onlyNode < 0 || t.nodeNo[slot] === onlyNode) found.push({ skuNo: t.skuNo[slot], nodeNo: t.nodeNo[slot] })
    }
  }
  found.sort((a, b) => a.skuNo - b.skuNo || a.nodeNo - b.nodeNo)
  return found.map((f) => d.poolView(d.net.skus[f.skuNo].sku, d.net.nodes[f.nodeNo].nodeId))
}

/** A hold, live or ended within the retention (its final state). */
export const hold = (d: Dispatcher, holdId: string): HoldView | undefined => {
  const p = d.partitions[partitionOfHold(holdId)]
  return p ? holdViewAt(p.stock, holdId, d.now) : undefined
}

/** An order by id, whether in memory or stored (see Engine.order). */
export const order = async (engine: Engine, orderId: string): Promise<OrderView | undefined> => {
  const o = await engine.order(orderId)
  return o ? orderView(o) : undefined
}

export const orderByExternal = async (engine: Engine, channel: string, externalId: string): Promise<OrderView | undefined> => {
  const key = externalKey(channel, externalId)
  const o = await engine.orderByKey(partitionOf(key, engine.view.partitions.length), { channel, externalId, leg: -1 })
  return o ? orderView(o) : undefined
}

/** Cluster mode: the partitions of the legs of the split order that claimed (channel, externalId), read in its home partition. */
export const splitClaim = (d: Dispatcher, channel: string, externalId: string): ReadonlyArray<number> | undefined => {
  const key = externalKey(channel, externalId)
  return d.partitions[partitionOf(key, d.partitions.length)].orders.splits.get(key)
}

/** What holds an external id in its home partition: an ordinary order, or the claim of a split order (the partitions of its legs). */
export type ExternalIdUse = { readonly order: OrderView } | { readonly split: ReadonlyArray<number> }

export const externalIdUse = async (engine: Engine, channel: string, externalId: string): Promise<ExternalIdUse | undefined> => {
  const order = await orderByExternal(engine, channel, externalId)
  if (order) return { order }
  const split = splitClaim(engine.view, channel, externalId)
  return split ? { split: [...split] } : undefined
}

/** The leg of a split order (channel, externalId) in partition `partition`, if that partition holds one (compensated legs are not found). */
export const orderLegByExternal = async (engine: Engine, channel: string, externalId: string, partition: number): Promise<OrderView | undefined> => {
  const o = await engine.orderByKey(partition, { channel, externalId, leg: partition })
  return o ? orderView(o) : undefined
}

/** Reads events of one stream by sequence number, keeping the last few decoded batches (neighbouring events share batches). */
const journalEvents = (engine: Engine, stream: string) => {
  const cache = new Map<number, { readonly seqFrom: number; readonly events: ReadonlyArray<EngineEvent> }>()
  return async (seq: number): Promise<EngineEvent | undefined> => {
    for (const b of cache.values()) if (seq >= b.seqFrom && seq < b.seqFrom + b.events.length) return b.events[seq - b.seqFrom]
    const b = await engine.batchAt(stream, seq)
    if (b === undefined) return undefined
    if (cache.size >= historyBatchesCached) cache.delete(cache.keys().next().value!)
    cache.set(b.seqFrom, b)
    return b.events[seq - b.seqFrom]
  }
}

/** The events of an order kept in its history (its placement and the newest orderHistoryMax), oldest first, read from the journal. */
const historyOf = async (engine: Engine, o: OrderState): Promise<Array<HistoryEntry>> => {
  const eventAt = journalEvents(engine, `p${partitionOfOrder(o.orderId)}`)
  const out: Array<HistoryEntry> = []
  for (const seq of o.history) {
    const event = await eventAt(seq)
    // compacted away (journalRetainEvents set below the default): that part of the history is gone
    if (event !== undefined && "orderId" in event && event.orderId === o.orderId) out.push({ seq, event: event as OrderEvent })
  }
  return out
}

/** An order's events, oldest first (its placement and the newest orderHistoryMax), whether the order is in memory or stored. */
export const orderHistory = async (engine: Engine, orderId: string): Promise<ReadonlyArray<HistoryEntry> | undefined> => {
  const o = await engine.order(orderId)
  return o ? historyOf(engine, o) : undefined
}

/**
 * Notifications not yet reported delivered, oldest orders first, at most
 * `limit`. Only orders whose latest event is durable are listed: a
 * notification is never sent for a transition the journal might still lose.
 * (Orders with undelivered notifications stay in memory: order/residency.ts.)
 */
export const outbox = (d: Dispatcher, limit = 1000): Array<Notification> => {
  const out: Array<Notification> = []
  for (const p of d.partitions) {
    for (const id of d.outboxOrders[p.id]) {
      const o = p.orders.orders.get(id)!
      if (o.history[o.history.length - 1] > p.log.durableSeq) continue
      for (const n of o.outbox) {
        out.push(n)
        if (out.length >= limit) return out
      }
    }
  }
  return out
}

/** The channels and their routing policies. */
export const channels = (d: Dispatcher): Array<Channel> => [...d.net.channels.values()]

/** The catalog, in the order SKUs were declared. */
export const catalog = (d: Dispatcher): ReadonlyArray<Sku> => d.net.skus

export interface NodeLoadView extends FulfillmentNode {
  readonly shipmentsToday: number
}

export const nodes = (d: Dispatcher): Array<NodeLoadView> =>
  d.net.nodes.map((n) => ({ ...n, shipmentsToday: d.usedToday(n.nodeId) }))

/** Every pool event names its pool (PoolRef). */
const touchesPool = (e: EngineEvent, sku: string, nodeId: string): boolean =>
  poolEventTypes.has(e.type) && (e as PoolRef).sku === sku && (e as PoolRef).nodeId === nodeId

/** Decoded batches kept while one pool history is read (a busy pool has several events per batch). */
const historyBatchesCached = 16

/**
 * The audit trail of one pool from the journal (as far back as it is
 * retained): its newest `limit` events, returned oldest first. Each pool event
 * names the sequence number of the pool's previous one (PoolRef.prev) and the
 * pool keeps its newest (PoolTable.lastSeq), so the trail is followed event by
 * event, one batch lookup per hop: the cost depends on the pool's own events,
 * not on how busy its partition is.
 */
export const poolHistory = async (engine: Engine, sku: string, nodeId: string, limit = 1000): Promise<Array<JournaledEvent>> => {
  const d = engine.view
  const p = d.partitionOfSku(sku)
  const out: Array<JournaledEvent> = []
  const skuNo = d.net.skuIndex.get(sku)
  const nodeNo = d.net.nodeIndex.get(nodeId)
  if (limit <= 0 || skuNo === undefined || nodeNo === undefined) return out
  const slot = p.stock.pools.slot(skuNo, nodeNo)
  if (slot < 0) return out
  const eventAt = journalEvents(engine, p.stream)
  let seq = p.stock.pools.lastSeq[slot]
  while (seq > 0 && out.length < limit) {
    const event = await eventAt(seq)
    // compacted away (or, defensively, not this pool's event): the retained trail ends here
    if (event === undefined || !touchesPool(event, sku, nodeId)) break
    out.push({ stream: p.stream, seq, event })
    seq = (event as PoolRef).prev ?? 0
  }
  return out.reverse()
}

/** One customer notification of an order: delivered (the engine recorded it) or still in the outbox. */
export interface TimelineNotification {
  readonly id: string
  readonly kind: string
  readonly state: "delivered" | "pending"
  /** When the transition that queued it happened (pending ones; delivered ones are dated by their event in the history). */
  readonly at: number | null
}

/** What ops see of one order: its view, every event it kept (with each routing explanation), its notifications. */
export interface OrderTimeline {
  readonly order: OrderView
  readonly history: ReadonlyArray<HistoryEntry>
  readonly notifications: ReadonlyArray<TimelineNotification>
}

const notificationKindOf = (id: string): string => id.split("/")[1] ?? "unknown"

/** What ops see of one order (the dashboard's timeline), whether it is in memory or stored. */
export const orderTimeline = async (engine: Engine, orderId: string): Promise<OrderTimeline | null> => {
  const state = await engine.order(orderId)
  if (!state) return null
  const history = await historyOf(engine, state)
  const delivered: Array<TimelineNotification> = []
  for (const h of history) {
    if (h.event.type === "NotificationsDelivered") for (const id of h.event.ids) delivered.push({ id, kind: notificationKindOf(id), state: "delivered", at: null })
  }
  const pending = state.outbox.map((n: Notification): TimelineNotification => ({ id: n.id, kind: n.kind, state: "pending", at: n.at }))
  return { order: orderView(state), history, notifications: [...delivered, ...pending] }
}

/**
 * Ops search: orders in memory whose order id or external id starts with
 * `prefix`, ignoring case, at most `limit`, newest placed first. A scan of
 * the resident orders (bounded by ordersResidentMax); an order that left
 * memory is found by its exact id or external id (order, orderByExternal).
 */
export const ordersByPrefix = (d: Dispatcher, prefix: string, limit: number): Array<OrderView> => {
  const q = prefix.toLowerCase()
  const found: Array<OrderState> = []
  for (const p of d.partitions) {
    for (const o of p.orders.orders.values()) {
      if (o.orderId.toLowerCase().startsWith(q) || o.externalId.toLowerCase().startsWith(q)) found.push(o)
    }
  }
  found.sort((a, b) => b.placedAt - a.placedAt)
  return found.slice(0, limit).map(orderView)
}

/** A shipment still open at a node (routed, accepted, picked or packed), for the node's drill-down. */
export interface OpenShipmentView {
  readonly orderId: string
  readonly shipmentId: string
  readonly status: string
  readonly units: number
  readonly routedAt: number
  readonly promisedBy: number | null
  readonly late: boolean
}

export interface NodeShipments {
  readonly nodeId: string
  /** Open shipments counted (all of them when `complete`). */
  readonly open: number
  /** False when more than `scanMax` orders had to be looked at: `open` is then a lower bound. */
  readonly complete: boolean
  /** The oldest open shipments first, at most `limit`. */
  readonly shipments: ReadonlyArray<OpenShipmentView>
}

/**
 * The shipments open at a node, read through each partition's index of
 * orders with a shipment there (openAtNode), the orders loaded back from the
 * store when they left memory. At most `scanMax` orders are looked at.
 */
export const nodeShipments = async (engine: Engine, nodeId: string, limit: number, scanMax: number): Promise<NodeShipments> => {
  const out: Array<OpenShipmentView> = []
  let scanned = 0
  let complete = true
  for (const p of engine.view.partitions) {
    for (const id of p.orders.openAtNode.get(nodeId) ?? []) {
      if (scanned >= scanMax) {
        complete = false
        break
      }
      scanned++
      const o = p.orders.orders.get(id) ?? (await engine.order(id))
      if (!o) continue
      for (const s of o.shipments) {
        if (s.nodeId !== nodeId || !isOpenShipment(s)) continue
        out.push({
          orderId: o.orderId, shipmentId: s.shipmentId, status: s.status, units: s.lines.reduce((n, l) => n + l.qty, 0),
          routedAt: s.routedAt, promisedBy: s.promise?.promisedBy ?? null, late: s.late
        })
      }
    }
  }
  out.sort((a, b) => a.routedAt - b.routedAt)
  return { nodeId, open: out.length, complete, shipments: out.slice(0, limit) }
}
