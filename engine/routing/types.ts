/**
 * The contract of fulfillment routing: what the Order actor hands the router
 * (lines, destination, policy, nodes it must avoid) and what it gets back
 * (shipments per node, backordered quantities, a human-readable explanation).
 * Routing is a pure function of its inputs; it reserves nothing.
 */
import type { LineQty } from "../domain/commands.ts"
import type { RouteExplanation } from "../domain/events.ts"
import type { FulfillmentNode, LatLon, RoutingPolicy } from "../domain/network.ts"

export interface RoutingLine {
  readonly lineNo: number
  readonly sku: string
  readonly qty: number
  readonly weightGrams: number
}

export interface RouteRequest {
  readonly lines: ReadonlyArray<RoutingLine>
  readonly destination: LatLon
  readonly fulfillment: "ship" | "pickup"
  /** With `pickup`, the only node that may serve the order. */
  readonly pickupNodeId: string | null
  readonly policy: RoutingPolicy
  /** Nodes that must not be chosen (for example: they rejected this order). */
  readonly excludedNodeIds: ReadonlySet<string>
  /**
   * Carrier rates per node, for orders with a delivery promise (engine/promise/):
   * added to each node's shipment cost; a node whose entry is NaN cannot meet
   * the promise and is not eligible. Absent for every other order.
   */
  readonly shipping?: ShippingTerms
}

/** Per node (by its position in the `nodes` list): the carrier rate of a shipment from it, `fixedCents + perKgCents * kg`. */
export interface ShippingTerms {
  readonly fixedCents: Float64Array
  readonly perKgCents: Float64Array
}

/** What routing may read of stock: available to promise of one pool (0 for an unknown pool). */
export interface StockLookup {
  atp(sku: string, nodeId: string): number
  /**
   * Optional fast path for the engine's own store of pools: the ATP of one SKU
   * at each node, by the node's position in the `nodes` list given to routing.
   */
  row?(sku: string): (nodeIndex: number) => number
}

/** What routing may read of node load: shipments the node can still take today, and the share of its day already used (0..1). */
export interface CapacityLookup {
  remaining(nodeId: string): number
  usedShare(nodeId: string): number
  /** Optional fast path: shipments used today by the node at this position of the `nodes` list (-1: unknown). */
  usedAt?(nodeIndex: number): number
}

export interface PlannedShipment {
  readonly nodeId: string
  readonly lines: ReadonlyArray<LineQty>
  readonly distanceKm: number
  readonly costCents: number
}

export interface RouteResult {
  readonly shipments: ReadonlyArray<PlannedShipment>
  /** Quantities no eligible node can fill now. */
  readonly backordered: ReadonlyArray<LineQty>
  /** Sum of shipment costs plus split penalties. */
  readonly totalCostCents: number
  readonly explanation: RouteExplanation
}

export type Router = (
  request: RouteRequest,
  nodes: ReadonlyArray<FulfillmentNode>,
  stock: StockLookup,
  capacity: CapacityLookup
) => RouteResult
