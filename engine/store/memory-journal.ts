/**
 * A JournalStore held in process memory, for the engine's property tests:
 * what survives an engine "crash" is exactly what append() resolved, and it
 * can be told to fail at any append to test the engine's behaviour when the
 * store goes away. It follows the contract of journal.ts (atomic appends,
 * SequenceConflict fencing, newest complete snapshot, compaction) but is not
 * durable and is never used outside tests; the SQL stores are the ones the
 * shared store suite (store.suite.ts) proves.
 */
import { SequenceConflict, StaleOwner, StoreUnavailable } from "../domain/errors.ts"
import type { JournalBatch, JournalStore, OrderKey, OrderRow, OwnerFence, Snapshot, StoredLedgerCheckpoint, StoredLedgerRow } from "./journal.ts"

export class MemoryJournal implements JournalStore {
  readonly kind = "pglite" as const
  readonly describe = "memory (tests only)"
  private readonly batches = new Map<string, Array<JournalBatch>>()
  private readonly snapshots = new Map<string, Array<Snapshot>>()
  /** While set, every call fails as an unreachable store would. */
  down = false
  /** Appends that will still succeed before the store goes down by itself (for crash-at-any-point tests). */
  appendsBeforeFailure = Infinity

  private check(): void {
    if (this.down) throw new StoreUnavailable({ message: "store is down" })
  }

  private readonly owners = new Map<string, { owner: string; epoch: number }>()

  async claim(stream: string, owner: string): Promise<number> {
    this.check()
    const epoch = (this.owners.get(stream)?.epoch ?? 0) + 1
    this.owners.set(stream, { owner, epoch })
    return epoch
  }

  async ownerOf(stream: string): Promise<{ owner: string; epoch: number } | undefined> {
    this.check()
    const o = this.owners.get(stream)
    return o ? { ...o } : undefined
  }

  async append(batches: ReadonlyArray<JournalBatch>, fence?: OwnerFence): Promise<void> {
    this.check()
    if (fence !== undefined && this.owners.get(fence.stream)?.epoch !== fence.epoch) throw new StaleOwner({ stream: fence.stream, epoch: fence.epoch })
    if (this.appendsBeforeFailure <= 0) {
      this.down = true
      this.check()
    }
    this.appendsBeforeFailure--
    const seen = new Set<string>()
    for (const b of batches) {
      const key = `${b.stream}@${b.seqFrom}`
      if (seen.has(key) || (this.batches.get(b.stream) ?? []).some((x) => x.seqFrom === b.seqFrom)) throw new SequenceConflict({ stream: b.stream, seqFrom: b.seqFrom })
      seen.add(key)
    }
    for (const b of batches) {
      let list = this.batches.get(b.stream)
      if (!list) this.batches.set(b.stream, (list = []))
      list.push({ ...b, payload: b.payload.slice() })
      list.sort((a, c) => a.seqFrom - c.seqFrom)
    }
  }

  async readBatches(stream: string, afterSeq: number, limit: number): Promise<ReadonlyArray<JournalBatch>> {
    this.check()
    return (this.batches.get(stream) ?? []).filter((b) => b.seqFrom + b.count - 1 > afterSeq).slice(0, limit)
  }

  async readBatchesBackward(stream: string, beforeSeqFrom: number, limit: number): Promise<ReadonlyArray<JournalBatch>> {
    this.check()
    return (this.batches.get(stream) ?? []).filter((b) => b.seqFrom < beforeSeqFrom).reverse().slice(0, limit)
  }

  async lastSeq(stream: string): Promise<number> {
    this.check()
    const list = this.batches.get(stream) ?? []
    return list.length === 0 ? 0 : list[list.length - 1].seqFrom + list[list.length - 1].count - 1
  }

  async streams(): Promise<ReadonlyArray<string>> {
    this.check()
    return [...new Set([...this.batches.keys(), ...this.snapshots.keys()])].sort()
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.check()
    let list = this.snapshots.get(snapshot.stream)
    if (!list) this.snapshots.set(snapshot.stream, (list = []))
    list.push({ ...snapshot, payload: snapshot.payload.slice() })
    list.sort((a, b) => a.seq - b.seq)
  }

  async loadSnapshot(stream: string): Promise<Snapshot | undefined> {
    this.check()
    const list = this.snapshots.get(stream) ?? []
    return list[list.length - 1]
  }

