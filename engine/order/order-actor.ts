/**
 * The Order actor's command handlers: capture (validated, idempotent on
 * channel + external id), routing and reservation, payment, node events
 * (accept, reject, pick with short picks, pack, ship, deliver), cancellation,
 * returns, exchanges, and the engine's own follow-ups (payment timeouts,
 * node outages, backorder retries).
 *
 * A handler validates first and rejects with a named error before emitting
 * anything, so a refused command changes nothing. It then emits the order's
 * events and sends commands to StockPool actors through the PoolPort; the
 * runtime journals both in the same group commit.
 */
import type { EngineConfig } from "../config.ts"
import type {
  CancelOrder, ExchangeOrder, LineQty, OrderLineInput, PlaceOrder, ReceiveReturn, RecordFeedback, RecordPayment, RequestReturn, ShipmentCommand,
  TrackShipment
} from "../domain/commands.ts"
import { trackingStatuses } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type {
  OrderEvent, OrderLine, RouteCandidateExplanation, RouteReason, ShipmentLineQty, ShipmentPlan
} from "../domain/events.ts"
import { distanceKm, isLatLon, policyAllows, type LatLon } from "../domain/network.ts"
import type { Accepted, Reply } from "../domain/replies.ts"
import { checkId, checkLeg, checkLineQtys, checkQty, checkText, isCount } from "../domain/validate.ts"
import { nodeById, serviceOffered, type NetworkState } from "../network/network-actor.ts"
import { dateOf, dayOf, parseDate } from "../promise/calendar.ts"
import {
  cheapestMeeting, deliveryOptions, earliest, promiseOf, rateCents, type DeliveryOption, type PromiseConstraint
} from "../promise/promise.ts"
import { describeConstraint, routeWithPromise } from "../promise/promise-route.ts"
import { resolvePlace } from "../network/places.ts"
import { partitionOfHold, type Hold } from "../pool/pool-actor.ts"
import { shipmentCostCents } from "../routing/cost.ts"
import type { CapacityLookup, RouteRequest, RouteResult, Router, StockLookup } from "../routing/types.ts"
import { externalKey, legKey, orderIdFor, type OrderBook } from "./order-book.ts"
import { partitionOf } from "../runtime/partition.ts"
import {
  deliverByDayOf, hasPromise, isOpenShipment, lineIndex, orderStatus, orderView, shippedQty, unrouted,
  type OrderState, type Shipment, type ShipmentStatus
} from "./order-state.ts"

/** Commands an Order actor sends to StockPool actors (in whichever partition owns the pool). */
export interface PoolPort {
  /** A live hold of this channel, or why it cannot be used. */
  findHold(holdId: string, channel: string): Hold | Rejection
  endHold(holdId: string, reason: "converted" | "released"): void
  /** `convertedQty` of the units come from cart holds at the pool ended for this reservation. */
  reserve(
    reservationId: string, orderId: string, sku: string, nodeId: string, qty: number, stage: "held" | "allocated", convertedQty: number
  ): Rejection | undefined
  allocate(reservationId: string, sku: string): void
  release(reservationId: string, sku: string, qty: number, reason: string): void
  ship(reservationId: string, sku: string, qty: number): void
  /** A short pick proved the node does not have the units: take them off its on hand. */
  writeOff(sku: string, nodeId: string, qty: number, reason: string): void
  restock(sku: string, nodeId: string, qty: number, orderId: string, returnId: string): void
}

export interface OrderContext {
  readonly now: number
  readonly config: EngineConfig
  readonly net: NetworkState
  readonly stock: StockLookup
  readonly capacity: CapacityLookup
  readonly route: Router
  readonly pools: PoolPort
  /** Journals an event of an order of this partition and applies it. */
  emit(e: OrderEvent): OrderState
  /** Places an order in whichever partition owns it (used by exchanges). */
  placeOrder(c: PlaceOrder): Reply
}

const acceptedOrder = (o: OrderState, existing = false): Accepted =>
  existing ? { ok: true, order: orderView(o), existing: true } : { ok: true, order: orderView(o) }

/** The order, if it exists and (when the caller names one) belongs to the caller's channel. */
export const findOrder = (book: OrderBook, orderId: unknown, channel: string | undefined): OrderState | Rejection => {
  if (typeof orderId !== "string") return reject("invalid_id")
  const o = book.orders.get(orderId)
  if (!o || (channel !== undefined && o.channel !== channel)) return reject("order_not_found")
  return o
}

// ---- capture ---------------------------------------------------------------------------

const resolveDestination = (c: PlaceOrder, net: NetworkState): LatLon | undefined => {
  const customer = c.customer
  if (typeof customer !== "object" || customer === null) return undefined
  if (customer.location !== undefined) return isLatLon(customer.location) ? { lat: customer.location.lat, lon: customer.location.lon } : undefined
  if (typeof customer.place !== "string" || customer.place.length === 0 || customer.place.length > 200) return undefined
  return nodeById(net, customer.place)?.location ?? resolvePlace(customer.place)
}

const checkOrderLines = (lines: unknown, net: NetworkState, config: EngineConfig): Rejection | undefined => {
  if (!Array.isArray(lines) || lines.length === 0) return reject("malformed_command", "lines must be a non-empty list")
  if (lines.length > config.orderLinesMax) return reject("too_many_lines")
  const seen = new Set<string>()
  for (const l of lines as ReadonlyArray<OrderLineInput>) {
    if (typeof l !== "object" || l === null) return reject("malformed_command", "each line needs sku and qty")
    const bad = checkId(l.sku, config) ?? checkQty(l.qty, config)
    if (bad) return bad
    if (!net.skuIndex.has(l.sku)) return reject("unknown_sku", `unknown SKU ${l.sku}`)
    if (seen.has(l.sku)) return reject("duplicate_line", `SKU ${l.sku} appears on two lines`)
    seen.add(l.sku)
    if (l.unitPriceCents !== undefined && !isCount(l.unitPriceCents)) return reject("malformed_command", "unitPriceCents must be a whole number >= 0")
  }
  return undefined
}

const sameLines = (a: ReadonlyArray<OrderLine>, b: ReadonlyArray<OrderLineInput>): boolean =>
  a.length === b.length && a.every((l, i) => l.sku === b[i].sku && l.qty === b[i].qty && l.unitPriceCents === (b[i].unitPriceCents ?? 0))

