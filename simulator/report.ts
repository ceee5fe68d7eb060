/**
 * The results of a simulation, written to a folder: `report.html` (one
 * self-contained page, charts as inline SVG, no scripts, no CDN),
 * `summary.json` (the figures of each day, the hindsight bound, the what-if
 * comparison) and the ledger of each day (`ledger-<label>.json`).
 *
 * Charts over simulated time: throughput, p50/p99 latency, fill and split
 * rates, shipping distance and cost, node utilisation, open backorders, hold
 * expiries; and failures by code. The node outage and the spike are shaded.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { compareRuns, type ComparisonRow, type PolicyFile } from "./compare.ts"
import type { HindsightResult } from "./hindsight.ts"
import { answerCodes } from "./metrics.ts"
import type { RunResult } from "./run.ts"
import type { Scenario } from "./scenario.ts"
import type { RunSummary } from "./summary.ts"

export const resultsRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), "results")

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"]

interface Line {
  readonly name: string
  readonly values: ReadonlyArray<number | null>
  readonly dashed?: boolean
  readonly color?: string
}

interface Band {
  readonly from: number
  readonly to: number
  readonly label: string
  readonly color: string
}

const niceMax = (x: number): number => {
  if (x <= 0) return 1
  const p = Math.pow(10, Math.floor(Math.log10(x)))
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p
  return 10 * p
}

/** A line chart over the 24 simulated hours (48 half-hour points). */
const lineChart = (title: string, unit: string, lines: ReadonlyArray<Line>, bands: ReadonlyArray<Band>, format: (y: number) => string = (y) => y.toFixed(0)): string => {
  const W = 760
  const H = 240
  const L = 60
  const R = 150
  const T = 28
  const B = 32
  const pw = W - L - R
  const ph = H - T - B
  const all = lines.flatMap((l) => l.values.filter((v): v is number => v !== null && Number.isFinite(v)))
  const ymax = niceMax(Math.max(0, ...all))
  const x = (hour: number) => L + (hour / 24) * pw
  const y = (v: number) => T + ph - (v / ymax) * ph
  const parts: Array<string> = [`<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`]
  parts.push(`<text x="${L}" y="18" class="t">${esc(title)}${unit ? ` (${esc(unit)})` : ""}</text>`)
  bands.forEach((b, i) => {
    parts.push(`<rect x="${x(b.from).toFixed(1)}" y="${T}" width="${(x(b.to) - x(b.from)).toFixed(1)}" height="${ph}" fill="${b.color}" opacity="0.18"/>`)
    parts.push(`<text x="${(x(b.from) + 2).toFixed(1)}" y="${T + 10 + (i % 3) * 12}" class="s">${esc(b.label)}</text>`)
  })
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4
    parts.push(`<line x1="${L}" x2="${L + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e7eb"/>`)
    parts.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="s">${esc(format(v))}</text>`)
  }
  for (let h = 0; h <= 24; h += 3) {
    parts.push(`<line x1="${x(h)}" x2="${x(h)}" y1="${T + ph}" y2="${T + ph + 4}" stroke="#6b7280"/>`)
    parts.push(`<text x="${x(h)}" y="${T + ph + 16}" text-anchor="middle" class="s">${String(h).padStart(2, "0")}:00</text>`)
  }
  parts.push(`<line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" stroke="#6b7280"/>`)
  lines.forEach((l, i) => {
    const color = l.color ?? palette[i % palette.length]
    let d = ""
    let pen = false
    l.values.forEach((v, k) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false
        return
      }
      d += `${pen ? "L" : "M"}${x(k / 2 + 0.25).toFixed(1)},${y(v).toFixed(1)}`
      pen = true
    })
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"${l.dashed ? ` stroke-dasharray="5 3"` : ""}/>`)
    parts.push(`<line x1="${L + pw + 10}" x2="${L + pw + 28}" y1="${T + 8 + i * 16}" y2="${T + 8 + i * 16}" stroke="${color}" stroke-width="2"${l.dashed ? ` stroke-dasharray="5 3"` : ""}/>`)
    parts.push(`<text x="${L + pw + 32}" y="${T + 12 + i * 16}" class="s">${esc(l.name)}</text>`)
  })
  parts.push("</svg>")
  return parts.join("")
}

