/**
 * Appends whose outcome the engine cannot know, and how they are settled.
 *
 * A journal append that fails before anything reached the database (no
 * connection, a refused one, an error the server answered) was not applied:
 * its commands are answered `store_unavailable`. One that fails after its
 * statement was sent (the connection was lost mid-statement) or that gets no
 * answer within `storeAppendTimeoutMs` may have committed: its commands are
 * answered `outcome_unknown` (the store says which: OutcomeUnknown, see
 * store/sql-journal.ts; the deadline is the engine's own, so a store that
 * hangs in any way is covered).
 *
 * The engine then reloads from the journal (engine.ts, store failure and
 * self-recovery), which settles the append: if it committed, its holds and
 * orders are in the reloaded state, so a retry with the same hold key or
 * external id returns the original result (`existing: true`), and its events
 * are published to subscribers then, as if they had just committed; if it did
 * not, a retry applies the command. Before reloading, the engine waits (at most
 * storeCallTimeoutMs) for the store's own promise of that append to settle, so
 * that the reload reads the journal after the append ended, not while it may
 * still commit. A commit that comes later still (the statement was stuck in
 * the network) cannot corrupt the journal: it conflicts with the engine's next
 * append at the same sequence numbers, one of the two is refused, and the
 * engine reloads again and publishes then what it missed.
 */
import { isStoreError, OutcomeUnknown } from "../domain/errors.ts"
import type { JournaledEvent } from "../domain/events.ts"
import type { JournalStore } from "../store/journal.ts"
import { decodeEvents } from "./codec.ts"
import { readPage } from "./recovery.ts"

/** Whether a failed append may have committed. */
export const outcomeUnknown = (error: unknown): boolean => isStoreError(error, "OutcomeUnknown")

/** The store's append, answered within `deadlineMs`: past it, OutcomeUnknown (the append may still commit). */
export const appendWithin = (append: Promise<void>, deadlineMs: number): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new OutcomeUnknown({ message: `the journal append got no answer within storeAppendTimeoutMs (${deadlineMs} ms): it may have committed` })),
      deadlineMs
    )
    append.then(
      () => {
        clearTimeout(timer)
        resolve()
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      }
    )
  })

/** What the engine remembers of an append answered `outcome_unknown` until the journal settled it. */
export class AppendsInDoubt {
  /** The store's own promise of the append in doubt (it may still be running when the engine gave up on it). */
  private running: Promise<unknown> | undefined
  /** Per stream, the last event subscribers heard of when the append was given up. */
  private published: Map<string, number> | undefined

  /** An append answered `outcome_unknown`: `durable` is, per stream, the last event known committed (and published). */
  doubt(append: Promise<void>, durable: ReadonlyArray<{ readonly stream: string; readonly durableSeq: number }>): void {
    this.running = append.catch(() => undefined)
    if (this.published !== undefined) return // an earlier doubt is not settled yet: subscribers heard nothing since
    this.published = new Map(durable.map((l) => [l.stream, l.durableSeq]))
  }

  get pending(): boolean {
    return this.published !== undefined
  }

  /** Resolves when the append in doubt ended in the store, or after `maxMs`, whichever comes first. */
  async ended(maxMs: number): Promise<void> {
    if (this.running === undefined) return
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.running, new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)))])
    clearTimeout(timer)
  }

  /**
   * After a reload (`reloaded`: each stream's last event in the journal now), the events the
   * journal holds that subscribers never heard of: what the append in doubt committed. Rejects
   * when the store fails (the doubt stays, to be settled by the next reload).
   */
  async settle(store: JournalStore, reloaded: ReadonlyArray<{ readonly stream: string; readonly seq: number }>): Promise<Array<JournaledEvent>> {
    const published = this.published
    if (published === undefined) return []
    const events: Array<JournaledEvent> = []
    for (const { stream, seq } of reloaded) {
      const after = published.get(stream) ?? 0
      if (seq <= after) continue
      for (let from = after; from < seq;) {
        const page = await store.readBatches(stream, from, readPage)
        for (const b of page) {
          const decoded = decodeEvents(b.payload)
          for (let i = 0; i < decoded.length; i++) {
            const s = b.seqFrom + i
            if (s > from && s <= seq) events.push({ stream, seq: s, event: decoded[i] })
          }
          from = Math.max(from, b.seqFrom + b.count - 1)
        }
        if (page.length < readPage) break
      }
    }
    this.published = undefined
    this.running = undefined
    return events
  }
}