type OrderTerms = Pick<PlaceOrder, "service" | "deliverBy" | "purchaseOrder" | "shipComplete" | "requestedDeliveryDate">

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f]/

/** The delivery promise and B2B fields of an order, checked; only the fields given are kept. */
const checkOrderTerms = (c: PlaceOrder, fulfillment: "ship" | "pickup", ctx: OrderContext): OrderTerms | Rejection => {
  const today = dayOf(ctx.now)
  const terms: { -readonly [K in keyof OrderTerms]: OrderTerms[K] } = {}
  if (c.service !== undefined) {
    if (checkId(c.service, ctx.config)) return reject("unknown_service", "service must be a service level code")
    if (!serviceOffered(ctx.net, c.service)) return reject("unknown_service", `no carrier offers service ${c.service}`)
    terms.service = c.service
  }
  for (const key of ["deliverBy", "requestedDeliveryDate"] as const) {
    const value = c[key]
    if (value === undefined) continue
    const day = parseDate(value)
    if (day === undefined) return reject("invalid_date", `${key} must be a calendar date YYYY-MM-DD`)
    if (day < today) return reject("invalid_date", `${key} ${value} is before today (${dateOf(today)})`)
    terms[key] = value
  }
  if ((terms.service !== undefined || terms.deliverBy !== undefined) && fulfillment !== "ship") {
    return reject("malformed_command", "service and deliverBy apply to shipped orders, not pickup")
  }
  if (c.purchaseOrder !== undefined) {
    if (typeof c.purchaseOrder !== "string" || c.purchaseOrder.length === 0 || c.purchaseOrder.length > ctx.config.idLengthMax ||
      controlCharacters.test(c.purchaseOrder)) {
      return reject("invalid_reference", `purchaseOrder must be 1..${ctx.config.idLengthMax} printable characters`)
    }
    terms.purchaseOrder = c.purchaseOrder
  }
  if (c.shipComplete !== undefined) {
    if (typeof c.shipComplete !== "boolean") return reject("malformed_command", "shipComplete must be true or false")
    if (c.shipComplete) terms.shipComplete = true
  }
  return terms
}

const promiseConstraintOf = (o: Pick<OrderState, "service" | "deliverByDay">): PromiseConstraint => ({
  ...(o.service !== null && o.service !== undefined ? { service: o.service } : {}),
  ...(o.deliverByDay !== null && o.deliverByDay !== undefined ? { deliverByDay: o.deliverByDay } : {})
})

/**
 * An order asking for a promise is refused before it exists when the promise
 * cannot be met but the units could ship without it (promise_unreachable),
 * with the earliest achievable delivery in the message. Pickup orders ask no promise.
 */
const promiseRefusal = (c: PlaceOrder, destination: LatLon, holds: ReadonlyArray<Hold>, ctx: OrderContext): Rejection | undefined => {
  if ((c.fulfillment ?? "ship") !== "ship") return undefined
  const constraint = promiseConstraintOf({ service: c.service ?? null, deliverByDay: deliverByDayOf(c) })
  if (constraint.service === undefined && constraint.deliverByDay === undefined) return undefined
  if (ctx.net.carrierList.length === 0) return reject("promise_unreachable", "no carrier is configured")
  const credit = new Map<string, number>()
  for (const h of holds) credit.set(`${h.sku}\u0000${h.nodeId}`, (credit.get(`${h.sku}\u0000${h.nodeId}`) ?? 0) + h.qty)
  const stock: StockLookup = credit.size === 0 ? ctx.stock : { atp: (sku, nodeId) => ctx.stock.atp(sku, nodeId) + (credit.get(`${sku}\u0000${nodeId}`) ?? 0) }
  const request: RouteRequest = {
    lines: c.lines.map((l, i) => ({ lineNo: i + 1, sku: l.sku, qty: l.qty, weightGrams: weightOf(ctx, l.sku) })),
    destination, fulfillment: "ship", pickupNodeId: null,
    policy: ctx.net.channels.get(c.channel)!.policy, excludedNodeIds: new Set()
  }
  const p = routeWithPromise(ctx.route, request, constraint, ctx.net.nodes, stock, ctx.capacity, ctx.net.carrierList, ctx.now)
  if (p.unreachable === null) return undefined
  const day = p.unreachable.achievableDay
  const by = p.result.shipments.map((s, j) => `${s.nodeId}${p.options[j] ? ` by ${p.options[j]!.carrier} ${p.options[j]!.service}` : ""}`).join(", ")
  return reject("promise_unreachable", `no node and carrier service delivers every unit ${describeConstraint(constraint)}` +
    (day !== undefined ? `; earliest achievable delivery ${dateOf(day)}${by ? ` (${by})` : ""}` : ""))
}

