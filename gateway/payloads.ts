/**
 * The shapes of every request payload the gateway accepts, as effect Schemas:
 * the storefront operations (the same fields over WS frames and HTTP bodies),
 * fulfillment node events, inventory movements, node status and admin
 * upserts. A payload that becomes an engine command is derived from that
 * command's schema (engine/domain/command-schema.ts, the one definition of
 * every command): the command without the fields the gateway fills in (its
 * type from the operation or route, the channel from the storefront key, the
 * node from the path, the order and shipment from the path). Shape only: the
 * engine checks meaning (positive quantities, known SKUs, TTL bounds...) and
 * answers with its named codes.
 *
 * Decoding rejects unknown fields (onExcessProperty: "error"), so a typo, or
 * a field only the gateway may set (channel, leg, compensation), is an
 * `invalid_frame` naming the field instead of a silently ignored option.
 */
import { Result, Schema, Struct } from "effect"
import { CommandSchema as C } from "../engine/index.ts"
import { gatewayError, type ErrorBody } from "./errors.ts"

const opt = Schema.optionalKey
const Skus = Schema.Array(C.Id).check(Schema.isMinLength(1))

/** The payload of a command: the command without the fields the gateway fills in. */
const without = <F extends Schema.Struct.Fields, const K extends ReadonlyArray<keyof F>>(command: Schema.Struct<F>, filledIn: K) =>
  command.mapFields((fields) => Struct.omit(fields, filledIn))

/** A storefront write: the command in the key's channel, its type from the operation. */
const inChannel = ["type", "channel"] as const

// ---- storefront operations -------------------------------------------------------------------

export const storefrontPayloads = {
  availability: Schema.Struct({ skus: Skus, location: opt(C.LatLon), nodesMax: opt(Schema.Int), promise: opt(Schema.Boolean) }),
  "availability.subscribe": Schema.Struct({ skus: Skus, location: opt(C.LatLon), nodesMax: opt(Schema.Int) }),
  "availability.unsubscribe": Schema.Struct({ skus: Skus }),
  "hold.create": without(C.CreateHold, inChannel),
  "hold.extend": without(C.ExtendHold, inChannel),
  "hold.release": without(C.ReleaseHold, inChannel),
  "hold.get": Schema.Struct({ holdId: C.Id }),
  /** Without `leg`: only the cluster gateway splits an order into legs. */
  "order.place": without(C.PlaceOrder, ["type", "channel", "leg"]),
  "order.payment": without(C.RecordPayment, inChannel),
  /** Without `compensation` (the cluster gateway's); the reason may be left out (the gateway gives one). */
  "order.cancel": C.CancelOrder.mapFields((f) => ({ ...Struct.omit(f, ["type", "channel", "compensation"]), reason: opt(f.reason) })),
  "order.get": Schema.Struct({ orderId: opt(C.Id), externalId: opt(C.Id) }),
  "order.history": Schema.Struct({ orderId: C.Id }),
  "order.subscribe": Schema.Struct({ orderId: C.Id }),
  "order.unsubscribe": Schema.Struct({ orderId: C.Id }),
  "return.request": without(C.RequestReturn, inChannel),
  "order.exchange": without(C.ExchangeOrder, inChannel),
  "order.feedback": without(C.RecordFeedback, inChannel),
  ping: Schema.Struct({ nonce: opt(C.Id) }),
  /** The key's channel: its policy and the nodes it sells from. No fields (an empty Struct would let any field through). */
  "channel.get": Schema.Record(Schema.String, Schema.Never)
} as const

export type StorefrontOp = keyof typeof storefrontPayloads
export type StorefrontPayload<K extends StorefrontOp> = (typeof storefrontPayloads)[K]["Type"]

export const storefrontOps = Object.keys(storefrontPayloads) as ReadonlyArray<StorefrontOp>

// ---- fulfillment node events (the node id comes from the route) ---------------------------

const fromNode = ["nodeId"] as const

export const NodeEvent = Schema.Union([
  without(C.AcceptShipment, fromNode),
  without(C.RejectShipment, fromNode),
  without(C.PickShipment, fromNode),
  without(C.PackShipment, fromNode),
  without(C.ShipShipment, fromNode),
  without(C.DeliverShipment, fromNode),
  without(C.ReceiveReturn, fromNode)
])
export type NodeEvent = typeof NodeEvent.Type
export const nodeEventTypes: ReadonlyArray<NodeEvent["type"]> = NodeEvent.members.map((m) => m.fields.type.literal)

/** A carrier's tracking update of one shipment (POST /v1/shipments/:shipmentId/tracking): the shipment from the path, the node from the key. */
export const TrackingBody = without(C.TrackShipment, ["type", "orderId", "shipmentId", "nodeId"])

export const NodeStatusBody = without(C.SetNodeStatus, ["type", "nodeId"])

// ---- inventory (WMS / ERP) and admin (ops): the command, its type from the route -----------------

const fromRoute = ["type"] as const

export const inventoryPayloads = {
  receive: without(C.ReceiveStock, fromRoute),
  adjust: without(C.AdjustStock, fromRoute),
  "safety-stock": without(C.SetSafetyStock, fromRoute),
  load: without(C.LoadInventory, fromRoute)
} as const

export const adminPayloads = {
  nodes: without(C.UpsertNode, fromRoute),
  skus: without(C.UpsertSku, fromRoute),
  carriers: without(C.UpsertCarrier, fromRoute),
  channels: without(C.UpsertChannel, fromRoute)
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
