/**
 * Order capture (order.place): validated in full before anything is written,
 * idempotent on (channel, external id) (on (channel, external id, partition)
 * for a leg of a split order), then journaled as OrderPlaced and routed at
 * once. The rules, in the order they are checked:
 *
 * - ids, lines (known SKUs, each once, at most orderLinesMax), a known channel;
 *   a leg lives in the partition it names, with every line's SKU there
 * - a repeat with the same lines answers the existing order; other lines are
 *   exists_with_different_lines (also when a split order claimed the external id)
 * - a delivery location (coordinates, or a place or node name); payment
 *   pending or authorised; ship, or pickup at a store that offers it
 * - delivery promise and B2B terms (checkOrderTerms)
 * - cart holds: live, this channel's, for a line's SKU, together at most the
 *   line's quantity, at the pickup store for pickup (checkHolds); a hold at a
 *   node that can no longer serve the channel is released, its line routed
 * - a promise that cannot be met while the units could ship without it is
 *   refused (promise_unreachable) with the earliest achievable date
 * - with onShortage "reject", an order routing cannot place whole now is
 *   refused (insufficient_stock); by default what cannot be placed is backordered
 */
import type { EngineConfig } from "../config.ts"
import type { OrderLineInput, PlaceOrder } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { OrderLine, OrderPlaced } from "../domain/events.ts"
import { isLatLon, policyAllows, type LatLon } from "../domain/network.ts"
import type { Reply } from "../domain/replies.ts"
import { checkId, checkLeg, checkQty, isCount } from "../domain/validate.ts"
import { nodeById, serviceOffered, type NetworkState } from "../network/network-actor.ts"
import { resolvePlace } from "../network/places.ts"
import { partitionOfHold, type Hold } from "../pool/pool-actor.ts"
import { dateOf, dayOf, parseDate } from "../promise/calendar.ts"
import { describeConstraint, routeWithPromise } from "../promise/promise-route.ts"
import type { RouteRequest } from "../routing/types.ts"
import { partitionOf } from "../runtime/partition.ts"
import { externalKey, legKey, orderIdFor, type OrderBook } from "./order-book.ts"
import { acceptedOrder, creditHolds, promiseConstraintOf, weightOf, type OrderContext } from "./order-context.ts"
import { deliverByDayOf, newOrder } from "./order-state.ts"
import { planRoute } from "./route-plan.ts"
import { routeOrder } from "./route-order.ts"

const resolveDestination = (c: PlaceOrder, net: NetworkState): LatLon | undefined => {
  const customer = c.customer
  if (typeof customer !== "object" || customer === null) return undefined
  if (customer.location !== undefined) return isLatLon(customer.location) ? { lat: customer.location.lat, lon: customer.location.lon } : undefined
  if (typeof customer.place !== "string" || customer.place.length === 0 || customer.place.length > 200) return undefined
  return nodeById(net, customer.place)?.location ?? resolvePlace(customer.place)
}

