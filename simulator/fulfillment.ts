/**
 * Fulfillment nodes and the life of each order after it is placed. Nodes
 * answer over HTTP with their node keys (docs/protocol.md, section 4): accept
 * or reject each shipment routed to them, pick it (sometimes one unit short),
 * pack it, ship it with a carrier and tracking number, and see it delivered;
 * they receive returns and restock or write them off. Storefront-side steps
 * that follow an order (payment, cancellation, return request) go over the
 * order's WebSocket connection.
 *
 * Each order is followed from the views the gateway answers with; the order's
 * WS subscription tells when something changed that no reply of ours showed
 * (re-routing after an outage, backorders released by a receipt), and the
 * order is read again (ops token). All steps of one order run one at a time,
 * so what the ledger records (units shipped, short-picked, restocked) is what
 * the acknowledged step did. Which shipments a node rejects or picks short,
 * and every delay, are fixed by the seed (demand.ts `chance`).
 *
 * With `nodes.tracking`, the carrier of some shipments reports tracking over
 * HTTP (`POST /v1/shipments/:id/tracking`, node key): in transit, out for
 * delivery, delivered (instead of the node's deliver event); for a few
 * shipments with a promise the in-transit scan estimates delivery days past
 * the promised day, which makes them late at once (`shipment_late` on the
 * ops feed). Customers who rate their order (`sessions.feedbackRate`) send
 * `order.feedback` once every unit not cancelled is delivered, once.
 *
 * Longer than the ~450 lines other files keep to: every step of an order's
 * life is a method of one class that holds the order's lock, its retries and
 * its ledger entries.
 */
import type { OrderView } from "../engine/index.ts"
import type { Scheduler } from "./clock.ts"
import { chance, chanceBetween, type Session } from "./demand.ts"
import { addDays, todayOf } from "./promise.ts"
import type { HttpApi } from "./http.ts"
import type { Ledger } from "./ledger.ts"
import { codeOf } from "./metrics.ts"
import type { SimKeys } from "./network.ts"
import type { Scenario } from "./scenario.ts"
import type { StorefrontConnection } from "./storefront.ts"

interface Tracked {
  view: OrderView
  readonly conn: StorefrontConnection
  readonly session: Session
  chain: Promise<void>
  /** `${shipmentId}:${status}` steps scheduled (or done). */
  readonly steps: Set<string>
  readonly attempts: Map<string, number>
  refreshQueued: boolean
  returnAsked: boolean
  cancelScheduled: boolean
  readonly receiving: Set<string>
  /** Cancellation, return, receipt and feedback steps scheduled and not done. */
  actions: number
  settled: boolean
  feedbackAsked: boolean
}

type TrackingStatus = "in_transit" | "out_for_delivery" | "delivered"

/** Every unit not cancelled is delivered, and something was: what the engine takes feedback after. */
export const deliveredWhole = (v: Pick<OrderView, "lines">): boolean =>
  v.lines.every((l) => l.delivered + l.cancelled >= l.qty) && v.lines.some((l) => l.delivered > 0)

/** A customer whose parcel came late gives two stars less. */
export const ratingAfter = (rating: number, late: boolean): number => (late ? Math.max(1, rating - 2) : rating)

type NodeEventBody = Record<string, unknown> & { type: string }

const minute = 60_000
const hour = 60 * minute
const carriers = ["UPS", "FedEx", "USPS", "OnTrac"]
const stepAttemptsMax = 4
const openStatuses = new Set(["routed", "accepted", "picked", "packed", "shipped"])

export interface FulfillmentDeps {
  readonly scheduler: Scheduler
  readonly http: HttpApi
  readonly keys: SimKeys
  readonly ledger: Ledger
  readonly scenario: Scenario
  readonly seed: number
}

export class Fulfillment {
  private readonly orders = new Map<string, Tracked>()
  private readonly offline = new Set<string>()
  /** Nodes whose key the gateway does not know. */
  private readonly keyless = new Set<string>()
  /** Nodes whose own key the target gateway took. */
  private readonly keyed = new Set<string>()
  /** Steps scheduled or running. */
  private pending = 0
  readonly counts = {
    accepted: 0, rejected: 0, shortPicks: 0, shipped: 0, delivered: 0, cancelled: 0, returns: 0, returnsReceived: 0, refreshes: 0, stepErrors: 0, gaveUp: 0,
    /** Carrier tracking updates acknowledged (in transit, out for delivery, delivered). */
    trackingUpdates: 0,
    /** In-transit scans that estimated delivery past the promised day. */
    lateEstimates: 0,
    feedback: 0,
    feedbackRatingSum: 0
  }

