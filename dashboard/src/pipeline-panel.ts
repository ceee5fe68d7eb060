/**
 * The pipeline and SLA view: open orders by state, delivered and cancelled
 * ones since the gateway started, shipments late against their promise and
 * at risk, the oldest backorder waiting; each order a link to its timeline.
 */
import { el, fmtDateTime, fmtInt, setText } from "./dom.ts"
import type { Pipeline } from "./feed-types.ts"

const states = ["placed", "routed", "backordered", "shipped", "delivered", "cancelled"] as const

export class PipelinePanel {
  private latest: Pipeline | null = null
  private readonly figures: HTMLElement
  private readonly lists: HTMLElement
  private readonly since: HTMLElement

  constructor(host: HTMLElement, private readonly openOrder: (orderId: string) => void) {
    this.since = el("p", { class: "muted", "data-testid": "pipeline-since" })
    this.figures = el("div", { class: "figures pipeline", "data-testid": "pipeline" })
    this.lists = el("div", { class: "pipeline-lists" })
    host.append(this.since, this.figures, this.lists)
  }

  update(p: Pipeline | null | undefined): void {
    if (p !== undefined) this.latest = p
  }

  private orderLink(orderId: string, text: string): HTMLElement {
    const b = el("button", { type: "button", class: "link mono", "data-order": orderId }, text)
    b.addEventListener("click", () => this.openOrder(orderId))
    return b
  }

  render(): void {
    const p = this.latest
    if (!p) return
    setText(this.since, `orders that moved since ${fmtDateTime(p.since)}`)
    const figure = (label: string, value: string, testid: string, bad = false) =>
      el("div", { class: "figure" }, el("span", { class: "label" }, label), el("span", { class: "value", "data-testid": testid, "data-bad": String(bad) }, value))
    this.figures.replaceChildren(
      ...states.map((s) => figure(s, fmtInt(p.byState[s] ?? 0), `pipeline-${s}`)),
      figure("late shipments", fmtInt(p.late), "pipeline-late", p.late > 0),
      figure("at risk", fmtInt(p.atRisk), "pipeline-at-risk", p.atRisk > 0),
      el("div", { class: "figure" }, el("span", { class: "label" }, "oldest backorder"),
        el("span", { class: "value", "data-testid": "pipeline-oldest-backorder" },
          p.oldestBackorder ? this.orderLink(p.oldestBackorder.orderId, p.oldestBackorder.orderId) : "–"),
        p.oldestBackorder ? el("span", { class: "sub" }, `since ${fmtDateTime(p.oldestBackorder.since)}`) : null))
    const list = (title: string, testid: string, rows: Pipeline["lateShipments"]) =>
      el("div", {}, el("h3", {}, title), rows.length === 0 ? el("p", { class: "muted" }, "none") :
        el("ul", { "data-testid": testid }, ...rows.map((s) => el("li", {}, this.orderLink(s.orderId, s.shipmentId), ` at ${s.nodeId || "?"}, promised by ${fmtDateTime(s.promisedBy)}`))))
    this.lists.replaceChildren(list("Late", "pipeline-late-list", p.lateShipments), list("At risk", "pipeline-at-risk-list", p.atRiskShipments))
  }
}