export const placeOrder = (book: OrderBook, c: PlaceOrder, ctx: OrderContext, exchangeFor: string | null = null): Reply => {
  const { config, net } = ctx
  const bad = checkId(c.channel, config) ?? checkId(c.externalId, config) ?? checkOrderLines(c.lines, net, config)
  if (bad) return bad
  if (!net.channels.has(c.channel)) return reject("unknown_channel")
  const leg = c.leg
  if (leg !== undefined) {
    const badLeg = checkLeg(leg, c.lines.length, config)
    if (badLeg) return badLeg
    // the dispatcher placed it in its partition; its SKUs must live there too, so that it is served the same way in cluster mode
    if (leg.partition !== book.partition) return reject("invalid_leg", `leg of partition ${leg.partition} placed in partition ${book.partition}`)
    const foreign = c.lines.find((l) => partitionOf(l.sku, config.partitions) !== leg.partition)
    if (foreign) return reject("spans_partitions", `SKU ${foreign.sku} lies in another partition than leg ${leg.partition}`)
  }
  const existingId = book.byExternal.get(leg ? legKey(c.channel, c.externalId, leg.partition) : externalKey(c.channel, c.externalId))
  if (existingId !== undefined) {
    const existing = book.orders.get(existingId)!
    return sameLines(existing.lines, c.lines) ? acceptedOrder(existing, true) : reject("exists_with_different_lines")
  }
  // cluster mode: the external id is taken by an order split over partitions, whose lines lie elsewhere (split-claim.ts)
  const split = leg === undefined ? book.splits.get(externalKey(c.channel, c.externalId)) : undefined
  if (split !== undefined) {
    return reject("exists_with_different_lines", `an order with this channel and external id exists, split over partitions ${split.join(", ")}, with other lines`)
  }
  const destination = resolveDestination(c, net)
  if (!destination) return reject("invalid_location")
  const payment = c.payment ?? "pending"
  if (payment !== "pending" && payment !== "authorised") return reject("malformed_command", "payment must be pending or authorised")
  const fulfillment = c.fulfillment ?? "ship"
  if (fulfillment !== "ship" && fulfillment !== "pickup") return reject("malformed_command", "fulfillment must be ship or pickup")
  let pickupNodeId: string | null = null
  if (fulfillment === "pickup") {
    const node = typeof c.pickupNodeId === "string" ? nodeById(net, c.pickupNodeId) : undefined
    if (!node) return reject("unknown_node", "pickup needs the pickupNodeId of a known store")
    if (!node.services.includes("pickup")) return reject("node_not_available", `${node.nodeId} does not offer pickup`)
    pickupNodeId = node.nodeId
  }
  const terms = checkOrderTerms(c, fulfillment, ctx)
  if ("ok" in terms) return terms
  // cart holds: each live, this channel's, for a line's SKU, together at most the line's quantity
  const holdIds = c.holdIds ?? []
  if (!Array.isArray(holdIds)) return reject("malformed_command", "holdIds must be a list")
  if (holdIds.length > config.holdsPerOrderMax) return reject("too_many_lines", `at most ${config.holdsPerOrderMax} holds per order`)
  const holds: Array<Hold> = []
  const heldPerSku = new Map<string, number>()
  const policy = net.channels.get(c.channel)!.policy
  for (const id of holdIds) {
    if (typeof id !== "string") return reject("invalid_id")
    if (holds.some((h) => h.holdId === id)) return reject("duplicate_line", `hold ${id} named twice`)
    const hold = ctx.pools.findHold(id, c.channel)
    if ("ok" in hold) return hold
    const line = c.lines.find((l) => l.sku === hold.sku)
    const total = (heldPerSku.get(hold.sku) ?? 0) + hold.qty
    if (!line || total > line.qty) return reject("hold_mismatch", `hold ${id} is for ${hold.qty} x ${hold.sku}, not on the order or above its quantity`)
    if (leg && partitionOfHold(id) !== leg.partition) return reject("spans_partitions", `hold ${id} lies in another partition than leg ${leg.partition}`)
    if (pickupNodeId !== null && hold.nodeId !== pickupNodeId) return reject("hold_mismatch", `hold ${id} is at ${hold.nodeId}, not the pickup store`)
    heldPerSku.set(hold.sku, total)
    holds.push(hold)
  }
  // a hold at a node that went offline or paused, or that the channel may no longer use, gives its units back and the line is routed
  const usable = holds.filter((h) => {
    const node = nodeById(net, h.nodeId)!
    return node.status === "online" && policyAllows(policy, node)
  })
  const released = holds.filter((h) => !usable.includes(h))
  if (terms.service !== undefined || terms.deliverBy !== undefined || terms.requestedDeliveryDate !== undefined) {
    const unreachable = promiseRefusal(c, destination, usable, ctx)
    if (unreachable) return unreachable
  }
  const customer = c.customer
  const o = ctx.emit({
    type: "OrderPlaced",
    orderId: orderIdFor(book.partition, book.nextOrderNo),
    channel: c.channel,
    externalId: c.externalId,
    lines: c.lines.map((l, i) => ({ lineNo: i + 1, sku: l.sku, qty: l.qty, unitPriceCents: l.unitPriceCents ?? 0 })),
    customer: {
      ...(typeof customer.name === "string" ? { name: customer.name.slice(0, 200) } : {}),
      ...(typeof customer.email === "string" ? { email: customer.email.slice(0, 200) } : {}),
      ...(typeof customer.place === "string" ? { place: customer.place } : {})
    },
    destination,
    fulfillment,
    pickupNodeId,
    paymentAuthorised: payment === "authorised",
    paymentDueAt: payment === "authorised" ? 0 : ctx.now + config.paymentTimeoutMs,
    holdIds: holds.map((h) => h.holdId),
    exchangeFor,
    at: ctx.now,
    ...terms,
    ...(leg ? { leg: { partition: leg.partition, lineNos: [...leg.lineNos] } } : {})
  })
  for (const h of released) ctx.pools.endHold(h.holdId, "released")
  routeOrder(o, "placed", ctx, usable)
  return acceptedOrder(o)
}

// ---- routing and reservation -------------------------------------------------------------

/** Candidates kept in the journaled explanation: the chosen node(s) and the closest runners-up. */
const explainedCandidatesMax = 3

interface DraftShipment {
  readonly nodeId: string
  readonly qty: Map<number, number>
  /** Units per line that come from cart holds at this node. */
  readonly fromHoldQty: Map<number, number>
  readonly fromHolds: Array<string>
  /** The carrier service routing chose for this node (orders with a promise). */
  option?: DeliveryOption
}

interface Plan {
  readonly drafts: Map<string, DraftShipment>
  /** What could not be placed, per line. */
  readonly short: Map<number, number>
  summary: string
  candidates: ReadonlyArray<RouteCandidateExplanation>
}

const draftAt = (plan: Plan, nodeId: string): DraftShipment => {
  let d = plan.drafts.get(nodeId)
  if (!d) plan.drafts.set(nodeId, (d = { nodeId, qty: new Map(), fromHoldQty: new Map(), fromHolds: [] }))
  return d
}

const weightOf = (ctx: OrderContext, sku: string): number => ctx.net.skus[ctx.net.skuIndex.get(sku)!].weightGrams

/** Routes `need` (line -> units) onto a plan, reading stock through `stock`. */
const routeOnto = (o: OrderState, plan: Plan, need: Map<number, number>, stock: StockLookup, ctx: OrderContext): void => {
  const toRoute = o.lines.filter((l) => (need.get(l.lineNo) ?? 0) > 0)
  if (toRoute.length === 0) return
  const request: RouteRequest = {
    lines: toRoute.map((l) => ({ lineNo: l.lineNo, sku: l.sku, qty: need.get(l.lineNo)!, weightGrams: weightOf(ctx, l.sku) })),
    destination: o.destination,
    fulfillment: o.fulfillment,
    pickupNodeId: o.pickupNodeId,
    policy: ctx.net.channels.get(o.channel)!.policy,
    excludedNodeIds: new Set(o.excludedNodes)
  }
  let result: RouteResult
  let options: ReadonlyArray<DeliveryOption | undefined> = []
  if (hasPromise(o)) {
    const p = routeWithPromise(ctx.route, request, promiseConstraintOf(o), ctx.net.nodes, stock, ctx.capacity, ctx.net.carrierList, ctx.now)
    result = p.result
    options = p.options
  } else {
    result = ctx.route(request, ctx.net.nodes, stock, ctx.capacity)
  }
  result.shipments.forEach((sh, j) => {
    const d = draftAt(plan, sh.nodeId)
    for (const l of sh.lines) d.qty.set(l.lineNo, (d.qty.get(l.lineNo) ?? 0) + l.qty)
    if (options[j] !== undefined) d.option = options[j]
  })
  for (const b of result.backordered) plan.short.set(b.lineNo, (plan.short.get(b.lineNo) ?? 0) + b.qty)
  plan.summary += result.explanation.summary
  plan.candidates = result.explanation.candidates.slice(0, explainedCandidatesMax)
}

