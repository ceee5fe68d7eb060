/**
 * Events: facts the engine has decided, in the past tense, each carrying the
 * id of the actor it belongs to. They are the journal's content: the state of
 * every actor is the fold of its events (`evolve`), and nothing else is stored
 * but snapshots of that fold.
 */
import type { Carrier, Channel, FulfillmentNode, LatLon, NodeStatus, Sku } from "./network.ts"
import type { Customer, LineQty, OrderLeg, ReturnLineReceipt } from "./commands.ts"

// ---- network stream ("net") --------------------------------------------------

export interface NodeUpserted { readonly type: "NodeUpserted"; readonly node: FulfillmentNode }
export interface NodeStatusChanged { readonly type: "NodeStatusChanged"; readonly nodeId: string; readonly status: NodeStatus; readonly reason: string; readonly at: number }
export interface SkuUpserted { readonly type: "SkuUpserted"; readonly sku: Sku }
export interface ChannelUpserted { readonly type: "ChannelUpserted"; readonly channel: Channel }
export interface CarrierUpserted { readonly type: "CarrierUpserted"; readonly carrier: Carrier }

export type NetworkEvent = NodeUpserted | NodeStatusChanged | SkuUpserted | ChannelUpserted | CarrierUpserted

// ---- stock pools (SKU x node) --------------------------------------------

/** Every pool event names its pool. */
export interface PoolRef {
  readonly sku: string
  readonly nodeId: string
  /**
   * Sequence number (in the same stream) of this pool's previous event, 0 for
   * its first: set by the runtime when the event is journaled, so a pool's
   * audit trail is a chain through the journal (runtime/queries.ts poolHistory).
   */
  readonly prev?: number
}

export interface StockReceived extends PoolRef { readonly type: "StockReceived"; readonly qty: number; readonly reference: string; readonly at: number }
/** Signed change of on hand: adjustments, absolute counts (as their delta) and bulk loads. */
export interface StockAdjusted extends PoolRef { readonly type: "StockAdjusted"; readonly delta: number; readonly reason: string; readonly at: number }
export interface SafetyStockSet extends PoolRef { readonly type: "SafetyStockSet"; readonly qty: number }
export interface HoldPlaced extends PoolRef {
  readonly type: "HoldPlaced"
  readonly holdId: string
  readonly channel: string
  readonly qty: number
  readonly expiresAt: number
  readonly key: string | null
  /** Who holds (hold.create cartId / customerId), when given: the per-cart limit counts by them. */
  readonly cartId?: string
  readonly customerId?: string
  readonly at: number
}
export interface HoldExtended extends PoolRef { readonly type: "HoldExtended"; readonly holdId: string; readonly expiresAt: number }
export interface HoldEnded extends PoolRef {
  readonly type: "HoldEnded"
  readonly holdId: string
  /** released by the client, expired on the engine clock, or converted into an order's reservation. */
  readonly reason: "released" | "expired" | "converted"
  readonly at: number
}
/**
 * Stock set aside for an order line at this pool. `held` while the order's
 * payment is pending (it counts as held), `allocated` once paid.
 */
export interface StockReserved extends PoolRef {
  readonly type: "StockReserved"
  readonly reservationId: string
  readonly orderId: string
  readonly qty: number
  readonly stage: "held" | "allocated"
}
export interface ReservationAllocated extends PoolRef { readonly type: "ReservationAllocated"; readonly reservationId: string }
export interface ReservationReleased extends PoolRef { readonly type: "ReservationReleased"; readonly reservationId: string; readonly qty: number; readonly reason: string }
/** Allocated stock left the building: allocation and on hand both go down. */
export interface StockShipped extends PoolRef { readonly type: "StockShipped"; readonly reservationId: string; readonly qty: number }
/** Returned goods put back on the shelf at this pool. */
export interface StockRestocked extends PoolRef { readonly type: "StockRestocked"; readonly qty: number; readonly orderId: string; readonly returnId: string }

export type PoolEvent =
  | StockReceived
  | StockAdjusted
  | SafetyStockSet
  | HoldPlaced
  | HoldExtended
  | HoldEnded
  | StockReserved
  | ReservationAllocated
  | ReservationReleased
  | StockShipped
  | StockRestocked

// ---- orders -----------------------------------------------------------------

export interface OrderLine {
  readonly lineNo: number
  readonly sku: string
  readonly qty: number
  readonly unitPriceCents: number
}

