/**
 * Order search by order id or external id (any channel), and the order's
 * timeline: every event the engine kept for it, each routing with its
 * explanation and candidates, and the customer notifications sent or pending.
 */
import { apiCall, failureText } from "./api.ts"
import { el, fmtDateTime, fmtInt } from "./dom.ts"
import type { OrderEvent, OrderTimeline, OrderView } from "./feed-types.ts"

const money = (cents: number): string => `$${(cents / 100).toFixed(2)}`

/** One line saying what an event did. */
const describe = (e: OrderEvent): string => {
  const f = e as Record<string, any>
  switch (e.type) {
    case "OrderPlaced": return `${f.lines.length} line(s), ${f.fulfillment}${f.pickupNodeId ? ` at ${f.pickupNodeId}` : ""}, payment ${f.paymentAuthorised ? "authorised" : "pending"}`
    case "OrderRouted": return `${f.reason}: ${f.shipments.map((s: any) => `${s.nodeId} (${s.lines.reduce((n: number, l: any) => n + l.qty, 0)} u, ${Math.round(s.distanceKm)} km, ${money(s.costCents)})`).join(" + ") || "no node"}${f.backordered.length ? `; backordered ${f.backordered.map((b: any) => `line ${b.lineNo} x${b.qty}`).join(", ")}` : ""}`
    case "ShipmentWithdrawn": return `${f.shipmentId}: ${f.reason}${f.detail ? ` (${f.detail})` : ""}`
    case "ShipmentPicked": return `${f.shipmentId}${f.short.length ? `, short ${f.short.map((s: any) => `line ${s.lineNo} x${s.qty}`).join(", ")}` : ""}`
    case "ShipmentShipped": return `${f.shipmentId} with ${f.carrier} ${f.trackingId}`
    case "ShipmentAccepted": case "ShipmentPacked": case "ShipmentDelivered": return String(f.shipmentId)
    case "PaymentFailed": return String(f.outcome)
    case "OrderCancelled": return `${f.lines.map((l: any) => `line ${l.lineNo} x${l.qty}`).join(", ")}: ${f.reason}`
    case "ReturnRequested": return `${f.returnId}: ${f.reason}`
    case "ReturnReceived": return `${f.returnId} at ${f.nodeId}`
    case "RefundIssued": return `${f.returnId}: ${money(f.amountCents)}`
    case "ShipmentTracked": return `${f.shipmentId}: ${String(f.status).replace(/_/g, " ")}${f.estimatedDelivery ? `, estimated ${f.estimatedDelivery}` : ""}${f.detail ? ` (${f.detail})` : ""}`
    case "ShipmentLate": return `${f.shipmentId}: late against its promise (${new Date(f.promisedBy).toISOString().slice(0, 10)}), ${f.cause === "estimate" ? "carrier estimate later" : "not delivered"}`
    case "FeedbackRecorded": return `rating ${f.rating}/5${f.comment ? `: ${f.comment}` : ""}`
    case "NotificationsDelivered": return (f.ids as Array<string>).join(", ")
    default: return ""
  }
}

const explanation = (e: OrderEvent): HTMLElement | null => {
  if (e.type !== "OrderRouted") return null
  const x = (e as Record<string, any>).explanation as { summary: string; candidates: Array<{ nodeId: string; costCents: number; verdict: string }> }
  return el("div", { class: "explanation" },
    el("div", {}, x.summary),
    x.candidates.length === 0 ? null : el("table", { class: "candidates" },
      el("tbody", {}, ...x.candidates.slice(0, 6).map((c) => el("tr", {}, el("td", { class: "mono" }, c.nodeId), el("td", { class: "num" }, money(c.costCents)), el("td", {}, c.verdict))))))
}

export class OrderSearch {
  private readonly input: HTMLInputElement
  private readonly result: HTMLElement

  constructor(private readonly host: HTMLElement, private readonly token: () => string) {
    const input = this.input = el("input", { type: "search", id: "order-query", placeholder: "e.g. o3-1a or WEB-10", autocomplete: "off", "data-testid": "order-query" })
    const form = el("form", { class: "search", role: "search" },
      el("label", { for: "order-query" }, "Order id or external id (or its start, any case)"), input, el("button", { type: "submit" }, "Find"))
    const result = this.result = el("div", { id: "order-result", "data-testid": "order-result", "aria-live": "polite" })
    form.addEventListener("submit", (ev) => {
      ev.preventDefault()
      void this.search(input.value.trim(), result)
    })
    host.append(form, result)
  }

