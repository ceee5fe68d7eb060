/**
 * The gateway's Prometheus metrics through prom-client (one Registry per
 * process, rendered for GET /metrics): requests and errors by operation and
 * code, latency histograms, connections, subscriptions, pushes, webhook
 * deliveries, and the engine's own stats (gauges read at scrape time).
 *
 * Also keeps an HDR histogram (hdr-histogram-js) of every request's latency
 * since the last ops tick, for the ops feed's per-tick percentiles: every
 * request counts, whatever the rate (3 significant digits, from 1 µs to
 * tickLatencyUsMax; a slower request is recorded at that bound).
 */
import * as hdr from "hdr-histogram-js"
import { Counter, Gauge, Histogram, Registry } from "prom-client"
import type { EngineStats } from "../engine/index.ts"

const latencyBucketsSec = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
/** The slowest latency the tick histogram tells apart (60 s, in µs). */
export const tickLatencyUsMax = 60_000_000

/** Nearest-rank percentile of a sample sorted ascending; 0 for an empty one. */
export const percentileOfSorted = (sorted: ArrayLike<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]

/** Nearest-rank percentile of an unsorted sample (sorts a copy); 0 for an empty one (benchmarks' samples). */
export const percentile = (sample: ArrayLike<number>, p: number): number => percentileOfSorted(Float64Array.from(sample).sort(), p)

/** Latency percentiles of one tick, in ms to the hundredth. */
export interface TickLatency {
  readonly count: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
}

const engineGauges: ReadonlyArray<[string, string, (e: EngineStats) => number]> = [
  ["engine_partitions", "Engine partitions.", (e) => e.partitions],
  ["engine_pools", "Stock pools (SKU x node) in memory.", (e) => e.pools],
  ["engine_holds", "Live cart holds.", (e) => e.holds],
  ["engine_orders", "Orders in memory.", (e) => e.orders],
  ["engine_mailbox_commands", "Commands waiting for a batch, or processed and waiting for the next journal append.", (e) => e.mailbox],
  ["engine_batches_total", "Batches committed.", (e) => e.batches],
  ["engine_events_total", "Events committed.", (e) => e.events],
  ["engine_last_commit_seconds", "Duration of the last group commit.", (e) => e.lastCommitMs / 1000],
  ["engine_running", "1 while the engine takes commands.", (e) => (e.state === "running" ? 1 : 0)]
]

export class GatewayMetrics {
  readonly registry = new Registry()
  private readonly help = new Map<string, string>()
  private readonly counters = new Map<string, Counter>()
  private readonly requests: Counter<"transport" | "op">
  private readonly errors: Counter<"code">
  private readonly seconds: Histogram<"transport">
  private engineNow: EngineStats | null = null
  private engineGaugesOn = false
  /** Plain tallies the ops feed reads each tick (prom-client's reads are asynchronous). */
  private requestsHandled = 0
  private readonly errorsByCode = new Map<string, number>()
  private tick = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: tickLatencyUsMax, numberOfSignificantValueDigits: 3, autoResize: false })

  constructor() {
    this.describe("gateway_pushes_total", "Pushes sent to WS clients, by kind.")
    this.describe("gateway_pushes_held_back_total", "Availability pushes held back (coalesced) for slow consumers.")
    this.describe("gateway_ws_closed_total", "WS connections closed by the gateway, by reason.")
    this.describe("gateway_webhook_deliveries_total", "Webhook attempts, by outcome (delivered, failed, gave_up).")
    this.requests = new Counter({ name: "gateway_requests_total", help: "Requests handled, by transport (ws, http) and operation.", labelNames: ["transport", "op"], registers: [this.registry] })
    this.errors = new Counter({ name: "gateway_errors_total", help: "Error answers, by code.", labelNames: ["code"], registers: [this.registry] })
    this.seconds = new Histogram({
      name: "gateway_request_seconds", help: "Time from request received to answer sent, by transport.",
      labelNames: ["transport"], buckets: latencyBucketsSec, registers: [this.registry]
    })
    this.counters.set("gateway_requests_total", this.requests)
    this.counters.set("gateway_errors_total", this.errors)
  }

  /** The help text of a counter made on its first `count`. */
  describe(name: string, help: string): void {
    this.help.set(name, help)
  }

  /** A value read at scrape time: a gauge, or a counter if its name ends in _total. */
  gauge(name: string, help: string, read: () => number): void {
    this.registry.removeSingleMetric(name)
    if (name.endsWith("_total")) {
      new Counter({
        name, help, registers: [this.registry],
        collect() {
          this.reset()
          this.inc(read())
        }
      })
    } else {
      new Gauge({
        name, help, registers: [this.registry],
        collect() {
          this.set(read())
        }
      })
    }
  }

  count(name: string, labels: Readonly<Record<string, string>> = {}, by = 1): void {
    let c = this.counters.get(name)
    if (c === undefined) {
      c = new Counter({ name, help: this.help.get(name) ?? name, labelNames: Object.keys(labels), registers: [this.registry] })
      this.counters.set(name, c)
    }
    c.inc(labels, by)
    if (name === "gateway_errors_total" && labels.code !== undefined) this.errorsByCode.set(labels.code, (this.errorsByCode.get(labels.code) ?? 0) + by)
  }

  /** One answered request: counted, its latency observed, its error code (if any) counted. */
  request(transport: "ws" | "http", op: string, startedMs: number, errorCode?: string): void {
    const ms = performance.now() - startedMs
    this.requests.inc({ transport, op })
    this.requestsHandled++
    if (errorCode !== undefined) this.count("gateway_errors_total", { code: errorCode })
    this.seconds.observe({ transport }, ms / 1000)
    this.tick.recordValue(Math.min(tickLatencyUsMax, Math.max(1, Math.round(ms * 1000))))
  }

  /** Percentiles of every request's latency since the last call (then starts again), for the ops feed. */
  takeTickLatency(): TickLatency {
    const h = this.tick
    const ms = (p: number) => (h.totalCount === 0 ? 0 : Math.round(h.getValueAtPercentile(p) / 10) / 100)
    const out = { count: h.totalCount, p50: ms(50), p90: ms(90), p99: ms(99) }
    h.reset()
    return out
  }

  /** Requests answered since the process started. */
  requestsTotal(): number {
    return this.requestsHandled
  }

  /** Error answers with this code since the process started. */
  errorsWith(code: string): number {
    return this.errorsByCode.get(code) ?? 0
  }

  /** The text exposition format, with the engine's stats read now (none when the engine is not known). */
  async render(engine: EngineStats | null): Promise<string> {
    this.engineNow = engine
    if (engine !== null && !this.engineGaugesOn) {
      for (const [name, help, read] of engineGauges) this.gauge(name, help, () => (this.engineNow === null ? 0 : read(this.engineNow)))
      this.engineGaugesOn = true
    } else if (engine === null && this.engineGaugesOn) {
      for (const [name] of engineGauges) this.registry.removeSingleMetric(name)
      this.engineGaugesOn = false
    }
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
