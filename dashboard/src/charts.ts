/**
 * The charts over the last minutes to hours (uPlot): throughput, latency
 * percentiles, fill and split rate. Each chart reads a bounded ChartSeries;
 * setData runs only from the page's render loop.
 */
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import type { OpsTick } from "./feed-types.ts"
import { fmtAxisMs } from "./dom.ts"
import { ChartSeries } from "./series.ts"

interface ChartSpec {
  readonly title: string
  readonly series: ReadonlyArray<{ readonly label: string; readonly colour: string }>
  readonly value: (tick: OpsTick) => ReadonlyArray<number>
  readonly unit: (v: number) => string
}

const specs: ReadonlyArray<ChartSpec> = [
  {
    title: "Throughput (per second)",
    series: [{ label: "orders", colour: "#4ea1ff" }, { label: "reservations", colour: "#2ec27e" }, { label: "requests", colour: "#8b96a8" }],
    value: (t) => [t.metrics.ordersPerSec, t.metrics.reservationsPerSec, t.metrics.requestsPerSec],
    unit: (v) => v.toFixed(0)
  },
  {
    title: "Latency",
    series: [{ label: "p50", colour: "#2ec27e" }, { label: "p90", colour: "#f5c211" }, { label: "p99", colour: "#ff5d5d" }],
    value: (t) => [t.metrics.latencyMs.p50, t.metrics.latencyMs.p90, t.metrics.latencyMs.p99],
    unit: fmtAxisMs
  },
  {
    title: "Fill and split rate (%)",
    series: [{ label: "fill", colour: "#2ec27e" }, { label: "split", colour: "#c77dff" }],
    value: (t) => [t.metrics.fillRate === null ? NaN : t.metrics.fillRate * 100, t.metrics.splitRate === null ? NaN : t.metrics.splitRate * 100],
    unit: (v) => v.toFixed(1)
  }
]

const axisFont = "12px system-ui, sans-serif"

export const chartWindows: ReadonlyArray<{ readonly label: string; readonly seconds: number }> = [
  { label: "5 min", seconds: 300 },
  { label: "15 min", seconds: 900 },
  { label: "1 h", seconds: 3_600 },
  { label: "6 h", seconds: 21_600 },
  { label: "24 h", seconds: 86_400 }
]

export class Charts {
  private readonly data = specs.map((s) => new ChartSeries(s.series.length))
  private readonly plots: Array<uPlot> = []
  private windowSeconds = 300

  constructor(private readonly host: HTMLElement) {
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
        scales: { x: { time: true } },
        axes: [
          { stroke: "#8b96a8", font: axisFont, grid: { stroke: "#1f2a3a" }, ticks: { stroke: "#1f2a3a" } },
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
    this.plots.forEach((p, i) => p.setData(this.data[i].window(now, this.windowSeconds) as uPlot.AlignedData))
  }
}
