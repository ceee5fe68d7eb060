/**
 * Every command, defined once, as an effect Schema: what clients
 * (storefronts, fulfillment nodes, WMS/ERP, ops) ask the engine to do. The
 * TypeScript types of commands are derived from these schemas (commands.ts
 * re-exports them under their names), and the gateway derives the payloads
 * it decodes from them (gateway/payloads.ts: a payload is a command without
 * the fields the gateway fills in, such as the channel from the key).
 *
 * The schemas hold the shape and the bounds of the wire (a string, at most
 * 256 characters for an id, a number, one of these words). They do not hold
 * the bounds that come from configuration or from the engine's state
 * (quantityMax, idLengthMax, the hold TTL range, known SKUs...): the engine
 * checks those and answers with its named codes (errors.ts), whether the
 * command came through the gateway or from TypeScript.
 */
import { Schema } from "effect"
import type * as Network from "./network.ts"

const opt = Schema.optionalKey

// ---- fields ----------------------------------------------------------------------------------

/** An id or code on the wire: at most 256 characters (the engine's idLengthMax, 128 by default, is checked by the engine: invalid_id). */
export const Id = Schema.String.check(Schema.isMaxLength(256))
/** A free text (reason, reference, name): at most 1,024 characters on the wire; the engine bounds some further. */
export const Text = Schema.String.check(Schema.isMaxLength(1024))
/** A quantity: a number by shape; the engine checks it is a whole number in 1..quantityMax (quantity_must_be_positive, quantity_too_large). */
export const Quantity = Schema.Number
/** A calendar date "YYYY-MM-DD" by shape; the engine checks it is a real date, not in the past (invalid_date). */
export const DateText = Schema.String.check(Schema.isMaxLength(10))

export const LatLon = Schema.Struct({ lat: Schema.Finite, lon: Schema.Finite })
export const NodeKind = Schema.Literals(["warehouse", "store"])
export const NodeStatus = Schema.Literals(["online", "paused", "offline"])
export const NodeService = Schema.Literals(["ship", "pickup"])
/** Weekday numbers as in Date.getUTCDay: 0 Sunday .. 6 Saturday. */
export const Weekday = Schema.Literals([0, 1, 2, 3, 4, 5, 6])

export const LineQty = Schema.Struct({ lineNo: Schema.Number, qty: Quantity })
export type LineQty = typeof LineQty.Type
const LineQtys = Schema.Array(LineQty)

// ---- network and catalog ---------------------------------------------------------------------

export const UpsertNode = Schema.Struct({
  type: Schema.Literal("node.upsert"),
  nodeId: Id,
  name: Text,
  kind: NodeKind,
  location: LatLon,
  capacityPerDay: Schema.Number,
  priority: opt(Schema.Number),
  services: opt(Schema.Array(NodeService)),
  groups: opt(Schema.Array(Id)),
  status: opt(NodeStatus),
  /** Local pickup cut-off "HH:MM" (default 17:00). */
  pickupCutoff: opt(Schema.String.check(Schema.isMaxLength(5))),
  /** IANA time zone of the node (default UTC). */
  timeZone: opt(Schema.String.check(Schema.isMaxLength(64)))
})
export type UpsertNode = typeof UpsertNode.Type

/** Pausing or taking a node offline re-routes its open (not yet picked) shipments. */
export const SetNodeStatus = Schema.Struct({ type: Schema.Literal("node.setStatus"), nodeId: Id, status: NodeStatus, reason: opt(Text) })
export type SetNodeStatus = typeof SetNodeStatus.Type

export const UpsertSku = Schema.Struct({ type: Schema.Literal("sku.upsert"), sku: Id, name: Text, weightGrams: Schema.Number })
export type UpsertSku = typeof UpsertSku.Type

const CostWeights = Schema.Struct({
  perPackageCents: opt(Schema.Number), perKmCents: opt(Schema.Number), perKgPer100KmCents: opt(Schema.Number),
  splitPenaltyCents: opt(Schema.Number), priorityStepCents: opt(Schema.Number), loadPenaltyCents: opt(Schema.Number)
})

/** A channel and the parts of its routing policy it sets (the rest keeps the defaults, network.ts defaultPolicy). */
export const UpsertChannel = Schema.Struct({
  type: Schema.Literal("channel.upsert"),
  channel: Id,
  policy: opt(Schema.Struct({
    allowedNodeIds: opt(Schema.Array(Id)), allowedGroups: opt(Schema.Array(Id)), maxSplits: opt(Schema.Number),
    maxDistanceKm: opt(Schema.Number), shipFromStore: opt(Schema.Boolean), weights: opt(CostWeights)
  }))
})
export type UpsertChannel = typeof UpsertChannel.Type

