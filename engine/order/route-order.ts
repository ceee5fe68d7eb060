/**
 * Routing an order, the acting half: every quantity of the order that has no
 * live shipment (new, withdrawn from a node, short-picked, or backordered) is
 * planned (route-plan.ts), then:
 *
 * 1. the order's cart holds end: converted when the plan uses them, else
 *    released (their units are free again or carried into the reservation);
 * 2. each planned line is reserved at its pool (held while payment is
 *    pending, allocated once paid); a pool that refuses (the availability
 *    view was behind it) leaves that quantity backordered;
 * 3. each shipment is priced (cost weights, distance, weight, node load) and,
 *    for an order with a promise, given its carrier service and promised day;
 * 4. a ship-complete order a pool refused part of takes nothing: what was
 *    reserved is released and the order waits whole;
 * 5. OrderRouted records shipments, backorders and the explanation.
 *
 * An order routed routeAttemptsMax times stops being routed automatically
 * and waits as a backorder. A backorder retry that places nothing records
 * nothing.
 */
import type { LineQty } from "../domain/commands.ts"
import type { OrderRouted, RouteReason, ShipmentPlan } from "../domain/events.ts"
import { distanceKm } from "../domain/network.ts"
import { nodeById } from "../network/network-actor.ts"
import type { Hold } from "../pool/pool-actor.ts"
import { cheapestMeeting, deliveryOptions, earliest, promiseOf, rateCents, type DeliveryOption } from "../promise/promise.ts"
import { shipmentCostCents } from "../routing/cost.ts"
import { promiseConstraintOf, weightOf, type OrderContext } from "./order-context.ts"
import { hasPromise, lineIndex, unrouted, type OrderState } from "./order-state.ts"
import { planRoute, type DraftShipment, type Plan } from "./route-plan.ts"

/** Units per line that need a route: not on a live shipment and not cancelled (backorders included). */
const openNeed = (o: OrderState): Map<number, number> => {
  const need = new Map<number, number>()
  for (const u of unrouted(o)) need.set(u.lineNo, u.qty)
  o.lines.forEach((l, i) => {
    if (o.backordered[i] > 0) need.set(l.lineNo, (need.get(l.lineNo) ?? 0) + o.backordered[i])
  })
  return need
}

/** What the pools accepted of a plan. */
interface Reserved {
  readonly shipments: Array<ShipmentPlan>
  /** Units per line left without a shipment: the plan's shortfall plus what pools refused. */
  readonly short: Map<number, number>
  readonly summary: string
  readonly reservations: ReadonlyArray<{ readonly reservationId: string; readonly sku: string; readonly qty: number }>
}

/**
 * Step 2 and 3: reserves each drafted line at its pool and prices the
 * shipments that got any. A reservation is a message to another actor whose
 * answer decides the shipment, so reserving and deciding interleave here.
 */
const reservePlan = (o: OrderState, plan: Plan, ctx: OrderContext): Reserved => {
  const stage = o.payment === "authorised" ? "allocated" : "held"
  const shipments: Array<ShipmentPlan> = []
  const reservations: Array<Reserved["reservations"][number]> = []
  const short = new Map(plan.short)
  let summary = plan.summary
  let shipmentNo = o.shipments.length
  for (const d of plan.drafts.values()) {
    const shipmentId = `${o.orderId}-s${shipmentNo + 1}`
    const lines: Array<LineQty> = []
    let kg = 0
    for (const [lineNo, qty] of d.qty) {
      const sku = o.lines[lineIndex(o, lineNo)].sku
      const reservationId = `${shipmentId}/${lineNo}`
      const refused = ctx.pools.reserve(reservationId, o.orderId, sku, d.nodeId, qty, stage, d.fromHoldQty.get(lineNo) ?? 0)
      if (refused) {
        // the availability view was behind the pool: the quantity waits as a backorder
        short.set(lineNo, (short.get(lineNo) ?? 0) + qty)
        summary += ` ${d.nodeId} refused ${qty} x ${sku} (${refused.code}).`
      } else {
        lines.push({ lineNo, qty })
        reservations.push({ reservationId, sku, qty })
        kg += (qty * weightOf(ctx, sku)) / 1000
      }
    }
    if (lines.length === 0) continue
    shipmentNo++
    shipments.push(priceShipment(o, d, shipmentId, lines, kg, ctx))
  }
  return { shipments, short, summary, reservations }
}

