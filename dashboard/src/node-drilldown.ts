/**
 * One node in detail, opened from the node table: its backlog (shipments
 * open there) against its daily capacity, its rejections and short picks
 * over the last half hour (sampled from the feed by this page), and its open
 * shipments, oldest first (GET /v1/ops/nodes/:nodeId/shipments).
 */
import { apiCall, failureText } from "./api.ts"
import { el, fmtDateTime, fmtInt, setText } from "./dom.ts"
import type { NodeRow } from "./feed-types.ts"
import { Ring } from "./series.ts"

/** One sample per node at most this often, kept for samplesKept (30 min). */
const sampleEveryMs = 5_000
const samplesKept = 360
/** Open shipments asked for when the drill-down opens, and again this often while it stays open. */
const shipmentsListed = 50
const shipmentsRefreshMs = 15_000

interface OpenShipments {
  readonly nodeId: string
  readonly status: string
  readonly capacityPerDay: number
  readonly shipmentsToday: number
  readonly open: number
  readonly complete: boolean
  readonly shipments: ReadonlyArray<{ readonly orderId: string; readonly shipmentId: string; readonly status: string; readonly units: number; readonly routedAt: number; readonly promisedBy: number | null; readonly late: boolean }>
}

/** Each node's cumulative rejections and short picks, sampled every sampleEveryMs (a bounded ring per node). */
export class NodeSamples {
  private readonly rings = new Map<string, Ring>()
  private lastAt = 0
  /** Goes up with every sample taken (the drill-down redraws only then). */
  version = 0

  add(rows: ReadonlyArray<NodeRow>, at: number): void {
    if (at - this.lastAt < sampleEveryMs) return
    this.lastAt = at
    this.version++
    for (const r of rows) {
      let ring = this.rings.get(r.nodeId)
      if (!ring) this.rings.set(r.nodeId, (ring = new Ring(samplesKept, 2)))
      ring.push(at / 1000, [r.rejections, r.shortPicks])
    }
  }

  /** Per-interval increases of rejections and short picks (a counter that went down, after a restart, counts from 0). */
  increases(nodeId: string): { readonly times: Array<number>; readonly rejections: Array<number>; readonly shortPicks: Array<number> } {
    const [times, rej, short] = this.rings.get(nodeId)?.since(0) ?? [[], [], []]
    const inc = (xs: Array<number | null>) => xs.slice(1).map((v, i) => {
      const prev = xs[i] ?? 0
      return v === null ? 0 : v >= prev ? v - prev : v
    })
    return { times: (times as Array<number>).slice(1), rejections: inc(rej), shortPicks: inc(short) }
  }
}

