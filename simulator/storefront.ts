/**
 * Storefront sessions over real WebSocket connections (gateway/client.ts):
 * each sales channel gets a set of connections, and every session of the
 * day's demand runs on one of them, many at once.
 *
 *   browse    availability of the items, near the customer
 *   abandon   availability, a cart hold per item, then the customer leaves:
 *             the holds expire on the engine clock (short TTLs in compressed time)
 *   checkout  availability, holds, think time, an order from the holds
 *             (items that could not be held are dropped or, for some
 *             customers, ordered anyway and backordered), then the payment
 *             (authorised, or declined for some); later maybe a cancellation,
 *             or a return after delivery (fulfillment.ts follows the order).
 *             Marketplace orders arrive paid, without holds.
 *   B2B       an order on the b2b channel with a purchase order, a requested
 *             delivery date and (some) ship-complete, paid on account,
 *             without holds.
 *
 * Some sessions ask availability with delivery promise dates; some checkouts
 * order with a service level or a `deliverBy` date from the answer (a few a
 * day too early: refused promise_unreachable, they order again without it).
 * Customers who rate their order do so once it is delivered (fulfillment.ts).
 *
 * Sessions that watch the doorbusters subscribe to their availability while
 * they shop (one subscription per connection, shared by reference count).
 * Every acknowledged hold and order goes into the ledger.
 */
import { GatewayClient, GatewayError, type AvailabilityItem, type Results } from "../gateway/client.ts"
import type { StorefrontOp, StorefrontPayload } from "../gateway/payloads.ts"
import type { SimClock, Scheduler } from "./clock.ts"
import type { ShippingCost } from "./cost.ts"
import { channels, type Channel, type Session } from "./demand.ts"
import type { Fulfillment } from "./fulfillment.ts"
import { Limiter } from "./http.ts"
import type { Ledger, OrderTerms } from "./ledger.ts"
import { codeOf, type Metrics } from "./metrics.ts"
import type { SimNetwork } from "./network.ts"
import { addDays, deliverByFor, serviceOf, todayOf } from "./promise.ts"

/** Requests one connection keeps in flight at most (the gateway refuses past 256). */
const inFlightPerConnection = 200
/** The engine's shortest hold TTL (engine/config.ts holdTtlMsMin). */
const holdTtlMsMin = 1_000

export class StorefrontConnection {
  private readonly limiter = new Limiter(inFlightPerConnection)
  private readonly watching = new Map<string, number>()
  private readonly orderListeners = new Map<string, (event: Record<string, unknown>) => void>()
  availabilityPushes = 0
  orderPushes = 0

  constructor(readonly channel: Channel, readonly client: GatewayClient, private readonly metrics: Metrics) {
    client.onPushFrame((frame) => {
      if (frame.push === "availability") this.availabilityPushes++
      else if (frame.push === "order") {
        this.orderPushes++
        this.orderListeners.get(frame.orderId as string)?.(frame.event as Record<string, unknown>)
      }
    })
  }

  request<K extends StorefrontOp>(op: K, payload: StorefrontPayload<K>): Promise<K extends keyof Results ? Results[K] : unknown> {
    return this.limiter.run(() => this.metrics.time(op, "ws", () => this.client.request(op, payload)))
  }

  /** Subscribes to the availability of `skus` unless this connection already does. */
  async watch(skus: ReadonlyArray<string>, location: { lat: number; lon: number }): Promise<void> {
    const fresh = skus.filter((s) => (this.watching.get(s) ?? 0) === 0)
    for (const s of skus) this.watching.set(s, (this.watching.get(s) ?? 0) + 1)
    if (fresh.length > 0) await this.request("availability.subscribe", { skus: fresh, location, nodesMax: 3 }).catch(() => undefined)
  }

  async unwatch(skus: ReadonlyArray<string>): Promise<void> {
    const gone: Array<string> = []
    for (const s of skus) {
      const n = (this.watching.get(s) ?? 1) - 1
      if (n <= 0) {
        this.watching.delete(s)
        gone.push(s)
      } else this.watching.set(s, n)
    }
    if (gone.length > 0) await this.request("availability.unsubscribe", { skus: gone }).catch(() => undefined)
  }

  /** Follows an order's events (order.subscribe); `onEvent` gets each pushed event. */
  async followOrder(orderId: string, onEvent: (event: Record<string, unknown>) => void): Promise<void> {
    this.orderListeners.set(orderId, onEvent)
    await this.request("order.subscribe", { orderId }).catch(() => undefined)
  }