export interface OrderPlaced {
  readonly type: "OrderPlaced"
  readonly orderId: string
  readonly channel: string
  readonly externalId: string
  readonly lines: ReadonlyArray<OrderLine>
  readonly customer: Customer
  /** Where the order goes: the customer's coordinates (resolved from a place name if needed). */
  readonly destination: LatLon
  readonly fulfillment: "ship" | "pickup"
  readonly pickupNodeId: string | null
  readonly paymentAuthorised: boolean
  /** When a pending payment fails by timeout (0 when paid at capture). */
  readonly paymentDueAt: number
  readonly holdIds: ReadonlyArray<string>
  /** The order this one replaces items of (exchanges). */
  readonly exchangeFor: string | null
  readonly at: number
  /** Asked service level (absent: none). */
  readonly service?: string
  /** Asked last delivery date "YYYY-MM-DD" (absent: none). */
  readonly deliverBy?: string
  /** B2B purchase-order reference. */
  readonly purchaseOrder?: string
  /** B2B: ship complete (absent: ship as available). */
  readonly shipComplete?: boolean
  /** B2B requested delivery date "YYYY-MM-DD". */
  readonly requestedDeliveryDate?: string
  /** Cluster mode: the order is a leg of an order split over partitions. */
  readonly leg?: OrderLeg
}

export interface RouteCandidateExplanation {
  readonly nodeId: string
  readonly distanceKm: number
  readonly costCents: number
  /** Lines (by number) this node could fill completely. */
  readonly fills: ReadonlyArray<number>
  /** Why the node was not chosen or not eligible, if it was not. */
  readonly verdict: string
}

export interface RouteExplanation {
  readonly summary: string
  readonly candidates: ReadonlyArray<RouteCandidateExplanation>
}

export interface ShipmentLineQty {
  readonly shipmentId: string
  readonly lineNo: number
  readonly qty: number
}

export interface ShipmentPlan {
  readonly shipmentId: string
  readonly nodeId: string
  readonly lines: ReadonlyArray<LineQty>
  /** Holds (by id) this shipment's stock came from, if any. */
  readonly fromHolds: ReadonlyArray<string>
  readonly distanceKm: number
  readonly costCents: number
  /** The carrier service chosen for an order with a delivery promise, and the end of its promised day (epoch ms, 23:59:59.999 UTC). */
  readonly promise?: ShipmentPromise
}

export interface ShipmentPromise {
  readonly carrier: string
  readonly service: string
  /** Delivered at or before this moment (epoch ms) keeps the promise. */
  readonly promisedBy: number
}

export type RouteReason = "placed" | "node_offline" | "rejected" | "short_pick" | "backorder_retry"

export interface OrderRouted {
  readonly type: "OrderRouted"
  readonly orderId: string
  readonly reason: RouteReason
  readonly shipments: ReadonlyArray<ShipmentPlan>
  /** Quantities no node could fill now: kept and re-tried when stock arrives. */
  readonly backordered: ReadonlyArray<LineQty>
  readonly explanation: RouteExplanation
  readonly at: number
}

export interface PaymentAuthorised { readonly type: "PaymentAuthorised"; readonly orderId: string; readonly at: number }
export interface PaymentFailed { readonly type: "PaymentFailed"; readonly orderId: string; readonly outcome: "declined" | "timeout"; readonly at: number }

interface ShipmentRef {
  readonly orderId: string
  readonly shipmentId: string
  readonly at: number
}
export interface ShipmentAccepted extends ShipmentRef { readonly type: "ShipmentAccepted" }
/** The node refused or lost the shipment (rejected, node offline or paused); its open quantities are re-routed. */
export interface ShipmentWithdrawn extends ShipmentRef { readonly type: "ShipmentWithdrawn"; readonly reason: "rejected" | "node_offline"; readonly detail: string }
export interface ShipmentPicked extends ShipmentRef { readonly type: "ShipmentPicked"; readonly picked: ReadonlyArray<LineQty>; readonly short: ReadonlyArray<LineQty> }
export interface ShipmentPacked extends ShipmentRef { readonly type: "ShipmentPacked" }
export interface ShipmentShipped extends ShipmentRef { readonly type: "ShipmentShipped"; readonly carrier: string; readonly trackingId: string }
export interface ShipmentDelivered extends ShipmentRef { readonly type: "ShipmentDelivered" }
/** A carrier's tracking update short of delivery (delivery is ShipmentDelivered). `scan` numbers the shipment's updates from 1. */
export interface ShipmentTracked extends ShipmentRef {
  readonly type: "ShipmentTracked"
  readonly status: "in_transit" | "out_for_delivery" | "exception"
  readonly detail: string
  readonly estimatedDelivery: string | null
  readonly scan: number
}
/**
 * A shipment with a promise became late: its promised day ended before it was
 * delivered (`not_delivered`, on the engine clock), or the carrier's estimate
 * lies past it (`estimate`). Once per shipment.
 */
