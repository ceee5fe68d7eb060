/**
 * Error codes the gateway itself answers with (on top of the engine's, which
 * pass through unchanged), the HTTP status of every code, and which codes are
 * retryable. Every error a client sees is `{ error: { code, message } }` (HTTP
 * body) or `{ id, ok: false, error: { code, message } }` (WS reply frame).
 */
import { randomBytes } from "node:crypto"
import { errorCodes, retryableCodes, type ErrorCode } from "../engine/index.ts"

export const gatewayErrorCodes = {
  unauthorized: "no API key or token, or an unknown one",
  forbidden: "the key is valid but not for this route, channel, node or order",
  malformed_json: "the frame or body is not JSON, or not a JSON object",
  unknown_op: "the frame's `op` names no operation",
  invalid_frame: "a field of the frame or body is missing, has the wrong type, or is not allowed (the message names it)",
  frame_too_large: "the WS frame is larger than frameBytesMax; it was dropped",
  body_too_large: "the HTTP body is larger than bodyBytesMax (loadBodyBytesMax for the bulk load)",
  too_many_subscriptions: "the connection would hold more than subscriptionsPerConnectionMax subscriptions",
  too_many_skus: "more SKUs in one request than skusPerRequestMax",
  too_many_requests: "the connection has requestsInFlightPerConnectionMax requests waiting; wait for replies",
  rate_limited: "over a rate limit of the key or the connection; the request was not run; retry after retryAfterMs",
  gateway_closing: "the gateway is shutting down; the request was not run; retry (on another gateway)",
  not_found: "no such route, or nothing with that id",
  method_not_allowed: "the route exists but not with this HTTP method",
  engine_unreachable: "an edge gateway could not reach the engine owner; the request was not applied; retry",
  too_many_connections: "the gateway serves connectionsMax connections (WS, socket.io, HTTP requests in progress), or connectionsMax - connectionsReserved for routes other than health, node and internal ones; retry later",
  gateway_busy: "the gateway buffers bodyBytesBufferedMax bytes of request bodies already; the body was not read and nothing was applied; retry",
  internal_error: "the gateway failed unexpectedly; the request may or may not have been applied",
  invalid_range: "the report's from and to are not ISO dates or epoch milliseconds, or from is not before to",
  invalid_csv: "the body is not CSV, or its header is not the one the route asks for",
  too_many_rows: "the CSV has more rows than csvRowsMax",
  invalid_signature: "the webhook's HMAC signature is missing or does not match the body",
  integration_not_configured: "no integration is configured for this shop",
  unsupported_topic: "the webhook topic is not one this route takes",
  unpayable_order: "the order's payment was voided or refunded before it reached the engine",
  line_without_sku: "a line item has no SKU, so it cannot be matched to the catalog",
  alert_not_found: "no alert group has this id (it may have been dropped as resolved)",
  reason_required: "an acknowledge or mute needs a reason of 1..500 characters",
  mute_duration_invalid: "minutes is not a whole number from 0 (unmute) to 10080 (7 days)",
  invalid_filter: "a filter of the alert list or audit log is not one the route takes (the message names it)",
  alerts_not_kept_here: "this gateway keeps no alerts (an edge gateway: the engine owner does)"
} as const

export type GatewayErrorCode = keyof typeof gatewayErrorCodes

export type AnyErrorCode = ErrorCode | GatewayErrorCode

/** Every code a client can see, with its description (docs/protocol.md lists the same). */
export const allErrorCodes: Readonly<Record<AnyErrorCode, string>> = { ...errorCodes, ...gatewayErrorCodes }

export const isRetryable = (code: string): boolean =>
  retryableCodes.has(code as ErrorCode) || code === "engine_unreachable" || code === "too_many_connections" || code === "gateway_busy" ||
  code === "rate_limited" || code === "gateway_closing"

