/**
 * A partition: the unit of ownership and of journaling. It owns the StockPool
 * actors of the SKUs that hash to it and the Order actors whose (channel,
 * external id) hash to it, and writes their events to its own journal stream
 * ("p<id>") with its own sequence numbers. The network actor has a stream of
 * its own ("net"). A later scale-out runs partitions on several machines.
 */
import type { EngineConfig } from "../config.ts"
import { invariant } from "../domain/errors.ts"
import { isSplitEvent, type EngineEvent, type NetworkEvent, type OrderEvent, type PoolEvent, type SplitEvent } from "../domain/events.ts"
import { evolveNetwork, type NetworkState } from "../network/network-actor.ts"
import { applyOrderEvent, applySplitEvent, emptyOrderBook, placementKey, promiseTimerId, type NodeLoad, type OrderBook } from "../order/order-book.ts"
import { KeyFilter, type KeyFilterSnapshot } from "../order/key-filter.ts"
import { isOpenShipment, type OrderState } from "../order/order-state.ts"
import { installOrder, isPinned, upgradeOrder } from "../order/residency.ts"
import { emptyStock, evolvePool, restoreStock, snapshotStock, type StockSnapshot, type StockState } from "../pool/pool-actor.ts"
import { decodeValue, encodeValue } from "./codec.ts"
import { ReportLedger } from "../reports/ledger.ts"

export const poolEventTypes: ReadonlySet<string> = new Set([
  "StockReceived", "StockAdjusted", "SafetyStockSet", "HoldPlaced", "HoldExtended", "HoldEnded",
  "StockReserved", "ReservationAllocated", "ReservationReleased", "StockShipped", "StockRestocked"
])

export const networkEventTypes: ReadonlySet<string> = new Set(["NodeUpserted", "NodeStatusChanged", "SkuUpserted", "ChannelUpserted", "CarrierUpserted"])

export const networkStream = "net"
export const partitionStream = (id: number): string => `p${id}`

/** FNV-1a: the partition of a SKU or an order key; stable across processes and versions. */
export const partitionOf = (key: string, partitions: number): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % partitions
}

/** Events appended to a stream during the current batch, not yet durable. */
export class StreamLog {
  /** Last sequence number assigned (durable or not). */
  seq = 0
  /** Last sequence number known durable. */
  durableSeq = 0
  /** Sequence number of the newest snapshot. */
  snapshotSeq = 0
  pending: Array<EngineEvent> = []

  constructor(readonly stream: string) {}

  append(e: EngineEvent): number {
    this.pending.push(e)
    return ++this.seq
  }

  /** Takes the batch's events out of the log. */
  drain(): Array<EngineEvent> {
    const out = this.pending
    this.pending = []
    return out
  }
}

export class Partition {
  readonly stream: string
  readonly log: StreamLog
  stock: StockState
  orders: OrderBook
  /** The partition's report counts, hour by hour (reports/ledger.ts): fed every event it applies, live or replayed. */
  ledger = new ReportLedger()

  constructor(readonly id: number, private readonly config: EngineConfig) {
    this.stream = partitionStream(id)
    this.log = new StreamLog(this.stream)
    this.stock = emptyStock(id, config)
    this.orders = emptyOrderBook(id, config.idempotencyWindowMs)
  }

  /** Journals a new pool event, linked to the pool's previous one (PoolRef.prev), and applies it. */
  appendPool(net: NetworkState, e: PoolEvent): void {
    const pools = this.stock.pools
    const slot = pools.ensure(net.skuIndex.get(e.sku)!, net.nodeIndex.get(e.nodeId)!)
    ;(e as { prev?: number }).prev = pools.lastSeq[slot]
    const seq = this.log.append(e)
    evolvePool(this.stock, net, e)
    pools.lastSeq[slot] = seq
    this.ledger.add(e, seq)
  }

  /** Applies a pool event read back from the journal at `seq`. */
  applyPool(net: NetworkState, e: PoolEvent, seq: number): void {
    evolvePool(this.stock, net, e)
    const pools = this.stock.pools
    const slot = pools.slot(net.skuIndex.get(e.sku)!, net.nodeIndex.get(e.nodeId)!)
    if (slot >= 0) pools.lastSeq[slot] = seq
    this.ledger.add(e, seq)
  }