  constructor(private readonly deps: FulfillmentDeps) {}

  get busy(): number {
    return this.pending
  }

  get tracked(): number {
    return this.orders.size
  }

  /** Units backordered on the orders followed (as last seen). */
  backorderedUnits(): number {
    let n = 0
    for (const t of this.orders.values()) for (const l of t.view.lines) n += l.backordered
    return n
  }

  views(): Array<OrderView> {
    return [...this.orders.values()].map((t) => t.view)
  }

  track(view: OrderView, conn: StorefrontConnection, session: Session): void {
    if (this.orders.has(view.orderId)) return
    const t: Tracked = {
      view, conn, session, chain: Promise.resolve(), steps: new Set(), attempts: new Map(),
      refreshQueued: false, returnAsked: false, cancelScheduled: false, receiving: new Set(), actions: 0, settled: false, feedbackAsked: false
    }
    this.orders.set(view.orderId, t)
    void conn.followOrder(view.orderId, (event) => {
      if (event.type === "OrderRouted" || event.type === "ShipmentWithdrawn" || event.type === "PaymentFailed") this.refreshSoon(t)
    })
    this.onView(t)
  }

  // ---- storefront steps of an order ----

  payment(orderId: string, outcome: "authorised" | "declined"): Promise<void> {
    const t = this.orders.get(orderId)
    if (!t) return Promise.resolve()
    return this.locked(t, async () => {
      try {
        const r = await t.conn.request("order.payment", { orderId, outcome })
        this.deps.ledger.acknowledged(r.order)
        t.view = r.order
      } catch {
        await this.read(t)
      }
    })
  }

  private cancel(t: Tracked): Promise<void> {
    return this.locked(t, async () => {
      try {
        const r = await t.conn.request("order.cancel", { orderId: t.view.orderId, reason: "customer changed their mind" })
        this.deps.ledger.acknowledged(r.order)
        t.view = r.order
        this.counts.cancelled++
      } catch (e) {
        // invalid_state: already shipped; that is an answer, not a failure
        if (codeOf(e) !== "invalid_state") await this.read(t)
      }
    })
  }

  private requestReturn(t: Tracked): Promise<void> {
    return this.locked(t, async () => {
      const lines = t.view.lines.map((l) => ({ lineNo: l.lineNo, qty: l.delivered - l.returned })).filter((l) => l.qty > 0)
      if (lines.length === 0) return
      try {
        const r = await t.conn.request("return.request", { orderId: t.view.orderId, lines, reason: "did not fit" })
        this.deps.ledger.acknowledged(r.order)
        t.view = r.order
        this.counts.returns++
      } catch {
        await this.read(t)
      }
    })
  }

  private giveFeedback(t: Tracked): Promise<void> {
    return this.locked(t, async () => {
      const f = t.session.feedback
      if (!f || !deliveredWhole(t.view)) return
      const rating = ratingAfter(f.rating, t.view.shipments.some((s) => s.late))
      try {
        const r = await t.conn.request("order.feedback", { orderId: t.view.orderId, rating, ...(f.comment !== undefined ? { comment: f.comment } : {}) })
        this.deps.ledger.acknowledged(r.order)
        this.deps.ledger.feedbackGiven(t.view.orderId, rating, f.comment ?? "")
        t.view = r.order
        this.counts.feedback++
        this.counts.feedbackRatingSum += rating
      } catch {
        await this.read(t)
      }
    })
  }

  // ---- node steps ----

  /** Whether the carrier of this shipment reports tracking (fixed by the seed). */
  private carrierTracks(tag: string): boolean {
    const tracking = this.deps.scenario.nodes.tracking
    return tracking !== undefined && chance(this.deps.seed, `${tag}|tracked`) < tracking.rate
  }

  /** A carrier's tracking update of a shipped shipment, with the node's key. */
  private trackingEvent(nodeId: string, shipmentId: string, body: { status: TrackingStatus; estimatedDelivery?: string }): Promise<{ order: OrderView }> {
    return this.asNode(nodeId, "shipment.track", (key, op) => this.deps.http.call<{ order: OrderView }>("POST", `/v1/shipments/${encodeURIComponent(shipmentId)}/tracking`, key, body, op))
  }

