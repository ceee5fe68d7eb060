/**
 * Reports over a time range (GET /v1/reports, computed by the engine owner
 * from the journal): the headline figures, every figure of the report as a
 * table, and the same report as a CSV download. A report reads the retained
 * journal, so it runs when asked, never on a timer.
 */
import { apiCall, ApiError } from "./api.ts"
import { el, fmtInt, fmtPct } from "./dom.ts"

/** The report's fields the headline shows (the table shows everything). */
interface ReportBody {
  readonly orders: { readonly placed: number; readonly units: number }
  readonly fillRate: number | null
  readonly splitRate: number | null
  readonly shipping: { readonly averageCostCents: number | null; readonly averageDistanceKm: number | null }
  readonly promise: { readonly keptRate: number | null }
  readonly cancellations: { readonly count: number }
  readonly returns: { readonly requested: number }
  readonly holds: { readonly conversionRate: number | null; readonly expiryRate: number | null }
  readonly feedback: { readonly count: number; readonly averageRating: number | null }
  readonly coverage: { readonly complete: boolean }
}

/** Every leaf of the report as (dotted path, value), as the CSV lists them. */
const flatten = (x: unknown, path = "", out: Array<[string, string]> = []): Array<[string, string]> => {
  if (x !== null && typeof x === "object") {
    for (const [k, v] of Object.entries(x)) flatten(v, path === "" ? k : `${path}.${k}`, out)
  } else out.push([path, x === null ? "–" : String(x)])
  return out
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
      const money = (c: number | null) => (c === null ? "–" : `$${(c / 100).toFixed(2)}`)
      const figure = (label: string, value: string, id?: string) =>
        el("div", { class: "figure" }, el("span", { class: "label" }, label), el("span", { class: "value", "data-testid": id }, value))
      const coverage = r.coverage.complete ? [] : [el("p", { class: "bad" }, "The journal no longer holds the start of this range (compacted): figures cover what it retains.")]
      this.out.replaceChildren(
        ...coverage,
        el("section", { class: "figures" },
          figure("Orders placed", fmtInt(r.orders.placed), "report-orders"),
          figure("Units", fmtInt(r.orders.units)),
          figure("Fill rate", fmtPct(r.fillRate)),
          figure("Split rate", fmtPct(r.splitRate)),
          figure("Avg shipping cost", money(r.shipping.averageCostCents)),
          figure("Avg distance", r.shipping.averageDistanceKm === null ? "–" : `${fmtInt(r.shipping.averageDistanceKm)} km`),
          figure("Promises kept", fmtPct(r.promise.keptRate)),
          figure("Cancellations", fmtInt(r.cancellations.count)),
          figure("Returns", fmtInt(r.returns.requested)),
          figure("Hold conversion", fmtPct(r.holds.conversionRate)),
          figure("Hold expiry", fmtPct(r.holds.expiryRate)),
          figure("Feedback", r.feedback.averageRating === null ? "–" : `${r.feedback.averageRating.toFixed(2)} / 5 (${fmtInt(r.feedback.count)})`)),
        el("details", {},
          el("summary", {}, "Every figure"),
          el("table", { class: "lines", "data-testid": "report-table" },
            el("tbody", {}, ...flatten(r).map(([k, v]) => el("tr", {}, el("td", { class: "mono" }, k), el("td", { class: "num" }, v)))))))
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