/** Marks which holds a plan uses where they stand: a hold is used when its node ships at least its units of its line. */
const useHolds = (o: OrderState, plan: Plan, holds: ReadonlyArray<Hold>): Set<string> => {
  const used = new Set<string>()
  for (const h of holds) {
    const d = plan.drafts.get(h.nodeId)
    const lineNo = o.lines.find((l) => l.sku === h.sku)!.lineNo
    const room = (d?.qty.get(lineNo) ?? 0) - (d?.fromHoldQty.get(lineNo) ?? 0)
    if (!d || room < h.qty) continue
    d.fromHoldQty.set(lineNo, (d.fromHoldQty.get(lineNo) ?? 0) + h.qty)
    d.fromHolds.push(h.holdId)
    used.add(h.holdId)
  }
  return used
}

/**
 * Routes every quantity of the order that has no live shipment (new, withdrawn
 * from a node, short-picked, or backordered), reserves it at the chosen pools
 * and records the decision. Cart holds are used at their nodes, unless routing
 * the whole order afresh (the held units counted as available again) needs
 * fewer shipments: then the order is consolidated and the holds it does not
 * need are released.
 */
export const routeOrder = (o: OrderState, reason: RouteReason, ctx: OrderContext, holds: ReadonlyArray<Hold> = []): void => {
  const need = new Map<number, number>()
  for (const u of unrouted(o)) need.set(u.lineNo, u.qty)
  o.lines.forEach((l, i) => {
    if (o.backordered[i] > 0) need.set(l.lineNo, (need.get(l.lineNo) ?? 0) + o.backordered[i])
  })
  if (need.size === 0) return
  // an order bounced between failing nodes stops being routed automatically and waits as a backorder
  if (o.routeAttempts >= ctx.config.routeAttemptsMax) {
    if (reason === "backorder_retry") return
    ctx.emit({
      type: "OrderRouted", orderId: o.orderId, reason, shipments: [],
      backordered: [...need].filter(([, q]) => q > 0).map(([lineNo, qty]) => ({ lineNo, qty })),
      explanation: { summary: `Routed ${o.routeAttempts} times already (routeAttemptsMax): the rest waits as a backorder.`, candidates: [] },
      at: ctx.now
    })
    return
  }
  // a cart hold stays where it is only if its node can keep the order's promise; the others are released and
  // their lines routed to nodes that can (the promise was checked at placement with those nodes in view)
  const kept = hasPromise(o) && o.fulfillment === "ship" ? holds.filter((h) => holdKeepsPromise(o, h, ctx)) : holds
  // the plan that keeps every cart hold (that can keep the promise) where it is
  let plan: Plan = { drafts: new Map(), short: new Map(), summary: "", candidates: [] }
  const rest = new Map(need)
  for (const h of kept) {
    const lineNo = o.lines.find((l) => l.sku === h.sku)!.lineNo
    draftAt(plan, h.nodeId).qty.set(lineNo, (plan.drafts.get(h.nodeId)!.qty.get(lineNo) ?? 0) + h.qty)
    rest.set(lineNo, rest.get(lineNo)! - h.qty)
  }
  if (kept.length > 0) plan.summary = `${kept.length} cart hold(s) used at their nodes. `
  if (kept.length < holds.length) plan.summary += `${holds.length - kept.length} cart hold(s) released: their node cannot deliver ${describeConstraint(promiseConstraintOf(o))}. `
  routeOnto(o, plan, rest, ctx.stock, ctx)
  let used = useHolds(o, plan, kept)
  if (kept.length > 0 && plan.drafts.size > 1) {
    // the same order routed whole, with the held units counted as free again
    const credit = new Map<string, number>()
    for (const h of kept) credit.set(`${h.sku}\u0000${h.nodeId}`, (credit.get(`${h.sku}\u0000${h.nodeId}`) ?? 0) + h.qty)
    const freed: StockLookup = { atp: (sku, nodeId) => ctx.stock.atp(sku, nodeId) + (credit.get(`${sku}\u0000${nodeId}`) ?? 0) }
    const whole: Plan = { drafts: new Map(), short: new Map(), summary: "Consolidated: routed whole instead of from the cart holds' nodes. ", candidates: [] }
    routeOnto(o, whole, need, freed, ctx)
    if (whole.short.size === 0 && whole.drafts.size < plan.drafts.size) {
      plan = whole
      used = useHolds(o, plan, kept)
    }
  }
  // ship complete: a routing places every unit it is asked for, or none (they all wait as a backorder)
  if (o.shipComplete && [...plan.short.values()].some((q) => q > 0)) {
    const missing = [...plan.short.values()].reduce((n, q) => n + q, 0)
    plan = {
      drafts: new Map(), short: new Map(need),
      summary: `Ship complete: ${missing} unit(s) cannot ship now, so the order waits whole as a backorder. ${plan.summary}`,
      candidates: plan.candidates
    }
    used = new Set()
  }
  // holds end first (their units are free again or carried into the reservation), then the pools reserve
  for (const h of holds) ctx.pools.endHold(h.holdId, used.has(h.holdId) ? "converted" : "released")
  const stage = o.payment === "authorised" ? "allocated" : "held"
  const weights = ctx.net.channels.get(o.channel)!.policy.weights
  const shipments: Array<ShipmentPlan> = []
  let shipmentNo = o.shipments.length
  let summary = plan.summary
  const short = new Map(plan.short)
  const reserved: Array<{ readonly reservationId: string; readonly sku: string; readonly qty: number }> = []
  for (const d of plan.drafts.values()) {
    const shipmentId = `${o.orderId}-s${shipmentNo + 1}`
    const lines: Array<LineQty> = []
    let kg = 0
    for (const [lineNo, qty] of d.qty) {
      const sku = o.lines[lineIndex(o, lineNo)].sku
      const refused = ctx.pools.reserve(`${shipmentId}/${lineNo}`, o.orderId, sku, d.nodeId, qty, stage, d.fromHoldQty.get(lineNo) ?? 0)
      if (refused) {
        // the availability view was behind the pool: the quantity waits as a backorder
        short.set(lineNo, (short.get(lineNo) ?? 0) + qty)
        summary += ` ${d.nodeId} refused ${qty} x ${sku} (${refused.code}).`
      } else {
        lines.push({ lineNo, qty })
        reserved.push({ reservationId: `${shipmentId}/${lineNo}`, sku, qty })
        kg += (qty * weightOf(ctx, sku)) / 1000
      }
    }
    if (lines.length === 0) continue
    shipmentNo++
    const node = nodeById(ctx.net, d.nodeId)!
    const km = distanceKm(node.location, o.destination)
    let cost = shipmentCostCents(weights, node, km, kg, ctx.capacity.usedShare(d.nodeId), o.fulfillment)
    const option = hasPromise(o) ? (d.option ?? promiseAt(o, node, km, kg, ctx)) : undefined
    if (option) cost += rateCents(option, kg)
    shipments.push({
      shipmentId, nodeId: d.nodeId, lines, fromHolds: d.fromHolds, distanceKm: Math.round(km * 10) / 10, costCents: Math.round(cost),
      ...(option ? { promise: promiseOf(option) } : {})
    })
  }
  if (o.shipComplete && short.size > 0 && shipments.length > 0) {
    // a pool refused part of the plan: a ship-complete order takes nothing and waits whole
    for (const r of reserved) ctx.pools.release(r.reservationId, r.sku, r.qty, "ship_complete")
    shipments.length = 0
    short.clear()
    for (const [lineNo, qty] of need) short.set(lineNo, qty)
    summary += " Ship complete: the order waits whole as a backorder."
  }
  const backordered: Array<LineQty> = []
  for (const [lineNo, qty] of short) if (qty > 0) backordered.push({ lineNo, qty })
  // a retry that found nothing changes nothing: no event, no attempt counted
  if (reason === "backorder_retry" && shipments.length === 0) return
  ctx.emit({
    type: "OrderRouted",
    orderId: o.orderId,
    reason,
    shipments,
    backordered,
    explanation: { summary: summary.trim(), candidates: plan.candidates },
    at: ctx.now
  })
}