  /** An in-transit or out-for-delivery scan; best effort: a scan the carrier misses is not retried. */
  private async trackStep(t: Tracked, shipmentId: string, status: "in_transit" | "out_for_delivery"): Promise<void> {
    await this.locked(t, async () => {
      const s = t.view.shipments.find((x) => x.shipmentId === shipmentId)
      if (!s || s.status !== "shipped") return
      const { scenario, seed, ledger } = this.deps
      const tag = this.tagOf(t, shipmentId, s.nodeId)
      const delay = scenario.nodes.tracking?.delayDays
      let estimatedDelivery: string | undefined
      if (status === "in_transit" && s.promise && delay && chance(seed, `${tag}|delayed`) < (scenario.nodes.tracking?.delayRate ?? 0)) {
        estimatedDelivery = addDays(todayOf(s.promise.promisedBy), Math.round(chanceBetween(seed, `${tag}|delayDays`, delay)))
      }
      try {
        const r = await this.trackingEvent(s.nodeId, shipmentId, { status, ...(estimatedDelivery ? { estimatedDelivery } : {}) })
        ledger.acknowledged(r.order)
        t.view = r.order
        this.counts.trackingUpdates++
        if (estimatedDelivery) this.counts.lateEstimates++
      } catch {
        this.counts.stepErrors++
        await this.read(t)
      }
    })
  }

  private tagOf(t: Tracked, shipmentId: string, nodeId: string): string {
    return `${t.view.externalId}|${shipmentId.slice(t.view.orderId.length)}|${nodeId}`
  }


  private receiveReturn(t: Tracked, returnId: string): Promise<void> {
    return this.locked(t, async () => {
      const ret = t.view.returns.find((r) => r.returnId === returnId)
      const from = t.view.shipments.find((s) => s.status === "delivered")
      if (!ret || ret.status !== "requested" || !from) return
      const { scenario, seed, ledger } = this.deps
      const lines = ret.lines.map((l) => ({
        lineNo: l.lineNo, qty: l.qty,
        disposition: chance(seed, `${t.view.externalId}|${returnId}|${l.lineNo}|restock`) < scenario.nodes.restockRate ? "restock" as const : "writeOff" as const
      }))
      try {
        const r = await this.nodeEvent(from.nodeId, { type: "return.receive", orderId: t.view.orderId, returnId, lines })
        ledger.acknowledged(r.order)
        for (const l of lines) {
          if (l.disposition === "restock") ledger.restocked(from.nodeId, this.skuOf(t, l.lineNo), l.qty)
        }
        t.view = r.order
        this.counts.returnsReceived++
      } catch {
        await this.read(t)
      }
    })
  }

  private async step(t: Tracked, shipmentId: string, status: string): Promise<void> {
    const key = `${shipmentId}:${status}`
    let again = false
    await this.locked(t, async () => {
      const s = t.view.shipments.find((x) => x.shipmentId === shipmentId)
      if (!s || s.status !== status) return
      if (this.offline.has(s.nodeId) && status !== "shipped") {
        again = true
        return
      }
      const { scenario, seed, ledger } = this.deps
      const tag = this.tagOf(t, shipmentId, s.nodeId)
      const ref = { orderId: t.view.orderId, shipmentId }
      let event: NodeEventBody
      let short: { sku: string; qty: number } | undefined
      switch (status) {
        case "routed":
          event = chance(seed, `${tag}|reject`) < scenario.nodes.rejectRate
            ? { type: "shipment.reject", ...ref, reason: "cannot fulfil today" }
            : { type: "shipment.accept", ...ref }
          break
        case "accepted":
          if (chance(seed, `${tag}|short`) < scenario.nodes.shortPickRate) {
            const first = s.lines[0]
            short = { sku: this.skuOf(t, first.lineNo), qty: 1 }
            event = { type: "shipment.pick", ...ref, lines: s.lines.map((l, i) => ({ lineNo: l.lineNo, qty: i === 0 ? l.qty - 1 : l.qty })) }
          } else event = { type: "shipment.pick", ...ref }
          break
        case "picked":
          event = { type: "shipment.pack", ...ref }
          break
        case "packed": {
          const carrier = carriers[Math.floor(chance(seed, `${tag}|carrier`) * carriers.length)]
          const trackingId = `${carrier.slice(0, 2).toUpperCase()}${Math.floor(chance(seed, `${tag}|tracking`) * 1e12).toString().padStart(12, "0")}`
          event = { type: "shipment.ship", ...ref, carrier, trackingId }
          break
        }
        case "shipped":
          event = { type: "shipment.deliver", ...ref }
          break
        default:
          return
      }
      // a tracked shipment's delivery is the carrier's scan, not the node's event
      const viaCarrier = event.type === "shipment.deliver" && this.carrierTracks(tag)
      try {
        const r = viaCarrier ? await this.trackingEvent(s.nodeId, shipmentId, { status: "delivered" }) : await this.nodeEvent(s.nodeId, event)
        ledger.acknowledged(r.order)
        if (viaCarrier) this.counts.trackingUpdates++
        if (event.type === "shipment.ship") {
          ledger.shipped(s.nodeId, s.lines.map((l) => ({ sku: this.skuOf(t, l.lineNo), qty: l.qty })))
          this.counts.shipped++
        }
        if (short) {
          ledger.shortPicked(s.nodeId, short.sku, short.qty)
          this.counts.shortPicks++
        }
        if (event.type === "shipment.accept") this.counts.accepted++
        if (event.type === "shipment.reject") this.counts.rejected++
        if (event.type === "shipment.deliver") this.counts.delivered++
        t.view = r.order
      } catch {
        this.counts.stepErrors++
        await this.read(t)
        const n = (t.attempts.get(key) ?? 0) + 1
        t.attempts.set(key, n)
        const after = t.view.shipments.find((x) => x.shipmentId === shipmentId)
        if (after?.status === status) {
          if (n < stepAttemptsMax) again = true
          else this.counts.gaveUp++
        }
      }
    })
    if (again) {
      this.pending++
      this.deps.scheduler.after(30 * minute, () => void this.step(t, shipmentId, status).finally(() => this.pending--))
    }
    this.onView(t)
  }