/** Bars of per-interval rejections as a small SVG, with the total said in words beside it. */
const bars = (values: ReadonlyArray<number>, colour: string, label: string): SVGSVGElement => {
  const ns = "http://www.w3.org/2000/svg"
  const w = 360
  const h = 48
  const svg = document.createElementNS(ns, "svg")
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`)
  svg.setAttribute("class", "sparkbars")
  svg.setAttribute("role", "img")
  svg.setAttribute("aria-label", label)
  const max = Math.max(1, ...values)
  const bw = w / samplesKept
  values.slice(-samplesKept).forEach((v, i, xs) => {
    if (v <= 0) return
    const r = document.createElementNS(ns, "rect")
    const bh = Math.max(2, (v / max) * (h - 2))
    r.setAttribute("x", String(w - (xs.length - i) * bw))
    r.setAttribute("y", String(h - bh))
    r.setAttribute("width", String(Math.max(1, bw - 0.2)))
    r.setAttribute("height", String(bh))
    r.setAttribute("fill", colour)
    svg.append(r)
  })
  return svg
}

export class NodeDrilldown {
  private nodeId: string | undefined
  private drawn = ""
  private loadedAt = 0
  private readonly head = el("h3", { id: "node-detail-title", tabindex: "-1" })
  private readonly backlog = el("div", { class: "backlog", "data-testid": "node-backlog" })
  private readonly history = el("div", { class: "node-history", "data-testid": "node-rejections" })
  private readonly shipments = el("div", { "data-testid": "node-shipments" })
  readonly panel: HTMLElement

  constructor(private readonly token: () => string, private readonly samples: NodeSamples, private readonly nameOf: (nodeId: string) => string | undefined, onClose: () => void) {
    const close = el("button", { type: "button", "aria-label": "Close the node details" }, "Close")
    const refresh = el("button", { type: "button", "data-testid": "node-detail-refresh" }, "Refresh shipments")
    close.addEventListener("click", () => {
      this.close()
      onClose()
    })
    refresh.addEventListener("click", () => void this.load())
    this.panel = el("section", { class: "node-detail", id: "node-detail", "data-testid": "node-detail", "aria-labelledby": "node-detail-title", hidden: true },
      el("div", { class: "node-detail-head" }, this.head, refresh, close), this.backlog, this.history, this.shipments)
  }

  get open(): string | undefined {
    return this.nodeId
  }

  show(nodeId: string): void {
    this.nodeId = nodeId
    this.panel.hidden = false
    this.panel.dataset.node = nodeId
    const name = this.nameOf(nodeId)
    setText(this.head, `${nodeId}${name ? ` · ${name}` : ""}`)
    this.drawn = ""
    this.backlog.replaceChildren(el("p", { class: "muted" }, "loading..."))
    this.shipments.replaceChildren()
    this.head.focus()
    void this.load()
  }

  close(): void {
    this.nodeId = undefined
    this.panel.hidden = true
  }

  /** The live part: rejections over time, from the page's samples (called by the render loop while open). */
  render(row: NodeRow | undefined): void {
    if (!this.nodeId || !row) return
    if (Date.now() - this.loadedAt > shipmentsRefreshMs) void this.load()
    const drawn = `${this.nodeId}|${this.samples.version}`
    if (drawn === this.drawn) return
    this.drawn = drawn
    const inc = this.samples.increases(this.nodeId)
    const minutes = inc.times.length > 1 ? Math.max(1, Math.round((inc.times[inc.times.length - 1] - inc.times[0]) / 60)) : 0
    const rej = inc.rejections.reduce((a, b) => a + b, 0)
    const short = inc.shortPicks.reduce((a, b) => a + b, 0)
    const said = minutes === 0 ? "collecting samples (one every 5 s)" : `${fmtInt(rej)} rejections and ${fmtInt(short)} short picks in the last ${minutes} min`
    this.history.replaceChildren(
      el("h4", {}, "Rejections over time"),
      el("p", { class: "muted", "data-testid": "node-rejections-summary" }, `${said}; ${fmtInt(row.rejections)} rejections since the gateway started`),
      bars(inc.rejections, "#ff9f43", `rejections per 5 seconds at ${this.nodeId}: ${said}`))
  }

  private async load(): Promise<void> {
    const nodeId = this.nodeId
    if (!nodeId) return
    this.loadedAt = Date.now()
    try {
      const s = await apiCall<OpenShipments>(this.token(), "GET", `/v1/ops/nodes/${encodeURIComponent(nodeId)}/shipments?limit=${shipmentsListed}`)
      if (this.nodeId !== nodeId) return
      const pct = s.capacityPerDay > 0 ? Math.min(100, (s.open / s.capacityPerDay) * 100) : 100
      this.backlog.replaceChildren(
        el("h4", {}, "Backlog against capacity"),
        el("p", {},
          el("span", { class: "bar" }, el("span", { class: "bar-fill", style: `width:${pct.toFixed(1)}%`, "data-over": String(s.open >= s.capacityPerDay) }),
            el("span", { class: "bar-text", "data-testid": "node-backlog-text" }, `${fmtInt(s.open)}${s.complete ? "" : "+"} open / ${fmtInt(s.capacityPerDay)} per day`)),
          " ", el("span", { class: "muted" }, `${s.status} · ${fmtInt(s.shipmentsToday)} shipments routed today`)))
      this.shipments.replaceChildren(
        el("h4", {}, s.open > s.shipments.length ? `Open shipments, oldest ${s.shipments.length} of ${fmtInt(s.open)}${s.complete ? "" : "+"}` : "Open shipments"),
        s.shipments.length === 0 ? el("p", { class: "muted" }, "none open") : el("table", { class: "lines" },
          el("thead", {}, el("tr", {}, el("th", {}, "Shipment"), el("th", {}, "Status"), el("th", { class: "num" }, "Units"), el("th", {}, "Routed"), el("th", {}, "Promised by"))),
          el("tbody", {}, ...s.shipments.map((x) => el("tr", { "data-shipment": x.shipmentId },
            el("td", { class: "mono" }, x.shipmentId), el("td", {}, x.status, x.late ? el("span", { class: "bad" }, " late") : null),
            el("td", { class: "num" }, fmtInt(x.units)), el("td", {}, fmtDateTime(x.routedAt)), el("td", {}, x.promisedBy === null ? "–" : fmtDateTime(x.promisedBy)))))))
    } catch (e) {
      if (this.nodeId === nodeId) this.backlog.replaceChildren(el("p", { class: "bad", role: "alert" }, failureText(e, "the shipments were not loaded")))
    }
  }
}