  async unfollowOrder(orderId: string): Promise<void> {
    if (!this.orderListeners.delete(orderId)) return
    await this.request("order.unsubscribe", { orderId }).catch(() => undefined)
  }

  close(): Promise<void> {
    return this.client.close()
  }
}

export interface StorefrontDeps {
  readonly clock: SimClock
  readonly scheduler: Scheduler
  readonly metrics: Metrics
  readonly ledger: Ledger
  readonly fulfillment: Fulfillment
  readonly network: SimNetwork
  /** Prefix of external order ids and hold keys, unique per run against a shared target. */
  readonly idPrefix: string
  readonly holdTtlSimMs: number
  readonly pricer: ShippingCost
  /** Service levels of the gateway's carriers (what `service` orders ask for). */
  readonly services: ReadonlyArray<string>
}

/** Promise terms of an order: a service level, a last delivery day, or both. */
type PromiseTerms = { service?: string; deliverBy?: string }

/** Opens the scenario's connections per channel (`count` each), with the channel's storefront key. */
export const openConnections = async (
  wsUrl: string, keys: Readonly<Record<string, string>>, counts: Readonly<Record<Channel, number>>, metrics: Metrics
): Promise<Record<Channel, Array<StorefrontConnection>>> => {
  const out: Record<Channel, Array<StorefrontConnection>> = { web: [], marketplace: [], store: [], b2b: [] }
  const limiter = new Limiter(16)
  const jobs: Array<Promise<void>> = []
  for (const channel of channels) {
    const key = keys[channel]
    if (counts[channel] > 0 && key === undefined) throw new Error(`no storefront key for channel ${channel}`)
    for (let i = 0; i < counts[channel]; i++) {
      jobs.push(limiter.run(async () => {
        const client = await GatewayClient.connect({ url: wsUrl, key: key!, requestTimeoutMs: 15_000 })
        out[channel][i] = new StorefrontConnection(channel, client, metrics)
      }))
    }
  }
  await Promise.all(jobs)
  return out
}

/** Retries a request once after a short wait when it was not applied or may not have been (idempotent ops only). */
const once = async <T>(f: () => Promise<T>): Promise<T> => {
  try {
    return await f()
  } catch (e) {
    if (e instanceof GatewayError && e.retryable) {
      await new Promise((r) => setTimeout(r, 100))
      return f()
    }
    throw e
  }
}

export class Storefront {
  /** Sessions that ended in an order, in no order, and what the rest did. */
  readonly outcomes = {
    browsed: 0, abandoned: 0, ordered: 0, soldOut: 0, failed: 0, unitsWanted: 0, unitsDropped: 0,
    /** Availability answers with promise dates. */
    promiseAnswers: 0,
    /** Orders placed with a service level or a deliverBy date. */
    promiseOrders: 0,
    /** Orders refused promise_unreachable (then placed again without the promise). */
    promiseUnreachable: 0,
    b2bOrders: 0,
    shipCompleteOrders: 0,
    /** Ship-complete orders that waited whole as a backorder at placement. */
    shipCompleteBackordered: 0
  }

  constructor(private readonly deps: StorefrontDeps, private readonly connections: Record<Channel, Array<StorefrontConnection>>) {}

  private ttlWallMs(): number {
    return Math.max(holdTtlMsMin, Math.round(this.deps.clock.wallMs(this.deps.holdTtlSimMs)))
  }

  async run(s: Session): Promise<void> {
    const conn = this.connections[s.channel][s.connection]
    const { network } = this.deps
    const watching = s.watchDoorbusters && network.doorbusters.length > 0
    try {
      if (watching) await conn.watch(network.doorbusters, s.customer.location)
      const ask = s.promise?.ask === true
      const answer = await conn.request("availability", { skus: s.items.map((i) => i.sku), location: s.customer.location, nodesMax: 3, ...(ask ? { promise: true } : {}) })
        .catch(() => undefined)
      if (ask && answer) this.outcomes.promiseAnswers++
      const items = answer?.items ?? []
      if (s.kind === "browse") this.outcomes.browsed++
      else if (s.channel === "b2b") await this.b2bOrder(conn, s)
      else if (s.channel === "marketplace") await this.marketplaceOrder(conn, s, items)
      else await this.cart(conn, s, items)
    } catch (e) {
      this.outcomes.failed++
      if (!(e instanceof GatewayError)) throw e
    } finally {
      if (watching) await conn.unwatch(network.doorbusters)
    }
  }

