/**
 * Snapshots that never stop the batch loop for long, whatever the history.
 *
 * A snapshot of a partition at sequence number S has two parts:
 *
 * 1. the partition's own state (pools, holds, counters, the order indexes
 *    that name orders: `Partition.snapshotParts`), copied in the loop at the
 *    end of the batch that reached S: its size follows the pools and the live
 *    work, not the orders ever placed. All but its long lists (live holds,
 *    ended holds, reservations: values never changed in place) is encoded
 *    then; the lists a chunk at a time between batches, like the versions;
 * 2. a version of every order changed since the previous snapshot (the book's
 *    `dirty` set at S), as it stood at S, stored in `order_state`. These are
 *    encoded a slice at a time between batches (`step`, a few milliseconds at
 *    most per turn), copy on write: an order of the set that is about to
 *    change before its slice came is encoded first (`OrderBook.beforeChange`),
 *    so every version is the order as of S.
 *
 * Once S is durable and every version is encoded, the versions are stored,
 * then the header of the snapshot (its first part), then the versions they
 * replace are deleted; only then may those orders leave memory. If any step
 * fails, the orders become dirty again and the next snapshot stores them.
 * Recovery loads the newest complete snapshot, its pinned orders as of S
 * (versions a later snapshot stored before it failed to complete are newer
 * and not read), and replays the journal after S, loading the orders its
 * events name, as of S (engine.ts). Replay makes those orders dirty, so the
 * next snapshot stores them again, identical to any such newer version.
 *
 * The network stream is small (nodes, SKUs, channels) and is snapshotted
 * whole, as before.
 */
import type { EngineConfig } from "../config.ts"
import { hasStoredVersion, markStored, orderRow } from "../order/residency.ts"
import type { LedgerCheckpoint, LedgerRow } from "../reports/ledger.ts"
import type { OrderState } from "../order/order-state.ts"
import type { JournalStore, OrderRow } from "../store/journal.ts"
import { encodeValue } from "./codec.ts"
import { encodeChunkedSnapshot, snapshotListNames, type Partition, type SnapshotLists } from "./partition.ts"

/** Time one turn of the loop may spend encoding order versions. */
const sliceBudgetMs = 4

/** Entries of a list encoded at once (about a millisecond's work). */
const entriesPerChunk = 1_000

export interface SnapshotHost {
  readonly store: JournalStore
  readonly config: EngineConfig
  log(message: string): void
  /** Orders may have become free to leave memory. */
  stored(): void
  /** Ids among which every pinned order of the partition is (Partition.snapshotParts). */
  pinnedCandidates(p: Partition): Iterable<string>
}

interface InProgress {
  readonly partition: Partition
  readonly seq: number
  /** The partition's state without its reservations, encoded when the snapshot was taken. */
  readonly base: Uint8Array
  /** The long lists of the stock as of `seq` (live and ended holds, reservations), encoded a chunk at a time into `chunks`. */
  readonly lists: SnapshotLists
  readonly chunks: { readonly [K in keyof SnapshotLists]: Array<Uint8Array> }
  /** The next chunk to encode: a list (its index in snapshotListNames), and the first entry. */
  list: number
  from: number
  /** The whole header, once every chunk is encoded. */
  header: Uint8Array | undefined
  /** Orders still to encode, as of `seq`. */
  readonly pending: Set<string>
  readonly rows: Array<OrderRow>
  /** The orders of `rows` that had a stored version before: theirs are pruned once the snapshot is complete. */
  readonly replacing: Array<OrderState>
  readonly stored: Array<OrderState>
  /** The report ledger's finished hours not yet stored, and its checkpoint, as of `seq`; encoded between batches. */
  readonly ledgerRows: ReadonlyArray<LedgerRow>
  readonly ledgerCheckpoint: LedgerCheckpoint
  ledgerEncoded: { readonly rows: ReadonlyArray<{ readonly hour: number; readonly seq: number; readonly payload: Uint8Array }>; readonly checkpoint: { readonly seq: number; readonly payload: Uint8Array } } | undefined
  writing: boolean
}

