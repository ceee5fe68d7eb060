/**
 * The ops feed's chart history, kept by the server so that a page opened (or
 * reloaded) at any time draws its charts at once for any range from 5 minutes
 * to 7 days (GET /v1/ops/history, docs/protocol.md).
 *
 * Each tick becomes a point of the charted figures (rates, latency
 * percentiles, fill and split rate). Bounded, however long the gateway runs:
 *   - 1 s points (one per tick) for the last hour: historyFineKeptMs;
 *   - 1 min points (the means of that minute's ticks) for 7 days: historyCoarseKeptMs;
 * that is at most 3,600 + 10,080 points in memory and in the store. Ranges
 * beyond an hour are answered from the 1 min points, averaged into wider
 * buckets (5, 10, ... min) so that an answer holds at most historyPointsMax.
 *
 * With a store (the engine's: embedded PGlite or PostgreSQL, table
 * ops_history) the points are written in small batches (1 s points every
 * historyFlushMs, each 1 min point as its minute ends, old ones pruned then)
 * and read back when the gateway starts, so the charts survive a restart.
 * Without one (a cluster gateway, which holds no store) they live in memory.
 */
import type { OpsHistoryStore, OpsPoint } from "../engine/index.ts"
import type { OpsHistoryAnswer, OpsHistoryFigure, OpsTick } from "./ops-feed-types.ts"

export const historyFineKeptMs = 3_600_000
export const historyCoarseKeptMs = 7 * 86_400_000
export const historyRangeMinSec = 60
export const historyRangeMaxSec = historyCoarseKeptMs / 1000
/** Points in one answer at most (a chart a few hundred pixels wide draws no more). */
export const historyPointsMax = 2_000
/** 1 s points are written to the store in batches this far apart. */
export const historyFlushMs = 10_000

/** The charted figures, in the order of a point's values. */
export const historyFigures: ReadonlyArray<OpsHistoryFigure> = [
  "ordersPerSec", "reservationsPerSec", "requestsPerSec", "latencyP50Ms", "latencyP90Ms", "latencyP99Ms", "fillRate", "splitRate"
]

const figuresOf = (t: OpsTick): Array<number | null> => [
  t.metrics.ordersPerSec, t.metrics.reservationsPerSec, t.metrics.requestsPerSec,
  t.metrics.latencyMs.p50, t.metrics.latencyMs.p90, t.metrics.latencyMs.p99,
  t.metrics.fillRate, t.metrics.splitRate
]

const round3 = (x: number): number => Math.round(x * 1000) / 1000

/** Means of each figure over some points (null where no point has a value). */
const meanOf = (points: ReadonlyArray<OpsPoint>): Array<number | null> =>
  historyFigures.map((_, f) => {
    let sum = 0
    let n = 0
    for (const p of points) {
      const v = p.figures[f]
      if (v !== null && v !== undefined) {
        sum += v
        n++
      }
    }
    return n === 0 ? null : round3(sum / n)
  })

/** Bucket widths (minutes) ranges beyond an hour are averaged into. */
const bucketMinutes = [1, 2, 5, 10, 15, 30, 60]

export class OpsHistory {
  private fine: Array<OpsPoint> = []
  private coarse: Array<OpsPoint> = []
  private minute = -1
  private minutePoints: Array<OpsPoint> = []
  private unsaved: Array<OpsPoint> = []
  private lastFlushMs = 0
  private failing = false

  constructor(private readonly store?: OpsHistoryStore) {}

  /** Reads back what the store kept (nothing without a store); a store that fails leaves the history empty. */
  async load(now = Date.now()): Promise<void> {
    if (!this.store) return
    try {
      const [fine, coarse] = await Promise.all([this.store.loadPoints(1, now - historyFineKeptMs), this.store.loadPoints(60, now - historyCoarseKeptMs)])
      this.fine = [...fine, ...this.fine]
      this.coarse = [...coarse, ...this.coarse]
    } catch (e) {
      console.error(`gateway: ops history could not be read: ${String(e)}`)
    }
  }