const statusOf: Readonly<Record<AnyErrorCode, number>> = {
  malformed_command: 400,
  unknown_command: 400,
  invalid_id: 400,
  quantity_must_be_positive: 422,
  quantity_too_large: 422,
  too_many_lines: 422,
  duplicate_line: 422,
  ttl_out_of_range: 422,
  invalid_location: 422,
  invalid_date: 422,
  invalid_reference: 422,
  unknown_service: 422,
  unknown_sku: 422,
  unknown_node: 422,
  unknown_channel: 422,
  node_not_available: 409,
  insufficient_stock: 409,
  below_reserved: 409,
  on_hand_too_large: 422,
  hold_not_found: 404,
  hold_expired: 410,
  hold_foreign: 403,
  hold_used: 409,
  hold_mismatch: 409,
  hold_cart_limit: 409,
  hold_channel_share: 409,
  hold_lifetime_exceeded: 409,
  hold_extends_exceeded: 409,
  hold_key_conflict: 409,
  order_not_found: 404,
  exists_with_different_lines: 409,
  invalid_state: 409,
  shipment_not_found: 404,
  wrong_node: 403,
  line_not_found: 422,
  quantity_exceeds_open: 409,
  return_not_found: 404,
  not_delivered: 409,
  feedback_exists: 409,
  promise_unreachable: 409,
  engine_overloaded: 503,
  store_unavailable: 503,
  engine_stopped: 503,
  partition_moved: 503,
  spans_partitions: 422,
  invalid_leg: 422,
  unauthorized: 401,
  forbidden: 403,
  malformed_json: 400,
  unknown_op: 400,
  invalid_frame: 400,
  frame_too_large: 413,
  body_too_large: 413,
  too_many_subscriptions: 429,
  too_many_skus: 400,
  too_many_requests: 429,
  rate_limited: 429,
  gateway_closing: 503,
  not_found: 404,
  method_not_allowed: 405,
  engine_unreachable: 503,
  outcome_unknown: 504,
  too_many_connections: 503,
  gateway_busy: 503,
  internal_error: 500,
  invalid_range: 400,
  invalid_csv: 400,
  too_many_rows: 413,
  invalid_signature: 401,
  integration_not_configured: 404,
  unsupported_topic: 422,
  unpayable_order: 422,
  line_without_sku: 422,
  alert_not_found: 404,
  reason_required: 422,
  mute_duration_invalid: 422,
  invalid_filter: 400,
  alerts_not_kept_here: 404
}

/** "a storefront key", "a node key", "an ops key", "an internal key": a key kind in a message. */
export const aKey = (kind: string): string => `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind} key`

export const httpStatusOf = (code: string): number => statusOf[code as AnyErrorCode] ?? 500

export interface ErrorBody {
  readonly code: string
  readonly message: string
  /** `rate_limited`: milliseconds until the request would be admitted (HTTP: also Retry-After, in whole seconds). */
  readonly retryAfterMs?: number
}

/**
 * Codes whose engine message may name the store's host, port or database
 * (a driver's error text): the client gets a fixed message with a `ref`, and
 * the detail is logged here with the same ref.
 */
const detailLoggedCodes: ReadonlySet<string> = new Set(["store_unavailable"])

/** A client-facing error: for codes of detailLoggedCodes, the detail is logged with a correlation id and replaced by it. */
export const clientError = <E extends ErrorBody>(error: E): E | (E & { readonly ref: string }) => {
  if (!detailLoggedCodes.has(error.code)) return error
  const ref = randomBytes(6).toString("hex")
  console.error(`gateway: ${error.code} [ref ${ref}]: ${error.message}`)
  return { ...error, message: `the store did not answer; nothing was applied; retry (ref ${ref}, the detail is in the gateway's log)`, ref }
}

export const gatewayError = (code: GatewayErrorCode, message: string = gatewayErrorCodes[code]): ErrorBody => ({ code, message })

/** WS close codes the gateway uses (1009 comes from uWebSockets.js itself, for frames over frameBytesHardMax). */
export const closeCodes = {
  goingAway: 1001,
  messageTooBig: 1009,
  /** More than badFramesBeforeClose bad frames within badFramesWindowMs. */
  misbehaving: 4000,
  /** More than bufferedBytesHardMax buffered, or more than orderPushesQueuedMax order pushes held back. */
  slowConsumer: 4001
} as const
