/**
 * The reference data the engine routes over: fulfillment nodes (warehouses and
 * stores), the catalog of SKUs, and the channels with their routing policies.
 */

export interface LatLon {
  readonly lat: number
  readonly lon: number
}

export type NodeKind = "warehouse" | "store"
export type NodeStatus = "online" | "paused" | "offline"
export type NodeService = "ship" | "pickup"

export interface FulfillmentNode {
  readonly nodeId: string
  readonly name: string
  readonly kind: NodeKind
  readonly location: LatLon
  readonly status: NodeStatus
  /** Shipments the node can pick in one day (engine clock, UTC). */
  readonly capacityPerDay: number
  /** 1 is the most preferred; each step above 1 adds the policy's priority cost. */
  readonly priority: number
  readonly services: ReadonlyArray<NodeService>
  /** Named groups a channel policy can allow (for example "east", "outlet"). */
  readonly groups: ReadonlyArray<string>
  /**
   * Latest local time ("HH:MM", 24 h) at which a parcel handed to a carrier
   * still leaves today; later, it leaves on the next pickup day. Absent: 17:00.
   */
  readonly pickupCutoff?: string
  /** IANA time zone of the node's local time (for example "America/Chicago"). Absent: UTC. */
  readonly timeZone?: string
}

/** One band of a service level: up to `upToKm` from node to customer, `days` in transit, at `baseCents + perKgCents * kg`. */
export interface ServiceBand {
  readonly upToKm: number
  /** Delivery days in transit after the pickup day (0: delivered the day it is picked up). */
  readonly days: number
  readonly baseCents: number
  readonly perKgCents: number
}

/** A service level of a carrier (for example ground, two-day, overnight). */
export interface ServiceLevel {
  /** The code orders ask for ("ground", "two_day", "overnight"); several carriers may offer the same code. */
  readonly service: string
  readonly name: string
  /** Distance bands, nearest first (ascending upToKm); beyond the last band the service does not reach. */
  readonly bands: ReadonlyArray<ServiceBand>
}

/** Weekday numbers as in Date.getUTCDay: 0 Sunday .. 6 Saturday. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6

export interface Carrier {
  readonly carrier: string
  readonly name: string
  readonly services: ReadonlyArray<ServiceLevel>
  /** Days the carrier collects parcels from nodes (default Monday to Friday). */
  readonly pickupDays: ReadonlyArray<Weekday>
  /** Days the carrier delivers (default Monday to Friday). */
  readonly deliveryDays: ReadonlyArray<Weekday>
}

export const weekdaysMonToFri: ReadonlyArray<Weekday> = [1, 2, 3, 4, 5]

export interface Sku {
  readonly sku: string
  readonly name: string
  readonly weightGrams: number
}

/** Cost weights of the routing cost model, in cents (see docs/architecture.md, Routing). */
export interface CostWeights {
  /** Fixed cost of one package leaving one node. */
  readonly perPackageCents: number
  /** Cost per kilometre of great-circle distance per package. */
  readonly perKmCents: number
  /** Cost per kilogram per 100 km. */
  readonly perKgPer100KmCents: number
  /** Extra cost of each shipment beyond the first (a split). */
  readonly splitPenaltyCents: number
  /** Cost per step of node priority above 1. */
  readonly priorityStepCents: number
  /** Cost added at a node in proportion to the share of its daily capacity already used (0..1). */
  readonly loadPenaltyCents: number
}

export interface RoutingPolicy {
  /** Node ids this channel may be served from; empty means every node. */
  readonly allowedNodeIds: ReadonlyArray<string>
  /** Node groups this channel may be served from; empty means every group. */
  readonly allowedGroups: ReadonlyArray<string>
  /** Most extra shipments (splits) one order may be cut into. */
  readonly maxSplits: number
  /** Nodes farther than this from the customer are not considered; 0 means no limit. */
  readonly maxDistanceKm: number
  /** Whether stores may ship to customers (pickup at a store is always allowed when asked). */
  readonly shipFromStore: boolean
  readonly weights: CostWeights
}

export interface Channel {
  readonly channel: string
  readonly policy: RoutingPolicy
}

export const defaultWeights: CostWeights = {
  perPackageCents: 500,
  perKmCents: 0.2,
  perKgPer100KmCents: 10,
  splitPenaltyCents: 400,
  priorityStepCents: 50,
  loadPenaltyCents: 300
}

export const defaultPolicy: RoutingPolicy = {
  allowedNodeIds: [],
  allowedGroups: [],
  maxSplits: 2,
  maxDistanceKm: 0,
  shipFromStore: true,
  weights: defaultWeights
}

/** Whether a channel's policy lets it sell from the node (its allowed node ids or groups; both empty: every node). */
export const policyAllows = (policy: RoutingPolicy, node: FulfillmentNode): boolean => {
  if (policy.allowedNodeIds.length === 0 && policy.allowedGroups.length === 0) return true
  return policy.allowedNodeIds.includes(node.nodeId) || node.groups.some((g) => policy.allowedGroups.includes(g))
}

/** A node as a channel sees it: whether it may sell from it at all, ship to customers from it, hand over pickups there. */
export interface ChannelNode {
  readonly nodeId: string
  readonly kind: NodeKind
  readonly status: NodeStatus
  /** Routing may ship the channel's orders to customers from it (offers "ship"; a store only when the channel ships from stores). */
  readonly ships: boolean
  /** The channel's customers may pick up there (offers "pickup"). */
  readonly pickup: boolean
}

/**
 * The nodes a channel sells from: every node its policy allows (allowedNodeIds,
 * allowedGroups), in network order, with what it may do there. Availability
 * (`atp`) and holds count the online ones of these; shipping routes only to
 * those that ship.
 */
export const channelNodes = (policy: RoutingPolicy, nodes: ReadonlyArray<FulfillmentNode>): Array<ChannelNode> =>
  nodes.filter((n) => policyAllows(policy, n)).map((n) => ({
    nodeId: n.nodeId, kind: n.kind, status: n.status,
    ships: n.services.includes("ship") && (n.kind === "warehouse" || policy.shipFromStore),
    pickup: n.services.includes("pickup")
  }))

/** Great-circle distance in kilometres (haversine, mean Earth radius). */
export const distanceKm = (a: LatLon, b: LatLon): number => {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLon = (b.lon - a.lon) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)))
}

export const isLatLon = (x: unknown): x is LatLon =>
  typeof x === "object" && x !== null &&
  typeof (x as LatLon).lat === "number" && typeof (x as LatLon).lon === "number" &&
  Math.abs((x as LatLon).lat) <= 90 && Math.abs((x as LatLon).lon) <= 180
