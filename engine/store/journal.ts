/**
 * The durable journal and snapshot store the engine writes through: one
 * contract, two implementations over effect/sql (embedded PGlite and a real
 * PostgreSQL), one shared test suite (store.suite.ts).
 *
 * The engine calls it with plain promises from its batch loop; Effect builds
 * and releases it as a scoped resource (see store/layer.ts). Its promises
 * reject with the tagged store errors of domain/errors.ts (StoreUnavailable,
 * StaleOwner, SequenceConflict), matched by tag (isStoreError).
 */
import { hashPair } from "../domain/hash.ts"
import type { OpsHistoryStore } from "./sql-ops-history.ts"
import type { OpsRecordStore } from "./ops-records.ts"

/** Events of one stream (partition) appended by one batch, packed by the engine's codec. */
export interface JournalBatch {
  readonly stream: string
  /** Sequence number of the first event in the batch; streams start at 1. */
  readonly seqFrom: number
  /** Number of events in the batch (> 0); the batch covers seqFrom .. seqFrom + count - 1. */
  readonly count: number
  readonly payload: Uint8Array
}

export interface Snapshot {
  readonly stream: string
  /** The last event sequence number the snapshot includes. */
  readonly seq: number
  readonly payload: Uint8Array
  readonly takenAt: number
}

export interface JournalStore extends OrderStore, ReportLedgerStore {
  readonly kind: "pglite" | "postgres"
  /** A short description for logs, without credentials. */
  readonly describe: string
  /**
   * Appends batches of one or more streams in ONE transaction: all are durable
   * when the promise resolves, none when it rejects. A batch whose (stream,
   * seqFrom) already exists rejects the whole append with SequenceConflict:
   * that is how a stale writer is fenced off.
   */
  append(batches: ReadonlyArray<JournalBatch>, fence?: OwnerFence): Promise<void>
  /**
   * Cluster mode: makes `owner` the writer of `stream` and returns its epoch,
   * one above the previous owner's. From then on an append fenced with an
   * older epoch is refused with StaleOwner, even before the new owner writes.
   * An append in progress when the claim is made finishes first (the claim
   * waits for it), so the new owner's reads that follow the claim see it.
   */
  claim(stream: string, owner: string): Promise<number>
  /** The current owner of a stream and its epoch (cluster mode), undefined if never claimed. */
  ownerOf(stream: string): Promise<{ readonly owner: string; readonly epoch: number } | undefined>
  /** Batches of a stream holding events after `afterSeq`, in sequence order, at most `limit` batches. */
  readBatches(stream: string, afterSeq: number, limit: number): Promise<ReadonlyArray<JournalBatch>>
  /** Batches of a stream that start before `beforeSeqFrom`, newest first, at most `limit` (for audit trails read from the end). */
  readBatchesBackward(stream: string, beforeSeqFrom: number, limit: number): Promise<ReadonlyArray<JournalBatch>>
  /** The highest event sequence number of a stream in the journal, 0 if none. */
  lastSeq(stream: string): Promise<number>
  /** Every stream with a batch or a snapshot. */
  streams(): Promise<ReadonlyArray<string>>
  /** Stores a snapshot (large payloads are split into chunks) and marks it complete only when every chunk is written. */
  saveSnapshot(snapshot: Snapshot): Promise<void>
  /** The newest complete snapshot of a stream. */
  loadSnapshot(stream: string): Promise<Snapshot | undefined>
  /**
   * Deletes the snapshots of a stream older than `seq` (called once the snapshot at `seq` is complete
   * and the order versions it replaced are pruned: an older snapshot could no longer be recovered from).
   */
  dropSnapshotsBefore(stream: string, seq: number): Promise<void>
  /** Deletes batches whose events all lie at or before `throughSeq`, and snapshots older than the newest one at or before it. Returns the number of batches deleted. */
  compact(stream: string, throughSeq: number): Promise<number>
  /** The ops feed's chart points and counters (absent from stores that keep nothing across a restart). */
  readonly opsHistory?: OpsHistoryStore
  /** The ops console's alert groups and audit log (ops-records.ts); absent in stores that keep none. */
  readonly opsRecords?: OpsRecordStore
  /** Resolves when the store answers a trivial query. */
  ping(): Promise<void>
  close(): Promise<void>
}

