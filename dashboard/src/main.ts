/**
 * The ops dashboard: signs in with the ops token, follows the socket.io /ops
 * feed, and renders at most `rendersPerSecondMax` times a second from a
 * requestAnimationFrame loop, only what changed since the last frame. Every
 * list it keeps is bounded (chart rings, arcs, alerts, low-stock pools), so a
 * tab left open all day uses the same memory at night as in the morning.
 */
import { io, type Socket } from "socket.io-client"
import { AlertsPanel } from "./alerts-panel.ts"
import { apiCall } from "./api.ts"
import { chartWindows, Charts } from "./charts.ts"
import { ClusterPanel } from "./cluster-panel.ts"
import { ConnectionStatus } from "./connection-status.ts"
import { byId, el, fmtInt, fmtMs, fmtPct, fmtTime, setText } from "./dom.ts"
import type { ClusterView, ErrorBody, Hello, NetworkNode, OpsHistoryAnswer, OpsTick } from "./feed-types.ts"
import { arcColours, arcLabels, NetworkMap, statusColours } from "./network-map.ts"
import { NodeTable } from "./node-table.ts"
import { OrderSearch } from "./order-search.ts"
import { PipelinePanel } from "./pipeline-panel.ts"
import { ReportsPanel } from "./reports-panel.ts"
import { forgetToken, storedToken, storeToken, tokenFromFragment } from "./session.ts"
import "./style.css"

const rendersPerSecondMax = 4
const hotListed = 10

let token = ""
let socket: Socket | undefined
let latest: OpsTick | undefined
let ticks = 0
let renders = 0
let lastRenderAt = 0
const dirty = { figures: false, charts: false, nodes: false, alerts: false, skus: false }
const rendersWindow: Array<number> = []

const login = byId("login")
const app = byId("app")
const loginError = byId("login-error")

const showLogin = (message?: string) => {
  socket?.close()
  socket = undefined
  app.hidden = true
  login.hidden = false
  setText(loginError, message ?? "")
  loginError.hidden = !message
  byId<HTMLInputElement>("login-token").focus()
}

const refusal = (e: ErrorBody | undefined, fallback: string): string =>
  e ? `Refused (${e.code === "forbidden" ? "403" : "401"} ${e.code}): ${e.message}` : fallback

const notify = (message: string, bad = false) => {
  const n = el("div", { class: bad ? "toast bad" : "toast" }, message)
  byId("toasts").append(n)
  setTimeout(() => n.remove(), 6_000)
}

const map = new NetworkMap(byId("map"))
const charts = new Charts(byId("charts"), (seconds) => apiCall<OpsHistoryAnswer>(token, "GET", `/v1/ops/history?seconds=${seconds}`))
const nodeTable = new NodeTable(byId("nodes"), () => token, notify)
const orderSearch = new OrderSearch(byId("orders"), () => token)
const alerts = new AlertsPanel(byId("alerts").parentElement!, byId("low"), byId("audit-panel"), () => token, (id) => orderSearch.open(id), notify)
const pipeline = new PipelinePanel(byId("pipeline-panel"), (id) => orderSearch.open(id))
// a click on an arc's customer end opens its order (the same timeline as the order search)
byId("map").addEventListener("click", (ev) => {
  const box = byId("map").getBoundingClientRect()
  const arc = map.arcNear(ev.clientX - box.left, ev.clientY - box.top)
  if (arc) orderSearch.open(arc.orderId)
})
new ReportsPanel(byId("reports"), () => token)
const clusterPanel = new ClusterPanel(byId("cluster"))
const connection = new ConnectionStatus()

byId("legend").append(...(Object.keys(arcColours) as Array<keyof typeof arcColours>).map((k) =>
  el("span", { class: "legend-item", "data-colour": arcColours[k] }, el("i", { style: `background:${arcColours[k]}` }), `${arcLabels[k]} (arc)`)),
...Object.entries(statusColours).map(([status, colour]) =>
  el("span", { class: "legend-item", "data-colour": colour }, el("i", { class: "node-key", style: `background:${colour}` }), `${status} node`)))

const windowSelect = byId<HTMLSelectElement>("chart-window")
for (const w of chartWindows) windowSelect.append(el("option", { value: w.seconds }, w.label))
windowSelect.addEventListener("change", () => {
  charts.setWindow(Number(windowSelect.value))
  dirty.charts = true
})

/** Node locations: from the hello, and again from /v1/nodes when the feed names a node the map has not seen. */
let nodesFetchedAt = 0
const refreshNodes = () => {
  if (Date.now() - nodesFetchedAt < 5_000) return
  nodesFetchedAt = Date.now()
  apiCall<{ nodes: Array<NetworkNode> }>(token, "GET", "/v1/nodes").then((r) => {
    map.setNodes(r.nodes)
    nodeTable.setNodes(r.nodes)
  }, () => undefined)
}

const onTick = (tick: OpsTick) => {
  ticks++
  connection.tick(tick.metrics.ordersPerSec, tick.at)
  latest = tick
  charts.add(tick)
  map.addArcs(tick.arcs)
  map.setStatus(tick.nodes.table)
  nodeTable.update(tick.nodes.table, tick.at)
  pipeline.update(tick.pipeline)
  if (tick.alertGroups) alerts.onAlerts(tick.alertGroups)
  for (const e of tick.audit ?? []) alerts.onAudit(e)
  if (tick.nodes.table.some((r) => !map.knows(r.nodeId))) refreshNodes()
  dirty.figures = dirty.charts = dirty.nodes = dirty.alerts = dirty.skus = true
}

/** After the server closed the feed on purpose ("io server disconnect", a clean restart), the client does not retry by itself: the page does, after this. */
const serverCloseRetryMs = 1_000
/** How often the page checks that a dropped feed is being retried. */
const feedWatchMs = 5_000

