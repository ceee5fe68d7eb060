/**
 * Answers handed back a slice at a time.
 *
 * One append commits up to batchCommandsMax commands at once. Resolving all
 * their tickets in the commit's callback would run every caller's reaction
 * (the gateway serialising and sending each answer, a client issuing its next
 * command) in one turn of the loop: at 2,048 answers, 100 ms and more during
 * which no socket is read and no batch runs. Committed answers are queued
 * instead, in commit order, and resolved a few at a time, one turn of the
 * loop each; the number per turn follows how long the callers' reactions
 * took on the previous turn (their work runs in the microtasks after the
 * resolutions: a marker queued a few microtask hops after them sees it
 * done), aiming at `sliceMs`.
 *
 * Subscribers to committed events are called at commit, before any answer
 * of the batch is handed back (engine.ts), so a caller that sees its answer
 * finds the events already published.
 */
import type { Reply } from "../domain/replies.ts"

/** Whom an answer goes to (the engine's ticket of a command). */
export interface Recipient {
  readonly resolve: (reply: Reply) => void
}

interface Slice {
  readonly to: ReadonlyArray<Recipient>
  readonly replies: ReadonlyArray<Reply>
  next: number
}

/** Answers resolved on the first turn, and never fewer than this per turn. */
const perTurnMin = 32
const perTurnMax = 4_096

export class Deliveries {
  private readonly queue: Array<Slice> = []
  private queued = 0
  private scheduled = false
  private perTurn = 256
  private waiters: Array<() => void> = []
  /** Longest turn (the resolutions and the callers' reactions), ms. */
  turnMaxMs = 0

  constructor(private readonly sliceMs = 4) {}

  /** Answers not handed back yet. */
  get pending(): number {
    return this.queued
  }

  /** Queues answers, in order after those queued before. */
  push(to: ReadonlyArray<Recipient>, replies: ReadonlyArray<Reply>): void {
    if (to.length === 0) return
    this.queue.push({ to, replies, next: 0 })
    this.queued += to.length
    this.schedule()
  }

  /** Resolves once every answer queued so far is handed back. */
  idle(): Promise<void> {
    if (this.queued === 0) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.turn())
  }

  private turn(): void {
    this.scheduled = false
    const started = performance.now()
    let left = this.perTurn
    let given = 0
    while (left > 0 && this.queue.length > 0) {
      const s = this.queue[0]
      const end = Math.min(s.to.length, s.next + left)
      for (let i = s.next; i < end; i++) s.to[i].resolve(s.replies[i])
      left -= end - s.next
      given += end - s.next
      s.next = end
      if (s.next === s.to.length) this.queue.shift()
    }
    this.queued -= given
    // the callers' reactions run in the microtasks after the resolutions: a marker a few hops later sees them done
    queueMicrotask(() => queueMicrotask(() => queueMicrotask(() => this.observe(performance.now() - started, given))))
    if (this.queued > 0) {
      this.schedule()
      return
    }
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  /** A turn handed back `given` answers and their reactions took `ms`: the next turns give as many as fit in sliceMs. */
  private observe(ms: number, given: number): void {
    if (ms > this.turnMaxMs) this.turnMaxMs = ms
    if (given === 0) return
    const fit = Math.floor((this.sliceMs / Math.max(ms, 0.001)) * given)
    // halve at most or grow by a quarter at most a turn: one slow reaction does not stall the queue, nor one fast turn flood the next
    this.perTurn = Math.max(perTurnMin, Math.min(perTurnMax, Math.max(Math.floor(this.perTurn / 2), Math.min(Math.ceil(this.perTurn * 1.25), fit))))
  }
}
