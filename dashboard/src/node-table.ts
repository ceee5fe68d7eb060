/**
 * The node table: status, load against daily capacity, rejections and short
 * picks, and the ops actions (pause, resume, take offline), each confirmed in
 * a dialog before it is sent. Taking a node offline re-routes its open
 * allocations; pausing stops new work while it finishes what it has.
 *
 * It scales to large networks: sorted by any column, filtered by status and
 * kind, searched by node id or name (node-view.ts), and each node opens a
 * drill-down (node-drilldown.ts). Every button's accessible name names its node.
 */
import { apiCall, failureText } from "./api.ts"
import { byId, el, fmtInt, setText } from "./dom.ts"
import type { NetworkNode, NodeRow } from "./feed-types.ts"
import { NodeDrilldown, NodeSamples } from "./node-drilldown.ts"
import { visibleNodes, type NodeFilter, type NodeSort, type NodeSortKey } from "./node-view.ts"

type Action = "paused" | "online" | "offline"

const actionText: Readonly<Record<Action, { button: string; label: (id: string) => string; question: (id: string) => string; detail: string }>> = {
  paused: { button: "Pause", label: (id) => `Pause node ${id}`, question: (id) => `Pause ${id}?`, detail: "It gets no new shipments and finishes those it has." },
  online: { button: "Resume", label: (id) => `Resume node ${id}`, question: (id) => `Resume ${id}?`, detail: "Routing may send it new shipments again." },
  offline: { button: "Offline", label: (id) => `Take node ${id} offline`, question: (id) => `Take ${id} offline?`, detail: "Every shipment not yet picked there is withdrawn and re-routed to other nodes." }
}

const actionsFor = (status: string): ReadonlyArray<Action> =>
  status === "online" ? ["paused", "offline"] : status === "paused" ? ["online", "offline"] : ["online"]

const columns: ReadonlyArray<{ readonly key: NodeSortKey; readonly label: string; readonly num?: boolean }> = [
  { key: "node", label: "Node" }, { key: "kind", label: "Kind" }, { key: "status", label: "Status" }, { key: "load", label: "Load today" },
  { key: "rejections", label: "Rejections", num: true }, { key: "shortPicks", label: "Short picks", num: true }
]

interface RowCells {
  readonly row: HTMLTableRowElement
  readonly status: HTMLElement
  readonly loadBar: HTMLElement
  readonly loadText: HTMLElement
  readonly rejections: HTMLElement
  readonly shortPicks: HTMLElement
  readonly actions: HTMLElement
  readonly details: HTMLButtonElement
  actionsFor: string
}

export class NodeTable {
  private readonly rows = new Map<string, RowCells>()
  private latest: ReadonlyArray<NodeRow> = []
  private readonly names = new Map<string, string>()
  private readonly body: HTMLTableSectionElement
  private readonly headers = new Map<NodeSortKey, HTMLTableCellElement>()
  private readonly shownCount: HTMLElement
  private readonly samples = new NodeSamples()
  private readonly drilldown: NodeDrilldown
  private pending: { nodeId: string; action: Action } | undefined
  private sort: NodeSort = { key: "node", descending: false }
  private filter: NodeFilter = { text: "", status: "", kind: "" }
  private shownOrder = ""
  private dirty = true

  constructor(host: HTMLElement, private readonly token: () => string, private readonly notify: (message: string, bad?: boolean) => void) {
    this.body = el("tbody")
    const text = el("input", { type: "search", id: "node-search", placeholder: "id or name", autocomplete: "off", "data-testid": "node-search" })
    const status = el("select", { id: "node-status-filter", "data-testid": "node-status-filter" },
      el("option", { value: "" }, "any"), el("option", { value: "online" }, "online"), el("option", { value: "paused" }, "paused"), el("option", { value: "offline" }, "offline"))
    const kind = el("select", { id: "node-kind-filter", "data-testid": "node-kind-filter" },
      el("option", { value: "" }, "any"), el("option", { value: "warehouse" }, "warehouse"), el("option", { value: "store" }, "store"))
    const refilter = () => {
      this.filter = { text: text.value, status: status.value, kind: kind.value }
      this.dirty = true
    }
    text.addEventListener("input", refilter)
    status.addEventListener("change", refilter)
    kind.addEventListener("change", refilter)
    this.shownCount = el("span", { class: "muted", "data-testid": "node-count", "aria-live": "polite" })
    const headRow = el("tr", {}, ...columns.map((c) => {
      const b = el("button", { type: "button", class: "sort", "data-sort": c.key }, c.label)
      b.addEventListener("click", () => {
        this.sort = { key: c.key, descending: this.sort.key === c.key ? !this.sort.descending : c.num === true || c.key === "load" }
        this.dirty = true
      })
      const th = el("th", { class: c.num ? "num" : undefined, scope: "col", "aria-sort": "none" }, b)
      this.headers.set(c.key, th)
      return th
    }), el("th", { scope: "col" }, "Action"))
    this.drilldown = new NodeDrilldown(token, this.samples, (id) => this.names.get(id), () => this.rows.get(this.drilldown.open ?? "")?.details.focus())
    host.append(
      el("div", { class: "node-tools" },
        el("label", { for: "node-search" }, "Find node"), text,
        el("label", { for: "node-status-filter" }, "Status"), status,
        el("label", { for: "node-kind-filter" }, "Kind"), kind, this.shownCount),
      el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Nodes" }, el("table", { class: "nodes", "data-testid": "node-table" }, el("thead", {}, headRow), this.body)),
      this.drilldown.panel)
    byId<HTMLFormElement>("node-action-form").addEventListener("submit", (ev) => {
      ev.preventDefault()
      const submitter = (ev as SubmitEvent).submitter as HTMLButtonElement | null
      const dialog = byId<HTMLDialogElement>("node-action-dialog")
      dialog.close()
      if (submitter?.value === "confirm" && this.pending) void this.send(this.pending.nodeId, this.pending.action)
      this.pending = undefined
    })
  }

