/**
 * Reports, from the report ledger when it can answer (ledgerReport), else
 * from the journal (journalReport).
 *
 * From the ledger (ledger.ts): for each partition, the stored hours of the
 * range before its newest checkpoint, then the journal after the checkpoint
 * folded from the checkpoint's context; what is open at the end of the range
 * is the checkpoint's fold at its end, or the stored summary of the last
 * hour before it. It costs the hours of the range and the events since each
 * partition's last snapshot, whatever the history, and covers what
 * compaction took from the journal. It answers a range whose start (and end,
 * when the end is before a partition's checkpoint) falls on a whole hour;
 * other ranges are read from the journal.
 *
 * From the journal: every partition stream is read oldest first, one
 * page of batches at a time, and folded into one ReportTally (report.ts), so a
 * report over a long journal holds a page and the open work, never the
 * journal. A stream is read up to its first event at or after `to` (the
 * engine clock does not go back within a stream). It pauses every
 * eventsPerPause events, so the engine's batch loop and the gateway keep
 * serving while a long report runs.
 *
 * A report sees what the journal retains: compaction (after a snapshot, rows
 * more than journalRetainEvents behind it are deleted) takes the oldest
 * events away. `coverage` says from when every stream is complete; a range
 * that starts earlier is answered with what is left and `complete: false`.
 */
import type { EngineEvent } from "../domain/events.ts"
import type { Engine } from "../runtime/engine.ts"
import { decodeValue } from "../runtime/codec.ts"
import { hourMs, type LedgerCheckpoint } from "./ledger.ts"
import { addCounts, addSummaries, emptyCounts, emptySummary, ReportFold, ReportTally, reportFrom, type NodeCapacity, type OpenSummary, type Report, type ReportCounts, type ReportRange } from "./report.ts"

export interface Coverage {
  /** Whether the journal still holds every event of the range. */
  readonly complete: boolean
  /** The moment from which every stream's events are all retained (null: from the beginning). */
  readonly retainedFrom: number | null
  /** Streams whose oldest events were compacted away. */
  readonly compactedStreams: ReadonlyArray<string>
}

export interface JournalReport extends Report {
  readonly coverage: Coverage
  /** Where it was read from: the ledger's stored hours and the journal after the partitions' checkpoints, or the whole journal; and what was read. */
  readonly read: { readonly source: "ledger" | "journal"; readonly hours: number; readonly batches: number; readonly events: number }
}

/** Events folded between two pauses, so a long report never holds the engine's batch loop for long. */
const eventsPerPause = 20_000

const firstAt = (events: ReadonlyArray<EngineEvent>): number | undefined => {
  for (const e of events) if ("at" in e) return e.at
  return undefined
}

/** Each node's daily capacity, from the network as it is now. */
const capacitiesOf = (engine: Engine): Array<NodeCapacity> => engine.view.net.nodes.map((n) => ({ nodeId: n.nodeId, capacityPerDay: n.capacityPerDay }))

/**
 * Folds a stream's events after `afterSeq` with `add`, up to its first event at or after `to`, a page of
 * batches at a time, pausing every eventsPerPause events; `first` sees the first batch read. Counts what it
 * read into `read`.
 */
