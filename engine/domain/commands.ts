/**
 * Commands: what clients (storefronts, fulfillment nodes, WMS/ERP, ops) ask the
 * engine to do. Each names the actor it is for by its fields: a SKU and node
 * name a stock pool, an order id or (channel, external id) an order, a node id
 * a fulfillment node. The engine answers each with a Reply or a Rejection.
 */
import type { LatLon, NodeKind, NodeService, NodeStatus, RoutingPolicy, CostWeights, ServiceLevel, Weekday } from "./network.ts"

export interface LineQty {
  readonly lineNo: number
  readonly qty: number
}

// ---- network and catalog --------------------------------------------------

export interface UpsertNode {
  readonly type: "node.upsert"
  readonly nodeId: string
  readonly name: string
  readonly kind: NodeKind
  readonly location: LatLon
  readonly capacityPerDay: number
  readonly priority?: number
  readonly services?: ReadonlyArray<NodeService>
  readonly groups?: ReadonlyArray<string>
  readonly status?: NodeStatus
  /** Local pickup cut-off "HH:MM" (default 17:00). */
  readonly pickupCutoff?: string
  /** IANA time zone of the node (default UTC). */
  readonly timeZone?: string
}

/** Pausing or taking a node offline re-routes its open (not yet picked) shipments. */
export interface SetNodeStatus {
  readonly type: "node.setStatus"
  readonly nodeId: string
  readonly status: NodeStatus
  readonly reason?: string
}

export interface UpsertSku {
  readonly type: "sku.upsert"
  readonly sku: string
  readonly name: string
  readonly weightGrams: number
}

export interface UpsertChannel {
  readonly type: "channel.upsert"
  readonly channel: string
  readonly policy?: Partial<Omit<RoutingPolicy, "weights">> & { readonly weights?: Partial<CostWeights> }
}

/** A carrier and its service levels (replaces the carrier's previous configuration). */
export interface UpsertCarrier {
  readonly type: "carrier.upsert"
  readonly carrier: string
  readonly name: string
  readonly services: ReadonlyArray<ServiceLevel>
  /** Default Monday to Friday. */
  readonly pickupDays?: ReadonlyArray<Weekday>
  /** Default Monday to Friday. */
  readonly deliveryDays?: ReadonlyArray<Weekday>
}

// ---- inventory -------------------------------------------------------------

export interface ReceiveStock {
  readonly type: "inventory.receive"
  readonly sku: string
  readonly nodeId: string
  readonly qty: number
  readonly reference?: string
}

/** Either a signed delta or an absolute counted quantity, always with a reason. */
export interface AdjustStock {
  readonly type: "inventory.adjust"
  readonly sku: string
  readonly nodeId: string
  readonly delta?: number
  readonly count?: number
  readonly reason: string
}

export interface SetSafetyStock {
  readonly type: "inventory.setSafetyStock"
  readonly sku: string
  readonly nodeId: string
  readonly qty: number
}

export interface LoadRow {
  readonly sku: string
  readonly nodeId: string
  readonly onHand: number
  readonly safetyStock?: number
}

/** A bulk load of absolute counts, as a WMS or ERP sends them: all rows apply or none. */
export interface LoadInventory {
  readonly type: "inventory.load"
  readonly rows: ReadonlyArray<LoadRow>
  readonly reference?: string
}

// ---- holds -----------------------------------------------------------------

/**
 * A cart reservation. Targets `nodeId`, or else the best node for `location`
 * (or, with neither, the node with the most available stock).
 * `key`, when given, makes the request idempotent within the channel and SKU.
 */
export interface CreateHold {
  readonly type: "hold.create"
  readonly channel: string
  readonly sku: string
  readonly qty: number
  readonly nodeId?: string
  readonly location?: LatLon
  readonly ttlMs?: number
  readonly key?: string
}

export interface ExtendHold {
  readonly type: "hold.extend"
  readonly channel: string
  readonly holdId: string
  readonly ttlMs: number
}

export interface ReleaseHold {
  readonly type: "hold.release"
  readonly channel: string
  readonly holdId: string
}

// ---- orders ----------------------------------------------------------------

export interface OrderLineInput {
  readonly sku: string
  readonly qty: number
  readonly unitPriceCents?: number
}