const ServiceBand = Schema.Struct({ upToKm: Schema.Number, days: Schema.Number, baseCents: Schema.Number, perKgCents: Schema.Number })
const ServiceLevel = Schema.Struct({ service: Id, name: Text, bands: Schema.Array(ServiceBand) })

/** A carrier and its service levels (replaces the carrier's previous configuration). */
export const UpsertCarrier = Schema.Struct({
  type: Schema.Literal("carrier.upsert"),
  carrier: Id,
  name: Text,
  services: Schema.Array(ServiceLevel),
  /** Default Monday to Friday. */
  pickupDays: opt(Schema.Array(Weekday)),
  /** Default Monday to Friday. */
  deliveryDays: opt(Schema.Array(Weekday))
})
export type UpsertCarrier = typeof UpsertCarrier.Type

// ---- inventory --------------------------------------------------------------------------------

export const ReceiveStock = Schema.Struct({ type: Schema.Literal("inventory.receive"), sku: Id, nodeId: Id, qty: Quantity, reference: opt(Text) })
export type ReceiveStock = typeof ReceiveStock.Type

/** Either a signed delta or an absolute counted quantity, always with a reason. */
export const AdjustStock = Schema.Struct({
  type: Schema.Literal("inventory.adjust"), sku: Id, nodeId: Id, delta: opt(Schema.Number), count: opt(Schema.Number), reason: Text
})
export type AdjustStock = typeof AdjustStock.Type

export const SetSafetyStock = Schema.Struct({ type: Schema.Literal("inventory.setSafetyStock"), sku: Id, nodeId: Id, qty: Quantity })
export type SetSafetyStock = typeof SetSafetyStock.Type

export const LoadRow = Schema.Struct({ sku: Id, nodeId: Id, onHand: Schema.Number, safetyStock: opt(Schema.Number) })
export type LoadRow = typeof LoadRow.Type

/** A bulk load of absolute counts, as a WMS or ERP sends them: all rows apply or none. */
export const LoadInventory = Schema.Struct({ type: Schema.Literal("inventory.load"), rows: Schema.Array(LoadRow), reference: opt(Text) })
export type LoadInventory = typeof LoadInventory.Type

// ---- holds ------------------------------------------------------------------------------------

/**
 * A cart reservation. Targets `nodeId`, or else the best node for `location`
 * (or, with neither, the node with the most available stock).
 * `key`, when given, makes the request idempotent within the channel (while
 * the hold lives and for holdEndedRetentionMs after it ended).
 * `cartId` and `customerId`, when given, name who holds: the live holds of one
 * cart, and of one customer, hold at most holdUnitsPerCartMax units of a SKU
 * (a hold with neither counts alone).
 */
export const CreateHold = Schema.Struct({
  type: Schema.Literal("hold.create"),
  channel: Id,
  sku: Id,
  qty: Quantity,
  nodeId: opt(Id),
  location: opt(LatLon),
  /** holdTtlMsMin..holdTtlMsMax, checked by the engine (ttl_out_of_range); default holdTtlMsDefault. */
  ttlMs: opt(Schema.Number),
  key: opt(Id),
  cartId: opt(Id),
  customerId: opt(Id)
})
export type CreateHold = typeof CreateHold.Type

export const ExtendHold = Schema.Struct({ type: Schema.Literal("hold.extend"), channel: Id, holdId: Id, ttlMs: Schema.Number })
export type ExtendHold = typeof ExtendHold.Type

export const ReleaseHold = Schema.Struct({ type: Schema.Literal("hold.release"), channel: Id, holdId: Id })
export type ReleaseHold = typeof ReleaseHold.Type

// ---- orders -----------------------------------------------------------------------------------

export const OrderLineInput = Schema.Struct({ sku: Id, qty: Quantity, unitPriceCents: opt(Schema.Number) })
export type OrderLineInput = typeof OrderLineInput.Type

export const Customer = Schema.Struct({
  name: opt(Text),
  email: opt(Text),
  /** Coordinates of the delivery address. */
  location: opt(LatLon),
  /** A place name the engine resolves to coordinates when `location` is absent (a known city or node id). */
  place: opt(Text)
})
export type Customer = typeof Customer.Type

/**
 * Cluster mode: the order is one leg of an order whose lines lie in several
 * partitions. The gateway's cluster client sets it when it splits an order
 * (storefronts cannot send it); each leg is an ordinary order of its partition.
 */
export const OrderLeg = Schema.Struct({
  /** The partition the leg lives in: every line's SKU and every cart hold of the leg lies in it. */
  partition: Schema.Number,
  /** The client's line numbers (1-based positions in the order as the client sent it) of the leg's lines, in the same order. */
  lineNos: Schema.Array(Schema.Number)
})
export type OrderLeg = typeof OrderLeg.Type

