/**
 * The shapes of every request payload the gateway accepts, as effect Schemas:
 * the storefront operations (the same fields over WS frames and HTTP bodies),
 * fulfillment node events, inventory movements, node status and admin
 * upserts. Shape only: the engine checks meaning (positive quantities, known
 * SKUs, TTL bounds...) and answers with its named codes.
 *
 * Decoding rejects unknown fields (onExcessProperty: "error"), so a typo is an
 * `invalid_frame` naming the field instead of a silently ignored option.
 */
import { Result, Schema } from "effect"
import { gatewayError, type ErrorBody } from "./errors.ts"

// ---- shared fields ---------------------------------------------------------------------------

const Id = Schema.String.check(Schema.isMaxLength(256))
const Text = Schema.String.check(Schema.isMaxLength(1024))
const Quantity = Schema.Number
const opt = Schema.optionalKey

export const LatLon = Schema.Struct({ lat: Schema.Finite, lon: Schema.Finite })
export const LineQty = Schema.Struct({ lineNo: Schema.Number, qty: Quantity })
const LineQtys = Schema.Array(LineQty)
const OrderLineInput = Schema.Struct({ sku: Id, qty: Quantity, unitPriceCents: opt(Schema.Number) })
const Customer = Schema.Struct({ name: opt(Text), email: opt(Text), location: opt(LatLon), place: opt(Text) })
const Skus = Schema.Array(Id).check(Schema.isMinLength(1))
/** A calendar date "YYYY-MM-DD" by shape; the engine checks it is a real date, not in the past (invalid_date). */
const DateText = Schema.String.check(Schema.isMaxLength(10))

// ---- storefront operations -------------------------------------------------------------------

export const storefrontPayloads = {
  availability: Schema.Struct({ skus: Skus, location: opt(LatLon), nodesMax: opt(Schema.Int), promise: opt(Schema.Boolean) }),
  "availability.subscribe": Schema.Struct({ skus: Skus, location: opt(LatLon), nodesMax: opt(Schema.Int) }),
  "availability.unsubscribe": Schema.Struct({ skus: Skus }),
  "hold.create": Schema.Struct({
    sku: Id, qty: Quantity, nodeId: opt(Id), location: opt(LatLon), ttlMs: opt(Schema.Number), key: opt(Id)
  }),
  "hold.extend": Schema.Struct({ holdId: Id, ttlMs: Schema.Number }),
  "hold.release": Schema.Struct({ holdId: Id }),
  "hold.get": Schema.Struct({ holdId: Id }),
  "order.place": Schema.Struct({
    externalId: Id,
    lines: Schema.Array(OrderLineInput),
    customer: Customer,
    holdIds: opt(Schema.Array(Id)),
    payment: opt(Schema.Literals(["pending", "authorised"])),
    fulfillment: opt(Schema.Literals(["ship", "pickup"])),
    pickupNodeId: opt(Id),
    service: opt(Id),
    deliverBy: opt(DateText),
    purchaseOrder: opt(Id),
    shipComplete: opt(Schema.Boolean),
    requestedDeliveryDate: opt(DateText)
  }),
  "order.payment": Schema.Struct({ orderId: Id, outcome: Schema.Literals(["authorised", "declined"]) }),
  "order.cancel": Schema.Struct({ orderId: Id, lines: opt(LineQtys), reason: opt(Text) }),
  "order.get": Schema.Struct({ orderId: opt(Id), externalId: opt(Id) }),
  "order.history": Schema.Struct({ orderId: Id }),
  "order.subscribe": Schema.Struct({ orderId: Id }),
  "order.unsubscribe": Schema.Struct({ orderId: Id }),
  "return.request": Schema.Struct({ orderId: Id, lines: LineQtys, reason: Text }),
  "order.exchange": Schema.Struct({ orderId: Id, returnLines: LineQtys, newLines: Schema.Array(OrderLineInput), reason: Text }),
  "order.feedback": Schema.Struct({ orderId: Id, rating: Schema.Number, comment: opt(Schema.String.check(Schema.isMaxLength(8192))) }),
  ping: Schema.Struct({ nonce: opt(Id) })
} as const

export type StorefrontOp = keyof typeof storefrontPayloads
export type StorefrontPayload<K extends StorefrontOp> = (typeof storefrontPayloads)[K]["Type"]

export const storefrontOps = Object.keys(storefrontPayloads) as ReadonlyArray<StorefrontOp>

// ---- fulfillment node events (the node id comes from the route) ---------------------------

const shipmentRef = { orderId: Id, shipmentId: Id }

