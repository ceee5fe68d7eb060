/**
 * Alerts as a workflow on the page: the gateway's alert groups (the `alerts`
 * message: every group on connect, then those changed each tick) listed most
 * severe first, filtered by severity, kind and state; acknowledge and mute
 * with a reason (required) in a dialog; links to the order of an alert. Also
 * the low-stock table (each pool's ATP now and when it last changed, from the
 * low-stock groups) and the audit log (GET /v1/ops/audit, then the `audit`
 * pushes).
 */
import { apiCall, ApiError } from "./api.ts"
import { el, fmtDateTime, fmtInt, fmtTime, setText } from "./dom.ts"
import type { AlertGroup, AlertsMessage, AuditEntry } from "./feed-types.ts"

/** Lines drawn at once (most severe first, so critical ones come before any cut; the rest are counted). */
const alertsListedMax = 200
const auditKept = 200
const lowStockListed = 12
/** A pool back above the threshold is listed first for this long. */
const recoveredShownMs = 60_000

const severityRank = { critical: 0, warning: 1, info: 2 } as const

const byUrgency = (a: AlertGroup, b: AlertGroup): number =>
  severityRank[a.severity] - severityRank[b.severity] ||
  Number(a.resolvedAt !== null) - Number(b.resolvedAt !== null) ||
  Number(a.acknowledged !== null) - Number(b.acknowledged !== null) ||
  b.lastAt - a.lastAt

export class AlertsPanel {
  private readonly groups = new Map<string, AlertGroup>()
  private lowStockUnits = 0
  private audit: Array<AuditEntry> = []
  private dirty = true
  private pending: { id: string; action: "acknowledge" | "mute" } | undefined
  private readonly list: HTMLOListElement
  private readonly more: HTMLElement
  private readonly severity: HTMLSelectElement
  private readonly kind: HTMLSelectElement
  private readonly state: HTMLSelectElement
  private readonly dialog: HTMLDialogElement
  private readonly reason: HTMLInputElement
  private readonly minutes: HTMLInputElement
  private readonly dialogError: HTMLElement
  private readonly auditList: HTMLElement
  private readonly question: HTMLElement

  constructor(
    host: HTMLElement, private readonly lowBody: HTMLElement, auditHost: HTMLElement,
    private readonly token: () => string, private readonly openOrder: (orderId: string) => void, private readonly notify: (m: string, bad?: boolean) => void
  ) {
    const select = (label: string, testid: string, options: ReadonlyArray<[string, string]>) => {
      const s = el("select", { "aria-label": label, "data-testid": testid }, ...options.map(([v, t]) => el("option", { value: v }, t)))
      s.addEventListener("change", () => (this.dirty = true))
      return s
    }
    this.severity = select("alert severity", "alert-filter-severity", [["", "every severity"], ["critical", "critical"], ["warning", "warning"], ["info", "info"]])
    this.kind = select("alert kind", "alert-filter-kind", [["", "every kind"], ...["low_stock", "node_status", "node_capacity", "node_over_capacity", "shipment_late", "shipment_exception", "hot_sku", "store_errors", "engine_not_running"].map((k) => [k, k.replace(/_/g, " ")] as [string, string])])
    this.state = select("alert state", "alert-filter-state", [["open", "open"], ["unacknowledged", "not acknowledged"], ["acknowledged", "acknowledged"], ["muted", "muted"], ["resolved", "resolved"], ["all", "all"]])
    // focusable (it scrolls) and named, a live region as the page's own list was
    this.list = el("ol", { id: "alerts", class: "alerts", "data-testid": "alerts", tabindex: "0", "aria-live": "polite", "aria-label": "Alerts, most severe first" })
    this.more = el("p", { class: "muted", "data-testid": "alerts-more" })
    host.querySelector("ol#alerts")?.remove()
    host.append(el("div", { class: "alert-filters" }, this.severity, this.kind, this.state), this.list, this.more)

    this.reason = el("input", { type: "text", maxlength: 500, "data-testid": "alert-reason", required: true })
    this.minutes = el("input", { type: "number", min: 1, max: 10080, value: 60, "data-testid": "alert-mute-minutes" })
    this.dialogError = el("p", { class: "bad", role: "alert" })
    const question = el("h3", { "data-testid": "alert-action-question" })
    const form = el("form", { method: "dialog" }, question,
      el("label", {}, "Reason ", this.reason),
      el("label", { class: "mute-only" }, "Minutes ", this.minutes),
      this.dialogError,
      el("div", { class: "dialog-buttons" },
        el("button", { type: "submit", value: "cancel", formnovalidate: true }, "Cancel"),
        el("button", { type: "submit", value: "confirm", "data-testid": "alert-action-confirm" }, "Confirm")))
    this.dialog = el("dialog", { "data-testid": "alert-action-dialog" }, form)
    document.body.append(this.dialog)
    form.addEventListener("submit", (ev) => {
      ev.preventDefault()
      const submitter = (ev as SubmitEvent).submitter as HTMLButtonElement | null
      if (submitter?.value !== "confirm" || !this.pending) {
        this.dialog.close()
        this.pending = undefined
        return
      }
      if (this.reason.value.trim() === "") {
        setText(this.dialogError, "Say why (the reason is kept in the audit log).")
        return
      }
      void this.send(this.pending.id, this.pending.action)
    })
    this.question = question

    // it scrolls: focusable, so a keyboard can scroll it too
    this.auditList = el("ol", { class: "audit", "data-testid": "audit-log", tabindex: "0", "aria-label": "Audit log, newest first" })
    auditHost.append(this.auditList)
  }

