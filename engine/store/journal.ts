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

export interface JournalStore {
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
  /** Deletes batches whose events all lie at or before `throughSeq`, and snapshots older than the newest one at or before it. Returns the number of batches deleted. */
  compact(stream: string, throughSeq: number): Promise<number>
  /** Resolves when the store answers a trivial query. */
  ping(): Promise<void>
  close(): Promise<void>
}

/**
 * Cluster mode: the stream an append writes to must still be owned by the
 * writer's epoch. Every batch of a fenced append belongs to that stream.
 */
export interface OwnerFence {
  readonly stream: string
  readonly epoch: number
}