export interface SnapshotFigures {
  /** Longest time spent in the loop on snapshots at once (the header, or a slice of versions), ms. */
  readonly pauseMaxMs: number
  readonly taken: number
  readonly versionsStored: number
}

/** Encodes the next chunk of the header's lists, or, when none is left, the header. */
const encodeChunk = (s: InProgress): void => {
  const name = snapshotListNames[s.list]
  if (name === undefined) {
    s.header = encodeChunkedSnapshot(s.base, s.chunks)
    return
  }
  const list: ReadonlyArray<unknown> = s.lists[name]
  if (s.from >= list.length) {
    s.list++
    s.from = 0
    return
  }
  s.chunks[name].push(encodeValue(list.slice(s.from, s.from + entriesPerChunk)))
  s.from += entriesPerChunk
}

const addRow = (s: InProgress, o: OrderState): void => {
  s.rows.push(orderRow(s.partition.stream, o))
  s.stored.push(o)
  if (hasStoredVersion(o)) s.replacing.push(o)
}

export class PartitionSnapshots {
  private readonly inProgress = new Map<string, InProgress>()
  private chain: Promise<void> = Promise.resolve()
  private pauseMaxMs = 0
  private taken = 0
  private versionsStored = 0

  constructor(private readonly host: SnapshotHost) {}

  figures(): SnapshotFigures {
    return { pauseMaxMs: this.pauseMaxMs, taken: this.taken, versionsStored: this.versionsStored }
  }

  /** A snapshot of this partition is due: enough events, or enough changed orders, since the last one, and none in progress. */
  due(p: Partition): boolean {
    return !this.inProgress.has(p.stream) && this.behind(p) >= 1
  }

  /** How far the partition is towards its snapshot limits (1: due), for choosing which one to take first. */
  behind(p: Partition): number {
    const { snapshotEveryEvents, snapshotDirtyOrdersMax, ordersResidentMax, partitions } = this.host.config
    // changed orders cannot leave memory until stored: store them before they are half of the partition's share
    const dirtyMax = Math.max(1, Math.min(snapshotDirtyOrdersMax, Math.floor(ordersResidentMax / partitions / 2)))
    return Math.max((p.log.seq - p.log.snapshotSeq) / snapshotEveryEvents, p.orders.dirty.size / dirtyMax)
  }

  inProgressFor(p: Partition): boolean {
    return this.inProgress.has(p.stream)
  }

  /** Starts a snapshot of the partition as of its last event (call at the end of a batch, in the loop). */
  take(p: Partition): void {
    const started = performance.now()
    const book = p.orders
    const pending = book.dirty
    book.dirty = new Set()
    book.storing = new Set(pending)
    const { base, lists } = p.snapshotParts(this.host.pinnedCandidates(p))
    const s: InProgress = {
      partition: p, seq: p.log.seq, base: encodeValue(base), lists, chunks: { holds: [], ended: [], reservations: [] }, list: 0, from: 0, header: undefined,
      pending, rows: [], replacing: [], stored: [],
      ledgerRows: p.ledger.unstored().slice(), ledgerCheckpoint: p.ledger.checkpoint(), ledgerEncoded: undefined, writing: false
    }
    p.log.snapshotSeq = p.log.seq
    book.beforeChange = (o: OrderState) => {
      if (!s.pending.delete(o.orderId)) return
      addRow(s, o)
    }
    this.inProgress.set(p.stream, s)
    this.taken++
    this.pause(started)
  }