const feedDown = (why: string) => {
  connection.down(why)
  // the engine's state is unknown while the feed is down: the last one seen must not stay green
  byId("engine").dataset.state = "unknown"
  setText(byId("engine"), "engine state unknown (feed disconnected)")
}

const connect = () => {
  socket?.close()
  connection.connecting()
  const s = io("/ops", { transports: ["websocket"], auth: { token }, reconnectionDelayMax: 5_000 })
  socket = s
  s.on("connect", () => {
    connection.live()
    void alerts.loadAudit()
  })
  s.on("disconnect", (reason) => {
    feedDown("reconnecting")
    if (reason === "io server disconnect") setTimeout(() => { if (socket === s && !s.connected) s.connect() }, serverCloseRetryMs)
  })
  s.on("connect_error", (err: Error & { data?: ErrorBody }) => {
    if (err.data?.code === "unauthorized" || err.data?.code === "forbidden") {
      forgetToken()
      showLogin(refusal(err.data, "the token was refused"))
    } else feedDown(`cannot reach the gateway (${err.message}), retrying`)
  })
  s.on("hello", (h: Hello) => {
    map.setNodes(h.nodes)
    nodeTable.setNodes(h.nodes)
    void charts.loadHistory()
    if (h.alerts) alerts.onAlerts(h.alerts)
    else void alerts.loadAlerts()
    if (h.operator) setText(byId("operator"), `signed in as ${h.operator}`)
    setText(byId("interval"), `${h.intervalMs} ms ticks`)
  })
  s.on("tick", onTick)
  s.on("cluster", (v: ClusterView) => clusterPanel.update(v))
}

/** A feed that dropped and is not being retried (whatever the reason) is opened again. */
setInterval(() => {
  if (socket && !socket.connected && !socket.active) socket.connect()
}, feedWatchMs)

const start = (t: string) => {
  token = t
  storeToken(t)
  login.hidden = true
  app.hidden = false
  connect()
}

byId<HTMLFormElement>("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault()
  const t = byId<HTMLInputElement>("login-token").value.trim()
  if (t !== "") start(t)
})
byId("logout").addEventListener("click", () => {
  forgetToken()
  token = ""
  showLogin()
})

// ---- rendering ----------------------------------------------------------------------------------

const figures = (t: OpsTick) => {
  const m = t.metrics
  const set = (id: string, text: string) => setText(byId(id), text)
  set("fig-orders", fmtInt(m.ordersPerSec))
  set("fig-reservations", fmtInt(m.reservationsPerSec))
  set("fig-p99", fmtMs(m.latencyMs.p99))
  set("fig-fill", fmtPct(m.fillRate))
  set("fig-split", fmtPct(m.splitRate))
  set("fig-backorders", fmtInt(m.backorderedUnits))
  set("fig-holds", fmtInt(t.holds.open))
  set("fig-expiring", fmtInt(t.holds.expiringSoon))
  set("fig-reroutes", fmtInt(m.reroutes))
  set("fig-p99-sub", `p50 ${fmtMs(m.latencyMs.p50)} · p90 ${fmtMs(m.latencyMs.p90)}`)
  set("fig-holds-sub", `${fmtInt(t.holds.expired)} expired this tick`)
  byId("fig-fill").dataset.bad = String(m.fillRate !== null && m.fillRate < 0.95)
  byId("fig-p99").dataset.bad = String(m.latencyMs.p99 > 50)
  const engine = t.engine
  set("engine", engine ? `engine ${engine.state} · mailbox ${fmtInt(engine.mailbox)} · commit ${fmtMs(engine.lastCommitMs)}` : "engine unknown")
  byId("engine").dataset.state = engine?.state ?? "unknown"
  set("updated", `updated ${fmtTime(t.at)}`)
}

const skuLists = (t: OpsTick) => {
  byId("hot").replaceChildren(...t.skus.hot.slice(0, hotListed).map((h) =>
    el("tr", {}, el("td", { class: "mono" }, h.sku), el("td", { class: "num" }, fmtInt(h.reservations)))))
}

const footer = () => {
  const now = performance.now()
  while (rendersWindow.length > 0 && now - rendersWindow[0] > 10_000) rendersWindow.shift()
  const heap = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize
  setText(byId("page-stats"), `${(rendersWindow.length / 10).toFixed(1)} renders/s · ${map.arcCount} arcs · ${alerts.count} alert groups${heap ? ` · page heap ${(heap / 1048576).toFixed(1)} MB` : ""}`)
}

const frame = (now: number) => {
  requestAnimationFrame(frame)
  if (app.hidden || now - lastRenderAt < 1000 / rendersPerSecondMax) return
  lastRenderAt = now
  renders++
  rendersWindow.push(now)
  if (latest && dirty.figures) figures(latest)
  if (dirty.charts) charts.render()
  if (dirty.nodes) nodeTable.render()
  alerts.render()
  if (dirty.alerts) pipeline.render()
  if (latest && dirty.skus) skuLists(latest)
  clusterPanel.render()
  map.render()
  footer()
  dirty.figures = dirty.charts = dirty.nodes = dirty.alerts = dirty.skus = false
}
requestAnimationFrame(frame)

/** Figures a monitoring probe (or a test) can read without scraping the page. */
Object.assign(window, {
  opsDashboard: {
    stats: () => ({ ticks, renders, arcs: map.arcCount, alerts: alerts.count }),
    mapPoint: (nodeId: string) => map.pointOf(nodeId),
    arcEnd: (orderId: string) => map.arcEnd(orderId)
  }
})

const initial = tokenFromFragment() ?? storedToken()
if (initial) start(initial)
else showLogin()