  get count(): number {
    return this.groups.size
  }

  onAlerts(m: AlertsMessage): void {
    if (m.full) this.groups.clear()
    for (const g of m.groups) this.groups.set(g.key, g)
    for (const k of m.removed) this.groups.delete(k)
    this.lowStockUnits = m.lowStockUnits
    this.dirty = true
  }

  onAudit(e: AuditEntry): void {
    if (this.audit.some((x) => x.id === e.id)) return
    this.audit = [e, ...this.audit].sort((a, b) => b.id - a.id).slice(0, auditKept)
    this.dirty = true
  }

  /** Every group over HTTP (an edge gateway's hello carries none: it forwards the route to the engine owner). */
  async loadAlerts(): Promise<void> {
    try {
      const r = await apiCall<{ alerts: Array<AlertGroup>; lowStockUnits: number }>(this.token(), "GET", "/v1/ops/alerts?state=all")
      this.onAlerts({ full: true, groups: r.alerts, removed: [], lowStockUnits: r.lowStockUnits })
    } catch (e) {
      this.notify(`alerts: ${e instanceof ApiError ? `${e.body.code}: ${e.body.message}` : String(e)}`, true)
    }
  }

  async loadAudit(): Promise<void> {
    try {
      const { entries } = await apiCall<{ entries: Array<AuditEntry> }>(this.token(), "GET", "/v1/ops/audit?limit=100")
      for (const e of entries) this.onAudit(e)
    } catch (e) {
      this.notify(`audit log: ${e instanceof ApiError ? `${e.body.code}: ${e.body.message}` : String(e)}`, true)
    }
  }

  private ask(g: AlertGroup, action: "acknowledge" | "mute"): void {
    this.pending = { id: g.id, action }
    setText(this.question, `${action === "acknowledge" ? "Acknowledge" : "Mute"}: ${g.message}`)
    this.reason.value = ""
    setText(this.dialogError, "")
    this.dialog.dataset.action = action
    ;(this.minutes.closest("label") as HTMLElement).hidden = action !== "mute"
    this.dialog.showModal()
    this.reason.focus()
  }

  private async send(id: string, action: "acknowledge" | "mute"): Promise<void> {
    const reason = this.reason.value.trim()
    try {
      const body = action === "mute" ? { reason, minutes: Number(this.minutes.value) } : { reason }
      const { alert } = await apiCall<{ alert: AlertGroup }>(this.token(), "POST", `/v1/ops/alerts/${encodeURIComponent(id)}/${action}`, body)
      this.groups.set(alert.key, alert)
      this.dirty = true
      this.dialog.close()
      this.pending = undefined
      this.notify(`${action === "acknowledge" ? "acknowledged" : "muted"}: ${alert.message}`)
    } catch (e) {
      setText(this.dialogError, e instanceof ApiError ? `${e.body.code}: ${e.body.message}` : String(e))
    }
  }

  private visible(): Array<AlertGroup> {
    const now = Date.now()
    const severity = this.severity.value
    const kind = this.kind.value
    const state = this.state.value
    return [...this.groups.values()].filter((g) => {
      const muted = g.muted !== null && g.muted.until > now
      const open = g.resolvedAt === null
      if (severity && g.severity !== severity) return false
      if (kind && g.kind !== kind) return false
      return state === "all" ? true
        : state === "open" ? open && !muted
        : state === "unacknowledged" ? open && !muted && g.acknowledged === null
        : state === "acknowledged" ? g.acknowledged !== null
        : state === "muted" ? muted
        : !open
    }).sort(byUrgency)
  }