/** An order's lines: a non-empty list of known SKUs, each once, with positive quantities. */
export const checkOrderLines = (lines: unknown, net: NetworkState, config: EngineConfig): Rejection | undefined => {
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

/**
 * The cart holds named by the order: each live, this channel's, for a line's
 * SKU, together at most the line's quantity, in the leg's partition, at the
 * pickup store for a pickup order.
 */
const checkHolds = (c: PlaceOrder, pickupNodeId: string | null, ctx: OrderContext): Array<Hold> | Rejection => {
  const holdIds = c.holdIds ?? []
  if (!Array.isArray(holdIds)) return reject("malformed_command", "holdIds must be a list")
  if (holdIds.length > ctx.config.holdsPerOrderMax) return reject("too_many_lines", `at most ${ctx.config.holdsPerOrderMax} holds per order`)
  const holds: Array<Hold> = []
  const heldPerSku = new Map<string, number>()
  for (const id of holdIds) {
    if (typeof id !== "string") return reject("invalid_id")
    if (holds.some((h) => h.holdId === id)) return reject("duplicate_line", `hold ${id} named twice`)
    const hold = ctx.pools.findHold(id, c.channel)
    if ("ok" in hold) return hold
    const line = c.lines.find((l) => l.sku === hold.sku)
    const total = (heldPerSku.get(hold.sku) ?? 0) + hold.qty
    if (!line || total > line.qty) return reject("hold_mismatch", `hold ${id} is for ${hold.qty} x ${hold.sku}, not on the order or above its quantity`)
    if (c.leg && partitionOfHold(id) !== c.leg.partition) return reject("spans_partitions", `hold ${id} lies in another partition than leg ${c.leg.partition}`)
    if (pickupNodeId !== null && hold.nodeId !== pickupNodeId) return reject("hold_mismatch", `hold ${id} is at ${hold.nodeId}, not the pickup store`)
    heldPerSku.set(hold.sku, total)
    holds.push(hold)
  }
  return holds
}

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
  const request: RouteRequest = {
    lines: c.lines.map((l, i) => ({ lineNo: i + 1, sku: l.sku, qty: l.qty, weightGrams: weightOf(ctx, l.sku) })),
    destination, fulfillment: "ship", pickupNodeId: null,
    policy: ctx.net.channels.get(c.channel)!.policy, excludedNodeIds: new Set()
  }
  const p = routeWithPromise(ctx.route, request, constraint, ctx.net.nodes, creditHolds(ctx.stock, holds), ctx.capacity, ctx.net.carrierList, ctx.now)
  if (p.unreachable === null) return undefined
  const day = p.unreachable.achievableDay
  const by = p.result.shipments.map((s, j) => `${s.nodeId}${p.options[j] ? ` by ${p.options[j]!.carrier} ${p.options[j]!.service}` : ""}`).join(", ")
  return reject("promise_unreachable", `no node and carrier service delivers every unit ${describeConstraint(constraint)}` +
    (day !== undefined ? `; earliest achievable delivery ${dateOf(day)}${by ? ` (${by})` : ""}` : ""))
}

/** A leg of a split order: well formed, placed in its own partition, every line's SKU there. */
const checkLegPlacement = (c: PlaceOrder, book: OrderBook, config: EngineConfig): Rejection | undefined => {
  const leg = c.leg
  if (leg === undefined) return undefined
  const badLeg = checkLeg(leg, c.lines.length, config)
  if (badLeg) return badLeg
  // the dispatcher placed it in its partition; its SKUs must live there too, so that it is served the same way in cluster mode
  if (leg.partition !== book.partition) return reject("invalid_leg", `leg of partition ${leg.partition} placed in partition ${book.partition}`)
  const foreign = c.lines.find((l) => partitionOf(l.sku, config.partitions) !== leg.partition)
  if (foreign) return reject("spans_partitions", `SKU ${foreign.sku} lies in another partition than leg ${leg.partition}`)
  return undefined
}

/** A placement seen before: the same lines answer the existing order, others are refused. Undefined: the external id is free. */
const repeatedPlacement = (book: OrderBook, c: PlaceOrder): Reply | undefined => {
  const existingId = book.byExternal.get(c.leg ? legKey(c.channel, c.externalId, c.leg.partition) : externalKey(c.channel, c.externalId))
  if (existingId !== undefined) {
    const existing = book.orders.get(existingId)!
    return sameLines(existing.lines, c.lines) ? acceptedOrder(existing, true) : reject("exists_with_different_lines")
  }
  // cluster mode: the external id is taken by an order split over partitions, whose lines lie elsewhere (split-claim.ts)
  const split = c.leg === undefined ? book.splits.get(externalKey(c.channel, c.externalId)) : undefined
  if (split !== undefined) {
    return reject("exists_with_different_lines", `an order with this channel and external id exists, split over partitions ${split.join(", ")}, with other lines`)
  }
  return undefined
}

/**
 * onShortage "reject": the routing the order would get at placement (route-plan.ts, holds credited, ship
 * complete and promises as asked), planned on the order as it would be placed, without placing it. Any unit
 * left unplaced refuses the order with insufficient_stock, naming the lines short; nothing is journaled.
 */