  /** Opens an order's timeline (from an alert or the pipeline view) and brings the search into view. */
  open(orderId: string): void {
    this.input.value = orderId
    this.host.scrollIntoView({ block: "start" })
    // the id is exact: a search would match every order whose id starts with it
    this.result.replaceChildren(el("p", { class: "muted" }, "searching..."))
    void this.show(orderId, this.result)
  }

  private async search(q: string, out: HTMLElement): Promise<void> {
    if (q === "") return
    out.replaceChildren(el("p", { class: "muted" }, "searching..."))
    try {
      const { orders } = await apiCall<{ orders: Array<OrderView> }>(this.token(), "GET", `/v1/ops/orders?q=${encodeURIComponent(q)}`)
      if (orders.length === 0) return out.replaceChildren(el("p", { class: "muted", "data-testid": "order-none" }, `no order has an id or external id starting with ${q}`))
      if (orders.length === 1) return this.show(orders[0].orderId, out)
      out.replaceChildren(el("p", {}, `${orders.length} orders:`), ...orders.map((o) => {
        const b = el("button", { type: "button", class: "link", "data-order": o.orderId }, `${o.orderId} (${o.channel} ${o.externalId}, ${o.status})`)
        b.addEventListener("click", () => void this.show(o.orderId, out))
        return el("div", {}, b)
      }))
    } catch (e) {
      out.replaceChildren(el("p", { class: "bad", role: "alert", "data-testid": "order-error" }, failureText(e, "the search did not run")))
    }
  }

  private async show(orderId: string, out: HTMLElement): Promise<void> {
    let t: OrderTimeline
    try {
      t = await apiCall<OrderTimeline>(this.token(), "GET", `/v1/ops/orders/${encodeURIComponent(orderId)}/timeline`)
    } catch (e) {
      out.replaceChildren(el("p", { class: "bad", role: "alert", "data-testid": "order-error" }, failureText(e, `the timeline of ${orderId} was not loaded`)))
      return
    }
    const o = t.order
    out.replaceChildren(
      el("div", { class: "order-head" },
        el("h3", { class: "mono", "data-testid": "order-id" }, o.orderId),
        el("span", { class: "badge", "data-status": o.status }, o.status),
        el("div", { class: "muted" }, `${o.channel} · external id ${o.externalId} · payment ${o.payment} · ${o.fulfillment} to ${o.destination.lat.toFixed(2)}, ${o.destination.lon.toFixed(2)} · placed ${fmtDateTime(o.placedAt)}`)),
      el("table", { class: "lines" },
        el("thead", {}, el("tr", {}, el("th", {}, "Line"), el("th", {}, "SKU"), el("th", { class: "num" }, "Qty"), el("th", { class: "num" }, "Shipped"), el("th", { class: "num" }, "Backordered"), el("th", { class: "num" }, "Cancelled"))),
        el("tbody", {}, ...o.lines.map((l) => el("tr", {}, el("td", {}, l.lineNo), el("td", { class: "mono" }, l.sku), el("td", { class: "num" }, l.qty), el("td", { class: "num" }, l.shipped), el("td", { class: "num" }, l.backordered), el("td", { class: "num" }, l.cancelled))))),
      el("table", { class: "lines" },
        el("thead", {}, el("tr", {}, el("th", {}, "Shipment"), el("th", {}, "Node"), el("th", {}, "Status"), el("th", { class: "num" }, "Distance"), el("th", { class: "num" }, "Cost"), el("th", {}, "Tracking"))),
        el("tbody", {}, ...o.shipments.map((s) => el("tr", {}, el("td", { class: "mono" }, s.shipmentId), el("td", { class: "mono" }, s.nodeId), el("td", {}, s.status), el("td", { class: "num" }, `${fmtInt(s.distanceKm)} km`), el("td", { class: "num" }, money(s.costCents)), el("td", {}, s.trackingId ? `${s.carrier} ${s.trackingId}` : "–"))))),
      el("h4", {}, "Timeline"),
      el("ol", { class: "timeline", "data-testid": "order-timeline" }, ...t.history.map((h) =>
        el("li", { "data-event": h.event.type },
          el("span", { class: "when" }, h.event.at === undefined ? `#${h.seq}` : fmtDateTime(h.event.at)),
          el("span", { class: "what" }, h.event.type),
          el("span", { class: "detail" }, describe(h.event)),
          explanation(h.event)))),
      el("h4", {}, "Notifications"),
      t.notifications.length === 0
        ? el("p", { class: "muted" }, "none yet")
        : el("ul", { class: "notifications", "data-testid": "order-notifications" }, ...t.notifications.map((n) =>
          el("li", {}, el("span", { class: "mono" }, n.id), " ", el("span", { class: `badge note-${n.state}` }, n.state), n.at ? ` ${fmtDateTime(n.at)}` : "")))
    )
  }
}
