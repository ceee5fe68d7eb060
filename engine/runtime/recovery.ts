/**
 * Recovery: every actor rebuilt from the newest complete snapshot of each
 * stream and the journal after it (engine.ts calls it at open, after a store
 * failure, and in cluster mode on activation).
 *
 * - Cluster mode claims the stream first (a new owner epoch): an append of
 *   the previous owner still in progress finishes before the claim, so the
 *   reads that follow see it.
 * - A partition's snapshot holds its own state (pools, holds, indexes of
 *   open work) and names its pinned orders, which are read from their stored
 *   versions as of the snapshot (a later snapshot that never completed may
 *   have stored newer versions: the journal after the snapshot is replayed
 *   instead). Each page of the journal after it is preceded by one read of
 *   the orders its events name that are not in memory, as of the snapshot.
 *   So a restart costs the live state and the events since the snapshot,
 *   not the history (docs/architecture.md, Durability).
 */
import type { EngineEvent, OrderEvent } from "../domain/events.ts"
import { isSplitEvent } from "../domain/events.ts"
import { emptyNetwork, restoreNetwork, type NetworkSnapshot, type NetworkState } from "../network/network-actor.ts"
import { installOrder, orderOfRow } from "../order/residency.ts"
import type { JournalStore } from "../store/journal.ts"
import { decodeEvents, decodeValue } from "./codec.ts"
import type { EngineOptions } from "./engine.ts"
import { decodePartitionSnapshot, networkStream, Partition, poolEventTypes, replayNetwork, StreamLog } from "./partition.ts"
import { ReportLedger, type LedgerCheckpoint } from "../reports/ledger.ts"

/** Journal batches read by one query during replay and by readers of the whole journal. */
export const readPage = 512

export interface Recovered {
  readonly net: NetworkState
  readonly netLog: StreamLog
  readonly partitions: Array<Partition>
}

export const recoverState = async (options: EngineOptions, claimed: (epoch: number) => void): Promise<Recovered> => {
  const { store, config, ownership } = options
  if (ownership) claimed(await store.claim(ownership.stream, ownership.owner))
  const streams = await store.streams()
  for (const s of streams) {
    if (s !== networkStream && !(s.startsWith("p") && Number(s.slice(1)) < config.partitions)) {
      throw new Error(`the journal has stream ${s}, which ${config.partitions} partitions do not cover: the data was written with another ENGINE_PARTITIONS`)
    }
  }
  const netLog = new StreamLog(networkStream)
  const netSnap = await store.loadSnapshot(networkStream)
  const net = netSnap ? restoreNetwork(decodeValue<NetworkSnapshot>(netSnap.payload)) : emptyNetwork()
  if (netSnap) netLog.seq = netLog.snapshotSeq = netSnap.seq
  await replay(store, networkStream, netLog, (e) => replayNetwork(net, e))
  const partitions: Array<Partition> = []
  const checkpoints = new Map((await store.reportCheckpoints()).map((c) => [c.stream, c]))
  for (let id = 0; id < config.partitions; id++) {
    const p = new Partition(id, config)
    if (ownership && ownership.stream !== p.stream) {
      partitions.push(p)
      continue
    }
    const snap = await store.loadSnapshot(p.stream)
    let resident: ReadonlyArray<string> = []
    if (snap) {
      const decoded = decodePartitionSnapshot(snap.payload)
      p.restore(decoded)
      p.log.seq = p.log.snapshotSeq = snap.seq
      resident = decoded.resident ?? []
    }
    const at = p.log.seq
    if (resident.length > 0) for (const row of await store.loadOrders(resident, at)) installOrder(p.orders, orderOfRow(row), true)
    const checkpoint = checkpoints.get(p.stream)
    p.ledger = new ReportLedger(checkpoint ? decodeValue<LedgerCheckpoint>(checkpoint.payload) : undefined)
    // a ledger behind the snapshot (a journal written before the ledger existed) folds the journal up to it first
    if (p.ledger.seq < at) await catchUpLedger(store, p, at)
    await replay(store, p.stream, p.log, (e, seq) => p.replay(net, e, seq), (events) => loadForReplay(store, p, events, at))
    partitions.push(p)
  }
  return { net, netLog, partitions }
}

/**
 * Folds a partition's journal from its ledger's last sequence number up to `through` into the ledger only
 * (the partition's state comes from its snapshot). Once, when a journal written before the ledger is
 * opened; events compaction took are missed: the ledger then covers history from the first event read.
 */
const catchUpLedger = async (store: JournalStore, p: Partition, through: number): Promise<void> => {
  const ledger = p.ledger
  let after = ledger.seq
  let first = true
  for (;;) {
    const page = await store.readBatches(p.stream, after, readPage)
    for (const b of page) {
      const events = decodeEvents(b.payload)
      if (first && b.seqFrom > ledger.seq + 1) ledger.coveredFrom = null
      first = false
      for (let i = 0; i < events.length; i++) if (b.seqFrom + i <= through) ledger.add(events[i], b.seqFrom + i)
      after = b.seqFrom + b.count - 1
    }
    if (page.length < readPage || after >= through) break
  }
}

/** Before a page of a partition's journal is replayed: the orders its events name that are not in memory, as of the snapshot. */
const loadForReplay = async (store: JournalStore, p: Partition, events: ReadonlyArray<EngineEvent>, snapshotSeq: number): Promise<void> => {
  const wanted = new Set<string>()
  for (const e of events) {
    if (e.type === "OrderPlaced" || poolEventTypes.has(e.type) || isSplitEvent(e)) continue
    const orderId = (e as OrderEvent).orderId
    if (!p.orders.orders.has(orderId)) wanted.add(orderId)
  }
  if (wanted.size === 0) return
  for (const row of await store.loadOrders([...wanted], snapshotSeq)) {
    if (!p.orders.orders.has(row.orderId)) installOrder(p.orders, orderOfRow(row), false)
  }
}

/** Applies a stream's journal after `log.seq`, a page at a time (the next page is read while one is applied). */
const replay = async (
  store: JournalStore,
  stream: string,
  log: StreamLog,
  apply: (e: EngineEvent, seq: number) => void,
  beforePage?: (events: ReadonlyArray<EngineEvent>) => Promise<void>
): Promise<void> => {
  let next = store.readBatches(stream, log.seq, readPage)
  for (;;) {
    const page = await next
    // fetch the next page while this one is decoded and applied: the store works on the other core
    if (page.length === readPage) {
      const last = page[page.length - 1]
      next = store.readBatches(stream, last.seqFrom + last.count - 1, readPage)
    }
    const decoded = page.map((b) => ({ seqFrom: b.seqFrom, events: decodeEvents(b.payload) }))
    if (beforePage) await beforePage(decoded.flatMap((b) => b.events.filter((_, i) => b.seqFrom + i > log.seq)))
    for (const b of decoded) {
      for (let i = 0; i < b.events.length; i++) {
        const seq = b.seqFrom + i
        if (seq <= log.seq) continue
        apply(b.events[i], seq)
        log.seq = seq
      }
    }
    if (page.length < readPage) break
  }
  log.durableSeq = log.seq
}
