/**
 * Bounded time series for the charts: a ring of 1-second points (the last
 * hour) and a ring of 1-minute means (the last day). Memory is fixed at
 * construction, however long the page stays open.
 */

export class Ring {
  private readonly times: Float64Array
  private readonly values: Array<Float64Array>
  private start = 0
  private count = 0

  constructor(readonly capacity: number, readonly fields: number) {
    this.times = new Float64Array(capacity)
    this.values = Array.from({ length: fields }, () => new Float64Array(capacity))
  }

  get length(): number {
    return this.count
  }

  /** Appends a point (seconds since the epoch; NaN values are gaps); the oldest goes when full. */
  push(t: number, row: ReadonlyArray<number>): void {
    const i = (this.start + this.count) % this.capacity
    this.times[i] = t
    for (let f = 0; f < this.fields; f++) this.values[f][i] = row[f] ?? NaN
    if (this.count < this.capacity) this.count++
    else this.start = (this.start + 1) % this.capacity
  }

  /** Points with t >= since, oldest first, as uPlot's [times, ...series] (nulls for gaps). */
  since(since: number): Array<Array<number | null>> {
    let first = 0
    while (first < this.count && this.times[(this.start + first) % this.capacity] < since) first++
    const n = this.count - first
    const out: Array<Array<number | null>> = Array.from({ length: this.fields + 1 }, () => new Array<number | null>(n))
    for (let k = 0; k < n; k++) {
      const i = (this.start + first + k) % this.capacity
      out[0][k] = this.times[i]
      for (let f = 0; f < this.fields; f++) {
        const v = this.values[f][i]
        out[f + 1][k] = Number.isNaN(v) ? null : v
      }
    }
    return out
  }
}

/** Means of the points of each whole minute, pushed to a coarser ring when the minute ends. */
export class MinuteMeans {
  private minute = -1
  private readonly sums: Float64Array
  private readonly counts: Float64Array

  constructor(private readonly into: Ring) {
    this.sums = new Float64Array(into.fields)
    this.counts = new Float64Array(into.fields)
  }

  add(t: number, row: ReadonlyArray<number>): void {
    const m = Math.floor(t / 60)
    if (m !== this.minute) {
      this.flush()
      this.minute = m
    }
    for (let f = 0; f < this.into.fields; f++) {
      const v = row[f]
      if (v !== undefined && !Number.isNaN(v)) {
        this.sums[f] += v
        this.counts[f]++
      }
    }
  }

  private flush(): void {
    if (this.minute < 0) return
    const row = Array.from(this.sums, (s, f) => (this.counts[f] > 0 ? s / this.counts[f] : NaN))
    this.into.push(this.minute * 60, row)
    this.sums.fill(0)
    this.counts.fill(0)
  }
}

/** A chart's data: fine points for the last hour, minute means for the last day. */
export class ChartSeries {
  readonly fine: Ring
  readonly coarse: Ring
  private readonly means: MinuteMeans

  constructor(fields: number, fineSeconds = 3_600, coarseMinutes = 1_440) {
    this.fine = new Ring(fineSeconds, fields)
    this.coarse = new Ring(coarseMinutes, fields)
    this.means = new MinuteMeans(this.coarse)
  }

  add(t: number, row: ReadonlyArray<number>): void {
    this.fine.push(t, row)
    this.means.add(t, row)
  }

  /** The window's data: fine points up to an hour back, minute means beyond. */
  window(nowSec: number, seconds: number): Array<Array<number | null>> {
    return seconds <= this.fine.capacity ? this.fine.since(nowSec - seconds) : this.coarse.since(nowSec - seconds)
  }
}

/** A list that keeps only its newest `capacity` items. */
export class Bounded<T> {
  private items: Array<T> = []
  constructor(readonly capacity: number) {}
  push(...xs: ReadonlyArray<T>): void {
    this.items.push(...xs)
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity)
  }
  /** Keeps the items for which `keep` holds. */
  retain(keep: (x: T) => boolean): void {
    this.items = this.items.filter(keep)
  }
  get all(): ReadonlyArray<T> {
    return this.items
  }
  get length(): number {
    return this.items.length
  }
}
