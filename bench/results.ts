/**
 * What `npm run bench -- all` leaves behind: bench/results/latest.json (the
 * same object `--json` prints) and bench/results/latest.html, a small static
 * page with every benchmark's figures and, for `compare`, the side-by-side
 * table and bar charts (inline SVG: no script, no CDN, opens from disk).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type { ContenderFigures } from "./compare.ts"
import type { BenchResult } from "./report.ts"

interface Machine {
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly node: string
  readonly date: string
}

type ContenderRow = ContenderFigures

interface Bar {
  readonly label: string
  readonly value: number
  readonly text: string
}

const escape = (s: unknown): string =>
  String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const fmt = (x: number): string => x.toLocaleString("en-US")

const colors = ["#2f6fde", "#6a9cf0", "#d9822b", "#c23b3b", "#3a9a5b", "#7b5ea7"]

/** A horizontal bar chart: one bar per item, the value written after the bar. */
export const barChart = (title: string, bars: ReadonlyArray<Bar>): string => {
  const labelWidth = 170
  const barMax = 420
  const rowHeight = 30
  const width = labelWidth + barMax + 170
  const height = 34 + bars.length * rowHeight
  const max = Math.max(...bars.map((b) => b.value), 1e-9)
  const rows = bars.map((b, i) => {
    const y = 30 + i * rowHeight
    const w = Math.max(1, Math.round((b.value / max) * barMax))
    return `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escape(b.label)}</text>` +
      `<rect x="${labelWidth}" y="${y + 2}" width="${w}" height="${rowHeight - 10}" fill="${colors[i % colors.length]}" rx="2"/>` +
      `<text x="${labelWidth + w + 6}" y="${y + 15}">${escape(b.text)}</text>`
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}">` +
    `<text x="0" y="16" font-weight="bold">${escape(title)}</text>${rows.join("")}</svg>`
}

interface HeapMark {
  readonly orders: number
  readonly heapMB: number
  readonly residentOrders: number
}

/** A line chart of the soak's heap (after a full collection) against orders placed, with orders in memory on the right axis. */
export const heapChart = (marks: ReadonlyArray<HeapMark>): string => {
  const width = 760
  const height = 300
  const left = 60
  const right = 70
  const top = 30
  const bottom = 40
  const w = width - left - right
  const h = height - top - bottom
  const maxOrders = Math.max(...marks.map((m) => m.orders), 1)
  const maxHeap = Math.max(...marks.map((m) => m.heapMB), 1) * 1.15
  const maxResident = Math.max(...marks.map((m) => m.residentOrders), 1) * 1.15
  const x = (orders: number) => left + (orders / maxOrders) * w
  const line = (value: (m: HeapMark) => number, max: number) =>
    marks.map((m, i) => `${i === 0 ? "M" : "L"}${x(m.orders).toFixed(1)},${(top + h - (value(m) / max) * h).toFixed(1)}`).join(" ")
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    `<text x="${left - 6}" y="${top + h - f * h + 4}" text-anchor="end">${fmt(Math.round(f * maxHeap))}</text>` +
    `<text x="${left + w + 6}" y="${top + h - f * h + 4}">${fmt(Math.round(f * maxResident))}</text>` +
    `<line x1="${left}" x2="${left + w}" y1="${top + h - f * h}" y2="${top + h - f * h}" stroke="#eee"/>`).join("")
  const xTicks = marks.filter((_, i) => i % Math.max(1, Math.ceil(marks.length / 6)) === 0 || i === marks.length - 1).map((m) =>
    `<text x="${x(m.orders)}" y="${top + h + 16}" text-anchor="middle">${fmt(m.orders)}</text>`).join("")
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="heap against orders placed">` +
    `<text x="0" y="16" font-weight="bold">heap after a full collection, MB (left, blue) and orders in memory (right, orange), against orders placed</text>${ticks}${xTicks}` +
    `<path d="${line((m) => m.heapMB, maxHeap)}" fill="none" stroke="${colors[0]}" stroke-width="2"/>` +
    `<path d="${line((m) => m.residentOrders, maxResident)}" fill="none" stroke="${colors[2]}" stroke-width="2" stroke-dasharray="5 3"/></svg>`
}

const rowsTable = (r: BenchResult): string =>
  `<table><tbody>${r.rows.map(([what, value, unit]) =>
    `<tr><th>${escape(what)}</th><td class="num">${escape(typeof value === "number" ? fmt(value) : value)}</td><td>${escape(unit)}</td></tr>`).join("")}</tbody></table>`

const compareSection = (contenders: ReadonlyArray<ContenderRow>): string => {
  const table = `<table><thead><tr><th>contender</th><th>throughput (ops/s)</th><th>p50 (ms)</th><th>p99 (ms)</th><th>oversold</th><th>lost acks</th><th>ratio to engine</th><th>durability</th></tr></thead><tbody>${
    contenders.map((c) => `<tr><th>${escape(c.name)}</th><td class="num">${fmt(c.throughput)}</td><td class="num">${c.p50Ms.toFixed(2)}</td><td class="num">${c.p99Ms.toFixed(2)}</td>` +
      `<td class="num ${c.oversold === 0 ? "good" : "bad"}">${c.oversold}</td><td class="num ${c.lostAcks === 0 ? "good" : "bad"}">${c.lostAcks}</td>` +
      `<td class="num">${c.ratioToEngine === null ? "-" : c.ratioToEngine.toFixed(3)}</td><td>${escape(c.durability)}</td></tr>`).join("")
  }</tbody></table>`
  const charts = [
    barChart("throughput, requests answered per second (higher is better)", contenders.map((c) => ({ label: c.name, value: c.throughput, text: `${fmt(c.throughput)} /s` }))),
    barChart("latency p50 at full load, ms (lower is better)", contenders.map((c) => ({ label: c.name, value: c.p50Ms, text: `${c.p50Ms.toFixed(2)} ms` }))),
    barChart("latency p99 at full load, ms (lower is better)", contenders.map((c) => ({ label: c.name, value: c.p99Ms, text: `${c.p99Ms.toFixed(2)} ms` }))),
    barChart("oversold units + lost acknowledgements (0 is the only good value)", contenders.map((c) => ({ label: c.name, value: c.oversold + c.lostAcks, text: `${c.oversold} oversold, ${c.lostAcks} lost` })))
  ]
  return `${table}<div class="charts">${charts.map((c) => `<figure>${c}</figure>`).join("")}</div>`
}

export const renderHtml = (results: ReadonlyArray<BenchResult>, machine: Machine): string => {
  const sections = results.map((r) => {
    const contenders = (r.figures as { contenders?: ReadonlyArray<ContenderRow> }).contenders
    const heapMarks = (r.figures as { heapMarks?: ReadonlyArray<HeapMark> }).heapMarks
    const chart = Array.isArray(heapMarks) && heapMarks.length > 0 ? `<figure>${heapChart(heapMarks)}</figure>` : ""
    return `<section><h2>${escape(r.name)}</h2>${Array.isArray(contenders) ? compareSection(contenders) : ""}${chart}${rowsTable(r)}</section>`
  })
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OMS routing engine: benchmarks ${escape(machine.date.slice(0, 10))}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #999; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.good { color: #2a7a3f; } td.bad { color: #b00020; font-weight: bold; }
figure { margin: 1em 0; } svg { font: 12px system-ui, sans-serif; max-width: 100%; height: auto; }
.machine { color: #555; }
</style></head><body>
<h1>OMS routing engine: benchmarks</h1>
<p class="machine">${escape(machine.date)} &middot; ${machine.cpus} cores (${escape(machine.cpuModel)}), ${machine.memoryGiB} GiB, Node ${escape(machine.node)}.
Load generated on the same machine, to 127.0.0.1 only; the machine is shared, so compare figures as ratios within one run.
Produced by <code>npm run bench -- all</code>; the same figures are in latest.json.</p>
${sections.join("\n")}
</body></html>
`
}

/** Writes latest.json (`out`, the object `--json` prints) and latest.html next to this file, in results/. */
export const writeResults = (results: ReadonlyArray<BenchResult>, out: { readonly machine: Machine }): { json: string; html: string } => {
  const dir = fileURLToPath(new URL("./results/", import.meta.url))
  mkdirSync(dir, { recursive: true })
  const json = `${dir}latest.json`
  const html = `${dir}latest.html`
  writeFileSync(json, `${JSON.stringify(out, null, 2)}\n`)
  writeFileSync(html, renderHtml(results, out.machine))
  return { json, html }
}