  applyOrder(e: OrderEvent, seq: number): OrderState {
    const o = applyOrderEvent(this.orders, e, seq, this.config)
    this.ledger.add(e, seq)
    return o
  }

  /** Journals a split claim event (cluster mode) and applies it. */
  appendSplit(e: SplitEvent): void {
    this.log.append(e)
    applySplitEvent(this.orders, e)
  }

  /** Applies an event read back from the journal. */
  replay(net: NetworkState, e: EngineEvent, seq: number): void {
    if (poolEventTypes.has(e.type)) this.applyPool(net, e as PoolEvent, seq)
    else if (isSplitEvent(e)) applySplitEvent(this.orders, e)
    else this.applyOrder(e as OrderEvent, seq)
  }

  /**
   * The partition's own state as of now, without its orders: pools, holds,
   * counters, the claims of split orders, and the order indexes that name
   * orders which may have left memory (open shipments by node, promise
   * deadlines). `resident` lists the pinned orders to load back at recovery;
   * every order's state is in the store as a version (written by the same
   * snapshot for the orders changed since the last one).
   */
  snapshot(): PartitionSnapshot {
    const { base, lists } = this.snapshotParts()
    return { ...base, stock: { ...base.stock, ...lists } }
  }

  /**
   * The same state in two parts, so that a snapshot can encode it a slice at
   * a time (runtime/snapshots.ts): `base`, without the long lists of the
   * stock (live holds, ended holds, reservations), and those lists. Each
   * list is of values made for it or never changed in place (reservations
   * are replaced, pool/pool-actor.ts), so they stay as of now while the
   * batches go on. `pinnedCandidates`: ids among which every pinned order is
   * (engine/runtime/dispatch.ts, pinnedCandidates), so that the pinned ones are
   * found without a pass over every resident order.
   */
  snapshotParts(pinnedCandidates?: Iterable<string>): { readonly base: PartitionSnapshot; readonly lists: SnapshotLists } {
    const book = this.orders
    const promiseDeadlines: Array<readonly [number, string]> = []
    book.promiseDeadlines.forEachDue(Infinity, (due, id) => promiseDeadlines.push([due, id]))
    const resident: Array<string> = []
    if (pinnedCandidates === undefined) {
      for (const o of book.orders.values()) if (isPinned(o)) resident.push(o.orderId)
    } else {
      const seen = new Set<string>()
      for (const id of pinnedCandidates) {
        if (seen.has(id)) continue
        seen.add(id)
        const o = book.orders.get(id)
        if (o !== undefined && isPinned(o)) resident.push(id)
      }
    }
    const { holds, ended = [], reservations, ...stock } = snapshotStock(this.stock)
    const base: PartitionSnapshot = {
      version: 2,
      stock: { ...stock, holds: [], ended: [], reservations: [] },
      nextOrderNo: book.nextOrderNo,
      nodeLoad: [...book.nodeLoad.entries()],
      splits: [...book.splits.entries()],
      openAtNode: [...book.openAtNode].map(([nodeId, ids]) => [nodeId, [...ids]] as const),
      promiseDeadlines,
      resident,
      keys: book.keys.snapshot()
    }
    return { base, lists: { holds, ended, reservations } }
  }