  /**
   * Encodes order versions for at most a few milliseconds, and stores every
   * snapshot whose versions are all encoded and whose last event is durable.
   * Returns true while work is left for a later turn.
   */
  step(budgetMs = sliceBudgetMs): boolean {
    if (this.inProgress.size === 0) return false
    const started = performance.now()
    let left = false
    for (const s of this.inProgress.values()) {
      if (s.writing) continue
      const book = s.partition.orders
      while (s.header === undefined && performance.now() - started <= budgetMs) encodeChunk(s)
      if (s.ledgerEncoded === undefined && performance.now() - started <= budgetMs) {
        s.ledgerEncoded = {
          rows: s.ledgerRows.map((r) => ({ hour: r.hour, seq: r.seq, payload: encodeValue({ counts: r.counts, open: r.open }) })),
          checkpoint: { seq: s.ledgerCheckpoint.seq, payload: encodeValue(s.ledgerCheckpoint) }
        }
      }
      for (const id of s.pending) {
        if (performance.now() - started > budgetMs) break
        s.pending.delete(id)
        const o = book.orders.get(id)
        if (o !== undefined) addRow(s, o)
      }
      if (s.pending.size > 0 || s.header === undefined || s.ledgerEncoded === undefined) {
        left = true
        continue
      }
      book.beforeChange = undefined
      if (s.partition.log.durableSeq < s.seq) {
        left = true
        continue
      }
      s.writing = true
      this.write(s)
    }
    if (budgetMs === sliceBudgetMs) this.pause(started)
    return left
  }

  /**
   * Finishes every snapshot in progress at once (no time budget: the engine
   * is flushed or closing) and resolves when they are stored or failed; one
   * whose last event is not durable is given up (its orders stay dirty).
   */
  async settled(): Promise<void> {
    this.step(Infinity)
    for (const s of [...this.inProgress.values()]) if (!s.writing) this.drop(s)
    await this.chain
  }

  /** Gives up the snapshots in progress that are not being written (the engine reloads its state from the store). */
  abandon(): void {
    for (const s of [...this.inProgress.values()]) if (!s.writing) this.drop(s)
  }

  private drop(s: InProgress): void {
    const book = s.partition.orders
    book.beforeChange = undefined
    for (const id of book.storing) if (book.orders.has(id)) book.dirty.add(id)
    book.storing.clear()
    s.partition.log.snapshotSeq = 0
    this.inProgress.delete(s.partition.stream)
  }

  private write(s: InProgress): void {
    const { store, config } = this.host
    const p = s.partition
    this.chain = this.chain.then(async () => {
      try {
        await store.saveOrders(s.rows)
        // the report ledger's rows and checkpoint as of seq, before the header: a snapshot implies them
        const ledger = s.ledgerEncoded!
        await store.saveReportLedger(p.stream, ledger.rows, ledger.checkpoint)
        p.ledger.stored(s.ledgerRows)
        await store.saveSnapshot({ stream: p.stream, seq: s.seq, payload: s.header!, takenAt: Date.now() })
        const replaced = new Set(s.replacing.map((o) => o.orderId))
        await store.pruneOrders(s.rows.filter((r) => replaced.has(r.orderId)).map((r) => ({ orderId: r.orderId, seq: r.seq })))
        // older snapshots named versions just pruned: they could no longer be recovered from
        await store.dropSnapshotsBefore(p.stream, s.seq)
        for (let i = 0; i < s.rows.length; i++) markStored(s.stored[i], s.rows[i].seq)
        if (s.seq > config.journalRetainEvents) await store.compact(p.stream, s.seq - config.journalRetainEvents)
        this.versionsStored += s.rows.length
        p.orders.storing.clear()
      } catch (e) {
        // the journal still holds everything: the orders stay until the next snapshot stores them
        for (const id of p.orders.storing) if (p.orders.orders.has(id)) p.orders.dirty.add(id)
        p.orders.storing.clear()
        p.log.snapshotSeq = 0
        this.host.log(`snapshot of ${p.stream} at ${s.seq} failed: ${String(e)}`)
      } finally {
        this.inProgress.delete(p.stream)
        this.host.stored()
      }
    })
  }

  private pause(started: number): void {
    const ms = performance.now() - started
    if (ms > this.pauseMaxMs) this.pauseMaxMs = ms
  }
}