  private nodeEvent(nodeId: string, body: NodeEventBody): Promise<{ order: OrderView }> {
    return this.asNode(nodeId, body.type, (key, op) => this.deps.http.call<{ order: OrderView }>("POST", `/v1/nodes/${encodeURIComponent(nodeId)}/events`, key, body, op))
  }

  /**
   * Calls with the node's key; a node the target gateway has no key for (a node
   * the simulator added to a running gateway) acts with the ops token instead.
   * The first call with a node's key is not measured as `op` until the key is
   * known to work, so a key the gateway turns down is not counted as a failure
   * of the day (the call is made again, measured, with the ops token).
   */
  private async asNode<T>(nodeId: string, op: string, f: (key: string, op: string | undefined) => Promise<T>): Promise<T> {
    const key = this.keyless.has(nodeId) ? undefined : this.deps.keys.node[nodeId]
    if (key === undefined) return f(this.deps.keys.ops, op)
    if (this.keyed.has(nodeId)) return f(key, op)
    try {
      const r = await f(key, undefined)
      this.keyed.add(nodeId)
      return r
    } catch (e) {
      if (codeOf(e) !== "unauthorized") {
        this.keyed.add(nodeId)
        throw e
      }
      this.keyless.add(nodeId)
      return f(this.deps.keys.ops, op)
    }
  }

  // ---- network events (ops, WMS) ----

  /** Takes a node offline or brings it back (ops token); offline re-routes its open, unpicked shipments. */
  async setNodeStatus(nodeId: string, status: "online" | "offline", reason: string, sim: number): Promise<void> {
    await this.deps.http.call("POST", `/v1/nodes/${encodeURIComponent(nodeId)}/status`, this.deps.keys.ops, { status, reason }, "node.status")
    this.deps.ledger.nodeStatus(nodeId, status, sim)
    if (status === "offline") this.offline.add(nodeId)
    else this.offline.delete(nodeId)
  }

  /** A receipt at a node (its WMS, with the node key); it re-tries the SKU's backorders. */
  async receive(sku: string, nodeId: string, qty: number, reference: string): Promise<void> {
    await this.asNode(nodeId, "inventory.receive", (key, op) => this.deps.http.call("POST", "/v1/inventory/receive", key, { sku, nodeId, qty, reference }, op))
    this.deps.ledger.received(sku, nodeId, qty)
  }

  // ---- following orders ----

  /** Reads every order not settled yet again (a safety net for missed pushes). */
  async sweep(): Promise<void> {
    await Promise.all([...this.orders.values()].filter((t) => !t.settled).map((t) => this.locked(t, () => this.read(t)).then(() => this.onView(t))))
  }

  private refreshSoon(t: Tracked): void {
    if (t.refreshQueued) return
    t.refreshQueued = true
    this.pending++
    void this.locked(t, async () => {
      t.refreshQueued = false
      await this.read(t)
    }).finally(() => {
      this.pending--
      this.onView(t)
    })
  }

  /** Reads the order (ops token); a read, so nothing goes into the ledger. Call under the order's lock. */
  private async read(t: Tracked): Promise<void> {
    this.counts.refreshes++
    try {
      const r = await this.deps.http.call<{ order: OrderView }>("GET", `/v1/orders/${encodeURIComponent(t.view.orderId)}`, this.deps.keys.ops, undefined, "order.read")
      t.view = r.order
    } catch {
      // keep what we had
    }
  }