export interface ShipmentLate extends ShipmentRef {
  readonly type: "ShipmentLate"
  readonly promisedBy: number
  readonly cause: "not_delivered" | "estimate"
}

export interface OrderCancelled {
  readonly type: "OrderCancelled"
  readonly orderId: string
  readonly cancellationNo: number
  readonly lines: ReadonlyArray<LineQty>
  /** Where the cancelled quantities came from: the backorder, or open shipments (whose reservations are released). */
  readonly fromBackorder: ReadonlyArray<LineQty>
  readonly fromShipments: ReadonlyArray<ShipmentLineQty>
  readonly reason: string
  /** Nothing is left open on the order. */
  readonly complete: boolean
  readonly at: number
  /** A leg undone because its split placement failed: no customer notification, and the leg's idempotency key is freed. */
  readonly compensation?: true
}

export interface ReturnRequested {
  readonly type: "ReturnRequested"
  readonly orderId: string
  readonly returnId: string
  readonly lines: ReadonlyArray<LineQty>
  readonly reason: string
  readonly exchangeOrderId: string | null
  readonly at: number
}
export interface ReturnReceived {
  readonly type: "ReturnReceived"
  readonly orderId: string
  readonly returnId: string
  readonly nodeId: string
  readonly lines: ReadonlyArray<ReturnLineReceipt>
  readonly at: number
}
export interface RefundIssued { readonly type: "RefundIssued"; readonly orderId: string; readonly returnId: string; readonly amountCents: number; readonly at: number }
/** The customer's rating (1..5) and comment on a delivered order; one per order. */
export interface FeedbackRecorded { readonly type: "FeedbackRecorded"; readonly orderId: string; readonly rating: number; readonly comment: string; readonly at: number }
export interface NotificationsDelivered { readonly type: "NotificationsDelivered"; readonly orderId: string; readonly ids: ReadonlyArray<string> }

export type OrderEvent =
  | OrderPlaced
  | OrderRouted
  | PaymentAuthorised
  | PaymentFailed
  | ShipmentAccepted
  | ShipmentWithdrawn
  | ShipmentPicked
  | ShipmentPacked
  | ShipmentShipped
  | ShipmentDelivered
  | ShipmentTracked
  | ShipmentLate
  | OrderCancelled
  | ReturnRequested
  | ReturnReceived
  | RefundIssued
  | FeedbackRecorded
  | NotificationsDelivered

// ---- claims of split orders' external ids (cluster mode, in the order's home partition) ----

/**
 * The external id (channel, externalId) is taken by an order split over
 * partitions, whose legs lie in `partitions` (ascending). Journaled in the
 * partition an ordinary order with that external id would live in (its home),
 * so that the home sees every use of the external id: an ordinary order and a
 * split order cannot share it.
 */
export interface SplitClaimed {
  readonly type: "SplitClaimed"
  readonly channel: string
  readonly externalId: string
  readonly partitions: ReadonlyArray<number>
  readonly at: number
}
/** The claim was given up: the split placement it was for was compensated. */
export interface SplitReleased { readonly type: "SplitReleased"; readonly channel: string; readonly externalId: string; readonly at: number }

export type SplitEvent = SplitClaimed | SplitReleased

export type EngineEvent = NetworkEvent | PoolEvent | OrderEvent | SplitEvent

/** An event as stored: its stream (partition) and its position in that stream. */
export interface JournaledEvent {
  readonly stream: string
  readonly seq: number
  readonly event: EngineEvent
}

/** Every order event type: a Record, so an event type added to OrderEvent and not listed here fails to compile. */
const orderEventTypeTable: { readonly [K in OrderEvent["type"]]: true } = {
  OrderPlaced: true, OrderRouted: true, PaymentAuthorised: true, PaymentFailed: true, ShipmentAccepted: true,
  ShipmentWithdrawn: true, ShipmentPicked: true, ShipmentPacked: true, ShipmentShipped: true, ShipmentDelivered: true,
  ShipmentTracked: true, ShipmentLate: true, OrderCancelled: true, ReturnRequested: true, ReturnReceived: true,
  RefundIssued: true, FeedbackRecorded: true, NotificationsDelivered: true
}

export const orderEventTypes: ReadonlySet<string> = new Set(Object.keys(orderEventTypeTable))

export const isOrderEvent = (e: EngineEvent): e is OrderEvent => orderEventTypes.has(e.type)

/** Every split claim event type (exhaustive, as orderEventTypeTable). */
const splitEventTypeTable: { readonly [K in SplitEvent["type"]]: true } = { SplitClaimed: true, SplitReleased: true }

export const splitEventTypes: ReadonlySet<string> = new Set(Object.keys(splitEventTypeTable))

export const isSplitEvent = (e: EngineEvent): e is SplitEvent => splitEventTypes.has(e.type)