/** Whether a cart hold's node has a carrier service that delivers the order's promise (its service, by its date). */
const holdKeepsPromise = (o: OrderState, h: Hold, ctx: OrderContext): boolean => {
  const node = nodeById(ctx.net, h.nodeId)
  if (!node) return false
  const options = deliveryOptions(node, ctx.net.carrierList, distanceKm(node.location, o.destination), ctx.now, ctx.capacity.remaining(node.nodeId) >= 1)
  return cheapestMeeting(options, promiseConstraintOf(o), (h.qty * weightOf(ctx, h.sku)) / 1000) !== undefined
}

/** The carrier service of a shipment whose node routing did not price (a cart hold's node): the cheapest meeting the promise, else the earliest. */
const promiseAt = (o: OrderState, node: NonNullable<ReturnType<typeof nodeById>>, km: number, kg: number, ctx: OrderContext): DeliveryOption | undefined => {
  const options = deliveryOptions(node, ctx.net.carrierList, km, ctx.now, ctx.capacity.remaining(node.nodeId) >= 1)
  return cheapestMeeting(options, promiseConstraintOf(o), kg) ?? earliest(options, kg)
}

// ---- payment -------------------------------------------------------------------------------

const allocateHeld = (o: OrderState, ctx: OrderContext) => {
  for (const s of o.shipments) {
    if (!isOpenShipment(s)) continue
    for (const l of s.lines) if (l.qty > 0) ctx.pools.allocate(l.reservationId, l.sku)
  }
}

export const recordPayment = (book: OrderBook, c: RecordPayment, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, c.channel)
  if ("ok" in o) return o
  if (c.outcome !== "authorised" && c.outcome !== "declined") return reject("malformed_command", "outcome must be authorised or declined")
  if (o.payment !== "pending") {
    return o.payment === c.outcome ? acceptedOrder(o, true) : reject("invalid_state", `payment is already ${o.payment}`)
  }
  if (orderStatus(o) === "cancelled") return reject("invalid_state", "the order was cancelled")
  if (c.outcome === "authorised") {
    ctx.emit({ type: "PaymentAuthorised", orderId: o.orderId, at: ctx.now })
    allocateHeld(o, ctx)
  } else {
    ctx.emit({ type: "PaymentFailed", orderId: o.orderId, outcome: "declined", at: ctx.now })
    cancelOpen(o, undefined, "payment_declined", ctx)
  }
  return acceptedOrder(o)
}

/** The payment deadline of a pending order passed: its stock goes back and the order is cancelled. */
export const expirePayment = (o: OrderState, ctx: OrderContext): void => {
  if (o.payment !== "pending") return
  ctx.emit({ type: "PaymentFailed", orderId: o.orderId, outcome: "timeout", at: ctx.now })
  cancelOpen(o, undefined, "payment_timeout", ctx)
}

// ---- cancellation ----------------------------------------------------------------------------

const cancelOrder: ReadonlyArray<ShipmentStatus> = ["routed", "accepted", "picked", "packed"]

/** Units of a line that can still be cancelled: backordered or on a shipment that has not left. */
const cancellable = (o: OrderState, lineNo: number): number =>
  o.backordered[lineIndex(o, lineNo)] + shippedQty(o, lineNo, cancelOrder)

/** Cancels `lines` (all that is open when absent): backorder first, then the least advanced shipments. */
/**
 * A compensation undoes a leg the customer never saw as placed: only a leg,
 * whole, not cancelled before, and with nothing accepted by a node yet.
 */
const compensable = (o: OrderState, c: CancelOrder): Rejection | undefined => {
  if (c.compensation !== true) return reject("malformed_command", "compensation must be true when given")
  if (!o.leg) return reject("invalid_leg", `order ${o.orderId} is not a leg of a split order`)
  if (c.lines !== undefined) return reject("invalid_leg", "a compensation cancels the whole leg")
  if (o.cancellations > 0 || o.shipments.some((s) => s.status !== "routed" && s.status !== "withdrawn")) {
    return reject("invalid_state", `leg ${o.orderId} has been worked on; cancel it as an order`)
  }
  return undefined
}

