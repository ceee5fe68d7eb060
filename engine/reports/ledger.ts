/**
 * The report ledger: each partition's report counts kept hour by hour in the
 * store, so that a report over any stretch of history costs the hours it
 * spans and the events since the partition's last snapshot, not the journal,
 * and still covers what compaction took from the journal.
 *
 * Each partition folds its own events as they are applied (live, and at
 * replay) into the counts of the hour of their `at` (report.ts, ReportFold).
 * An hour is finished when the first event of a later hour comes (a stream's
 * engine clock does not go back: an event stamped earlier than the hour in
 * progress is counted in it); a finished hour becomes a row with its counts
 * and what was open at its end (`OpenSummary`). Snapshots store the finished
 * rows, then a checkpoint of the ledger (the fold's context, the counts of
 * the hour in progress, the last sequence number folded) in the same
 * transaction (table `report_hour`, `report_checkpoint`), before the
 * snapshot's header: a snapshot at S implies rows and a checkpoint at S or
 * later. Recovery restores the ledger from its checkpoint and folds only
 * events after it; without one (a journal written before the ledger) it
 * folds the journal from its first event.
 *
 * Memory: the fold's context, sized by open work (an open shipment ~150
 * bytes, a backordered line ~100), the hour in progress and the rows not yet
 * stored (a few KB each).
 */
import type { EngineEvent } from "../domain/events.ts"
import { emptyCounts, ReportFold, type FoldContext, type OpenSummary, type ReportCounts } from "./report.ts"

export const hourMs = 3_600_000

export const hourOf = (at: number): number => Math.floor(at / hourMs) * hourMs

/** One finished hour of a partition. */
export interface LedgerRow {
  /** The hour's start, epoch ms. */
  readonly hour: number
  /** The last sequence number folded into it. */
  readonly seq: number
  readonly counts: ReportCounts
  /** What was open at the hour's end. */
  readonly open: OpenSummary
}

/** The ledger's state at a sequence number: enough to go on folding from the event after it. */
export interface LedgerCheckpoint {
  readonly seq: number
  /** The hour in progress and its counts; null before the first event with a time. */
  readonly hour: number | null
  readonly counts: ReportCounts
  readonly context: FoldContext
  /** When the ledger began (the first event it folded): reports of earlier times are not covered. */
  readonly coveredFrom: number | null
  /** The time of the last event folded with a time. */
  readonly lastAt: number | null
}

export class ReportLedger {
  /** The last sequence number folded. */
  seq: number
  private hour: number | null
  private counts: ReportCounts
  private readonly fold: ReportFold
  private finished: Array<LedgerRow> = []
  /** The first event's time, or the checkpoint's; reports before it are not covered by this ledger. */
  coveredFrom: number | null
  private lastAt: number | null

  constructor(checkpoint?: LedgerCheckpoint) {
    this.seq = checkpoint?.seq ?? 0
    this.hour = checkpoint?.hour ?? null
    this.counts = checkpoint?.counts ?? emptyCounts()
    this.coveredFrom = checkpoint?.coveredFrom ?? null
    this.lastAt = checkpoint?.lastAt ?? null
    this.fold = new ReportFold(() => this.counts, checkpoint?.context)
  }

  /** Folds the event at `seq` of the partition's stream (an event already folded is ignored). */
  add(e: EngineEvent, seq: number): void {
    if (seq <= this.seq) return
    this.seq = seq
    if (!("at" in e)) return
    const hour = hourOf(e.at)
    this.coveredFrom ??= e.at
    this.lastAt = this.lastAt === null ? e.at : Math.max(this.lastAt, e.at)
    if (this.hour === null) this.hour = hour
    else if (hour > this.hour) {
      this.finished.push({ hour: this.hour, seq: seq - 1, counts: this.counts, open: this.fold.summary() })
      this.hour = hour
      this.counts = emptyCounts()
    }
    this.fold.add(e)
  }

  /** Finished rows not yet stored, oldest first. */
  unstored(): ReadonlyArray<LedgerRow> {
    return this.finished
  }

  /** The rows were stored: they leave memory. */
  stored(rows: ReadonlyArray<LedgerRow>): void {
    const done = new Set(rows)
    this.finished = this.finished.filter((r) => !done.has(r))
  }

  /** The ledger as of now, copied (it goes on changing). */
  checkpoint(): LedgerCheckpoint {
    return {
      seq: this.seq, hour: this.hour, counts: structuredClone(this.counts), context: this.fold.context(), coveredFrom: this.coveredFrom, lastAt: this.lastAt
    }
  }
}