/**
 * One version of an order actor's state, written by a snapshot of its stream
 * (engine/runtime/snapshots.ts): the order as it stood after its event `seq`.
 * Orders leave memory once their newest version is stored, and come back from
 * it; a snapshot's versions are kept until a newer snapshot stored newer ones.
 */
export interface OrderRow {
  readonly orderId: string
  readonly stream: string
  /** The order's last event included (a sequence number of its stream). */
  readonly seq: number
  /** The placement key: channel, external id, and the leg's partition (-1: not a leg of a split order). */
  readonly channel: string
  readonly externalId: string
  readonly leg: number
  /** False once the placement key was given up (a compensated leg): it no longer answers a repeated placement. */
  readonly keyed: boolean
  readonly placedAt: number
  readonly payload: Uint8Array
}

/** A 52-bit hash of a placement key (two 32-bit FNV-1a variants), by which the stores index order versions. */
export const orderKeyHash = (k: OrderKey): number => {
  const [h1, h2] = hashPair(`${k.channel}\u0000${k.externalId}\u0000${k.leg}`)
  return h1 * 2 ** 20 + (h2 >>> 12)
}

/** A placement key to look orders up by (see OrderRow). */
export interface OrderKey {
  readonly channel: string
  readonly externalId: string
  readonly leg: number
}

/** What a journal store keeps of orders that left memory (embedded PGlite, PostgreSQL, the test store alike). */
export interface OrderStore {
  /** Stores versions of orders; a version already stored (same order, same seq) is left as it is. */
  saveOrders(rows: ReadonlyArray<OrderRow>): Promise<void>
  /**
   * The newest stored version of each of these orders (orders never stored are absent); with
   * `atMostSeq`, the newest at or before it (recovery from a snapshot at that sequence number, when a
   * later snapshot may have stored versions and not completed).
   */
  loadOrders(orderIds: ReadonlyArray<string>, atMostSeq?: number): Promise<ReadonlyArray<OrderRow>>
  /** The newest version of every order placed under one of these keys and still keyed by it. */
  findOrders(keys: ReadonlyArray<OrderKey>): Promise<ReadonlyArray<OrderRow>>
  /** Deletes every version of these orders but the one given (after a snapshot that stored it is complete). */
  pruneOrders(versions: ReadonlyArray<{ readonly orderId: string; readonly seq: number }>): Promise<void>
}

/**
 * Cluster mode: the stream an append writes to must still be owned by the
 * writer's epoch. Every batch of a fenced append belongs to that stream.
 */
export interface OwnerFence {
  readonly stream: string
  readonly epoch: number
}

/** One finished hour of a partition's report ledger, encoded by the engine (engine/reports/ledger.ts). */
export interface StoredLedgerRow {
  readonly stream: string
  /** The hour's start, epoch ms. */
  readonly hour: number
  /** The last sequence number of the stream folded into it. */
  readonly seq: number
  readonly payload: Uint8Array
}

/** The newest checkpoint of a partition's report ledger, encoded by the engine. */
export interface StoredLedgerCheckpoint {
  readonly stream: string
  readonly seq: number
  readonly payload: Uint8Array
}

/** The report ledger's rows and checkpoints (engine/reports/ledger.ts). */
export interface ReportLedgerStore {
  /**
   * Stores finished hours of a stream (an hour stored again is replaced) and its ledger's checkpoint, in one
   * transaction; a checkpoint older than the one stored is not written over it.
   */
  saveReportLedger(stream: string, rows: ReadonlyArray<Omit<StoredLedgerRow, "stream">>, checkpoint: Omit<StoredLedgerCheckpoint, "stream">): Promise<void>
  /** Every stream's rows of the hours in [fromHour, toHour), by stream then hour. */
  reportRows(fromHour: number, toHour: number): Promise<ReadonlyArray<StoredLedgerRow>>
  /** For each stream, its newest row of an hour before `hour`. */
  reportRowsBefore(hour: number): Promise<ReadonlyArray<StoredLedgerRow>>
  /** Every stream's checkpoint. */
  reportCheckpoints(): Promise<ReadonlyArray<StoredLedgerCheckpoint>>
}