export const NodeEvent = Schema.Union([
  Schema.Struct({ type: Schema.Literal("shipment.accept"), ...shipmentRef }),
  Schema.Struct({ type: Schema.Literal("shipment.reject"), ...shipmentRef, reason: Text }),
  Schema.Struct({ type: Schema.Literal("shipment.pick"), ...shipmentRef, lines: opt(LineQtys) }),
  Schema.Struct({ type: Schema.Literal("shipment.pack"), ...shipmentRef }),
  Schema.Struct({ type: Schema.Literal("shipment.ship"), ...shipmentRef, carrier: Text, trackingId: Text }),
  Schema.Struct({ type: Schema.Literal("shipment.deliver"), ...shipmentRef }),
  Schema.Struct({
    type: Schema.Literal("return.receive"),
    orderId: Id,
    returnId: Id,
    lines: Schema.Array(Schema.Struct({ lineNo: Schema.Number, qty: Quantity, disposition: Schema.Literals(["restock", "writeOff"]) }))
  })
])
export type NodeEvent = typeof NodeEvent.Type
export const nodeEventTypes = ["shipment.accept", "shipment.reject", "shipment.pick", "shipment.pack", "shipment.ship", "shipment.deliver", "return.receive"] as const

/** A carrier's tracking update of one shipment (POST /v1/shipments/:shipmentId/tracking). */
export const TrackingBody = Schema.Struct({
  status: Schema.Literals(["in_transit", "out_for_delivery", "delivered", "exception"]),
  detail: opt(Text),
  estimatedDelivery: opt(DateText)
})

export const NodeStatusBody = Schema.Struct({ status: Schema.Literals(["online", "paused", "offline"]), reason: opt(Text) })

// ---- inventory (WMS / ERP) --------------------------------------------------------------------

export const inventoryPayloads = {
  receive: Schema.Struct({ sku: Id, nodeId: Id, qty: Quantity, reference: opt(Text) }),
  adjust: Schema.Struct({ sku: Id, nodeId: Id, delta: opt(Schema.Number), count: opt(Schema.Number), reason: Text }),
  "safety-stock": Schema.Struct({ sku: Id, nodeId: Id, qty: Quantity }),
  load: Schema.Struct({
    rows: Schema.Array(Schema.Struct({ sku: Id, nodeId: Id, onHand: Schema.Number, safetyStock: opt(Schema.Number) })),
    reference: opt(Text)
  })
} as const

// ---- admin (ops) ---------------------------------------------------------------------------------

const Weights = Schema.Struct({
  perPackageCents: opt(Schema.Number), perKmCents: opt(Schema.Number), perKgPer100KmCents: opt(Schema.Number),
  splitPenaltyCents: opt(Schema.Number), priorityStepCents: opt(Schema.Number), loadPenaltyCents: opt(Schema.Number)
})

export const adminPayloads = {
  nodes: Schema.Struct({
    nodeId: Id, name: Text, kind: Schema.Literals(["warehouse", "store"]), location: LatLon, capacityPerDay: Schema.Number,
    priority: opt(Schema.Number), services: opt(Schema.Array(Schema.Literals(["ship", "pickup"]))), groups: opt(Schema.Array(Id)),
    status: opt(Schema.Literals(["online", "paused", "offline"])),
    pickupCutoff: opt(Schema.String.check(Schema.isMaxLength(5))), timeZone: opt(Schema.String.check(Schema.isMaxLength(64)))
  }),
  skus: Schema.Struct({ sku: Id, name: Text, weightGrams: Schema.Number }),
  carriers: Schema.Struct({
    carrier: Id, name: Text,
    services: Schema.Array(Schema.Struct({
      service: Id, name: Text,
      bands: Schema.Array(Schema.Struct({ upToKm: Schema.Number, days: Schema.Number, baseCents: Schema.Number, perKgCents: Schema.Number }))
    })),
    pickupDays: opt(Schema.Array(Schema.Literals([0, 1, 2, 3, 4, 5, 6]))),
    deliveryDays: opt(Schema.Array(Schema.Literals([0, 1, 2, 3, 4, 5, 6])))
  }),
  channels: Schema.Struct({
    channel: Id,
    policy: opt(Schema.Struct({
      allowedNodeIds: opt(Schema.Array(Id)), allowedGroups: opt(Schema.Array(Id)), maxSplits: opt(Schema.Number),
      maxDistanceKm: opt(Schema.Number), shipFromStore: opt(Schema.Boolean), weights: opt(Weights)
    }))
  })
} as const

// ---- decoding ---------------------------------------------------------------------------------------

export type Decoded<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: ErrorBody }

/** A decoder for untrusted input: unknown fields are errors; the message names the field at fault. */
export const decoderOf = <S extends Schema.Decoder<unknown>>(schema: S): ((input: unknown) => Decoded<S["Type"]>) => {
  const decode = Schema.decodeUnknownResult(schema as Schema.Decoder<S["Type"]>, { onExcessProperty: "error" })
  return (input) => {
    const r = decode(input)
    return Result.isSuccess(r)
      ? { ok: true, value: r.success }
      : { ok: false, error: gatewayError("invalid_frame", r.failure.message.replace(/\s*\n\s*/g, " ")) }
  }
}