  /** Schedules what comes next for the order, from its latest view. */
  private onView(t: Tracked): void {
    if (t.settled) return
    const { scheduler, scenario, seed } = this.deps
    const v = t.view
    const m = scenario.nodes.minutes
    const delays: Record<string, { min: number; max: number }> = {
      routed: { min: m.accept.min * minute, max: m.accept.max * minute },
      accepted: { min: m.pick.min * minute, max: m.pick.max * minute },
      picked: { min: m.pack.min * minute, max: m.pack.max * minute },
      packed: { min: m.ship.min * minute, max: m.ship.max * minute },
      shipped: { min: scenario.nodes.hours.transit.min * hour, max: scenario.nodes.hours.transit.max * hour }
    }
    if (v.payment === "pending" || v.payment === "declined" || v.payment === "timeout") {
      if (v.payment !== "pending") this.settle(t)
      return
    }
    for (const s of v.shipments) {
      if (!openStatuses.has(s.status)) continue
      const key = `${s.shipmentId}:${s.status}`
      if (t.steps.has(key)) continue
      t.steps.add(key)
      this.pending++
      const delay = chanceBetween(seed, `${v.externalId}|${s.shipmentId.slice(v.orderId.length)}|${s.status}|delay`, delays[s.status])
      scheduler.after(delay, () => void this.step(t, s.shipmentId, s.status).finally(() => this.pending--))
      if (s.status === "shipped" && this.carrierTracks(this.tagOf(t, s.shipmentId, s.nodeId))) {
        // the carrier's scans during the transit: in transit early on, out for delivery near the end
        for (const [status, at] of [["in_transit", 0.3], ["out_for_delivery", 0.8]] as const) {
          this.pending++
          scheduler.after(delay * at, () => void this.trackStep(t, s.shipmentId, status).finally(() => this.pending--))
        }
      }
    }
    if (t.session.cancelAfterMs !== undefined && !t.cancelScheduled) {
      t.cancelScheduled = true
      this.action(t, t.session.cancelAfterMs, () => this.cancel(t))
    }
    const live = v.shipments.filter((s) => s.status !== "withdrawn")
    const allDelivered = live.length > 0 && live.every((s) => s.status === "delivered")
    const backordered = v.lines.some((l) => l.backordered > 0)
    const wantsReturn = t.session.returnAfterDelivery && allDelivered && !backordered && !t.returnAsked
    if (wantsReturn) {
      t.returnAsked = true
      const r = scenario.nodes.hours.returnAfterDelivery
      this.action(t, chanceBetween(seed, `${v.externalId}|return`, { min: r.min * hour, max: r.max * hour }), () => this.requestReturn(t))
    }
    if (t.session.feedback && !t.feedbackAsked && deliveredWhole(v)) {
      t.feedbackAsked = true
      // customers rate within a few hours of the delivery
      this.action(t, chanceBetween(seed, `${v.externalId}|feedback`, { min: hour, max: 6 * hour }), () => this.giveFeedback(t))
    }
    for (const r of v.returns) {
      if (r.status !== "requested" || t.receiving.has(r.returnId)) continue
      t.receiving.add(r.returnId)
      const h = scenario.nodes.hours.returnTransit
      this.action(t, chanceBetween(seed, `${v.externalId}|${r.returnId}|transit`, { min: h.min * hour, max: h.max * hour }), () => this.receiveReturn(t, r.returnId))
    }
    const open = live.some((s) => openStatuses.has(s.status)) || backordered || v.returns.some((r) => r.status === "requested")
    if (v.status === "cancelled" || (!open && t.actions === 0)) this.settle(t)
  }

  /** Schedules a storefront or return step of the order; the order is not settled while one waits. */
  private action(t: Tracked, delay: number, f: () => Promise<void>): void {
    t.actions++
    this.pending++
    this.deps.scheduler.after(delay, () => void f().finally(() => {
      t.actions--
      this.pending--
      this.onView(t)
    }))
  }

  private settle(t: Tracked): void {
    if (t.settled) return
    t.settled = true
    void t.conn.unfollowOrder(t.view.orderId)
  }

  private skuOf(t: Tracked, lineNo: number): string {
    return t.view.lines.find((l) => l.lineNo === lineNo)!.sku
  }

  /** Runs `f` after every earlier step of the same order. */
  private locked(t: Tracked, f: () => Promise<void>): Promise<void> {
    const next = t.chain.then(f).catch((e) => {
      console.error(`simulator: order ${t.view.orderId}: ${String(e)}`)
    })
    t.chain = next
    return next
  }
}