export const PlaceOrder = Schema.Struct({
  type: Schema.Literal("order.place"),
  channel: Id,
  externalId: Id,
  lines: Schema.Array(OrderLineInput),
  customer: Customer,
  /** Cart holds to turn into this order's allocations; each must be this channel's, live, for a line's SKU. */
  holdIds: opt(Schema.Array(Id)),
  /** `authorised` for orders paid before capture (marketplaces); otherwise stock is held until `order.payment`. */
  payment: opt(Schema.Literals(["pending", "authorised"])),
  fulfillment: opt(Schema.Literals(["ship", "pickup"])),
  pickupNodeId: opt(Id),
  /** A service level code (for example "two_day"): routing picks a node and a carrier offering it. */
  service: opt(Id),
  /** Last acceptable delivery date, "YYYY-MM-DD": routing picks a node and carrier service that arrive by then. */
  deliverBy: opt(DateText),
  /** B2B: the buyer's purchase-order reference. */
  purchaseOrder: opt(Id),
  /** B2B: ship only complete (true) or as available (false, the default). */
  shipComplete: opt(Schema.Boolean),
  /** B2B: the date the buyer asked for the goods by, "YYYY-MM-DD"; routed as a deliver-by date. */
  requestedDeliveryDate: opt(DateText),
  /**
   * What to do when routing at placement cannot place every unit: `backorder` (the default) places the order
   * and the rest waits as a backorder; `reject` refuses the order with insufficient_stock and changes nothing.
   */
  onShortage: opt(Schema.Literals(["backorder", "reject"])),
  /** Set by the cluster gateway only: the order is this leg; its idempotency key is (channel, externalId, leg.partition). */
  leg: opt(OrderLeg)
})
export type PlaceOrder = typeof PlaceOrder.Type

/**
 * Set by the cluster gateway only (storefronts cannot send it): before it
 * places the legs of a split order, it claims the order's external id in the
 * order's home partition (where an ordinary order with that external id lives),
 * naming the partitions of the legs. Refused with exists_with_different_lines
 * when an ordinary order holds the external id, or a claim names other partitions.
 */
export const ClaimSplit = Schema.Struct({
  type: Schema.Literal("order.claimSplit"),
  channel: Id,
  externalId: Id,
  /** The partitions of the legs, each once. */
  partitions: Schema.Array(Schema.Number)
})
export type ClaimSplit = typeof ClaimSplit.Type

/**
 * Set by the cluster gateway only: gives up the claim of a split placement
 * that was compensated, so the external id can be used again (for instance by
 * a corrected order that is not split). Only a claim naming the same partitions
 * is released.
 */
export const ReleaseSplit = Schema.Struct({ type: Schema.Literal("order.releaseSplit"), channel: Id, externalId: Id, partitions: Schema.Array(Schema.Number) })
export type ReleaseSplit = typeof ReleaseSplit.Type

/** Commands that act on an existing order may carry the caller's channel: a mismatch reads as order_not_found. */
const orderScoped = { orderId: Id, channel: opt(Id) }

export const RecordPayment = Schema.Struct({ type: Schema.Literal("order.payment"), ...orderScoped, outcome: Schema.Literals(["authorised", "declined"]) })
export type RecordPayment = typeof RecordPayment.Type

export const CancelOrder = Schema.Struct({
  type: Schema.Literal("order.cancel"),
  ...orderScoped,
  /** Lines and quantities to cancel; absent means the whole order. */
  lines: opt(LineQtys),
  reason: Text,
  /**
   * Set by the cluster gateway only, to undo a leg of a split placement that
   * failed as a whole: the leg (nothing of it picked yet) is cancelled whole
   * without a customer notification, and its idempotency key is freed so a
   * retry of the order places the leg again.
   */
  compensation: opt(Schema.Boolean)
})
export type CancelOrder = typeof CancelOrder.Type

const shipmentScoped = {
  orderId: Id,
  shipmentId: Id,
  /** The node reporting; must be the shipment's node. */
  nodeId: Id
}

export const AcceptShipment = Schema.Struct({ type: Schema.Literal("shipment.accept"), ...shipmentScoped })
export type AcceptShipment = typeof AcceptShipment.Type
export const RejectShipment = Schema.Struct({ type: Schema.Literal("shipment.reject"), ...shipmentScoped, reason: Text })
export type RejectShipment = typeof RejectShipment.Type
/** Picked quantities per line; a line picked below its quantity is a short pick and its rest is re-routed. Absent lines: all picked. */
export const PickShipment = Schema.Struct({ type: Schema.Literal("shipment.pick"), ...shipmentScoped, lines: opt(LineQtys) })
export type PickShipment = typeof PickShipment.Type
export const PackShipment = Schema.Struct({ type: Schema.Literal("shipment.pack"), ...shipmentScoped })
export type PackShipment = typeof PackShipment.Type
export const ShipShipment = Schema.Struct({ type: Schema.Literal("shipment.ship"), ...shipmentScoped, carrier: Text, trackingId: Text })
export type ShipShipment = typeof ShipShipment.Type
export const DeliverShipment = Schema.Struct({ type: Schema.Literal("shipment.deliver"), ...shipmentScoped })
export type DeliverShipment = typeof DeliverShipment.Type