  /** Adds a tick's point; a finished minute becomes a 1 min point. */
  record(tick: OpsTick): void {
    const point: OpsPoint = { at: tick.at, figures: figuresOf(tick) }
    this.fine.push(point)
    this.unsaved.push(point)
    const minute = Math.floor(tick.at / 60_000)
    if (minute !== this.minute) {
      if (this.minutePoints.length > 0) this.closeMinute(tick.at)
      this.minute = minute
    }
    this.minutePoints.push(point)
    while (this.fine[0].at < tick.at - historyFineKeptMs) this.fine.shift()
    if (tick.at - this.lastFlushMs >= historyFlushMs) void this.flush(tick.at)
  }

  private closeMinute(now: number): void {
    const point: OpsPoint = { at: this.minute * 60_000, figures: meanOf(this.minutePoints) }
    this.minutePoints = []
    this.coarse.push(point)
    while (this.coarse[0].at < now - historyCoarseKeptMs) this.coarse.shift()
    void this.write(async (store) => {
      await store.savePoints(60, [point])
      await store.prunePoints(60, now - historyCoarseKeptMs)
      await store.prunePoints(1, now - historyFineKeptMs)
    })
  }

  /** Writes the 1 s points not yet stored; resolves when written (or failed, which is logged). */
  flush(now = Date.now()): Promise<void> {
    this.lastFlushMs = now
    const points = this.unsaved
    this.unsaved = []
    return points.length > 0 ? this.write((store) => store.savePoints(1, points)) : Promise.resolve()
  }

  /** On closing: the 1 s points not yet stored, and the minute in progress as far as it went (so a restart leaves no gap in the 1 min points). */
  close(): Promise<void> {
    const minute = this.minutePoints.length > 0 ? { at: this.minute * 60_000, figures: meanOf(this.minutePoints) } : undefined
    return Promise.all([this.flush(), minute ? this.write((store) => store.savePoints(60, [minute])) : undefined]).then(() => undefined)
  }

  private write(f: (store: OpsHistoryStore) => Promise<void>): Promise<void> {
    if (!this.store) return Promise.resolve()
    return f(this.store).then(
      () => {
        this.failing = false
      },
      (e: unknown) => {
        // said once per failing stretch: the store being down is reported elsewhere (readiness, alerts)
        if (!this.failing) console.error(`gateway: ops history could not be written: ${String(e)}`)
        this.failing = true
      }
    )
  }

  /** The points of the last `seconds` (historyRangeMinSec to historyRangeMaxSec), at most historyPointsMax. */
  answer(seconds: number, now = Date.now()): OpsHistoryAnswer {
    const from = now - seconds * 1000
    let resolutionSec: number
    let points: Array<OpsPoint>
    if (seconds * 1000 <= historyFineKeptMs) {
      resolutionSec = 1
      points = this.fine.filter((p) => p.at >= from)
    } else {
      const minutes = bucketMinutes.find((m) => seconds / 60 / m <= historyPointsMax) ?? bucketMinutes[bucketMinutes.length - 1]
      resolutionSec = minutes * 60
      const coarse = this.coarse.filter((p) => p.at >= from)
      if (this.minutePoints.length > 0) coarse.push({ at: this.minute * 60_000, figures: meanOf(this.minutePoints) })
      points = minutes === 1 ? coarse : bucketed(coarse, minutes * 60_000)
    }
    const series: Partial<Record<OpsHistoryFigure, Array<number | null>>> = {}
    historyFigures.forEach((name, f) => (series[name] = points.map((p) => p.figures[f] ?? null)))
    return { from, to: now, resolutionSec, at: points.map((p) => p.at), series: series as OpsHistoryAnswer["series"] }
  }
}

/** Means of the points in each bucket of `widthMs` (aligned on multiples of it), oldest first. */
const bucketed = (points: ReadonlyArray<OpsPoint>, widthMs: number): Array<OpsPoint> => {
  const out: Array<OpsPoint> = []
  let bucket: Array<OpsPoint> = []
  let start = -1
  for (const p of points) {
    const b = Math.floor(p.at / widthMs) * widthMs
    if (b !== start && bucket.length > 0) {
      out.push({ at: start, figures: meanOf(bucket) })
      bucket = []
    }
    start = b
    bucket.push(p)
  }
  if (bucket.length > 0) out.push({ at: start, figures: meanOf(bucket) })
  return out
}
