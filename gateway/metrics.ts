/**
 * The gateway's Prometheus metrics, kept in plain maps and rendered as text
 * exposition format for GET /metrics: requests and errors by operation and
 * code, latency histograms, connections, subscriptions, pushes, webhook
 * deliveries, and the engine's own stats (gauges read at scrape time).
 *
 * Also keeps a bounded sample of this tick's request latencies for the ops
 * feed's per-second percentiles.
 */
import type { EngineStats } from "../engine/index.ts"

const latencyBucketsSec = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const tickSampleMax = 10_000

interface RequestSeries {
  readonly counter: string
  readonly histogram: Histogram
}

interface Histogram {
  readonly counts: Array<number>
  sum: number
  count: number
}

const labelText = (labels: Readonly<Record<string, string>>): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
  return parts.length === 0 ? "" : `{${parts.join(",")}}`
}

/** Nearest-rank percentile of a sample sorted ascending; 0 for an empty one. */
export const percentileOfSorted = (sorted: ArrayLike<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]

/** Nearest-rank percentile of an unsorted sample (sorts a copy); 0 for an empty one. */
export const percentile = (sample: ArrayLike<number>, p: number): number => percentileOfSorted(Float64Array.from(sample).sort(), p)

export class GatewayMetrics {
  private readonly counters = new Map<string, Map<string, number>>()
  private readonly histograms = new Map<string, Histogram>()
  private readonly help = new Map<string, string>()
  private readonly gauges = new Map<string, () => number>()
  private tickLatenciesMs: Array<number> = []
  /** Per operation and transport: the label text of its request counter and its latency histogram. */
  private readonly requestSeries = new Map<string, { ws?: RequestSeries; http?: RequestSeries }>()

  constructor() {
    this.describe("gateway_requests_total", "Requests handled, by transport (ws, http) and operation.")
    this.describe("gateway_errors_total", "Error answers, by code.")
    this.describe("gateway_request_seconds", "Time from request received to answer sent, by transport.")
    this.describe("gateway_pushes_total", "Pushes sent to WS clients, by kind.")
    this.describe("gateway_pushes_held_back_total", "Availability pushes held back (coalesced) for slow consumers.")
    this.describe("gateway_ws_closed_total", "WS connections closed by the gateway, by reason.")
    this.describe("gateway_webhook_deliveries_total", "Webhook attempts, by outcome (delivered, failed, gave_up).")
  }

  describe(name: string, help: string): void {
    this.help.set(name, help)
  }

  /** A gauge read at scrape time (a counter if its name ends in _total). */
  gauge(name: string, help: string, read: () => number): void {
    this.help.set(name, help)
    this.gauges.set(name, read)
  }

  count(name: string, labels: Readonly<Record<string, string>> = {}, by = 1): void {
    let series = this.counters.get(name)
    if (!series) this.counters.set(name, (series = new Map()))
    const key = labelText(labels)
    series.set(key, (series.get(key) ?? 0) + by)
  }

  /** One answered request: counted, its latency observed, its error code (if any) counted. */
  request(transport: "ws" | "http", op: string, startedMs: number, errorCode?: string): void {
    const ms = performance.now() - startedMs
    // every request passes here: its series are found without building label text (no garbage per request)
    let r = this.requestSeries.get(op)?.[transport]
    if (r === undefined) {
      let byTransport = this.requestSeries.get(op)
      if (!byTransport) this.requestSeries.set(op, (byTransport = {}))
      const counter = labelText({ transport, op })
      const key = labelText({ transport })
      let h = this.histograms.get(key)
      if (!h) this.histograms.set(key, (h = { counts: latencyBucketsSec.map(() => 0), sum: 0, count: 0 }))
      r = byTransport[transport] = { counter, histogram: h }
    }
    let requests = this.counters.get("gateway_requests_total")
    if (!requests) this.counters.set("gateway_requests_total", (requests = new Map()))
    requests.set(r.counter, (requests.get(r.counter) ?? 0) + 1)
    if (errorCode !== undefined) this.count("gateway_errors_total", { code: errorCode })
    const h = r.histogram
    const sec = ms / 1000
    for (let i = 0; i < latencyBucketsSec.length; i++) if (sec <= latencyBucketsSec[i]) h.counts[i]++
    h.sum += sec
    h.count++
    if (this.tickLatenciesMs.length < tickSampleMax) this.tickLatenciesMs.push(ms)
  }

  /** The latencies recorded since the last call (bounded sample), for the ops feed. */
  drainTickLatencies(): Array<number> {
    const out = this.tickLatenciesMs
    this.tickLatenciesMs = []
    return out
  }

  counterValue(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.counters.get(name)?.get(labelText(labels)) ?? 0
  }

  /** A counter summed over all its labels. */
  counterTotal(name: string): number {
    let n = 0
    for (const v of this.counters.get(name)?.values() ?? []) n += v
    return n
  }

  render(engine: EngineStats | null): string {
    const lines: Array<string> = []
    const head = (name: string, type: string) => {
      const help = this.help.get(name)
      if (help) lines.push(`# HELP ${name} ${help}`)
      lines.push(`# TYPE ${name} ${type}`)
    }
    for (const [name, series] of this.counters) {
      head(name, "counter")
      for (const [labels, value] of series) lines.push(`${name}${labels} ${value}`)
    }
    head("gateway_request_seconds", "histogram")
    for (const [labels, h] of this.histograms) {
      const inner = labels === "" ? "" : labels.slice(1, -1) + ","
      latencyBucketsSec.forEach((le, i) => lines.push(`gateway_request_seconds_bucket{${inner}le="${le}"} ${h.counts[i]}`))
      lines.push(`gateway_request_seconds_bucket{${inner}le="+Inf"} ${h.count}`)
      lines.push(`gateway_request_seconds_sum${labels} ${h.sum}`)
      lines.push(`gateway_request_seconds_count${labels} ${h.count}`)
    }
    for (const [name, read] of this.gauges) {
      head(name, name.endsWith("_total") ? "counter" : "gauge")
      lines.push(`${name} ${read()}`)
    }
    if (engine) {
      const gauges: Array<[string, number, string]> = [
        ["engine_partitions", engine.partitions, "Engine partitions."],
        ["engine_pools", engine.pools, "Stock pools (SKU x node) in memory."],
        ["engine_holds", engine.holds, "Live cart holds."],
        ["engine_orders", engine.orders, "Orders in memory."],
        ["engine_mailbox_commands", engine.mailbox, "Commands waiting for a batch, or processed and waiting for the next journal append."],
        ["engine_batches_total", engine.batches, "Batches committed."],
        ["engine_events_total", engine.events, "Events committed."],
        ["engine_last_commit_seconds", engine.lastCommitMs / 1000, "Duration of the last group commit."],
        ["engine_running", engine.state === "running" ? 1 : 0, "1 while the engine takes commands."]
      ]
      for (const [name, value, help] of gauges) {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${name.endsWith("_total") ? "counter" : "gauge"}`, `${name} ${value}`)
      }
    }
    return lines.join("\n") + "\n"
  }
}
