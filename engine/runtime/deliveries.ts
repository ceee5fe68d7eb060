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
 * resolutions, so it is measured from one turn to the next), aiming at
 * `sliceMs`.
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
  /** When the last turn started (performance.now()), while one is scheduled. */
  private lastTurn = 0
  private waiters: Array<() => void> = []
  /** Longest time from one turn to the next (the callers' reactions included), ms. */
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
    this.lastTurn = 0
    setImmediate(() => this.turn())
  }

  private turn(): void {
    this.scheduled = false
    const now = performance.now()
    if (this.lastTurn > 0) {
      // the previous turn's resolutions and the reactions they ran (plus whatever else ran between)
      const took = now - this.lastTurn
      if (took > this.turnMaxMs) this.turnMaxMs = took
      this.perTurn = took > this.sliceMs
        ? Math.max(perTurnMin, Math.floor(this.perTurn * Math.max(0.25, this.sliceMs / took)))
        : Math.min(perTurnMax, Math.ceil(this.perTurn * 1.25))
    }
    let left = this.perTurn
    while (left > 0 && this.queue.length > 0) {
      const s = this.queue[0]
      const end = Math.min(s.to.length, s.next + left)
      for (let i = s.next; i < end; i++) s.to[i].resolve(s.replies[i])
      left -= end - s.next
      this.queued -= end - s.next
      s.next = end
      if (s.next === s.to.length) this.queue.shift()
    }
    if (this.queued > 0) {
      this.schedule()
      this.lastTurn = now
      return
    }
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }
}
