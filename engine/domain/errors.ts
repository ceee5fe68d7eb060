/**
 * Every way the engine can refuse a command, by name. A refused command
 * changes nothing. The gateway sends these codes to clients unchanged, so this
 * list is also the error section of docs/protocol.md.
 *
 * Also the errors of the Effect API and of the journal store, as tagged
 * errors (Schema.TaggedError), defined here once and matched by their tag.
 */
import { Predicate, Schema } from "effect"

export const errorCodes = {
  // shape and bounds
  malformed_command: "the command is missing a field or a field has the wrong type",
  unknown_command: "no command has this type",
  invalid_id: "an id is empty, too long or not a string",
  quantity_must_be_positive: "a quantity is zero, negative or not a whole number",
  quantity_too_large: "a quantity is above the configured quantityMax",
  too_many_lines: "more lines (or holds, or rows) than the configured maximum",
  duplicate_line: "the same SKU appears on two lines of one request",
  ttl_out_of_range: "a hold TTL is outside holdTtlMsMin..holdTtlMsMax",
  invalid_location: "the customer location has no valid coordinates and names no known place",
  invalid_date: "a date is not a calendar date YYYY-MM-DD, or it lies before today",
  invalid_reference: "a purchase-order reference is empty, longer than idLengthMax or has control characters",
  // reference data
  unknown_sku: "the SKU is not in the catalog",
  unknown_node: "no fulfillment node has this id",
  unknown_channel: "no channel has this id",
  node_not_available: "the node is paused or offline, or does not offer the service asked for",
  unknown_service: "no carrier offers this service level",
  // stock
  insufficient_stock: "not enough available-to-promise stock for the request",
  below_reserved: "the change would leave on hand below what is held and allocated",
  on_hand_too_large: "the change would take on hand above the configured onHandMax",
  // holds
  hold_not_found: "no hold has this id",
  hold_expired: "the hold expired and its stock was released",
  hold_foreign: "the hold belongs to another channel",
  hold_used: "the hold was already turned into an order allocation or released",
  hold_mismatch: "the hold is for another SKU, or for less than the order line asks",
  hold_cart_limit: "the cart, customer or hold would hold more than holdUnitsPerCartMax units of the SKU",
  hold_channel_share: "the channel's holds would take more than holdChannelSharePercentMax percent of the SKU's available stock",
  hold_lifetime_exceeded: "the extension would keep the hold alive past holdLifetimeMsMax from its creation",
  hold_extends_exceeded: "the hold was already extended holdExtendsMax times",
  hold_key_conflict: "the key names a hold (live, or ended within the retention window) for another SKU, quantity or node",
  // orders
  order_not_found: "no order has this id (in this channel)",
  exists_with_different_lines: "an order with this channel and external id exists with other lines",
  invalid_state: "the order (or shipment, or return) is not in a state that accepts this command",
  shipment_not_found: "the order has no shipment with this id",
  wrong_node: "the event names a node other than the one the shipment was routed to",
  line_not_found: "the order has no line with this number",
  quantity_exceeds_open: "more than is open (to cancel, pick, ship or return) on the line",
  return_not_found: "the order has no return with this id",
  not_delivered: "the order has not been delivered yet: feedback is taken after delivery",
  feedback_exists: "the order already has other feedback (one per order)",
  promise_unreachable: "no node and carrier service can deliver the order by the date or service asked (the message names the earliest achievable date)",
  // engine
  engine_overloaded: "the engine's mailbox is full; retry after a short wait",
  store_unavailable: "the journal could not be written; the command was not applied; retry",
  outcome_unknown: "the command may or may not have been applied: the journal write (or the call to the engine owner) failed after it was sent and its answer was lost; repeat it with the same idempotency key (hold key, order external id), which returns the original result if it was applied, or read the result (order, hold) before sending anything new",
  engine_stopped: "the engine is shutting down or recovering",
  // cluster mode
  partition_moved: "the partition is moving to another runner; the command was not applied; retry",
  spans_partitions: "in cluster mode a command must stay within one partition (an inventory load over several partitions, an exchange, a leg whose lines or holds lie in another partition)",
  invalid_leg: "the leg of a split order is malformed: its partition is out of range or its line numbers do not match its lines"
} as const

export type ErrorCode = keyof typeof errorCodes

/** Codes a client may simply retry: the command was not applied. */
export const retryableCodes: ReadonlySet<ErrorCode> = new Set(["engine_overloaded", "store_unavailable", "engine_stopped", "partition_moved"])

export interface Rejection {
  readonly ok: false
  readonly code: ErrorCode
  readonly message: string
}

export const reject = (code: ErrorCode, message: string = errorCodes[code]): Rejection => ({ ok: false, code, message })

export const isRejection = (x: unknown): x is Rejection =>
  typeof x === "object" && x !== null && (x as Rejection).ok === false && typeof (x as Rejection).code === "string"

/** The engine refused a command (Effect API). */
export class CommandRejected extends Schema.TaggedError<CommandRejected>()("CommandRejected", {
  code: Schema.String,
  message: Schema.String
}) {}

// ---- the journal store's errors (engine/store/journal.ts) ---------------------------------------

/**
 * The store could not do what was asked: it is unreachable, was closed, or
 * failed; nothing was acknowledged; retry later. Also what the Effect API
 * fails with when a command was refused with a retryable code.
 */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** A fenced append whose epoch is no longer the stream's: another runner claimed the stream. */
export class StaleOwner extends Schema.TaggedError<StaleOwner>()("StaleOwner", {
  stream: Schema.String,
  epoch: Schema.Number
}) {
  override get message(): string {
    return `stream ${this.stream} is no longer owned at epoch ${this.epoch}: another runner claimed it`
  }
}

/** A (stream, seqFrom) that already exists: another writer got there first. */
export class SequenceConflict extends Schema.TaggedError<SequenceConflict>()("SequenceConflict", {
  stream: Schema.String,
  seqFrom: Schema.Number
}) {
  override get message(): string {
    return `journal already has stream ${this.stream} at sequence ${this.seqFrom}`
  }
}

/**
 * An append whose outcome is unknown: it failed after its statement may have
 * reached the database (the connection was lost mid-statement, or no answer
 * came within the deadline), so it may have committed. The journal settles it
 * once the store answers again. Failures known to happen before anything was
 * sent (no connection, a refused connection, an error the server answered)
 * are StoreUnavailable: not applied.
 */
export class OutcomeUnknown extends Schema.TaggedError<OutcomeUnknown>()("OutcomeUnknown", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

export type StoreError = StoreUnavailable | StaleOwner | SequenceConflict | OutcomeUnknown

/** Whether `error` is one of the store errors `tags`, matched by its `_tag`. */
export const isStoreError = <T extends StoreError["_tag"]>(error: unknown, ...tags: ReadonlyArray<T>): error is Extract<StoreError, { readonly _tag: T }> =>
  Predicate.hasProperty(error, "_tag") && (tags as ReadonlyArray<unknown>).includes(error._tag)

/** An invariant of the engine broke. Always a bug; the engine stops rather than serve a wrong answer. */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation"
}

/** Asserts an invariant; `what` is a function on hot paths so the message is only built when it fails. */
export const invariant = (condition: boolean, what: string | (() => string)): void => {
  if (!condition) throw new InvariantViolation(typeof what === "string" ? what : what())
}
