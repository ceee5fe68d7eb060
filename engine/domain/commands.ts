/**
 * Commands: what clients (storefronts, fulfillment nodes, WMS/ERP, ops) ask the
 * engine to do. Each names the actor it is for by its fields: a SKU and node
 * name a stock pool, an order id or (channel, external id) an order, a node id
 * a fulfillment node. The engine answers each with a Reply or a Rejection.
 *
 * Every command is defined once, as a Schema in command-schema.ts; these are
 * the TypeScript types derived from those schemas, under the names the engine
 * uses, and the groups of commands by the actor they are for.
 */
import { Command as CommandSchema, TrackingStatus as TrackingStatusSchema } from "./command-schema.ts"
import type {
  AcceptShipment, AdjustStock, CancelOrder, ClaimSplit, CreateHold, DeliverShipment, ExchangeOrder, ExtendHold, LoadInventory,
  MarkNotificationsDelivered, PackShipment, PickShipment, PlaceOrder, ReceiveReturn, ReceiveStock, RecordFeedback, RecordPayment,
  RejectShipment, ReleaseHold, ReleaseSplit, RequestReturn, SetNodeStatus, SetSafetyStock, ShipShipment, TrackShipment, UpsertCarrier,
  UpsertChannel, UpsertNode, UpsertSku
} from "./command-schema.ts"

export type {
  AcceptShipment, AdjustStock, CancelOrder, ClaimSplit, Command, CreateHold, Customer, DeliverShipment, ExchangeOrder, ExtendHold,
  LineQty, LoadInventory, LoadRow, MarkNotificationsDelivered, OrderLeg, OrderLineInput, PackShipment, PickShipment, PlaceOrder,
  ReceiveReturn, ReceiveStock, RecordFeedback, RecordPayment, RejectShipment, ReleaseHold, ReleaseSplit, RequestReturn,
  ReturnLineReceipt, SetNodeStatus, SetSafetyStock, ShipShipment, TrackingStatus, TrackShipment, UpsertCarrier, UpsertChannel,
  UpsertNode, UpsertSku
} from "./command-schema.ts"

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

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Holds<T extends true> = T
/** Fails to compile when a command of the schema is in none of the groups above, or a group names one the schema lacks. */
export type GroupsCoverEveryCommand = Holds<Same<typeof CommandSchema.Type, NetworkCommand | InventoryCommand | HoldCommand | OrderCommand | MarkNotificationsDelivered>>

export type CommandType = (typeof CommandSchema.Type)["type"]

/** Every command type, in the order of the schema's union. */
export const commandTypes: ReadonlyArray<CommandType> = CommandSchema.members.map((m) => m.fields.type.literal)

export const trackingStatuses: ReadonlyArray<typeof TrackingStatusSchema.Type> = TrackingStatusSchema.literals