export const TrackingStatus = Schema.Literals(["in_transit", "out_for_delivery", "delivered", "exception"])
export type TrackingStatus = typeof TrackingStatus.Type

/**
 * A carrier's tracking update for a shipped shipment. `nodeId`, when given
 * (a node's key reports it), must be the shipment's node. `delivered` moves
 * the shipment as shipment.deliver does.
 */
export const TrackShipment = Schema.Struct({
  type: Schema.Literal("shipment.track"),
  orderId: Id,
  shipmentId: Id,
  nodeId: opt(Id),
  status: TrackingStatus,
  detail: opt(Text),
  /** The carrier's current estimate, "YYYY-MM-DD": past the promised day it makes the shipment late now. */
  estimatedDelivery: opt(DateText)
})
export type TrackShipment = typeof TrackShipment.Type

export const RequestReturn = Schema.Struct({ type: Schema.Literal("return.request"), ...orderScoped, lines: LineQtys, reason: Text })
export type RequestReturn = typeof RequestReturn.Type

export const ReturnLineReceipt = Schema.Struct({ ...LineQty.fields, disposition: Schema.Literals(["restock", "writeOff"]) })
export type ReturnLineReceipt = typeof ReturnLineReceipt.Type

export const ReceiveReturn = Schema.Struct({
  type: Schema.Literal("return.receive"), orderId: Id, returnId: Id, nodeId: Id, lines: Schema.Array(ReturnLineReceipt)
})
export type ReceiveReturn = typeof ReceiveReturn.Type

/** A return of `returnLines` plus a new order for `newLines`, shipped to the same customer. */
export const ExchangeOrder = Schema.Struct({
  type: Schema.Literal("order.exchange"), ...orderScoped, returnLines: LineQtys, newLines: Schema.Array(OrderLineInput), reason: Text
})
export type ExchangeOrder = typeof ExchangeOrder.Type

/** The customer's feedback on a delivered order: a rating of 1..5 and a comment (at most feedbackCommentLengthMax, checked by the engine). */
export const RecordFeedback = Schema.Struct({
  type: Schema.Literal("order.feedback"), ...orderScoped, rating: Schema.Number, comment: opt(Schema.String.check(Schema.isMaxLength(8192)))
})
export type RecordFeedback = typeof RecordFeedback.Type

/** The gateway reports notifications it delivered, so they leave the outbox. */
export const MarkNotificationsDelivered = Schema.Struct({ type: Schema.Literal("notifications.delivered"), ids: Schema.Array(Id) })
export type MarkNotificationsDelivered = typeof MarkNotificationsDelivered.Type

// ---- every command ------------------------------------------------------------------------------

export const Command = Schema.Union([
  UpsertNode, SetNodeStatus, UpsertSku, UpsertChannel, UpsertCarrier,
  ReceiveStock, AdjustStock, SetSafetyStock, LoadInventory,
  CreateHold, ExtendHold, ReleaseHold,
  PlaceOrder, RecordPayment, CancelOrder, ExchangeOrder, RecordFeedback, ClaimSplit, ReleaseSplit,
  AcceptShipment, RejectShipment, PickShipment, PackShipment, ShipShipment, DeliverShipment, TrackShipment,
  RequestReturn, ReceiveReturn,
  MarkNotificationsDelivered
])
export type Command = typeof Command.Type

// ---- the network vocabulary (network.ts) and these schemas agree --------------------------------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Holds<T extends true> = T
/** Fails to compile when a schema above drifts from the type network.ts defines for the same thing. */
export type AgreesWithNetwork = [
  Holds<Same<typeof LatLon.Type, Network.LatLon>>,
  Holds<Same<typeof NodeKind.Type, Network.NodeKind>>,
  Holds<Same<typeof NodeStatus.Type, Network.NodeStatus>>,
  Holds<Same<typeof NodeService.Type, Network.NodeService>>,
  Holds<Same<typeof Weekday.Type, Network.Weekday>>,
  Holds<Same<typeof ServiceLevel.Type, Network.ServiceLevel>>,
  Holds<Same<Required<typeof CostWeights.Type>, Network.CostWeights>>
]
