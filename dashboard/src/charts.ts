/**
 * The charts over the last 5 minutes to 7 days (uPlot): throughput, latency
 * percentiles, fill and split rate. The server keeps the history
 * (GET /v1/ops/history): when the page opens, reconnects or the range
 * changes, it asks for the range's points and draws them before the ticks it
 * has seen itself, which each chart keeps in a bounded ChartSeries. The time
 * axis always spans the whole range (so its ticks fall on round times); setData
 * runs only from the page's render loop.
 */
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import type { OpsHistoryAnswer, OpsTick } from "./feed-types.ts"
import { fmtAxisMs } from "./dom.ts"
import { ChartSeries } from "./series.ts"

interface ChartSpec {
  readonly title: string
  readonly series: ReadonlyArray<{ readonly label: string; readonly colour: string }>
  readonly value: (tick: OpsTick) => ReadonlyArray<number>
  /** The same figures in the server's history, point by point. */
  readonly history: (h: OpsHistoryAnswer["series"]) => ReadonlyArray<ReadonlyArray<number | null>>
  readonly unit: (v: number) => string
}

const percent = (xs: ReadonlyArray<number | null>): Array<number | null> => xs.map((x) => (x === null ? null : x * 100))

const specs: ReadonlyArray<ChartSpec> = [
  {
    title: "Throughput (per second)",
    series: [{ label: "orders", colour: "#4ea1ff" }, { label: "reservations", colour: "#2ec27e" }, { label: "requests", colour: "#8b96a8" }],
    value: (t) => [t.metrics.ordersPerSec, t.metrics.reservationsPerSec, t.metrics.requestsPerSec],
    history: (h) => [h.ordersPerSec, h.reservationsPerSec, h.requestsPerSec],
    unit: (v) => v.toFixed(0)
  },
  {
    title: "Latency",
    series: [{ label: "p50", colour: "#2ec27e" }, { label: "p90", colour: "#f5c211" }, { label: "p99", colour: "#ff5d5d" }],
    value: (t) => [t.metrics.latencyMs.p50, t.metrics.latencyMs.p90, t.metrics.latencyMs.p99],
    history: (h) => [h.latencyP50Ms, h.latencyP90Ms, h.latencyP99Ms],
    unit: fmtAxisMs
  },
  {
    title: "Fill and split rate (%)",
    series: [{ label: "fill", colour: "#2ec27e" }, { label: "split", colour: "#c77dff" }],
    value: (t) => [t.metrics.fillRate === null ? NaN : t.metrics.fillRate * 100, t.metrics.splitRate === null ? NaN : t.metrics.splitRate * 100],
    history: (h) => [percent(h.fillRate), percent(h.splitRate)],
    unit: (v) => v.toFixed(1)
  }
]

const axisFont = "12px system-ui, sans-serif"

export const chartWindows: ReadonlyArray<{ readonly label: string; readonly seconds: number }> = [
  { label: "5 min", seconds: 300 },
  { label: "15 min", seconds: 900 },
  { label: "1 h", seconds: 3_600 },
  { label: "6 h", seconds: 21_600 },
  { label: "24 h", seconds: 86_400 },
  { label: "7 d", seconds: 604_800 }
]

const two = (n: number): string => String(n).padStart(2, "0")
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