  /** The promise terms a checkout orders with (undefined: none, or no date could be promised). */
  private promiseTerms(s: Session, items: ReadonlyArray<AvailabilityItem>, lines: ReadonlyArray<{ sku: string; qty: number }>, heldAt: ReadonlyMap<string, string>): PromiseTerms | undefined {
    const p = s.promise
    if (p?.terms === "service") {
      const service = serviceOf(p.serviceDraw, this.deps.services)
      return service === undefined ? undefined : { service }
    }
    if (p?.terms === "deliverBy") {
      const deliverBy = deliverByFor(items, lines, heldAt, p.tooEarly, todayOf(Date.now()))
      return deliverBy === undefined ? undefined : { deliverBy }
    }
    return undefined
  }

  /**
   * Places an order with its promise terms; refused promise_unreachable (the
   * customer asked too much), the customer orders again without them.
   */
  private async placeWithTerms<T>(terms: PromiseTerms | undefined, place: (terms: PromiseTerms) => Promise<T>): Promise<{ placed: T; asked: PromiseTerms }> {
    if (terms !== undefined) {
      try {
        const placed = await place(terms)
        this.outcomes.promiseOrders++
        return { placed, asked: terms }
      } catch (e) {
        if (codeOf(e) !== "promise_unreachable") throw e
        this.outcomes.promiseUnreachable++
      }
    }
    return { placed: await place({}), asked: {} }
  }

  private async cart(conn: StorefrontConnection, s: Session, items: ReadonlyArray<AvailabilityItem>): Promise<void> {
    const { ledger, clock, scheduler, metrics } = this.deps
    const ttlMs = this.ttlWallMs()
    const held: Array<{ sku: string; holdId: string }> = []
    const lines: Array<{ sku: string; qty: number; unitPriceCents: number }> = []
    for (const item of s.items) {
      this.outcomes.unitsWanted += item.qty
      try {
        const r = await once(() => conn.request("hold.create", {
          sku: item.sku, qty: item.qty, location: s.customer.location, ttlMs, key: `${this.deps.idPrefix}-${s.orderNo}-${item.sku}`
        }))
        const sim = clock.now()
        ledger.holdPlaced(r.hold, sim)
        metrics.bucket(sim).holdsPlaced++
        held.push({ sku: item.sku, holdId: r.hold.holdId })
        lines.push({ sku: item.sku, qty: item.qty, unitPriceCents: item.unitPriceCents })
      } catch (e) {
        // sold out, or the hold limits against one client holding a whole product (the sale goes on without the hold)
        if (!["insufficient_stock", "hold_cart_limit", "hold_channel_share"].includes(codeOf(e))) throw e
        if (s.kind === "checkout" && s.keepSoldOut) lines.push({ sku: item.sku, qty: item.qty, unitPriceCents: item.unitPriceCents })
        else this.outcomes.unitsDropped += item.qty
      }
    }
    const ttlSim = ttlMs * clock.compression
    if (s.kind === "abandon") {
      for (const h of held) {
        ledger.holdFate(h.holdId, "abandoned")
        const placed = ledger.data.holds[h.holdId]
        metrics.bucket(placed.placedSim + ttlSim).holdExpiries++
      }
      this.outcomes.abandoned++
      return
    }
    if (lines.length === 0) {
      this.outcomes.soldOut++
      return
    }
    // Think, but check out well within the hold's TTL.
    await scheduler.sleep(Math.min(s.thinkMs, ttlSim * 0.5))
    const externalId = `${this.deps.idPrefix}-${s.orderNo}`
    const heldAt = new Map(held.map((h) => [h.sku, this.deps.ledger.data.holds[h.holdId].nodeId]))
    const terms = this.promiseTerms(s, items, lines, heldAt)
    const place = (holdIds: Array<string>) => this.placeWithTerms(terms, (t) => once(() => conn.request("order.place", {
      externalId,
      lines,
      customer: { name: s.customer.name, location: s.customer.location },
      holdIds,
      payment: "pending",
      ...t
    })))
    let holdIds = held.map((h) => h.holdId)
    let placed: { placed: Results["order.place"]; asked: PromiseTerms }
    try {
      placed = await place(holdIds)
    } catch (e) {
      const code = codeOf(e)
      if (code !== "hold_expired" && code !== "hold_used" && code !== "hold_not_found") throw e
      // A hold ran out while the customer thought: order without the holds (the stock may still be there).
      for (const h of held) {
        ledger.holdFate(h.holdId, "abandoned")
        metrics.bucket(ledger.data.holds[h.holdId].placedSim + ttlSim).holdExpiries++
      }
      holdIds = []
      placed = await place(holdIds)
    }
    this.ordered(conn, s, placed.placed.order, holdIds, placed.asked)
    await scheduler.sleep(60_000 + (s.index % 5) * 30_000)
    await this.deps.fulfillment.payment(placed.placed.order.orderId, s.declinePayment ? "declined" : "authorised")
  }