const cancelOpen = (o: OrderState, lines: ReadonlyArray<LineQty> | undefined, reason: string, ctx: OrderContext, compensation = false): boolean => {
  const wanted = lines ?? o.lines.map((l) => ({ lineNo: l.lineNo, qty: cancellable(o, l.lineNo) })).filter((l) => l.qty > 0)
  if (wanted.length === 0) return false
  const fromBackorder: Array<LineQty> = []
  const fromShipments: Array<ShipmentLineQty> = []
  const byProgress = [...o.shipments].filter(isOpenShipment).sort((a, b) => cancelOrder.indexOf(a.status) - cancelOrder.indexOf(b.status))
  for (const w of wanted) {
    let left = w.qty
    const bo = Math.min(left, o.backordered[lineIndex(o, w.lineNo)])
    if (bo > 0) fromBackorder.push({ lineNo: w.lineNo, qty: bo })
    left -= bo
    for (const s of byProgress) {
      if (left === 0) break
      const line = s.lines.find((l) => l.lineNo === w.lineNo)
      if (!line || line.qty === 0) continue
      const take = Math.min(left, line.qty)
      fromShipments.push({ shipmentId: s.shipmentId, lineNo: w.lineNo, qty: take })
      ctx.pools.release(line.reservationId, line.sku, take, reason)
      left -= take
    }
  }
  const total = o.lines.reduce((n, l) => n + l.qty, 0)
  const cancelledAfter = o.cancelled.reduce((n, q) => n + q, 0) + wanted.reduce((n, l) => n + l.qty, 0)
  ctx.emit({
    type: "OrderCancelled", orderId: o.orderId, cancellationNo: o.cancellations + 1, lines: wanted,
    fromBackorder, fromShipments, reason, complete: cancelledAfter === total, at: ctx.now,
    ...(compensation ? { compensation: true as const } : {})
  })
  return true
}

export const cancel = (book: OrderBook, c: CancelOrder, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, c.channel)
  if ("ok" in o) return o
  const bad = checkText(c.reason ?? "", "reason") ?? (c.lines !== undefined ? checkLineQtys(c.lines, ctx.config) : undefined)
  if (bad) return bad
  if (c.compensation !== undefined) {
    const bad = compensable(o, c)
    if (bad) return bad
  }
  if (c.lines !== undefined) {
    for (const l of c.lines) {
      if (lineIndex(o, l.lineNo) < 0) return reject("line_not_found", `no line ${l.lineNo}`)
      const open = cancellable(o, l.lineNo)
      if (l.qty > open) return reject("quantity_exceeds_open", `line ${l.lineNo} has ${open} cancellable`)
    }
  }
  if (!cancelOpen(o, c.lines, c.reason ?? "", ctx, c.compensation === true)) return reject("invalid_state", "nothing on the order can still be cancelled")
  return acceptedOrder(o)
}

// ---- fulfillment node events -------------------------------------------------------------

const findShipment = (book: OrderBook, c: ShipmentCommand): { o: OrderState; s: Shipment } | Rejection => {
  const o = findOrder(book, c.orderId, undefined)
  if ("ok" in o) return o
  const s = o.shipments.find((x) => x.shipmentId === c.shipmentId)
  if (!s) return reject("shipment_not_found")
  if (s.nodeId !== c.nodeId) return reject("wrong_node", `shipment ${s.shipmentId} is routed to ${s.nodeId}`)
  return { o, s }
}

const wrongState = (s: Shipment, expected: string): Rejection =>
  reject("invalid_state", `shipment ${s.shipmentId} is ${s.status}, expected ${expected}`)

/** Releases a shipment's open stock and routes its quantities again, without the node when it refused. */
const withdraw = (o: OrderState, s: Shipment, reason: "rejected" | "node_offline", detail: string, ctx: OrderContext) => {
  for (const l of s.lines) if (l.qty > 0) ctx.pools.release(l.reservationId, l.sku, l.qty, reason)
  ctx.emit({ type: "ShipmentWithdrawn", orderId: o.orderId, shipmentId: s.shipmentId, reason, detail, at: ctx.now })
  routeOrder(o, reason, ctx)
}

export const shipmentEvent = (book: OrderBook, c: ShipmentCommand, ctx: OrderContext): Reply => {
  const found = findShipment(book, c)
  if ("ok" in found) return found
  const { o, s } = found
  const at = ctx.now
  const ref = { orderId: o.orderId, shipmentId: s.shipmentId, at }
  switch (c.type) {
    case "shipment.accept": {
      if (s.status === "accepted") return acceptedOrder(o, true)
      if (s.status !== "routed") return wrongState(s, "routed")
      if (o.payment !== "authorised") return reject("invalid_state", "the order's payment is not authorised yet")
      ctx.emit({ type: "ShipmentAccepted", ...ref })
      break
    }
    case "shipment.reject": {
      if (s.status !== "routed" && s.status !== "accepted") return wrongState(s, "routed or accepted")
      const bad = checkText(c.reason ?? "", "reason")
      if (bad) return bad
      withdraw(o, s, "rejected", c.reason ?? "", ctx)
      break
    }
    case "shipment.pick": {
      if (s.status !== "accepted" && s.status !== "routed") return wrongState(s, "accepted")
      if (o.payment !== "authorised") return reject("invalid_state", "the order's payment is not authorised yet")
      const picked: Array<LineQty> = []
      const short: Array<LineQty> = []
      if (c.lines !== undefined) {
        if (!Array.isArray(c.lines)) return reject("malformed_command", "lines must be a list")
        for (const p of c.lines) {
          if (typeof p !== "object" || p === null || !isCount(p.qty)) return reject("quantity_must_be_positive", "picked quantities are whole numbers >= 0")
          if (!s.lines.some((l) => l.lineNo === p.lineNo)) return reject("line_not_found", `line ${p.lineNo} is not on the shipment`)
        }
      }
      for (const l of s.lines) {
        const reported = c.lines?.find((p) => p.lineNo === l.lineNo)
        const qty = reported === undefined ? l.qty : reported.qty
        if (qty > l.qty) return reject("quantity_exceeds_open", `line ${l.lineNo} has ${l.qty} on the shipment`)
        picked.push({ lineNo: l.lineNo, qty })
        if (qty < l.qty) short.push({ lineNo: l.lineNo, qty: l.qty - qty })
      }
      for (const sh of short) {
        const line = s.lines.find((l) => l.lineNo === sh.lineNo)!
        ctx.pools.release(line.reservationId, line.sku, sh.qty, "short_pick")
        ctx.pools.writeOff(line.sku, s.nodeId, sh.qty, `short pick on ${s.shipmentId}`)
      }
      ctx.emit({ type: "ShipmentPicked", ...ref, picked, short })
      if (short.length > 0) routeOrder(o, "short_pick", ctx)
      break
    }
    case "shipment.pack": {
      if (s.status === "packed") return acceptedOrder(o, true)
      if (s.status !== "picked") return wrongState(s, "picked")
      ctx.emit({ type: "ShipmentPacked", ...ref })
      break
    }
    case "shipment.ship": {
      if (s.status === "shipped" && s.trackingId === c.trackingId) return acceptedOrder(o, true)
      if (s.status !== "packed" && s.status !== "picked") return wrongState(s, "packed")
      const bad = checkId(c.carrier, ctx.config) ?? checkId(c.trackingId, ctx.config)
      if (bad) return reject("malformed_command", "ship needs a carrier and a trackingId")
      for (const l of s.lines) if (l.qty > 0) ctx.pools.ship(l.reservationId, l.sku, l.qty)
      ctx.emit({ type: "ShipmentShipped", ...ref, carrier: c.carrier, trackingId: c.trackingId })
      break
    }
    case "shipment.deliver": {
      if (s.status === "delivered") return acceptedOrder(o, true)
      if (s.status !== "shipped") return wrongState(s, "shipped")
      ctx.emit({ type: "ShipmentDelivered", ...ref })
      break
    }
  }
  return acceptedOrder(o)
}

