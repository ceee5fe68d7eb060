/**
 * The node table: status, load against daily capacity, rejections and short
 * picks, and the ops actions (pause, resume, take offline), each confirmed in
 * a dialog before it is sent. Taking a node offline re-routes its open
 * allocations; pausing stops new work while it finishes what it has.
 */
import { apiCall, ApiError } from "./api.ts"
import { byId, el, fmtInt, setText } from "./dom.ts"
import type { NodeRow } from "./feed-types.ts"

type Action = "paused" | "online" | "offline"

const actionText: Readonly<Record<Action, { button: string; question: (id: string) => string; detail: string }>> = {
  paused: { button: "Pause", question: (id) => `Pause ${id}?`, detail: "It gets no new shipments and finishes those it has." },
  online: { button: "Resume", question: (id) => `Resume ${id}?`, detail: "Routing may send it new shipments again." },
  offline: { button: "Offline", question: (id) => `Take ${id} offline?`, detail: "Every shipment not yet picked there is withdrawn and re-routed to other nodes." }
}

const actionsFor = (status: string): ReadonlyArray<Action> =>
  status === "online" ? ["paused", "offline"] : status === "paused" ? ["online", "offline"] : ["online"]

interface RowCells {
  readonly row: HTMLTableRowElement
  readonly status: HTMLElement
  readonly loadBar: HTMLElement
  readonly loadText: HTMLElement
  readonly rejections: HTMLElement
  readonly shortPicks: HTMLElement
  readonly actions: HTMLElement
  actionsFor: string
}

export class NodeTable {
  private readonly rows = new Map<string, RowCells>()
  private latest: ReadonlyArray<NodeRow> = []
  private readonly body: HTMLTableSectionElement
  private pending: { nodeId: string; action: Action } | undefined

  constructor(host: HTMLElement, private readonly token: () => string, private readonly notify: (message: string, bad?: boolean) => void) {
    this.body = el("tbody")
    host.append(el("table", { class: "nodes", "data-testid": "node-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Node"), el("th", {}, "Kind"), el("th", {}, "Status"), el("th", {}, "Load today"),
        el("th", { class: "num" }, "Rejections"), el("th", { class: "num" }, "Short picks"), el("th", {}, "Action"))),
      this.body))
    byId<HTMLFormElement>("node-action-form").addEventListener("submit", (ev) => {
      ev.preventDefault()
      const submitter = (ev as SubmitEvent).submitter as HTMLButtonElement | null
      const dialog = byId<HTMLDialogElement>("node-action-dialog")
      dialog.close()
      if (submitter?.value === "confirm" && this.pending) void this.send(this.pending.nodeId, this.pending.action)
      this.pending = undefined
    })
  }

  update(rows: ReadonlyArray<NodeRow>): void {
    this.latest = rows
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
      this.notify(`${nodeId}: not changed: ${e instanceof ApiError ? `${e.body.code}: ${e.body.message}` : String(e)}`, true)
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
    const actions = el("td", { class: "actions" })
    const row = el("tr", { "data-node": r.nodeId },
      el("td", { class: "mono" }, r.nodeId), el("td", {}, r.kind), el("td", {}, status),
      el("td", {}, el("span", { class: "bar" }, loadBar, loadText)), rejections, shortPicks, actions)
    c = { row, status, loadBar, loadText, rejections, shortPicks, actions, actionsFor: "" }
    this.rows.set(r.nodeId, c)
    this.body.append(row)
    return c
  }

  render(): void {
    for (const r of this.latest) {
      const c = this.cells(r)
      setText(c.status, r.status)
      c.status.dataset.status = r.status
      c.row.dataset.status = r.status
      const pct = Math.min(100, r.load * 100)
      c.loadBar.style.width = `${pct.toFixed(1)}%`
      c.loadBar.dataset.over = String(r.load >= 1)
      setText(c.loadText, `${fmtInt(r.shipmentsToday)} / ${fmtInt(r.capacityPerDay)}`)
      setText(c.rejections, fmtInt(r.rejections))
      setText(c.shortPicks, fmtInt(r.shortPicks))
      if (c.actionsFor !== r.status) {
        c.actionsFor = r.status
        c.actions.replaceChildren(...actionsFor(r.status).map((a) => {
          const b = el("button", { type: "button", class: `act act-${a}`, "data-action": a }, actionText[a].button)
          b.addEventListener("click", () => this.ask(r.nodeId, a))
          return b
        }))
      }
    }
  }
}