  private async marketplaceOrder(conn: StorefrontConnection, s: Session, items: ReadonlyArray<AvailabilityItem>): Promise<void> {
    const lines = s.items.map((i) => ({ sku: i.sku, qty: i.qty, unitPriceCents: i.unitPriceCents }))
    for (const i of s.items) this.outcomes.unitsWanted += i.qty
    const terms = this.promiseTerms(s, items, lines, new Map())
    const r = await this.placeWithTerms(terms, (t) => once(() => conn.request("order.place", {
      externalId: `${this.deps.idPrefix}-${s.orderNo}`,
      lines,
      customer: { name: s.customer.name, location: s.customer.location },
      payment: "authorised",
      ...t
    })))
    this.ordered(conn, s, r.placed.order, [], r.asked)
  }

  /**
   * A B2B order: paid on account, no cart; a purchase order, a requested
   * delivery date (refused promise_unreachable, the buyer orders again
   * without it) and, for some buyers, ship-complete.
   */
  private async b2bOrder(conn: StorefrontConnection, s: Session): Promise<void> {
    const b = s.b2b!
    const lines = s.items.map((i) => ({ sku: i.sku, qty: i.qty, unitPriceCents: i.unitPriceCents }))
    for (const i of s.items) this.outcomes.unitsWanted += i.qty
    const base = {
      externalId: `${this.deps.idPrefix}-${s.orderNo}`,
      lines,
      customer: { name: `Buyer of ${s.customer.name}`, location: s.customer.location },
      payment: "authorised" as const,
      purchaseOrder: b.purchaseOrder,
      ...(b.shipComplete ? { shipComplete: true } : {})
    }
    const requestedDeliveryDate = addDays(todayOf(Date.now()), b.requestedInDays)
    let r: Results["order.place"]
    let asked: OrderTerms = { purchaseOrder: b.purchaseOrder, shipComplete: b.shipComplete, requestedDeliveryDate }
    try {
      r = await once(() => conn.request("order.place", { ...base, requestedDeliveryDate }))
    } catch (e) {
      if (codeOf(e) !== "promise_unreachable") throw e
      this.outcomes.promiseUnreachable++
      asked = { purchaseOrder: b.purchaseOrder, shipComplete: b.shipComplete }
      r = await once(() => conn.request("order.place", base))
    }
    this.outcomes.b2bOrders++
    if (b.shipComplete) {
      this.outcomes.shipCompleteOrders++
      if (r.order.lines.every((l) => l.backordered === l.qty)) this.outcomes.shipCompleteBackordered++
    }
    this.ordered(conn, s, r.order, [], asked)
  }

  private ordered(conn: StorefrontConnection, s: Session, view: Results["order.place"]["order"], holdIds: ReadonlyArray<string>, asked: OrderTerms): void {
    const { ledger, clock, metrics } = this.deps
    const sim = clock.now()
    ledger.orderPlaced(view, holdIds, sim, asked)
    this.outcomes.ordered++
    const b = metrics.bucket(sim)
    const live = view.shipments.filter((x) => x.status !== "withdrawn")
    b.orders++
    if (live.length > 1) b.splitOrders++
    for (const l of view.lines) {
      b.unitsOrdered += l.qty
      b.unitsBackorderedAtPlacement += l.backordered
      b.unitsRoutedAtPlacement += l.qty - l.backordered - l.cancelled
    }
    const { pricer } = this.deps
    const plan = pricer.shipmentsOf(view.lines, live)
    for (const [i, x] of live.entries()) {
      b.shipments++
      b.distanceKmSum += x.distanceKm
      b.costCentsSum += pricer.shipment(view.channel, view.destination, plan[i])
      b.engineCostCentsSum += x.costCents
    }
    if (live.length > 0) b.planCostCentsSum += pricer.plan(view.channel, view.destination, plan)
    this.deps.fulfillment.track(view, conn, s)
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.connections).flat().map((c) => c.close()))
  }

  get pushes(): { availability: number; order: number } {
    const all = Object.values(this.connections).flat()
    return { availability: all.reduce((n, c) => n + c.availabilityPushes, 0), order: all.reduce((n, c) => n + c.orderPushes, 0) }
  }
}