  /**
   * Restores the partition's own state from a snapshot. A snapshot of the
   * first format carries every order: they become resident (and dirty, so the
   * next snapshot stores them). Of the current format, the caller loads the
   * orders it names as resident (`installOrder`).
   */
  restore(s: PartitionSnapshot): void {
    this.stock = restoreStock(this.id, s.stock, this.config)
    const book = emptyOrderBook(this.id, this.config.idempotencyWindowMs)
    book.keys = KeyFilter.restore(this.config.idempotencyWindowMs, s.keys)
    book.nextOrderNo = s.nextOrderNo
    for (const [nodeId, load] of s.nodeLoad) book.nodeLoad.set(nodeId, { ...load })
    for (const [key, partitions] of s.splits ?? []) book.splits.set(key, [...partitions])
    for (const [nodeId, ids] of s.openAtNode ?? []) book.openAtNode.set(nodeId, new Set(ids))
    for (const [due, id] of s.promiseDeadlines ?? []) book.promiseDeadlines.push(due, id)
    for (const stored of s.orders ?? []) {
      const o = upgradeOrder(stored)
      installOrder(book, o, true)
      book.keys.add(placementKey(o), o.placedAt)
      book.dirty.add(o.orderId)
      for (const sh of o.shipments) {
        if (sh.promise && !sh.late && sh.status !== "delivered" && sh.status !== "withdrawn") {
          book.promiseDeadlines.push(sh.promise.promisedBy + 1, promiseTimerId(o.orderId, sh.shipmentId))
        }
        if (!isOpenShipment(sh)) continue
        let set = book.openAtNode.get(sh.nodeId)
        if (!set) book.openAtNode.set(sh.nodeId, (set = new Set()))
        set.add(o.orderId)
      }
    }
    this.orders = book
  }
}

export interface PartitionSnapshot {
  /** 2: orders are stored as versions beside the snapshot (absent: the first format, every order inside). */
  readonly version?: 2
  readonly stock: StockSnapshot
  readonly nextOrderNo: number
  readonly nodeLoad: ReadonlyArray<readonly [string, NodeLoad]>
  /** Claims of split orders' external ids (absent in snapshots written before claims existed). */
  readonly splits?: ReadonlyArray<readonly [string, ReadonlyArray<number>]>
  /** Orders with a shipment open at each node. */
  readonly openAtNode?: ReadonlyArray<readonly [string, ReadonlyArray<string>]>
  /** Promise deadlines not yet due: (due, "orderId shipmentId"). */
  readonly promiseDeadlines?: ReadonlyArray<readonly [number, string]>
  /** The pinned orders (see order/residency.ts), loaded back from their stored versions at recovery. */
  readonly resident?: ReadonlyArray<string>
  /** The placement keys of the idempotency window (order/key-filter.ts). */
  readonly keys?: KeyFilterSnapshot
  /** The first format: every order of the partition. */
  readonly orders?: ReadonlyArray<OrderState>
}

/** The long lists of a partition's stock (live holds, ended holds' records, reservations), encoded a chunk at a time. */
export type SnapshotLists = Required<Pick<StockSnapshot, "holds" | "ended" | "reservations">>

export const snapshotListNames = ["holds", "ended", "reservations"] as const satisfies ReadonlyArray<keyof SnapshotLists>

/**
 * A partition snapshot as stored: `base` (encoded at once) and each long
 * list in chunks (encoded a slice at a time). Snapshots written before are
 * one encoded PartitionSnapshot, and decode as they are.
 */
interface ChunkedPartitionSnapshot {
  readonly version: 3
  readonly base: Uint8Array
  readonly lists: { readonly [K in keyof SnapshotLists]: ReadonlyArray<Uint8Array> }
}

export const encodeChunkedSnapshot = (base: Uint8Array, lists: ChunkedPartitionSnapshot["lists"]): Uint8Array =>
  encodeValue({ version: 3, base, lists } satisfies ChunkedPartitionSnapshot)

export const decodePartitionSnapshot = (payload: Uint8Array): PartitionSnapshot => {
  const value = decodeValue<PartitionSnapshot | ChunkedPartitionSnapshot>(payload)
  if (value.version !== 3) return value as PartitionSnapshot
  const base = decodeValue<PartitionSnapshot>(value.base)
  const whole = (chunks: ReadonlyArray<Uint8Array>) => chunks.flatMap((chunk) => decodeValue<Array<never>>(chunk))
  return {
    ...base,
    // (a chunked snapshot written before ended holds were records has no `ended` list: none are restored)
    stock: { ...base.stock, holds: whole(value.lists.holds), ended: whole(value.lists.ended ?? []), reservations: whole(value.lists.reservations) }
  }
}

export const replayNetwork = (net: NetworkState, e: EngineEvent): void => {
  invariant(networkEventTypes.has(e.type), () => `event ${e.type} in the network stream`)
  evolveNetwork(net, e as NetworkEvent)
}