  private line(g: AlertGroup): HTMLElement {
    const muted = g.muted !== null && g.muted.until > Date.now()
    const ack = el("button", { type: "button", class: "link", "data-action": "acknowledge" }, "Acknowledge")
    ack.addEventListener("click", () => this.ask(g, "acknowledge"))
    const mute = el("button", { type: "button", class: "link", "data-action": "mute" }, "Mute")
    mute.addEventListener("click", () => this.ask(g, "mute"))
    const order = g.orderId
      ? (() => {
        const b = el("button", { type: "button", class: "link", "data-action": "open-order" }, `order ${g.orderId}`)
        b.addEventListener("click", () => this.openOrder(g.orderId!))
        return b
      })()
      : null
    const state = g.resolvedAt !== null ? "resolved" : muted ? "muted" : g.acknowledged ? "acknowledged" : "open"
    return el("li", { class: `alert alert-${g.kind} sev-${g.severity}`, "data-severity": g.severity, "data-kind": g.kind, "data-state": state, "data-alert-id": g.id },
      el("span", { class: `badge sev sev-${g.severity}` }, g.severity),
      el("span", { class: "when", title: `first ${fmtDateTime(g.firstAt)}` }, fmtTime(g.lastAt)),
      el("span", { class: "kind" }, g.kind.replace(/_/g, " ")),
      el("span", { class: "msg" }, g.message, g.count > 1 ? ` (x${fmtInt(g.count)})` : ""),
      g.acknowledged ? el("span", { class: "muted ack" }, `acknowledged by ${g.acknowledged.by}: ${g.acknowledged.reason}`) : null,
      muted ? el("span", { class: "muted ack" }, `muted by ${g.muted!.by} until ${fmtTime(g.muted!.until)}: ${g.muted!.reason}`) : null,
      g.resolvedAt !== null ? el("span", { class: "muted" }, `resolved ${fmtTime(g.resolvedAt)}`) : null,
      el("span", { class: "alert-actions" }, order, g.acknowledged || g.resolvedAt !== null ? null : ack, mute))
  }

  render(): void {
    if (!this.dirty) return
    this.dirty = false
    const shown = this.visible()
    this.list.replaceChildren(...shown.slice(0, alertsListedMax).map((g) => this.line(g)))
    setText(this.more, shown.length > alertsListedMax ? `${fmtInt(shown.length - alertsListedMax)} more (less severe) match; narrow the filters to see them` : "")
    const count = document.getElementById("alerts-count")
    if (count) setText(count, `${fmtInt(shown.length)} shown · ${fmtInt([...this.groups.values()].filter((g) => g.severity === "critical" && g.resolvedAt === null && g.acknowledged === null).length)} critical open`)

    const pools = [...this.groups.values()].filter((g) => g.kind === "low_stock").flatMap((g) => (g.pools ?? []).map((p) => ({ sku: g.sku ?? "", ...p })))
    // a pool just back above the threshold first (for recoveredShownMs: its new ATP is news), then the low ones, lowest first
    const now = Date.now()
    const order = (p: { atp: number; at: number }) => (p.atp > this.lowStockUnits ? (now - p.at < recoveredShownMs ? 0 : 2) : 1)
    pools.sort((a, b) => order(a) - order(b) || a.atp - b.atp || b.at - a.at)
    this.lowBody.replaceChildren(...pools.slice(0, lowStockListed).map((p) =>
      el("tr", { "data-pool": `${p.sku}@${p.nodeId}`, "data-low": String(p.atp <= this.lowStockUnits) },
        el("td", { class: "mono" }, p.sku), el("td", { class: "mono" }, p.nodeId), el("td", { class: "num" }, fmtInt(p.atp)),
        el("td", { class: "muted" }, fmtTime(p.at)))))

    this.auditList.replaceChildren(...this.audit.map((e) =>
      el("li", { "data-audit-id": e.id, "data-action": e.action },
        el("span", { class: "when" }, fmtDateTime(e.at)),
        el("span", { class: "who" }, e.who),
        el("span", { class: "what mono" }, `${e.action} ${e.target}`),
        el("span", { class: "why" }, e.reason === "" ? "–" : e.reason))))
  }
}