/** Step 3: a shipment's distance and cost, and for an order with a promise its carrier service and promised day. */
const priceShipment = (o: OrderState, d: DraftShipment, shipmentId: string, lines: Array<LineQty>, kg: number, ctx: OrderContext): ShipmentPlan => {
  const weights = ctx.net.channels.get(o.channel)!.policy.weights
  const node = nodeById(ctx.net, d.nodeId)!
  const km = distanceKm(node.location, o.destination)
  let cost = shipmentCostCents(weights, node, km, kg, ctx.capacity.usedShare(d.nodeId), o.fulfillment)
  const option = hasPromise(o) ? (d.option ?? promiseAt(o, node, km, kg, ctx)) : undefined
  if (option) cost += rateCents(option, kg)
  return {
    shipmentId, nodeId: d.nodeId, lines, fromHolds: d.fromHolds, distanceKm: Math.round(km * 10) / 10, costCents: Math.round(cost),
    ...(option ? { promise: promiseOf(option) } : {})
  }
}

/** The carrier service of a shipment whose node routing did not price (a cart hold's node): the cheapest meeting the promise, else the earliest. */
const promiseAt = (o: OrderState, node: NonNullable<ReturnType<typeof nodeById>>, km: number, kg: number, ctx: OrderContext): DeliveryOption | undefined => {
  const options = deliveryOptions(node, ctx.net.carrierList, km, ctx.now, ctx.capacity.remaining(node.nodeId) >= 1)
  return cheapestMeeting(options, promiseConstraintOf(o), kg) ?? earliest(options, kg)
}

/** The routing of an order that was routed routeAttemptsMax times: everything open waits as a backorder. */
const givenUp = (o: OrderState, reason: RouteReason, need: Map<number, number>, ctx: OrderContext): OrderRouted => ({
  type: "OrderRouted", orderId: o.orderId, reason, shipments: [],
  backordered: [...need].filter(([, q]) => q > 0).map(([lineNo, qty]) => ({ lineNo, qty })),
  explanation: { summary: `Routed ${o.routeAttempts} times already (routeAttemptsMax): the rest waits as a backorder.`, candidates: [] },
  at: ctx.now
})

/**
 * Routes every open quantity of the order, reserves it at the chosen pools
 * and records the decision. `holds`: the cart holds named at placement.
 */
export const routeOrder = (o: OrderState, reason: RouteReason, ctx: OrderContext, holds: ReadonlyArray<Hold> = []): void => {
  const need = openNeed(o)
  if (need.size === 0) return
  // an order bounced between failing nodes stops being routed automatically and waits as a backorder
  if (o.routeAttempts >= ctx.config.routeAttemptsMax) {
    if (reason !== "backorder_retry") ctx.emit(givenUp(o, reason, need, ctx))
    return
  }
  const { plan, used } = planRoute(o, need, holds, ctx)
  // step 1: holds end first (their units are free again or carried into the reservation), then the pools reserve
  for (const h of holds) ctx.pools.endHold(h.holdId, used.has(h.holdId) ? "converted" : "released")
  const reserved = reservePlan(o, plan, ctx)
  let { shipments, short, summary } = reserved
  if (o.shipComplete && short.size > 0 && shipments.length > 0) {
    // step 4: a pool refused part of the plan: a ship-complete order takes nothing and waits whole. (Asking every
    // pool before reserving would journal neither these reservations nor their release: a change to the journal,
    // so the order reserve-then-release is kept.)
    for (const r of reserved.reservations) ctx.pools.release(r.reservationId, r.sku, r.qty, "ship_complete")
    shipments = []
    short = new Map(need)
    summary += " Ship complete: the order waits whole as a backorder."
  }
  const backordered: Array<LineQty> = []
  for (const [lineNo, qty] of short) if (qty > 0) backordered.push({ lineNo, qty })
  // a retry that found nothing changes nothing: no event, no attempt counted
  if (reason === "backorder_retry" && shipments.length === 0) return
  ctx.emit({ type: "OrderRouted", orderId: o.orderId, reason, shipments, backordered, explanation: { summary: summary.trim(), candidates: plan.candidates }, at: ctx.now })
}