  /** Node names, for the search and the drill-down (from the feed's hello and /v1/nodes). */
  setNodes(nodes: ReadonlyArray<NetworkNode>): void {
    for (const n of nodes) this.names.set(n.nodeId, n.name)
    this.dirty = true
  }

  update(rows: ReadonlyArray<NodeRow>, at: number): void {
    this.latest = rows
    this.samples.add(rows, at)
    this.dirty = true
  }

  private ask(nodeId: string, action: Action): void {
    this.pending = { nodeId, action }
    const text = actionText[action]
    setText(byId("node-action-question"), text.question(nodeId))
    setText(byId("node-action-detail"), text.detail)
    byId<HTMLInputElement>("node-action-reason").value = ""
    byId<HTMLButtonElement>("node-action-confirm").textContent = text.button
    byId<HTMLDialogElement>("node-action-dialog").showModal()
  }

  private async send(nodeId: string, status: Action): Promise<void> {
    const reason = byId<HTMLInputElement>("node-action-reason").value.trim() || `set ${status} from the ops dashboard`
    try {
      await apiCall(this.token(), "POST", `/v1/nodes/${encodeURIComponent(nodeId)}/status`, { status, reason })
      this.notify(`${nodeId}: ${status} (${reason})`)
    } catch (e) {
      this.notify(`${nodeId} not changed. ${failureText(e, "nothing was changed")}`, true)
    }
  }

  private cells(r: NodeRow): RowCells {
    let c = this.rows.get(r.nodeId)
    if (c) return c
    const status = el("span", { class: "badge" })
    const loadBar = el("span", { class: "bar-fill" })
    const loadText = el("span", { class: "bar-text" })
    const rejections = el("td", { class: "num" })
    const shortPicks = el("td", { class: "num" })
    const details = el("button", { type: "button", class: "act act-details", "data-action": "details", "aria-label": `Details of node ${r.nodeId}`, "aria-expanded": "false", "aria-controls": "node-detail" }, "Details")
    details.addEventListener("click", () => {
      if (this.drilldown.open === r.nodeId) this.drilldown.close()
      else this.drilldown.show(r.nodeId)
      this.dirty = true
    })
    const actions = el("span", { class: "node-actions" })
    const name = el("span", { class: "node-name muted" })
    const row = el("tr", { "data-node": r.nodeId },
      el("th", { scope: "row", class: "mono node-id" }, r.nodeId, " ", name), el("td", {}, r.kind), el("td", {}, status),
      el("td", {}, el("span", { class: "bar" }, loadBar, loadText)), rejections, shortPicks, el("td", { class: "actions" }, actions, details))
    c = { row, status, loadBar, loadText, rejections, shortPicks, actions, details, actionsFor: "" }
    this.rows.set(r.nodeId, c)
    return c
  }

  render(): void {
    const open = this.drilldown.open
    this.drilldown.render(this.latest.find((r) => r.nodeId === open))
    if (!this.dirty) return
    this.dirty = false
    for (const [key, th] of this.headers) th.setAttribute("aria-sort", key !== this.sort.key ? "none" : this.sort.descending ? "descending" : "ascending")
    const shown = visibleNodes(this.latest, this.names, this.filter, this.sort)
    for (const r of shown) {
      const c = this.cells(r)
      const name = this.names.get(r.nodeId)
      setText(c.row.querySelector(".node-name")!, name ?? "")
      setText(c.status, r.status)
      c.status.dataset.status = r.status
      c.row.dataset.status = r.status
      const pct = Math.min(100, r.load * 100)
      c.loadBar.style.width = `${pct.toFixed(1)}%`
      c.loadBar.dataset.over = String(r.load >= 1)
      setText(c.loadText, `${fmtInt(r.shipmentsToday)} / ${fmtInt(r.capacityPerDay)}`)
      setText(c.rejections, fmtInt(r.rejections))
      setText(c.shortPicks, fmtInt(r.shortPicks))
      c.details.setAttribute("aria-expanded", String(open === r.nodeId))
      if (c.actionsFor !== r.status) {
        c.actionsFor = r.status
        c.actions.replaceChildren(...actionsFor(r.status).map((a) => {
          const b = el("button", { type: "button", class: `act act-${a}`, "data-action": a, "aria-label": actionText[a].label(r.nodeId) }, actionText[a].button)
          b.addEventListener("click", () => this.ask(r.nodeId, a))
          return b
        }))
      }
    }
    const order = shown.map((r) => r.nodeId).join("\n")
    if (order !== this.shownOrder) {
      this.shownOrder = order
      this.body.replaceChildren(...shown.map((r) => this.rows.get(r.nodeId)!.row))
    }
    setText(this.shownCount, shown.length === this.latest.length ? `${fmtInt(shown.length)} nodes` : `${fmtInt(shown.length)} of ${fmtInt(this.latest.length)} nodes`)
  }
}
