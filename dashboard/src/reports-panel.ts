/**
 * Reports over a time range (GET /v1/reports, computed by the engine owner
 * from the journal): the headline figures, every figure of the report as a
 * table, and the same report as a CSV download. A report reads the retained
 * journal, so it runs when asked, never on a timer.
 */
import { apiCall, ApiError } from "./api.ts"
import { el, fmtInt, fmtPct } from "./dom.ts"
import { formatFigure, reportRows } from "./report-format.ts"

/** The report's fields the headline shows (the table shows everything). */
interface ReportBody {
  readonly orders: { readonly placed: number; readonly units: number }
  readonly fillRate: number | null
  readonly splitRate: number | null
  readonly shipping: { readonly shipments: number; readonly averageCostCents: number | null; readonly averageDistanceKm: number | null; readonly rerouted: number; readonly withdrawn: number }
  readonly promise: { readonly keptRate: number | null; readonly kept: number; readonly late: number; readonly atRisk: number }
  readonly cancellations: { readonly count: number }
  readonly returns: { readonly requested: number }
  readonly holds: { readonly conversionRate: number | null; readonly expiryRate: number | null }
  readonly feedback: { readonly count: number; readonly averageRating: number | null }
  readonly coverage: { readonly complete: boolean }
}

/** A datetime-local input's value for a time, in the browser's zone. */
const localInput = (ms: number): string => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000)
  return d.toISOString().slice(0, 16)
}

export class ReportsPanel {
  private readonly from: HTMLInputElement
  private readonly to: HTMLInputElement
  private readonly out: HTMLElement

  constructor(host: HTMLElement, private readonly token: () => string) {
    const midnight = new Date()
    midnight.setHours(0, 0, 0, 0)
    this.from = el("input", { type: "datetime-local", value: localInput(midnight.getTime()), "data-testid": "report-from", "aria-label": "from" })
    this.to = el("input", { type: "datetime-local", value: "", "data-testid": "report-to", "aria-label": "to (empty: now)" })
    const run = el("button", { type: "submit", "data-testid": "report-run" }, "Run report")
    const csv = el("button", { type: "button", class: "link", "data-testid": "report-csv" }, "Download CSV")
    const form = el("form", { class: "search" }, "From ", this.from, " to ", this.to, run, csv)
    this.out = el("div", { "data-testid": "report-result" })
    form.addEventListener("submit", (ev) => {
      ev.preventDefault()
      void this.run()
    })
    csv.addEventListener("click", () => void this.download())
    host.append(form, this.out)
  }

  private range(): string {
    const from = this.from.value === "" ? 0 : new Date(this.from.value).getTime()
    const to = this.to.value === "" ? Date.now() : new Date(this.to.value).getTime()
    return `from=${from}&to=${to}`
  }

  private async run(): Promise<void> {
    this.out.replaceChildren(el("p", { class: "muted" }, "reading the journal..."))
    try {
      const { report } = await apiCall<{ report: ReportBody }>(this.token(), "GET", `/v1/reports?${this.range()}`)
      const r = report
      const figure = (label: string, value: string, id?: string, sub?: string) =>
        el("div", { class: "figure" }, el("span", { class: "label" }, label), el("span", { class: "value", "data-testid": id }, value),
          ...(sub === undefined ? [] : [el("span", { class: "sub" }, sub)]))
      const coverage = r.coverage.complete ? [] : [el("p", { class: "bad" }, "The journal no longer holds the start of this range (compacted): figures cover what it retains.")]
      this.out.replaceChildren(
        ...coverage,
        el("section", { class: "figures" },
          figure("Orders placed", fmtInt(r.orders.placed), "report-orders"),
          figure("Units", fmtInt(r.orders.units)),
          figure("Fill rate", fmtPct(r.fillRate)),
          figure("Split rate", fmtPct(r.splitRate), "report-split-rate"),
          figure("Shipments at placement", fmtInt(r.shipping.shipments), "report-shipments", `${fmtInt(r.shipping.rerouted)} re-routed, ${fmtInt(r.shipping.withdrawn)} withdrawn (not counted)`),
          figure("Avg shipping cost", formatFigure("averageCostCents", r.shipping.averageCostCents), "report-cost", "per shipment at placement, as the engine priced it"),
          figure("Avg distance", formatFigure("averageDistanceKm", r.shipping.averageDistanceKm), "report-distance"),
          figure("Promises kept", fmtPct(r.promise.keptRate), "report-promises", `${fmtInt(r.promise.kept)} kept, ${fmtInt(r.promise.late)} late, ${fmtInt(r.promise.atRisk)} at risk`),
          figure("Cancellations", fmtInt(r.cancellations.count)),
          figure("Returns", fmtInt(r.returns.requested)),
          figure("Hold conversion", fmtPct(r.holds.conversionRate)),
          figure("Hold expiry", fmtPct(r.holds.expiryRate)),
          figure("Feedback", r.feedback.averageRating === null ? "–" : `${r.feedback.averageRating.toFixed(2)} / 5 (${fmtInt(r.feedback.count)})`)),
        el("details", {},
          el("summary", {}, "Every figure"),
          el("table", { class: "lines", "data-testid": "report-table" },
            el("tbody", {}, ...reportRows(r).map(([k, v]) => el("tr", {}, el("td", { class: "mono" }, k), el("td", { class: "num" }, v)))))))
    } catch (e) {
      this.out.replaceChildren(el("p", { class: "bad" }, e instanceof ApiError ? `${e.body.code}: ${e.body.message}` : String(e)))
    }
  }

  private async download(): Promise<void> {
    const res = await fetch(`/v1/reports.csv?${this.range()}`, { headers: { authorization: `Bearer ${this.token()}` }, cache: "no-store" })
    if (!res.ok) return void this.out.replaceChildren(el("p", { class: "bad" }, `the CSV was refused: HTTP ${res.status}`))
    const url = URL.createObjectURL(await res.blob())
    const a = el("a", { href: url, download: `oms-report-${new Date().toISOString().slice(0, 10)}.csv` })
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  }
}