const foldStream = async (
  engine: Engine, stream: string, afterSeq: number, to: number, add: (e: EngineEvent) => void,
  read: { batches: number; events: number; sincePause: number }, pageBatches?: number,
  first?: (b: { readonly seqFrom: number; readonly events: ReadonlyArray<EngineEvent> }) => void
): Promise<void> => {
  let seen = false
  for await (const b of engine.journalForward(stream, pageBatches, afterSeq)) {
    if (!seen) first?.(b)
    seen = true
    read.batches++
    for (let i = 0; i < b.events.length; i++) {
      if (b.seqFrom + i <= afterSeq) continue
      const e = b.events[i]
      if ("at" in e && e.at >= to) return
      read.events++
      add(e)
    }
    read.sincePause += b.events.length
    if (read.sincePause >= eventsPerPause) {
      read.sincePause = 0
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
}

export const journalReport = async (engine: Engine, range: ReportRange, pageBatches?: number): Promise<JournalReport> => {
  const tally = new ReportTally(range)
  const compactedStreams: Array<string> = []
  let retainedFrom: number | null = null
  const read = { batches: 0, events: 0, sincePause: 0 }
  for (const stream of engine.partitionStreams()) {
    await foldStream(engine, stream, 0, range.to, (e) => tally.add(e), read, pageBatches, (b) => {
      if (b.seqFrom === 1) return
      compactedStreams.push(stream)
      const at = firstAt(b.events)
      if (at !== undefined) retainedFrom = Math.max(retainedFrom ?? at, at)
    })
  }
  return {
    ...tally.result(capacitiesOf(engine)),
    coverage: { complete: retainedFrom === null || retainedFrom <= range.from, retainedFrom, compactedStreams },
    read: { source: "journal", hours: 0, batches: read.batches, events: read.events }
  }
}

const aligned = (t: number): boolean => t % hourMs === 0

/**
 * The report from the ledger, or undefined when the ledger cannot answer the range exactly (an edge
 * inside an hour the ledger stored as a whole): the caller reads the journal instead.
 */
export const ledgerReport = async (engine: Engine, range: ReportRange): Promise<JournalReport | undefined> => {
  const store = engine.reportLedgerStore
  const streams = engine.partitionStreams()
  const checkpoints = new Map<string, LedgerCheckpoint>()
  for (const c of await store.reportCheckpoints()) checkpoints.set(c.stream, decodeValue<LedgerCheckpoint>(c.payload))
  // per stream: hours before its checkpoint's hour are stored rows, the rest is the journal after the checkpoint
  const rowsEnd = (stream: string): number => checkpoints.get(stream)?.hour ?? Number.NEGATIVE_INFINITY
  for (const stream of streams) {
    const cp = checkpoints.get(stream)
    const end = rowsEnd(stream)
    if (range.from < end && !aligned(range.from)) return undefined
    if (range.to < end && !aligned(range.to)) return undefined
    if (cp !== undefined && cp.hour !== null && range.to > cp.hour) {
      // the checkpoint's hour in progress is counted whole: the range must hold all of it that was folded
      if (range.from > cp.hour) return undefined
      if (cp.lastAt !== null && range.to <= cp.lastAt) return undefined
    }
  }
  const counts = emptyCounts()
  let open: OpenSummary = emptySummary
  let hours = 0
  const read = { batches: 0, events: 0, sincePause: 0 }
  const lastEnd = Math.max(...streams.map(rowsEnd))
  const rows = lastEnd > range.from ? await store.reportRows(range.from, Math.min(range.to, lastEnd)) : []
  const before = range.to <= lastEnd ? new Map((await store.reportRowsBefore(range.to)).map((r) => [r.stream, r])) : new Map()
  let coveredFrom: number | null = null
  for (const stream of streams) {
    const cp = checkpoints.get(stream)
    const end = rowsEnd(stream)
    if (cp?.coveredFrom != null && cp.coveredFrom > range.from) coveredFrom = Math.max(coveredFrom ?? cp.coveredFrom, cp.coveredFrom)
    for (const r of rows) {
      if (r.stream !== stream || r.hour >= end) continue
      addCounts(counts, decodeValue<{ counts: ReportCounts }>(r.payload).counts)
      hours++
    }
    if (range.to <= end) {
      const last = before.get(stream)
      if (last !== undefined) open = addSummaries(open, decodeValue<{ open: OpenSummary }>(last.payload).open)
      continue
    }
    // after the checkpoint: its hour in progress, then the journal folded from its context
    const tail = emptyCounts()
    if (cp !== undefined && cp.hour !== null && cp.hour >= range.from) addCounts(tail, cp.counts)
    const fold = new ReportFold((at) => (at >= range.from && at < range.to ? tail : undefined), cp?.context)
    await foldStream(engine, stream, cp?.seq ?? 0, range.to, (e) => fold.add(e), read)
    addCounts(counts, tail)
    open = addSummaries(open, fold.summary())
  }
  return {
    ...reportFrom(range, counts, open, capacitiesOf(engine)),
    coverage: { complete: coveredFrom === null, retainedFrom: coveredFrom, compactedStreams: [] },
    read: { source: "ledger", hours, batches: read.batches, events: read.events }
  }
}

/** The report from the ledger when it can answer the range, else from the journal. */
export const report = async (engine: Engine, range: ReportRange): Promise<JournalReport> =>
  (await ledgerReport(engine, range)) ?? journalReport(engine, range)

/**
 * Runs reports one after another: each reads the whole retained journal, so
 * running several at once only slows them all and the engine with them (a
 * report asked while another runs waits for it).
 */
export const oneReportAtATime = (): ((engine: Engine, range: ReportRange) => Promise<JournalReport>) => {
  let queue: Promise<unknown> = Promise.resolve()
  return (engine, range) => {
    const run = queue.then(() => report(engine, range))
    queue = run.catch(() => undefined)
    return run
  }
}
