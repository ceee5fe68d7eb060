/**
 * Reports from the journal: every partition stream is read oldest first, one
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
import { ReportTally, type NodeCapacity, type Report, type ReportRange } from "./report.ts"

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
  /** Batches and events read to build it. */
  readonly read: { readonly batches: number; readonly events: number }
}

/** Events folded between two pauses, so a long report never holds the engine's batch loop for long. */
const eventsPerPause = 20_000

const firstAt = (events: ReadonlyArray<EngineEvent>): number | undefined => {
  for (const e of events) if ("at" in e) return e.at
  return undefined
}

export const journalReport = async (engine: Engine, range: ReportRange, pageBatches?: number): Promise<JournalReport> => {
  const tally = new ReportTally(range)
  const compactedStreams: Array<string> = []
  let retainedFrom: number | null = null
  let batches = 0
  let events = 0
  let sincePause = 0
  for (const stream of engine.partitionStreams()) {
    let first = true
    read: for await (const b of engine.journalForward(stream, pageBatches)) {
      if (first) {
        first = false
        if (b.seqFrom > 1) {
          compactedStreams.push(stream)
          const at = firstAt(b.events)
          if (at !== undefined) retainedFrom = Math.max(retainedFrom ?? at, at)
        }
      }
      batches++
      for (const e of b.events) {
        if ("at" in e && e.at >= range.to) break read
        events++
        tally.add(e)
      }
      sincePause += b.events.length
      if (sincePause >= eventsPerPause) {
        sincePause = 0
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    }
  }
  const nodes: Array<NodeCapacity> = engine.view.net.nodes.map((n) => ({ nodeId: n.nodeId, capacityPerDay: n.capacityPerDay }))
  return {
    ...tally.result(nodes),
    coverage: { complete: retainedFrom === null || retainedFrom <= range.from, retainedFrom, compactedStreams },
    read: { batches, events }
  }
}

/**
 * Runs reports one after another: each reads the whole retained journal, so
 * running several at once only slows them all and the engine with them (a
 * report asked while another runs waits for it).
 */
export const oneReportAtATime = (): ((engine: Engine, range: ReportRange) => Promise<JournalReport>) => {
  let queue: Promise<unknown> = Promise.resolve()
  return (engine, range) => {
    const run = queue.then(() => journalReport(engine, range))
    queue = run.catch(() => undefined)
    return run
  }
}
