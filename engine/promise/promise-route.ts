/**
 * Routing with a delivery promise: node and carrier service chosen together.
 *
 * For every node that ships, the carrier services that reach the customer and
 * their delivery days are listed once (promise.ts). For a constraint (a
 * service level, a last delivery day, or both), each node's cheapest option
 * that meets it is handed to the router as that node's carrier rate, and
 * nodes with none are not eligible; the router then picks the cheapest plan
 * (carrier rates plus its own cost terms) exactly as for any order.
 *
 * When the promise leaves units unrouted that some node could ship without it
 * (the units exist, but not within the promise), the promise is unreachable:
 * the plan returned is then the cheapest one that ships as much as possible by
 * the earliest achievable delivery day, and `unreachable` says what that day is.
 */
import type { Carrier, FulfillmentNode } from "../domain/network.ts"
import { distanceKm } from "../domain/network.ts"
import type { CapacityLookup, RouteRequest, RouteResult, Router, ShippingTerms, StockLookup } from "../routing/types.ts"
import { dateOf } from "./calendar.ts"
import {
  cheapestMeeting, deliveryOptions, describeOption, type DeliveryOption, type PromiseConstraint
} from "./promise.ts"

export interface PromiseRouting {
  readonly result: RouteResult
  /** Per shipment of `result` (same order): the carrier service it goes by. */
  readonly options: ReadonlyArray<DeliveryOption | undefined>
  /** Set when the promise cannot be met: the earliest day by which the plan delivers (undefined when nothing ships). */
  readonly unreachable: { readonly achievableDay: number | undefined } | null
}

const unitsOf = (lines: ReadonlyArray<{ readonly qty: number }>): number => {
  let n = 0
  for (const l of lines) n += l.qty
  return n
}

/** "overnight by 2026-11-28", "by 2026-11-28", "two_day" */
export const describeConstraint = (c: PromiseConstraint): string =>
  [c.service, c.deliverByDay !== undefined ? `by ${dateOf(c.deliverByDay)}` : undefined].filter((x) => x !== undefined).join(" ")

/** Carrier services that reach the customer from each node (by node position), read once per routing. */
export const optionTable = (
  request: RouteRequest,
  nodes: ReadonlyArray<FulfillmentNode>,
  capacity: CapacityLookup,
  carriers: ReadonlyArray<Carrier>,
  now: number
): Array<ReadonlyArray<DeliveryOption>> =>
  nodes.map((node) =>
    node.status === "online" && node.services.includes("ship") && !request.excludedNodeIds.has(node.nodeId)
      ? deliveryOptions(node, carriers, distanceKm(node.location, request.destination), now, capacity.remaining(node.nodeId) >= 1)
      : []
  )

const termsFor = (table: ReadonlyArray<ReadonlyArray<DeliveryOption>>, c: PromiseConstraint, kg: number): ShippingTerms => {
  const fixedCents = new Float64Array(table.length)
  const perKgCents = new Float64Array(table.length)
  for (let i = 0; i < table.length; i++) {
    const o = cheapestMeeting(table[i], c, kg)
    fixedCents[i] = o ? o.baseCents : NaN
    perKgCents[i] = o ? o.perKgCents : NaN
  }
  return { fixedCents, perKgCents }
}

export const routeWithPromise = (
  router: Router,
  request: RouteRequest,
  constraint: PromiseConstraint,
  nodes: ReadonlyArray<FulfillmentNode>,
  stock: StockLookup,
  capacity: CapacityLookup,
  carriers: ReadonlyArray<Carrier>,
  now: number
): PromiseRouting => {
  const kgOfLine = new Map<number, number>()
  let totalKg = 0
  for (const l of request.lines) {
    const kg = l.weightGrams > 0 ? l.weightGrams / 1000 : 0
    kgOfLine.set(l.lineNo, kg)
    totalKg += kg * l.qty
  }
  const table = optionTable(request, nodes, capacity, carriers, now)
  const routeBy = (c: PromiseConstraint): RouteResult => router({ ...request, shipping: termsFor(table, c, totalKg) }, nodes, stock, capacity)
  const finish = (result: RouteResult, c: PromiseConstraint, unreachable: PromiseRouting["unreachable"], lead: string): PromiseRouting => {
    const options = result.shipments.map((s) => {
      const i = nodes.findIndex((n) => n.nodeId === s.nodeId)
      let kg = 0
      for (const l of s.lines) kg += (kgOfLine.get(l.lineNo) ?? 0) * l.qty
      return i < 0 ? undefined : cheapestMeeting(table[i], c, kg)
    })
    const chosen = result.shipments.map((s, j) => (options[j] ? `${s.nodeId} by ${describeOption(options[j]!)}` : s.nodeId))
    const tail = chosen.length > 0 ? ` Promise: ${chosen.join("; ")}.` : ""
    return { result: { ...result, explanation: { ...result.explanation, summary: `${lead}${result.explanation.summary}${tail}` } }, options, unreachable }
  }

  const first = routeBy(constraint)
  const short = unitsOf(first.backordered)
  if (short === 0) return finish(first, constraint, null, "")
  const free = routeBy({})
  const freeShort = unitsOf(free.backordered)
  if (freeShort >= short) return finish(first, constraint, null, "")
  // the stock is there, the promise is not: the earliest day by which as much ships as without a promise
  const days = [...new Set(table.flatMap((os) => os.map((o) => o.deliveryDay)))].sort((a, b) => a - b)
  for (const day of days) {
    const c: PromiseConstraint = { deliverByDay: day }
    const r = day === days[days.length - 1] ? free : routeBy(c)
    if (unitsOf(r.backordered) <= freeShort) {
      return finish(r, c, { achievableDay: day }, `promise_unreachable: no plan delivers every unit ${describeConstraint(constraint)}; earliest achievable ${dateOf(day)}. `)
    }
  }
  return finish(free, {}, { achievableDay: undefined }, `promise_unreachable: no plan delivers every unit ${describeConstraint(constraint)}. `)
}
