/**
 * Compressed time: simulated milliseconds since midnight run `rate` times
 * faster than the wall clock (a 24-hour day in a few minutes), and a
 * scheduler that runs callbacks at simulated times. The rate can change while
 * running (after the day, the drain runs faster); timers keep their simulated
 * due time.
 */

export class SimClock {
  private wallAt = 0
  private simAt = 0
  private started = false

  constructor(private rate: number) {}

  start(): void {
    this.wallAt = performance.now()
    this.simAt = 0
    this.started = true
  }

  /** Simulated ms since midnight (0 before start). */
  now(): number {
    return this.started ? this.simAt + (performance.now() - this.wallAt) * this.rate : 0
  }

  /** Simulated ms per wall ms. */
  get compression(): number {
    return this.rate
  }

  setCompression(rate: number): void {
    this.simAt = this.now()
    this.wallAt = performance.now()
    this.rate = rate
  }

  /** Wall ms that `simMs` of simulated time take now. */
  wallMs(simMs: number): number {
    return simMs / this.rate
  }
}

interface Timer {
  readonly at: number
  readonly seq: number
  readonly run: () => void
}

/** Runs callbacks at simulated times; checks every `tickMs` of wall time. */
export class Scheduler {
  private readonly heap: Array<Timer> = []
  private seq = 0
  private interval: ReturnType<typeof setInterval> | undefined

  constructor(readonly clock: SimClock, private readonly tickMs = 5) {}

  get pending(): number {
    return this.heap.length
  }

  start(): void {
    this.interval ??= setInterval(() => this.runDue(), this.tickMs)
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval)
    this.interval = undefined
  }

  at(simMs: number, run: () => void): void {
    this.push({ at: simMs, seq: this.seq++, run })
  }

  after(simMs: number, run: () => void): void {
    this.at(this.clock.now() + Math.max(0, simMs), run)
  }

  /** Resolves after `simMs` of simulated time. */
  sleep(simMs: number): Promise<void> {
    return new Promise((resolve) => this.after(simMs, resolve))
  }

  /** Resolves at simulated time `simMs` (at once if it has passed). */
  until(simMs: number): Promise<void> {
    return new Promise((resolve) => this.at(simMs, resolve))
  }

  private runDue(): void {
    const now = this.clock.now()
    let n = 0
    while (this.heap.length > 0 && this.heap[0].at <= now && n < 5_000) {
      const t = this.pop()
      n++
      try {
        t.run()
      } catch (e) {
        console.error(`simulator timer failed: ${String(e)}`)
      }
    }
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push(t: Timer): void {
    const h = this.heap
    h.push(t)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(h[i], h[p])) break
      ;[h[i], h[p]] = [h[p], h[i]]
      i = p
    }
  }

  private pop(): Timer {
    const h = this.heap
    const top = h[0]
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(h[l], h[m])) m = l
        if (r < h.length && this.less(h[r], h[m])) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m], h[i]]
        i = m
      }
    }
    return top
  }
}
