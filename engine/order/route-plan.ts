/**
 * Routing an order, the deciding half: where each open unit should ship
 * from, computed without reserving anything. The steps, in order:
 *
 * 1. Cart holds stay at their nodes, unless the order asks a delivery
 *    promise their node cannot keep (those are released, their lines routed).
 * 2. The rest is routed around them (the router, or promise routing for an
 *    order with a promise).
 * 3. Consolidation: when the holds' nodes make the order ship in several
 *    packages, the order is routed whole with the held units counted as free
 *    again; if that fills everything in fewer shipments, it wins and the
 *    holds it does not use are released.
 * 4. Ship complete: a ship-complete order that cannot place every unit
 *    places none; everything waits as a backorder.
 *
 * route-order.ts then ends the holds, reserves at the pools and records the
 * routing.
 */
import type { RouteCandidateExplanation } from "../domain/events.ts"
import { distanceKm } from "../domain/network.ts"
import { nodeById } from "../network/network-actor.ts"
import type { Hold } from "../pool/pool-actor.ts"
import { cheapestMeeting, deliveryOptions, type DeliveryOption } from "../promise/promise.ts"
import { describeConstraint, routeWithPromise } from "../promise/promise-route.ts"
import type { RouteRequest, RouteResult, StockLookup } from "../routing/types.ts"
import { creditHolds, promiseConstraintOf, weightOf, type OrderContext } from "./order-context.ts"
import { hasPromise, type OrderState } from "./order-state.ts"

/** Candidates kept in the journaled explanation: the chosen node(s) and the closest runners-up. */
const explainedCandidatesMax = 3

/** Units to ship from one node, before anything is reserved. */
export interface DraftShipment {
  readonly nodeId: string
  readonly qty: Map<number, number>
  /** Units per line that come from cart holds at this node. */
  readonly fromHoldQty: Map<number, number>
  readonly fromHolds: Array<string>
  /** The carrier service routing chose for this node (orders with a promise). */
  option?: DeliveryOption
}

export interface Plan {
  readonly drafts: Map<string, DraftShipment>
  /** What could not be placed, per line. */
  readonly short: Map<number, number>
  summary: string
  candidates: ReadonlyArray<RouteCandidateExplanation>
}

/** A plan, and the cart holds it uses where they stand (the others are released). */
export interface RoutePlan {
  readonly plan: Plan
  readonly used: ReadonlySet<string>
}

const emptyPlan = (summary = ""): Plan => ({ drafts: new Map(), short: new Map(), summary, candidates: [] })

const draftAt = (plan: Plan, nodeId: string): DraftShipment => {
  let d = plan.drafts.get(nodeId)
  if (!d) plan.drafts.set(nodeId, (d = { nodeId, qty: new Map(), fromHoldQty: new Map(), fromHolds: [] }))
  return d
}

const lineOfSku = (o: OrderState, sku: string): number => o.lines.find((l) => l.sku === sku)!.lineNo

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
    const lineNo = lineOfSku(o, h.sku)
    const room = (d?.qty.get(lineNo) ?? 0) - (d?.fromHoldQty.get(lineNo) ?? 0)
    if (!d || room < h.qty) continue
    d.fromHoldQty.set(lineNo, (d.fromHoldQty.get(lineNo) ?? 0) + h.qty)
    d.fromHolds.push(h.holdId)
    used.add(h.holdId)
  }
  return used
}

/** Whether a cart hold's node has a carrier service that delivers the order's promise (its service, by its date). */
const holdKeepsPromise = (o: OrderState, h: Hold, ctx: OrderContext): boolean => {
  const node = nodeById(ctx.net, h.nodeId)
  if (!node) return false
  const options = deliveryOptions(node, ctx.net.carrierList, distanceKm(node.location, o.destination), ctx.now, ctx.capacity.remaining(node.nodeId) >= 1)
  return cheapestMeeting(options, promiseConstraintOf(o), (h.qty * weightOf(ctx, h.sku)) / 1000) !== undefined
}

/** Steps 1 and 2: the `kept` holds where they stand, the rest of `need` routed around them. */
const planAroundHolds = (o: OrderState, need: Map<number, number>, holds: ReadonlyArray<Hold>, kept: ReadonlyArray<Hold>, ctx: OrderContext): Plan => {
  const plan = emptyPlan()
  const rest = new Map(need)
  for (const h of kept) {
    const lineNo = lineOfSku(o, h.sku)
    const d = draftAt(plan, h.nodeId)
    d.qty.set(lineNo, (d.qty.get(lineNo) ?? 0) + h.qty)
    rest.set(lineNo, rest.get(lineNo)! - h.qty)
  }
  if (kept.length > 0) plan.summary = `${kept.length} cart hold(s) used at their nodes. `
  if (kept.length < holds.length) plan.summary += `${holds.length - kept.length} cart hold(s) released: their node cannot deliver ${describeConstraint(promiseConstraintOf(o))}. `
  routeOnto(o, plan, rest, ctx.stock, ctx)
  return plan
}

/** Step 3: the same order routed whole, with the held units counted as free again. */
const planWhole = (o: OrderState, need: Map<number, number>, kept: ReadonlyArray<Hold>, ctx: OrderContext): Plan => {
  const whole = emptyPlan("Consolidated: routed whole instead of from the cart holds' nodes. ")
  routeOnto(o, whole, need, creditHolds(ctx.stock, kept), ctx)
  return whole
}

/** Step 4: a ship-complete order that cannot place every unit places none. */
const waitWhole = (plan: Plan, need: Map<number, number>): Plan => {
  const missing = [...plan.short.values()].reduce((n, q) => n + q, 0)
  return {
    drafts: new Map(), short: new Map(need),
    summary: `Ship complete: ${missing} unit(s) cannot ship now, so the order waits whole as a backorder. ${plan.summary}`,
    candidates: plan.candidates
  }
}

/** Decides where `need` (line -> units) ships from, and which of the order's cart holds the plan uses. Reserves nothing. */
export const planRoute = (o: OrderState, need: Map<number, number>, holds: ReadonlyArray<Hold>, ctx: OrderContext): RoutePlan => {
  // a cart hold stays where it is only if its node can keep the order's promise; the others are released and
  // their lines routed to nodes that can (the promise was checked at placement with those nodes in view)
  const kept = hasPromise(o) && o.fulfillment === "ship" ? holds.filter((h) => holdKeepsPromise(o, h, ctx)) : holds
  let plan = planAroundHolds(o, need, holds, kept, ctx)
  let used = useHolds(o, plan, kept)
  if (kept.length > 0 && plan.drafts.size > 1) {
    const whole = planWhole(o, need, kept, ctx)
    if (whole.short.size === 0 && whole.drafts.size < plan.drafts.size) {
      plan = whole
      used = useHolds(o, plan, kept)
    }
  }
  // ship complete: a routing places every unit it is asked for, or none (they all wait as a backorder)
  if (o.shipComplete && [...plan.short.values()].some((q) => q > 0)) {
    plan = waitWhole(plan, need)
    used = new Set()
  }
  return { plan, used }
}