// ---- carrier tracking and late shipments ------------------------------------------------------

/**
 * A carrier's tracking update of a shipped shipment: in_transit,
 * out_for_delivery and exception are recorded (ShipmentTracked; the last two
 * notify the customer), delivered moves the shipment as shipment.deliver does.
 * An estimate past the promised day makes the shipment late at once.
 */
export const trackShipment = (book: OrderBook, c: TrackShipment, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, undefined)
  if ("ok" in o) return o
  if (typeof c.shipmentId !== "string") return reject("invalid_id")
  const s = o.shipments.find((x) => x.shipmentId === c.shipmentId)
  if (!s) return reject("shipment_not_found")
  if (c.nodeId !== undefined && s.nodeId !== c.nodeId) return reject("wrong_node", `shipment ${s.shipmentId} is routed to ${s.nodeId}`)
  if (!trackingStatuses.includes(c.status)) return reject("malformed_command", `status must be one of ${trackingStatuses.join(", ")}`)
  const bad = checkText(c.detail ?? "", "detail", 200)
  if (bad) return bad
  let estimate: number | undefined
  if (c.estimatedDelivery !== undefined) {
    estimate = parseDate(c.estimatedDelivery)
    if (estimate === undefined) return reject("invalid_date", "estimatedDelivery must be a calendar date YYYY-MM-DD")
  }
  if (s.status === "delivered") return c.status === "delivered" ? acceptedOrder(o, true) : wrongState(s, "shipped")
  if (s.status !== "shipped") return wrongState(s, "shipped")
  const ref = { orderId: o.orderId, shipmentId: s.shipmentId, at: ctx.now }
  if (c.status === "delivered") {
    ctx.emit({ type: "ShipmentDelivered", ...ref })
    return acceptedOrder(o)
  }
  const scans = s.scans ?? 0
  ctx.emit({
    type: "ShipmentTracked", ...ref, status: c.status, detail: c.detail ?? "",
    estimatedDelivery: c.estimatedDelivery ?? null, scan: scans + 1
  })
  if (s.promise && !s.late && estimate !== undefined && estimate > dayOf(s.promise.promisedBy)) {
    ctx.emit({ type: "ShipmentLate", ...ref, promisedBy: s.promise.promisedBy, cause: "estimate" })
  }
  return acceptedOrder(o)
}

/** The promised day of a shipment ended (engine timer): late, unless it was delivered, withdrawn or already late. */
export const promiseDue = (o: OrderState, shipmentId: string, ctx: OrderContext): void => {
  const s = o.shipments.find((x) => x.shipmentId === shipmentId)
  if (!s || !s.promise || s.late || s.status === "delivered" || s.status === "withdrawn") return
  if (s.lines.every((l) => l.qty === 0) || ctx.now <= s.promise.promisedBy) return
  ctx.emit({ type: "ShipmentLate", orderId: o.orderId, shipmentId, promisedBy: s.promise.promisedBy, cause: "not_delivered", at: ctx.now })
}

/** A node went offline: its shipments not yet picked are withdrawn and routed elsewhere. */
export const nodeWithdrawn = (o: OrderState, nodeId: string, ctx: OrderContext): void => {
  for (const s of [...o.shipments]) {
    if (s.nodeId === nodeId && (s.status === "routed" || s.status === "accepted")) withdraw(o, s, "node_offline", `node ${nodeId} offline`, ctx)
  }
}

/** Orders of this partition waiting on a SKU (the index is pruned as it is read). */
export const backorderedOn = (book: OrderBook, sku: string): Array<OrderState> => {
  const waiting = book.backorders.get(sku)
  if (!waiting) return []
  const out: Array<OrderState> = []
  for (const id of waiting) {
    const o = book.orders.get(id)!
    const i = o.lines.findIndex((l) => l.sku === sku)
    if (i < 0 || o.backordered[i] === 0) waiting.delete(id)
    else out.push(o)
  }
  return out
}

/** First come, first served, the same whatever the partitioning: placement time, then channel and external id. */
export const byPlacement = (a: OrderState, b: OrderState): number =>
  a.placedAt - b.placedAt || (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0) ||
  (a.externalId < b.externalId ? -1 : a.externalId > b.externalId ? 1 : 0)

/** Whether any node has available stock of the SKU (no point routing backorders otherwise). */
export const anyAtp = (ctx: OrderContext, sku: string): boolean => ctx.net.nodes.some((n) => ctx.stock.atp(sku, n.nodeId) > 0)

// ---- returns and exchanges -----------------------------------------------------------------