  async dropSnapshotsBefore(stream: string, seq: number): Promise<void> {
    this.check()
    this.snapshots.set(stream, (this.snapshots.get(stream) ?? []).filter((s) => s.seq >= seq))
  }

  async compact(stream: string, throughSeq: number): Promise<number> {
    this.check()
    const list = this.batches.get(stream) ?? []
    const keep = list.filter((b) => b.seqFrom + b.count - 1 > throughSeq)
    this.batches.set(stream, keep)
    const snaps = this.snapshots.get(stream) ?? []
    const newestCovered = snaps.filter((s) => s.seq <= throughSeq).pop()
    if (newestCovered) this.snapshots.set(stream, snaps.filter((s) => s.seq >= newestCovered.seq))
    return list.length - keep.length
  }

  /** Versions of each order, oldest first. */
  private readonly orderVersions = new Map<string, Array<OrderRow>>()

  async saveOrders(rows: ReadonlyArray<OrderRow>): Promise<void> {
    this.check()
    for (const r of rows) {
      let list = this.orderVersions.get(r.orderId)
      if (!list) this.orderVersions.set(r.orderId, (list = []))
      if (list.some((v) => v.seq === r.seq)) continue
      list.push({ ...r, payload: r.payload.slice() })
      list.sort((a, b) => a.seq - b.seq)
    }
  }

  async loadOrders(orderIds: ReadonlyArray<string>, atMostSeq = Number.MAX_SAFE_INTEGER): Promise<ReadonlyArray<OrderRow>> {
    this.check()
    const out: Array<OrderRow> = []
    for (const id of new Set(orderIds)) {
      const newest = this.orderVersions.get(id)?.filter((v) => v.seq <= atMostSeq).pop()
      if (newest) out.push(newest)
    }
    return out
  }

  async findOrders(keys: ReadonlyArray<OrderKey>): Promise<ReadonlyArray<OrderRow>> {
    this.check()
    const wanted = new Set(keys.map((k) => `${k.channel}\u0000${k.externalId}\u0000${k.leg}`))
    const out: Array<OrderRow> = []
    for (const list of this.orderVersions.values()) {
      const newest = list[list.length - 1]
      if (newest.keyed && wanted.has(`${newest.channel}\u0000${newest.externalId}\u0000${newest.leg}`)) out.push(newest)
    }
    return out
  }

  async pruneOrders(versions: ReadonlyArray<{ readonly orderId: string; readonly seq: number }>): Promise<void> {
    this.check()
    for (const v of versions) {
      const list = this.orderVersions.get(v.orderId)
      if (list) this.orderVersions.set(v.orderId, list.filter((r) => r.seq === v.seq))
    }
  }

  private readonly ledgerRows = new Map<string, StoredLedgerRow>()
  private readonly ledgerCheckpoints = new Map<string, StoredLedgerCheckpoint>()

  async saveReportLedger(stream: string, rows: ReadonlyArray<Omit<StoredLedgerRow, "stream">>, checkpoint: Omit<StoredLedgerCheckpoint, "stream">): Promise<void> {
    this.check()
    for (const r of rows) this.ledgerRows.set(`${stream}\u0000${r.hour}`, { stream, hour: r.hour, seq: r.seq, payload: r.payload.slice() })
    const was = this.ledgerCheckpoints.get(stream)
    if (was === undefined || was.seq <= checkpoint.seq) this.ledgerCheckpoints.set(stream, { stream, seq: checkpoint.seq, payload: checkpoint.payload.slice() })
  }

  async reportRows(fromHour: number, toHour: number): Promise<ReadonlyArray<StoredLedgerRow>> {
    this.check()
    return [...this.ledgerRows.values()].filter((r) => r.hour >= fromHour && r.hour < toHour)
      .sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.hour - b.hour))
  }

  async reportRowsBefore(hour: number): Promise<ReadonlyArray<StoredLedgerRow>> {
    this.check()
    const newest = new Map<string, StoredLedgerRow>()
    for (const r of this.ledgerRows.values()) {
      const n = newest.get(r.stream)
      if (r.hour < hour && (n === undefined || r.hour > n.hour)) newest.set(r.stream, r)
    }
    return [...newest.values()]
  }

  async reportCheckpoints(): Promise<ReadonlyArray<StoredLedgerCheckpoint>> {
    this.check()
    return [...this.ledgerCheckpoints.values()]
  }

  async ping(): Promise<void> {
    this.check()
  }

  async close(): Promise<void> {}
}