export interface Customer {
  readonly name?: string
  readonly email?: string
  /** Coordinates of the delivery address. */
  readonly location?: LatLon
  /** A place name the engine resolves to coordinates when `location` is absent (a known city or node id). */
  readonly place?: string
}

/**
 * Cluster mode: the order is one leg of an order whose lines lie in several
 * partitions. The gateway's cluster client sets it when it splits an order
 * (storefronts cannot send it); each leg is an ordinary order of its partition.
 */
export interface OrderLeg {
  /** The partition the leg lives in: every line's SKU and every cart hold of the leg lies in it. */
  readonly partition: number
  /** The client's line numbers (1-based positions in the order as the client sent it) of the leg's lines, in the same order. */
  readonly lineNos: ReadonlyArray<number>
}

export interface PlaceOrder {
  readonly type: "order.place"
  readonly channel: string
  readonly externalId: string
  readonly lines: ReadonlyArray<OrderLineInput>
  readonly customer: Customer
  /** Cart holds to turn into this order's allocations; each must be this channel's, live, for a line's SKU. */
  readonly holdIds?: ReadonlyArray<string>
  /** `authorised` for orders paid before capture (marketplaces); otherwise stock is held until `order.payment`. */
  readonly payment?: "pending" | "authorised"
  readonly fulfillment?: "ship" | "pickup"
  readonly pickupNodeId?: string
  /** A service level code (for example "two_day"): routing picks a node and a carrier offering it. */
  readonly service?: string
  /** Last acceptable delivery date, "YYYY-MM-DD": routing picks a node and carrier service that arrive by then. */
  readonly deliverBy?: string
  /** B2B: the buyer's purchase-order reference. */
  readonly purchaseOrder?: string
  /** B2B: ship only complete (true) or as available (false, the default). */
  readonly shipComplete?: boolean
  /** B2B: the date the buyer asked for the goods by, "YYYY-MM-DD"; routed as a deliver-by date. */
  readonly requestedDeliveryDate?: string
  /** Set by the cluster gateway only: the order is this leg; its idempotency key is (channel, externalId, leg.partition). */
  readonly leg?: OrderLeg
}

/**
 * Set by the cluster gateway only (storefronts cannot send it): before it
 * places the legs of a split order, it claims the order's external id in the
 * order's home partition (where an ordinary order with that external id lives),
 * naming the partitions of the legs. Refused with exists_with_different_lines
 * when an ordinary order holds the external id, or a claim names other partitions.
 */
export interface ClaimSplit {
  readonly type: "order.claimSplit"
  readonly channel: string
  readonly externalId: string
  /** The partitions of the legs, each once. */
  readonly partitions: ReadonlyArray<number>
}

/**
 * Set by the cluster gateway only: gives up the claim of a split placement
 * that was compensated, so the external id can be used again (for instance by
 * a corrected order that is not split). Only a claim naming the same partitions
 * is released.
 */
export interface ReleaseSplit {
  readonly type: "order.releaseSplit"
  readonly channel: string
  readonly externalId: string
  readonly partitions: ReadonlyArray<number>
}

/** Commands that act on an existing order may carry the caller's channel: a mismatch reads as order_not_found. */
interface OrderScoped {
  readonly orderId: string
  readonly channel?: string
}

export interface RecordPayment extends OrderScoped {
  readonly type: "order.payment"
  readonly outcome: "authorised" | "declined"
}

export interface CancelOrder extends OrderScoped {
  readonly type: "order.cancel"
  /** Lines and quantities to cancel; absent means the whole order. */
  readonly lines?: ReadonlyArray<LineQty>
  readonly reason: string
  /**
   * Set by the cluster gateway only, to undo a leg of a split placement that
   * failed as a whole: the leg (nothing of it picked yet) is cancelled whole
   * without a customer notification, and its idempotency key is freed so a
   * retry of the order places the leg again.
   */
  readonly compensation?: boolean
}

interface ShipmentScoped {
  readonly orderId: string
  readonly shipmentId: string
  /** The node reporting; must be the shipment's node. */
  readonly nodeId: string
}