const shortageRefusal = (placed: OrderPlaced, holds: ReadonlyArray<Hold>, ctx: OrderContext): Rejection | undefined => {
  const probe = newOrder(placed)
  const need = new Map(placed.lines.map((l) => [l.lineNo, l.qty] as const))
  const { plan } = planRoute(probe, need, holds, ctx)
  const short = [...plan.short].filter(([, qty]) => qty > 0)
  if (short.length === 0) return undefined
  const lines = short.map(([lineNo, qty]) => `line ${lineNo} (${placed.lines[lineNo - 1].sku}) short by ${qty}`).join(", ")
  return reject("insufficient_stock", `not enough stock to place every unit now: ${lines}; nothing was placed (onShortage: reject)`)
}

/** How the order is fulfilled: shipped, or picked up at a store that offers pickup. */
const checkFulfillment = (c: PlaceOrder, net: NetworkState): { fulfillment: "ship" | "pickup"; pickupNodeId: string | null } | Rejection => {
  const fulfillment = c.fulfillment ?? "ship"
  if (fulfillment !== "ship" && fulfillment !== "pickup") return reject("malformed_command", "fulfillment must be ship or pickup")
  if (fulfillment === "ship") return { fulfillment, pickupNodeId: null }
  const node = typeof c.pickupNodeId === "string" ? nodeById(net, c.pickupNodeId) : undefined
  if (!node) return reject("unknown_node", "pickup needs the pickupNodeId of a known store")
  if (!node.services.includes("pickup")) return reject("node_not_available", `${node.nodeId} does not offer pickup`)
  return { fulfillment, pickupNodeId: node.nodeId }
}

export const placeOrder = (book: OrderBook, c: PlaceOrder, ctx: OrderContext, exchangeFor: string | null = null): Reply => {
  const { config, net } = ctx
  const bad = checkId(c.channel, config) ?? checkId(c.externalId, config) ?? checkOrderLines(c.lines, net, config) ??
    (net.channels.has(c.channel) ? undefined : reject("unknown_channel")) ??
    checkLegPlacement(c, book, config)
  if (bad) return bad
  const repeated = repeatedPlacement(book, c)
  if (repeated) return repeated
  const destination = resolveDestination(c, net)
  if (!destination) return reject("invalid_location")
  const payment = c.payment ?? "pending"
  if (payment !== "pending" && payment !== "authorised") return reject("malformed_command", "payment must be pending or authorised")
  const how = checkFulfillment(c, net)
  if ("ok" in how) return how
  const terms = checkOrderTerms(c, how.fulfillment, ctx)
  if ("ok" in terms) return terms
  const holds = checkHolds(c, how.pickupNodeId, ctx)
  if ("ok" in holds) return holds
  // a hold at a node that went offline or paused, or that the channel may no longer use, gives its units back and the line is routed
  const policy = net.channels.get(c.channel)!.policy
  const usable = holds.filter((h) => {
    const node = nodeById(net, h.nodeId)!
    return node.status === "online" && policyAllows(policy, node)
  })
  const released = holds.filter((h) => !usable.includes(h))
  if (terms.service !== undefined || terms.deliverBy !== undefined || terms.requestedDeliveryDate !== undefined) {
    const unreachable = promiseRefusal(c, destination, usable, ctx)
    if (unreachable) return unreachable
  }
  const onShortage = c.onShortage ?? "backorder"
  if (onShortage !== "backorder" && onShortage !== "reject") return reject("malformed_command", "onShortage must be backorder or reject")
  // decided: the order exists from here, then its unusable holds end, then it is routed (routing reads the placed order)
  const customer = c.customer
  const leg = c.leg
  const placed: OrderPlaced = {
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
    fulfillment: how.fulfillment,
    pickupNodeId: how.pickupNodeId,
    paymentAuthorised: payment === "authorised",
    paymentDueAt: payment === "authorised" ? 0 : ctx.now + config.paymentTimeoutMs,
    holdIds: holds.map((h) => h.holdId),
    exchangeFor,
    at: ctx.now,
    ...terms,
    ...(leg ? { leg: { partition: leg.partition, lineNos: [...leg.lineNos] } } : {})
  }
  if (onShortage === "reject") {
    const short = shortageRefusal(placed, usable, ctx)
    if (short) return short
  }
  const o = ctx.emit(placed)
  for (const h of released) ctx.pools.endHold(h.holdId, "released")
  routeOrder(o, "placed", ctx, usable)
  return acceptedOrder(o)
}