/** Horizontal bars, biggest first. */
const barChart = (title: string, entries: ReadonlyArray<[string, number]>, colorOf: (label: string) => string): string => {
  const W = 760
  const rowH = 20
  const L = 200
  const H = 36 + Math.max(1, entries.length) * rowH
  const max = Math.max(1, ...entries.map(([, v]) => v))
  const parts = [`<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`, `<text x="0" y="18" class="t">${esc(title)}</text>`]
  if (entries.length === 0) parts.push(`<text x="${L}" y="44" class="s">none</text>`)
  entries.forEach(([label, v], i) => {
    const yy = 30 + i * rowH
    const w = ((W - L - 80) * v) / max
    parts.push(`<text x="${L - 8}" y="${yy + 13}" text-anchor="end" class="s">${esc(label)}</text>`)
    parts.push(`<rect x="${L}" y="${yy + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colorOf(label)}"/>`)
    parts.push(`<text x="${(L + w + 6).toFixed(1)}" y="${yy + 13}" class="s">${v}</text>`)
  })
  parts.push("</svg>")
  return parts.join("")
}

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`

const pct = (x: number) => `${(x * 100).toFixed(1)}%`
const money = (c: number) => `$${(c / 100).toFixed(2)}`
const ms = (x: number) => `${x.toFixed(1)} ms`

/** How the routing figures are counted: as the ops report counts them over the same run (docs/protocol.md, Reports). */
export const definitions =
  "Routing figures are counted as the ops report (GET /v1/reports) counts them over the same run: orders are the orders placed; " +
  "the split rate is the share of orders whose placement made more than one shipment; shipments are the packages of the placements " +
  "(shipments made later by re-routing, after a rejection, an outage or a short pick, are not counted, nor counted twice when withdrawn); " +
  "distance and cost are their means per shipment, the cost as the engine priced it at routing (package, distance, weight, node load, " +
  "and the carrier service of an order with a promise). The cost model figure leaves the load term and the carrier rate out, so that live " +
  "plans, what-if plans and the hindsight bound are priced alike."

const keyFigures = (s: RunSummary): Array<[string, string]> => [
  ["sessions", String(s.sessions)],
  ["requests (WS + HTTP)", String(s.requests)],
  ["peak sustained rate (5 s)", `${s.peakSustainedRate.toFixed(0)} req/s`],
  ["latency during the day p50 / p90 / p99 / max", `${ms(s.latency.p50)} / ${ms(s.latency.p90)} / ${ms(s.latency.p99)} / ${ms(s.latency.max)}`],
  ["p99 in the busiest half hour", ms(s.peakBucketP99)],
  ["drain after the day: requests, p50 / p99", `${s.drain.requests}, ${ms(s.drain.latency.p50)} / ${ms(s.drain.latency.p99)}`],
  ["failures (refusals other than sold out / already shipped)", String(s.failures)],
  ["orders", String(s.orders)],
  ["fill rate at placement (units routed / ordered)", pct(s.fillRate)],
  ["split rate (orders in more than one package)", pct(s.splitRate)],
  ["shipments at placement (packages; re-routings not counted) / per order", `${s.shipments} / ${s.shipmentsPerOrder.toFixed(2)}`],
  ["average shipping distance", `${s.avgDistanceKm.toFixed(0)} km`],
  ["average shipping cost per shipment, as the engine priced it (the ops report's figure)", money(s.avgEngineCostCents)],
  ["average shipping cost per shipment / per order, cost model without load term or carrier rate", `${money(s.avgCostCents)} / ${money(s.costPerOrderCents)}`],
  ["shipments from stores", pct(s.storeShare)],
  ["units backordered at placement / still open at the end", `${s.unitsBackorderedAtPlacement} / ${s.backorderedOpenAtEnd}`],
  ["cart holds placed / left to expire", `${s.holdsPlaced} / ${s.holdsExpired}`],
  ["busiest node at the end of the day", `${s.busiestNode.nodeId} ${pct(s.busiestNode.load)} of its daily capacity`],
  ["node outage", s.outage ? `${s.outage.nodeId} offline ${s.outage.fromHour}:00-${s.outage.toHour}:00` : "none"],
  ["pushes received (availability / order)", `${s.pushes.availability} / ${s.pushes.order}`],
  ["delivery promise answers / orders with a service or deliverBy / refused promise_unreachable", `${s.promise.answers} / ${s.promise.orders} / ${s.promise.unreachable}`],
  ["shipments late against their promise at the end", String(s.promise.lateShipments)],
  ["B2B orders / ship-complete / waiting whole as a backorder at placement / at the end", `${s.b2b.orders} / ${s.b2b.shipComplete} / ${s.b2b.shipCompleteBackorderedAtPlacement} / ${s.b2b.shipCompleteWaitingAtEnd}`],
  ["carrier tracking updates (estimates past the promised day)", `${s.tracking.updates} (${s.tracking.lateEstimates})`],
  ["feedback: count / average rating", `${s.feedback.count} / ${s.feedback.averageRating === null ? "n/a" : s.feedback.averageRating.toFixed(2)}`],
  ["simulator event-loop delay p99 (its share of the latency above)", ms(s.simulatorLoopDelayP99Ms)],
  ["CPU seconds: simulator / engine and gateway", `${s.cpuSeconds.simulator.toFixed(1)} / ${s.cpuSeconds.engine === null ? "n/a" : s.cpuSeconds.engine.toFixed(1)}`],
  ["wall clock: provision / day / drain / audit", `${s.wallSeconds.provision.toFixed(1)} s / ${s.wallSeconds.day.toFixed(1)} s / ${s.wallSeconds.drain.toFixed(1)} s / ${s.wallSeconds.audit.toFixed(1)} s`],
  ["compression", `${s.compression.toFixed(0)}x (24 h in ${(1440 / s.compression).toFixed(1)} min)`],
  ["drain finished every open shipment", s.drainComplete ? "yes" : "no (time cap reached)"],
  ["audit", s.auditOk ? "passed" : "FAILED"]
]

export interface ResultsInput {
  readonly dir?: string
  readonly scenario: Scenario
  readonly baseline: RunResult
  readonly whatIf?: RunResult
  readonly policy?: PolicyFile
  readonly hindsight?: HindsightResult
  readonly summaries: ReadonlyArray<RunSummary>
}

export const renderHtml = (input: ResultsInput, comparison: ReadonlyArray<ComparisonRow> | undefined): string => {
  const [a, b] = input.summaries
  const sc = input.scenario
  const bands: Array<Band> = [
    { from: sc.day.spike.startHour, to: sc.day.spike.startHour + sc.day.spike.minutes / 60, label: "spike", color: "#f59e0b" },
    ...(a.outage ? [{ from: a.outage.fromHour, to: a.outage.toHour, label: `${a.outage.nodeId} offline`, color: "#ef4444" }] : []),
    ...sc.nodes.receipts.map((r) => ({ from: r.atHour, to: r.atHour + 0.15, label: "receipt", color: "#16a34a" }))
  ]
  const both = (name: string, f: (s: RunSummary) => ReadonlyArray<number | null>): Array<Line> => [
    { name: b ? `${name} (baseline)` : name, values: f(a), color: palette[0] },
    ...(b ? [{ name: `${name} (${b.label})`, values: f(b), dashed: true, color: palette[1] }] : [])
  ]
  const charts = [
    lineChart("Throughput over simulated time", "requests/s", both("req/s", (s) => s.series.map((p) => p.requestsPerSec)), bands),
    lineChart("Latency over simulated time", "ms", [
      ...both("p50", (s) => s.series.map((p) => p.p50)).map((l, i) => ({ ...l, color: i === 0 ? palette[2] : palette[5] })),
      ...both("p99", (s) => s.series.map((p) => p.p99))
    ], bands, (y) => y.toFixed(1)),
    lineChart("Fill rate at placement", "%", both("fill", (s) => s.series.map((p) => (p.fillRate === null ? null : p.fillRate * 100))), bands),
    lineChart("Split rate", "% of orders", both("splits", (s) => s.series.map((p) => (p.splitRate === null ? null : p.splitRate * 100))), bands),
    lineChart("Average shipping distance", "km per shipment", both("distance", (s) => s.series.map((p) => p.avgDistanceKm)), bands),
    lineChart("Average shipping cost", "$ per shipment", both("cost", (s) => s.series.map((p) => (p.avgCostCents === null ? null : p.avgCostCents / 100))), bands, (y) => y.toFixed(2)),
    lineChart("Node utilisation (busiest nodes)", "% of daily capacity", Object.entries(a.nodeLoad).map(([nodeId, v]) => ({ name: nodeId, values: v.map((x) => x * 100) })), bands, (y) => y.toFixed(1)),
    lineChart("Open backorders", "units", both("backordered", (s) => s.series.map((p) => p.backorderedOpen)), bands),
    lineChart("Cart holds", "per half hour", [
      { name: "placed", values: a.series.map((p) => p.holdsPlaced) },
      { name: "expired", values: a.series.map((p) => p.holdExpiries) },
      { name: "sold out", values: a.series.map((p) => p.insufficientStock) }
    ], bands),
    barChart("Refusals by code (baseline)", Object.entries(a.errorsByCode), (c) => (answerCodes.has(c) ? "#9ca3af" : "#dc2626"))
  ]
  const h = input.hindsight
  const sections: Array<string> = []
  sections.push(`<h2>Key figures</h2>${table(["figure", ...input.summaries.map((s) => s.label)], keyFigures(a).map(([k], i) => [k, ...input.summaries.map((s) => keyFigures(s)[i][1])]))}`)
  sections.push(`<p class="s">${esc(definitions)}</p>`)
  if (comparison && b) sections.push(`<h2>What-if: ${esc(input.policy?.name ?? b.label)}</h2><p>${esc(input.policy?.description ?? "")}</p>${table(["figure", "baseline", b.label, "change"], comparison.map((r) => [r.figure, r.baseline, r.whatIf, r.change]))}`)
  if (h) {
    sections.push(`<h2>Hindsight bound</h2>` + (h.status === "solved"
      ? `<p>${h.orders} orders sampled. Their live routing at placement costs ${money(h.liveCostCents)} under the engine's cost model (load penalty left out); the best routing with all of that demand known in advance costs ${money(h.bestCostCents)} (HiGHS: ${esc(h.solverStatus)}; LP relaxation ${money(h.lowerBoundCents)}). <b>Gap: ${h.gapPercent.toFixed(2)}% of shipping cost.</b></p>` +
        table(["", "live", "hindsight"], [
          ["shipping cost", money(h.liveCostCents), money(h.bestCostCents)],
          ["split orders", String(h.liveSplits), String(h.bestSplits)],
          ["average distance per shipment", `${h.liveAvgDistanceKm.toFixed(0)} km`, `${h.bestAvgDistanceKm.toFixed(0)} km`]
        ]) + `<p class="s">${h.variables} variables, ${h.constraints} constraints, solved in ${(h.solveMs / 1000).toFixed(1)} s.</p>`
      : `<p>${esc(h.status)}: ${esc(h.message)}</p>`))
  }
  sections.push(`<h2>Charts</h2>${charts.map((c) => `<figure>${c}</figure>`).join("")}`)
  for (const s of input.summaries) {
    const c = s.audit.checked
    sections.push(`<h2>Audit (${esc(s.label)}): ${s.auditOk ? "passed" : "FAILED"}</h2><p>${c.orders} orders, ${c.pools} pools, ${c.skus} SKUs, ${c.holds} expired holds, ${c.poolHistories} pool histories checked; the routings of ${c.promiseOrders} orders with a promise and ${c.shipCompleteOrders} ship-complete orders, ${c.feedback} feedbacks.</p>` +
      (s.audit.violations.length > 0 ? table(["check", "subject", "what"], s.audit.violations.map((v) => [v.check, v.subject, v.message])) : ""))
  }
  sections.push(`<h2>Sessions and nodes (baseline)</h2>` +
    table(["", "count"], [...Object.entries(a.storefront), ...Object.entries(a.fulfillment)].map(([k, v]) => [k, String(v)])) +
    `<h3>Requests by operation</h3>` + table(["operation", "requests"], Object.entries(a.requestsByOp).map(([k, v]) => [k, String(v)])))
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(sc.name)}: peak-event simulation</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1000px;color:#111827;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e5e7eb}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #e5e7eb;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f9fafb}
figure{margin:10px 0}svg .t{font-size:13px;font-weight:600;fill:#111827}svg .s,.s{font-size:11px;fill:#4b5563;color:#4b5563}
</style></head><body>
<h1>${esc(sc.name)}: peak-event simulation</h1>
<p>${esc(sc.description)}</p>
<p class="s">seed ${a.seed}; 24 simulated hours in ${(1440 / a.compression).toFixed(1)} wall-clock minutes; ${a.sessions} storefront sessions over WebSocket; ${esc(new Date().toISOString())}</p>
${sections.join("\n")}
</body></html>`
}

/** Writes report.html, summary.json and the ledgers; returns their paths. */
export const writeResults = (input: ResultsInput): { dir: string; html: string; json: string; ledger: string } => {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").replace(/-\d+Z$/, "Z")
  const dir = input.dir ?? path.join(resultsRoot, `${input.scenario.name}-${stamp}`)
  mkdirSync(dir, { recursive: true })
  const comparison = input.whatIf ? compareRuns(input.baseline, input.whatIf).rows : undefined
  const html = path.join(dir, "report.html")
  const json = path.join(dir, "summary.json")
  const ledger = path.join(dir, "ledger-baseline.json")
  writeFileSync(html, renderHtml(input, comparison))
  writeFileSync(json, JSON.stringify({ scenario: input.scenario, runs: input.summaries, hindsight: input.hindsight ?? null, policy: input.policy ?? null, comparison: comparison ?? null }, null, 2))
  writeFileSync(ledger, JSON.stringify(input.baseline.ledger.toJSON()))
  if (input.whatIf) writeFileSync(path.join(dir, "ledger-what-if.json"), JSON.stringify(input.whatIf.ledger.toJSON()))
  return { dir, html, json, ledger }
}
