/**
 * The routing cost model: what one plan of shipments costs, in cents.
 *
 * Ship, a package from node n to a customer d km away carrying w kg:
 *
 *   cost(n) = perPackageCents
 *           + perKmCents * d
 *           + perKgPer100KmCents * w * d / 100
 *           + priorityStepCents * (priority(n) - 1)
 *           + loadPenaltyCents * usedShare(n)
 *
 * Pickup in store (the customer collects it, no carrier): only the node terms
 *
 *   cost(n) = priorityStepCents * (priority(n) - 1) + loadPenaltyCents * usedShare(n)
 *
 * A plan of s shipments costs the sum of its shipments plus
 * splitPenaltyCents * (s - 1). d is the great-circle distance from the node to
 * the destination (`distanceKm`), w the summed weight of the units the package
 * carries, usedShare the share of the node's daily capacity already used
 * (clamped to 0..1), priority(n) - 1 is never taken below 0. Outputs round each
 * shipment to whole cents and the total is the sum of the rounded shipments
 * plus the rounded split penalty.
 *
 * Every shipment cost is `fixed + perKg * w`: the router computes both parts
 * once per node and call, then prices any assignment of units cheaply.
 */
import type { CostWeights, FulfillmentNode } from "../domain/network.ts"

export type Fulfillment = "ship" | "pickup"

const clampShare = (share: number): number => (share > 0 ? (share < 1 ? share : 1) : 0)

/** The part of a shipment's cost that does not depend on what it carries. */
export const fixedCostCents = (
  weights: CostWeights,
  node: FulfillmentNode,
  distanceKm: number,
  usedShare: number,
  fulfillment: Fulfillment
): number => {
  const steps = node.priority > 1 ? node.priority - 1 : 0
  const nodeTerms = weights.priorityStepCents * steps + weights.loadPenaltyCents * clampShare(usedShare)
  return fulfillment === "pickup" ? nodeTerms : weights.perPackageCents + weights.perKmCents * distanceKm + nodeTerms
}

/** Cost of each kilogram a shipment carries over `distanceKm` (0 for pickup). */
export const perKgCostCents = (weights: CostWeights, distanceKm: number, fulfillment: Fulfillment): number =>
  fulfillment === "pickup" ? 0 : (weights.perKgPer100KmCents * distanceKm) / 100

/** Cost of one shipment carrying `weightKg` (see the formula at the top of this file). */
export const shipmentCostCents = (
  weights: CostWeights,
  node: FulfillmentNode,
  distanceKm: number,
  weightKg: number,
  usedShare: number,
  fulfillment: Fulfillment
): number =>
  fixedCostCents(weights, node, distanceKm, usedShare, fulfillment) +
  perKgCostCents(weights, distanceKm, fulfillment) * weightKg

/** Penalty of a plan of `shipments` shipments (0 for zero or one shipment). */
export const splitPenaltyCents = (weights: CostWeights, shipments: number): number =>
  shipments > 1 ? weights.splitPenaltyCents * (shipments - 1) : 0

/** Total of a plan: shipments rounded to whole cents, plus the rounded split penalty. */
export const planTotalCents = (weights: CostWeights, shipmentCosts: ReadonlyArray<number>): number => {
  let total = 0
  for (const c of shipmentCosts) total += Math.round(c)
  return total + Math.round(splitPenaltyCents(weights, shipmentCosts.length))
}

/** Whether every weight is non-negative, so that the cheapest conceivable split costs at least 2 * fixed + penalty. */
export const weightsNonNegative = (w: CostWeights): boolean =>
  w.perPackageCents >= 0 && w.perKmCents >= 0 && w.perKgPer100KmCents >= 0 &&
  w.splitPenaltyCents >= 0 && w.priorityStepCents >= 0 && w.loadPenaltyCents >= 0

/** "$9.12" (negative amounts as "-$9.12"). */
export const formatCents = (cents: number): string => {
  const c = Math.round(cents)
  const abs = Math.abs(c)
  return `${c < 0 ? "-" : ""}$${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`
}
