/**
 * What the simulator measures while the day runs: every request it sends
 * (operation, transport, latency from send to reply, error code), bucketed by
 * simulated time for the report and by wall-clock second for the peak rate,
 * plus the business figures of each bucket (orders, units ordered and routed,
 * splits, shipping distance and cost, backorders, hold expiries).
 */
import { percentileOfSorted } from "../gateway/metrics.ts"

export const bucketSimMs = 30 * 60_000
export const dayBuckets = 48

export interface Bucket {
  requests: number
  errors: number
  latencies: Array<number>
  orders: number
  splitOrders: number
  unitsOrdered: number
  unitsRoutedAtPlacement: number
  unitsBackorderedAtPlacement: number
  shipments: number
  distanceKmSum: number
  /** Package costs (cost.ts model: no load term, no carrier rate). */
  costCentsSum: number
  /** Package costs as the engine priced them at routing (the shipment's costCents; the ops report's figure). */
  engineCostCentsSum: number
  /** Plan costs: packages plus split penalties. */
  planCostCentsSum: number
  holdsPlaced: number
  holdExpiries: number
  insufficientStock: number
  /** Open backordered units (sampled at the end of the bucket). */
  backorderedOpen: number
  /** shipmentsToday / capacityPerDay per node (sampled at the end of the bucket). */
  nodeLoad: Record<string, number>
}

const newBucket = (): Bucket => ({
  requests: 0, errors: 0, latencies: [], orders: 0, splitOrders: 0, unitsOrdered: 0, unitsRoutedAtPlacement: 0,
  unitsBackorderedAtPlacement: 0, shipments: 0, distanceKmSum: 0, costCentsSum: 0, engineCostCentsSum: 0, planCostCentsSum: 0, holdsPlaced: 0, holdExpiries: 0,
  insufficientStock: 0, backorderedOpen: 0, nodeLoad: {}
})

/** Codes that are the engine's answers to a fair request (sold out, already shipped, hold ran out, a delivery date no plan meets), not failures. */
export const answerCodes: ReadonlySet<string> = new Set([
  "insufficient_stock", "invalid_state", "hold_expired", "hold_used", "quantity_exceeds_open", "promise_unreachable", "hold_cart_limit", "hold_channel_share"
])

/** Nearest-rank percentile of a sorted sample (the gateway's definition). */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number => percentileOfSorted(sorted, p)

export class Metrics {
  /** Buckets 0..47 are the day; bucket 48 is the drain after it. */
  readonly buckets: Array<Bucket> = Array.from({ length: dayBuckets + 1 }, newBucket)
  readonly errorsByCode = new Map<string, number>()
  readonly requestsByOp = new Map<string, number>()
  private readonly perWallSecond: Array<number> = []
  /** Wall second at which the simulated day ended (the drain began). */
  private dayEndSecond = Infinity
  private readonly recent: Array<{ at: number; ms: number; ok: boolean }> = []
  private readonly wall0 = performance.now()
  private readonly day: Array<number> = []
  private readonly drain: Array<number> = []

  constructor(private readonly simNow: () => number) {}

  bucket(sim = this.simNow()): Bucket {
    return this.buckets[Math.min(dayBuckets, Math.max(0, Math.floor(sim / bucketSimMs)))]
  }

  /** Times a request; counts its error code (if it fails) and rethrows. */
  async time<T>(op: string, transport: "ws" | "http", f: () => Promise<T>): Promise<T> {
    const t0 = performance.now()
    try {
      const r = await f()
      this.record(op, transport, performance.now() - t0, undefined)
      return r
    } catch (e) {
      this.record(op, transport, performance.now() - t0, codeOf(e))
      throw e
    }
  }

  record(op: string, transport: "ws" | "http", ms: number, code: string | undefined): void {
    const b = this.bucket()
    b.requests++
    b.latencies.push(ms)
    ;(b === this.buckets[dayBuckets] ? this.drain : this.day).push(ms)
    const key = `${transport} ${op}`
    this.requestsByOp.set(key, (this.requestsByOp.get(key) ?? 0) + 1)
    if (code !== undefined) {
      b.errors++
      this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1)
      if (code === "insufficient_stock") b.insufficientStock++
    }
    const now = performance.now()
    const sec = Math.floor((now - this.wall0) / 1000)
    while (this.perWallSecond.length <= sec) this.perWallSecond.push(0)
    this.perWallSecond[sec]++
    this.recent.push({ at: now, ms, ok: code === undefined || answerCodes.has(code) })
  }

  /** Requests/s, p99 and failures over the last wall-clock second, for the progress line. */
  window(): { rate: number; p99: number; errors: number } {
    const now = performance.now()
    let drop = 0
    while (drop < this.recent.length && this.recent[drop].at < now - 1000) drop++
    this.recent.splice(0, drop)
    const sorted = this.recent.map((r) => r.ms).sort((a, b) => a - b)
    return { rate: this.recent.length, p99: percentile(sorted, 99), errors: this.recent.filter((r) => !r.ok).length }
  }

  get requests(): number {
    return this.day.length + this.drain.length
  }

  /** The day is over: what follows is the drain (counted apart from the day's rates). */
  markDayEnd(): void {
    this.dayEndSecond = Math.floor((performance.now() - this.wall0) / 1000)
  }

  /** Refused requests, answers such as insufficient_stock excluded. */
  get failures(): number {
    let n = 0
    for (const [code, v] of this.errorsByCode) if (!answerCodes.has(code)) n += v
    return n
  }

  /** The highest request rate of the day (not the drain) sustained over `seconds` consecutive wall-clock seconds. */
  peakSustainedRate(seconds = 5): number {
    const s = this.perWallSecond.slice(0, Math.min(this.perWallSecond.length, this.dayEndSecond))
    if (s.length === 0) return 0
    const w = Math.min(seconds, s.length)
    let sum = 0
    for (let i = 0; i < w; i++) sum += s[i]
    let best = sum
    for (let i = w; i < s.length; i++) {
      sum += s[i] - s[i - w]
      best = Math.max(best, sum)
    }
    return best / w
  }

  /** Latency percentiles of the day's requests, or of the drain's. */
  latency(phase: "day" | "drain" = "day"): { p50: number; p90: number; p99: number; max: number } {
    const sorted = [...(phase === "day" ? this.day : this.drain)].sort((a, b) => a - b)
    return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 }
  }
}

/** The named code of a refused request (GatewayError, HttpError), else "exception". */
export const codeOf = (e: unknown): string =>
  typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "exception"