export interface AcceptShipment extends ShipmentScoped { readonly type: "shipment.accept" }
export interface RejectShipment extends ShipmentScoped { readonly type: "shipment.reject"; readonly reason: string }
/** Picked quantities per line; a line picked below its quantity is a short pick and its rest is re-routed. Absent lines: all picked. */
export interface PickShipment extends ShipmentScoped { readonly type: "shipment.pick"; readonly lines?: ReadonlyArray<LineQty> }
export interface PackShipment extends ShipmentScoped { readonly type: "shipment.pack" }
export interface ShipShipment extends ShipmentScoped {
  readonly type: "shipment.ship"
  readonly carrier: string
  readonly trackingId: string
}
export interface DeliverShipment extends ShipmentScoped { readonly type: "shipment.deliver" }

export type TrackingStatus = "in_transit" | "out_for_delivery" | "delivered" | "exception"
export const trackingStatuses: ReadonlyArray<TrackingStatus> = ["in_transit", "out_for_delivery", "delivered", "exception"]

/**
 * A carrier's tracking update for a shipped shipment. `nodeId`, when given
 * (a node's key reports it), must be the shipment's node. `delivered` moves
 * the shipment as shipment.deliver does.
 */
export interface TrackShipment {
  readonly type: "shipment.track"
  readonly orderId: string
  readonly shipmentId: string
  readonly nodeId?: string
  readonly status: TrackingStatus
  readonly detail?: string
  /** The carrier's current estimate, "YYYY-MM-DD": past the promised day it makes the shipment late now. */
  readonly estimatedDelivery?: string
}

export interface RequestReturn extends OrderScoped {
  readonly type: "return.request"
  readonly lines: ReadonlyArray<LineQty>
  readonly reason: string
}

export interface ReturnLineReceipt extends LineQty {
  readonly disposition: "restock" | "writeOff"
}

export interface ReceiveReturn {
  readonly type: "return.receive"
  readonly orderId: string
  readonly returnId: string
  readonly nodeId: string
  readonly lines: ReadonlyArray<ReturnLineReceipt>
}

/** A return of `returnLines` plus a new order for `newLines`, shipped to the same customer. */
export interface ExchangeOrder extends OrderScoped {
  readonly type: "order.exchange"
  readonly returnLines: ReadonlyArray<LineQty>
  readonly newLines: ReadonlyArray<OrderLineInput>
  readonly reason: string
}

/** The customer's feedback on a delivered order: a rating of 1..5 and a comment (feedbackCommentLengthMax). */
export interface RecordFeedback extends OrderScoped {
  readonly type: "order.feedback"
  readonly rating: number
  readonly comment?: string
}

/** The gateway reports notifications it delivered, so they leave the outbox. */
export interface MarkNotificationsDelivered {
  readonly type: "notifications.delivered"
  readonly ids: ReadonlyArray<string>
}

export type NetworkCommand = UpsertNode | SetNodeStatus | UpsertSku | UpsertChannel | UpsertCarrier
export type InventoryCommand = ReceiveStock | AdjustStock | SetSafetyStock | LoadInventory
export type HoldCommand = CreateHold | ExtendHold | ReleaseHold
export type ShipmentCommand = AcceptShipment | RejectShipment | PickShipment | PackShipment | ShipShipment | DeliverShipment
export type OrderCommand =
  | PlaceOrder
  | RecordPayment
  | CancelOrder
  | ShipmentCommand
  | TrackShipment
  | RequestReturn
  | ReceiveReturn
  | ExchangeOrder
  | RecordFeedback
  | ClaimSplit
  | ReleaseSplit

export type Command = NetworkCommand | InventoryCommand | HoldCommand | OrderCommand | MarkNotificationsDelivered

export type CommandType = Command["type"]

export const commandTypes: ReadonlyArray<CommandType> = [
  "node.upsert", "node.setStatus", "sku.upsert", "channel.upsert", "carrier.upsert",
  "inventory.receive", "inventory.adjust", "inventory.setSafetyStock", "inventory.load",
  "hold.create", "hold.extend", "hold.release",
  "order.place", "order.payment", "order.cancel", "order.exchange", "order.feedback", "order.claimSplit", "order.releaseSplit",
  "shipment.accept", "shipment.reject", "shipment.pick", "shipment.pack", "shipment.ship", "shipment.deliver", "shipment.track",
  "return.request", "return.receive",
  "notifications.delivered"
]