/** An x-axis label (local time): seconds shown only for steps under a minute, the date for steps of a day or more. */
const timeLabel = (t: number, stepSec: number): string => {
  const d = new Date(t * 1000)
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`
  if (stepSec < 60) return `${hm}:${two(d.getSeconds())}`
  if (stepSec < 86_400) return d.getHours() === 0 && d.getMinutes() === 0 ? `${months[d.getMonth()]} ${d.getDate()}` : hm
  return `${months[d.getMonth()]} ${d.getDate()}`
}

export class Charts {
  private readonly data = specs.map((s) => new ChartSeries(s.series.length))
  private readonly plots: Array<uPlot> = []
  private windowSeconds = 300
  /** The server's points of the current range (null until they came). */
  private history: OpsHistoryAnswer | null = null
  private asked = 0

  /** `fetchHistory`: the server's history of the last `seconds` (GET /v1/ops/history). */
  constructor(private readonly host: HTMLElement, private readonly fetchHistory: (seconds: number) => Promise<OpsHistoryAnswer>) {
    for (const spec of specs) {
      const box = document.createElement("div")
      box.className = "chart"
      host.append(box)
      const opts: uPlot.Options = {
        title: spec.title,
        width: 400,
        height: 170,
        cursor: { drag: { x: false, y: false } },
        legend: { live: true },
        // the axis spans the whole range, ending now: uPlot then picks round steps (minutes, hours, days)
        scales: { x: { time: true, range: () => [Date.now() / 1000 - this.windowSeconds, Date.now() / 1000] } },
        axes: [
          {
            stroke: "#8b96a8", font: axisFont, grid: { stroke: "#1f2a3a" }, ticks: { stroke: "#1f2a3a" },
            // round times (uPlot aligns the ticks on its step); the ticks and step are left on the chart for tests
            values: (_u, splits, _axis, _space, step) => {
              box.dataset.xTicks = splits.join(",")
              box.dataset.xStep = String(step)
              return splits.map((t) => timeLabel(t, step))
            }
          },
          { stroke: "#8b96a8", font: axisFont, grid: { stroke: "#1f2a3a" }, ticks: { stroke: "#1f2a3a" }, size: 64, values: (_u, vals) => vals.map((v) => spec.unit(v)) }
        ],
        series: [{}, ...spec.series.map((s) => ({ label: s.label, stroke: s.colour, width: 1.5, spanGaps: false, points: { show: false } }))]
      }
      this.plots.push(new uPlot(opts, [[], ...spec.series.map(() => [])] as uPlot.AlignedData, box))
    }
    new ResizeObserver(() => this.resize()).observe(host)
  }

  setWindow(seconds: number): void {
    this.windowSeconds = seconds
    void this.loadHistory()
  }

  /** Asks the server for the range's history (on opening, reconnecting, changing the range); a later answer replaces it. */
  async loadHistory(): Promise<void> {
    const ask = ++this.asked
    const seconds = this.windowSeconds
    try {
      const h = await this.fetchHistory(seconds)
      if (ask === this.asked) this.history = h
    } catch {
      // the live ticks still draw; the next reconnect or range change asks again
    }
  }

  add(tick: OpsTick): void {
    const t = tick.at / 1000
    specs.forEach((spec, i) => this.data[i].add(t, spec.value(tick)))
  }

  private resize(): void {
    for (const p of this.plots) {
      const w = Math.max(200, Math.floor((p.root.parentElement?.getBoundingClientRect().width ?? 400) - 4))
      if (Math.abs(p.width - w) > 2) p.setSize({ width: w, height: 170 })
    }
  }

  render(): void {
    const now = Date.now() / 1000
    this.plots.forEach((p, i) => {
      const data = this.withHistory(i, this.data[i].window(now, this.windowSeconds))
      p.setData(data as uPlot.AlignedData)
      if (p.root.parentElement) p.root.parentElement.dataset.points = String(data[0].length)
    })
  }

  /** The server's points older than the first tick the page kept itself, then the page's. */
  private withHistory(chart: number, local: Array<Array<number | null>>): Array<Array<number | null>> {
    const h = this.history
    if (h === null || h.at.length === 0) return local
    const since = Date.now() / 1000 - this.windowSeconds
    const firstLocal = local[0].length > 0 ? (local[0][0] as number) : Infinity
    const series = specs[chart].history(h.series)
    const out: Array<Array<number | null>> = local.map(() => [])
    h.at.forEach((ms, k) => {
      const t = ms / 1000
      if (t < since || t >= firstLocal) return
      out[0].push(t)
      series.forEach((s, f) => out[f + 1].push(s[k] ?? null))
    })
    return out.map((col, f) => col.concat(local[f]))
  }
}