const checkReturnLines = (o: OrderState, lines: ReadonlyArray<LineQty>, ctx: OrderContext): Rejection | undefined => {
  const bad = checkLineQtys(lines, ctx.config)
  if (bad) return bad
  for (const l of lines) {
    const i = lineIndex(o, l.lineNo)
    if (i < 0) return reject("line_not_found", `no line ${l.lineNo}`)
    const returnable = shippedQty(o, l.lineNo, ["delivered"]) - o.returnRequested[i]
    if (l.qty > returnable) return reject("quantity_exceeds_open", `line ${l.lineNo} has ${returnable} delivered and not yet returned`)
  }
  return undefined
}

export const requestReturn = (book: OrderBook, c: RequestReturn, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, c.channel)
  if ("ok" in o) return o
  const bad = checkText(c.reason ?? "", "reason") ?? checkReturnLines(o, c.lines, ctx)
  if (bad) return bad
  ctx.emit({
    type: "ReturnRequested", orderId: o.orderId, returnId: `${o.orderId}-r${o.returns.length + 1}`,
    lines: c.lines.map((l) => ({ lineNo: l.lineNo, qty: l.qty })), reason: c.reason ?? "", exchangeOrderId: null, at: ctx.now
  })
  return acceptedOrder(o)
}

export const receiveReturn = (book: OrderBook, c: ReceiveReturn, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, undefined)
  if ("ok" in o) return o
  const r = o.returns.find((x) => x.returnId === c.returnId)
  if (!r) return reject("return_not_found")
  if (r.status !== "requested") return reject("invalid_state", `return ${r.returnId} is already ${r.status}`)
  if (typeof c.nodeId !== "string" || !nodeById(ctx.net, c.nodeId)) return reject("unknown_node")
  const bad = checkLineQtys(c.lines, ctx.config)
  if (bad) return bad
  for (const l of c.lines) {
    const asked = r.lines.find((x) => x.lineNo === l.lineNo)
    if (!asked) return reject("line_not_found", `line ${l.lineNo} is not on return ${r.returnId}`)
    if (l.qty > asked.qty) return reject("quantity_exceeds_open", `return ${r.returnId} asked for ${asked.qty} of line ${l.lineNo}`)
    if (l.disposition !== "restock" && l.disposition !== "writeOff") return reject("malformed_command", "disposition must be restock or writeOff")
  }
  const lines = c.lines.map((l) => ({ lineNo: l.lineNo, qty: l.qty, disposition: l.disposition }))
  for (const l of lines) {
    if (l.disposition === "restock") ctx.pools.restock(o.lines[lineIndex(o, l.lineNo)].sku, c.nodeId, l.qty, o.orderId, r.returnId)
  }
  ctx.emit({ type: "ReturnReceived", orderId: o.orderId, returnId: r.returnId, nodeId: c.nodeId, lines, at: ctx.now })
  const amountCents = lines.reduce((n, l) => n + l.qty * o.lines[lineIndex(o, l.lineNo)].unitPriceCents, 0)
  if (r.exchangeOrderId === null) ctx.emit({ type: "RefundIssued", orderId: o.orderId, returnId: r.returnId, amountCents, at: ctx.now })
  return acceptedOrder(o)
}

/** An exchange: a return of some delivered units plus a new, already paid order for the replacements. */
export const exchange = (book: OrderBook, c: ExchangeOrder, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, c.channel)
  if ("ok" in o) return o
  const bad = checkText(c.reason ?? "", "reason") ?? checkReturnLines(o, c.returnLines, ctx) ?? checkOrderLines(c.newLines, ctx.net, ctx.config)
  if (bad) return bad
  const returnId = `${o.orderId}-r${o.returns.length + 1}`
  const placed = ctx.placeOrder({
    type: "order.place",
    channel: o.channel,
    externalId: `exchange:${returnId}`,
    lines: c.newLines,
    customer: { ...o.customer, location: o.destination },
    payment: "authorised",
    fulfillment: o.fulfillment,
    ...(o.pickupNodeId !== null ? { pickupNodeId: o.pickupNodeId } : {})
  })
  if (!placed.ok) return placed
  ctx.emit({
    type: "ReturnRequested", orderId: o.orderId, returnId,
    lines: c.returnLines.map((l) => ({ lineNo: l.lineNo, qty: l.qty })), reason: c.reason ?? "",
    exchangeOrderId: placed.order!.orderId, at: ctx.now
  })
  return acceptedOrder(o)
}

// ---- feedback ------------------------------------------------------------------------------

const feedbackTaken: ReadonlyArray<string> = ["delivered", "partially_returned", "returned"]

/**
 * The customer's rating (a whole number 1..5) and comment, once every unit of
 * the order that was not cancelled is delivered. One per order: the same
 * feedback again is a repeat (`existing`), other feedback is `feedback_exists`.
 */
export const recordFeedback = (book: OrderBook, c: RecordFeedback, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, c.channel)
  if ("ok" in o) return o
  if (typeof c.rating !== "number" || !Number.isInteger(c.rating) || c.rating < 1 || c.rating > 5) {
    return reject("malformed_command", "rating must be a whole number from 1 to 5")
  }
  const comment = c.comment ?? ""
  const bad = checkText(comment, "comment", ctx.config.feedbackCommentLengthMax)
  if (bad) return bad
  const existing = o.feedback ?? null
  if (existing !== null) {
    return existing.rating === c.rating && existing.comment === comment ? acceptedOrder(o, true) : reject("feedback_exists")
  }
  if (!feedbackTaken.includes(orderStatus(o))) return reject("not_delivered", `the order is ${orderStatus(o)}; feedback is taken after delivery`)
  ctx.emit({ type: "FeedbackRecorded", orderId: o.orderId, rating: c.rating, comment, at: ctx.now })
  return acceptedOrder(o)
}

/** The gateway delivered these notifications: they leave the outbox (unknown ids are ignored). */
export const markDelivered = (book: OrderBook, ids: ReadonlyArray<string>, ctx: OrderContext): number => {
  const byOrder = new Map<string, Array<string>>()
  for (const id of ids) {
    const orderId = id.slice(0, id.indexOf("/"))
    const o = book.orders.get(orderId)
    if (!o || !o.outbox.some((n) => n.id === id)) continue
    let list = byOrder.get(orderId)
    if (!list) byOrder.set(orderId, (list = []))
    if (!list.includes(id)) list.push(id)
  }
  let n = 0
  for (const [orderId, list] of byOrder) {
    ctx.emit({ type: "NotificationsDelivered", orderId, ids: list })
    n += list.length
  }
  return n
}
