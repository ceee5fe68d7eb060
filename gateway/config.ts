/**
 * Gateway limits and settings: every bound on frames, bodies, subscriptions,
 * buffers, coalescing, webhook retries and the ops feed is named here, units
 * last. Read once at start-up from the environment (GATEWAY_* variables, PORT)
 * over the defaults below, and their relations asserted, so a bad setting
 * stops the process before it serves anything. API keys: see keys.ts.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { settingsFromEnv } from "../engine/index.ts"

export interface GatewayConfig {
  /** TCP port of the one uWebSockets.js app (WS API, HTTP API, socket.io). 0 picks a free port. */
  readonly port: number
  /** Interface to listen on. */
  readonly host: string
  /** Largest WS frame the API accepts; a larger one is answered `frame_too_large` and dropped, the connection stays open. */
  readonly frameBytesMax: number
  /** Largest WS frame uWebSockets.js reads at all; past it the connection is closed with 1009 (message too big). */
  readonly frameBytesHardMax: number
  /** Largest HTTP request body on every route but the bulk inventory load (`body_too_large`, 413). */
  readonly bodyBytesMax: number
  /** Largest HTTP body of POST /v1/inventory/load. */
  readonly loadBodyBytesMax: number
  /** Request body bytes buffered at once across all HTTP requests; a body that would pass it is refused with 503 `gateway_busy` before it is read. */
  readonly bodyBytesBufferedMax: number
  /** SKUs in one availability request or (un)subscribe frame. */
  readonly skusPerRequestMax: number
  /** Availability SKUs plus orders one WS connection may be subscribed to (`too_many_subscriptions`). */
  readonly subscriptionsPerConnectionMax: number
  /** Requests of one WS connection waiting for the engine (`too_many_requests`). */
  readonly requestsInFlightPerConnectionMax: number
  /** Bytes buffered for a slow WS consumer above which pushes are held back (availability: coalesced to the newest value). */
  readonly bufferedBytesMax: number
  /** Bytes buffered for a WS consumer above which it is closed with 4001 (slow consumer). */
  readonly bufferedBytesHardMax: number
  /** Order pushes (events, notifications) held back for one slow connection; past it the connection is closed with 4001. */
  readonly orderPushesQueuedMax: number
  /** Bad frames (malformed, unknown op, wrong fields, too large, too many SKUs or subscriptions) within badFramesWindowMs before the connection is closed with 4000 (not `too_many_requests` or `rate_limited`: those are answers). */
  readonly badFramesBeforeClose: number
  readonly badFramesWindowMs: number
  /** A connection gets at most one availability push per SKU per coalesceMs. */
  readonly coalesceMs: number
  /**
   * Connections the process serves at once: storefront WS, socket.io (WS and
   * polling) and HTTP requests in progress. Default: the process's open-file
   * limit (RLIMIT_NOFILE) less fileDescriptorsReserved, so the limit is met
   * (503 `too_many_connections`) before the process runs out of descriptors.
   */
  readonly connectionsMax: number
  /** Descriptors of the file limit kept for everything that is not a client socket (store, Redis, files, the health port) when connectionsMax is derived. */
  readonly fileDescriptorsReserved: number
  /** Of connectionsMax, kept for /healthz, /readyz, /metrics, node routes and the internal route: other requests and upgrades are refused from connectionsMax - connectionsReserved on. */
  readonly connectionsReserved: number
  /** A socket.io connection that has not joined /ops with the ops token within this is closed. */
  readonly authenticateWithinMs: number
  /** A second listener (node:http) answering GET/HEAD /healthz and /readyz for load balancers that speak HTTP/1.0 or send no Host; 0: none. */
  readonly healthPort: number
  /** uWebSockets.js idle timeout (it pings automatically before it). */
  readonly idleTimeoutSec: number
  /** Retry-After sent with retryable errors (503). */
  readonly retryAfterSec: number
  /** Nodes listed per SKU in availability answers, when the client does not ask for fewer. */
  readonly availabilityNodesMax: number
  /** Encoded availability answers kept for reuse while unchanged (owner gateways; 0 turns the cache off). */
  readonly availabilityCacheEntriesMax: number
  /** Outbox: how often the engine's outbox is read when idle, and how many notifications per read. */
  readonly outboxPollMs: number
  readonly outboxBatchMax: number
  /** Webhooks: one attempt's timeout, attempts per notification, backoff between attempts (doubling from initial to max). */
  readonly webhookTimeoutMs: number
  readonly webhookAttemptsMax: number
  readonly webhookBackoffMsInitial: number
  readonly webhookBackoffMsMax: number
  /** Webhook requests in flight at once (all channels). */
  readonly webhookConcurrencyMax: number
  /** Bytes of a webhook's response body read (and dropped); the rest is not read, the response is cancelled. */
  readonly webhookResponseBytesMax: number
  /** Ops feed: one aggregated message per viewer per opsTickMs, with at most this many routing decisions. */
  readonly opsTickMs: number
  readonly opsRoutingSamplesPerTickMax: number
  /** Alerts: ATP of a pool at or below this after a reservation is "low stock". */
  readonly lowStockUnits: number
  /** Alerts: a SKU with more reservations than this in one tick is "hot". */
  readonly hotSkuReservationsPerTick: number
  /** Alerts kept per tick (the rest are counted, not listed). */
  readonly opsAlertsPerTickMax: number
  /** Alert groups the gateway keeps (ops-alerts.ts): past it resolved, then acknowledged, info and warning groups go, oldest first; open critical ones never. */
  readonly opsAlertGroupsMax: number
  /** Low pools whose ATP the ops feed follows until they are back above lowStockUnits (per engine-holding process). */
  readonly opsLowPoolsTrackedMax: number
  /** Ops feed: routing decisions drawn as arcs on the dashboard map, per tick. */
  readonly opsArcsPerTickMax: number
  /** Ops feed: hot and low-stock SKUs listed per tick. */
  readonly opsSkusListedMax: number
  /** Ops feed: a live hold whose TTL ends within this is counted as "expiring". */
  readonly opsHoldsExpiringMs: number
  /** Edge processes: timeout of one call to the engine owner's internal route. */
  readonly engineCallTimeoutMs: number
  /** How long an edge or cluster gateway waits for a report (a report reads the retained journal). */
  readonly reportTimeoutMs: number
  /** Rows of one inventory CSV import (its body is bounded by loadBodyBytesMax). */
  readonly csvRowsMax: number
  /**
   * A WS connection being closed (bad frames, shutdown) first waits at most this long for its requests in flight
   * and for its send buffer to drain, then sends the close frame; requests still in flight then are answered `outcome_unknown`.
   */
  readonly closeDrainMs: number
  /**
   * Rate limits (token buckets: a steady rate per second and a burst). A request over one is answered `rate_limited`
   * with retryAfterMs (WS) or 429 with Retry-After (HTTP) and is not run. Per gateway process.
   * Secret keys (storefront and node keys): per key, and per WS connection.
   */
  readonly secretKeyRequestsPerSec: number
  readonly secretKeyRequestsBurst: number
  readonly secretConnectionRequestsPerSec: number
  readonly secretConnectionRequestsBurst: number
  /** Publishable keys (in browsers): every request of all browsers using one key, and of one WS connection. */
  readonly publishableKeyRequestsPerSec: number
  readonly publishableKeyRequestsBurst: number
  readonly publishableConnectionRequestsPerSec: number
  readonly publishableConnectionRequestsBurst: number
  /** Publishable keys: holds created or extended, per key and per WS connection (on top of the request limits). */
  readonly publishableKeyHoldsPerSec: number
  readonly publishableKeyHoldsBurst: number
  readonly publishableConnectionHoldsPerSec: number
  readonly publishableConnectionHoldsBurst: number
}

export const gatewayDefaults: GatewayConfig = {
  port: 8080,
  host: "0.0.0.0",
  frameBytesMax: 64 * 1024,
  frameBytesHardMax: 1024 * 1024,
  bodyBytesMax: 256 * 1024,
  loadBodyBytesMax: 16 * 1024 * 1024,
  bodyBytesBufferedMax: 64 * 1024 * 1024,
  skusPerRequestMax: 100,
  subscriptionsPerConnectionMax: 1_000,
  requestsInFlightPerConnectionMax: 256,
  bufferedBytesMax: 256 * 1024,
  bufferedBytesHardMax: 4 * 1024 * 1024,
  orderPushesQueuedMax: 1_000,
  badFramesBeforeClose: 20,
  badFramesWindowMs: 60_000,
  coalesceMs: 100,
  // replaced by the file limit less fileDescriptorsReserved when not set (connectionsMaxOf)
  connectionsMax: 100_000,
  fileDescriptorsReserved: 1_024,
  connectionsReserved: 256,
  authenticateWithinMs: 10_000,
  healthPort: 0,
  idleTimeoutSec: 120,
  retryAfterSec: 1,
  availabilityNodesMax: 10,
  availabilityCacheEntriesMax: 10_000,
  outboxPollMs: 200,
  outboxBatchMax: 500,
  webhookTimeoutMs: 5_000,
  webhookAttemptsMax: 8,
  webhookBackoffMsInitial: 200,
  webhookBackoffMsMax: 30_000,
  webhookConcurrencyMax: 16,
  webhookResponseBytesMax: 4_096,
  opsTickMs: 1_000,
  opsRoutingSamplesPerTickMax: 5,
  lowStockUnits: 5,
  hotSkuReservationsPerTick: 50,
  opsAlertsPerTickMax: 20,
  opsAlertGroupsMax: 2_000,
  opsLowPoolsTrackedMax: 20_000,
  opsArcsPerTickMax: 60,
  opsSkusListedMax: 10,
  opsHoldsExpiringMs: 60_000,
  engineCallTimeoutMs: 5_000,
  reportTimeoutMs: 300_000,
  csvRowsMax: 100_000,
  closeDrainMs: 5_000,
  secretKeyRequestsPerSec: 10_000,
  secretKeyRequestsBurst: 20_000,
  secretConnectionRequestsPerSec: 5_000,
  secretConnectionRequestsBurst: 10_000,
  publishableKeyRequestsPerSec: 5_000,
  publishableKeyRequestsBurst: 10_000,
  publishableConnectionRequestsPerSec: 20,
  publishableConnectionRequestsBurst: 40,
  publishableKeyHoldsPerSec: 1_000,
  publishableKeyHoldsBurst: 2_000,
  publishableConnectionHoldsPerSec: 1,
  publishableConnectionHoldsBurst: 5
}

const envNames: { readonly [K in keyof GatewayConfig]: string } = {
  port: "PORT",
  host: "GATEWAY_HOST",
  frameBytesMax: "GATEWAY_FRAME_BYTES_MAX",
  frameBytesHardMax: "GATEWAY_FRAME_BYTES_HARD_MAX",
  bodyBytesMax: "GATEWAY_BODY_BYTES_MAX",
  loadBodyBytesMax: "GATEWAY_LOAD_BODY_BYTES_MAX",
  bodyBytesBufferedMax: "GATEWAY_BODY_BYTES_BUFFERED_MAX",
  skusPerRequestMax: "GATEWAY_SKUS_PER_REQUEST_MAX",
  subscriptionsPerConnectionMax: "GATEWAY_SUBSCRIPTIONS_PER_CONNECTION_MAX",
  requestsInFlightPerConnectionMax: "GATEWAY_REQUESTS_IN_FLIGHT_PER_CONNECTION_MAX",
  bufferedBytesMax: "GATEWAY_BUFFERED_BYTES_MAX",
  bufferedBytesHardMax: "GATEWAY_BUFFERED_BYTES_HARD_MAX",
  orderPushesQueuedMax: "GATEWAY_ORDER_PUSHES_QUEUED_MAX",
  badFramesBeforeClose: "GATEWAY_BAD_FRAMES_BEFORE_CLOSE",
  badFramesWindowMs: "GATEWAY_BAD_FRAMES_WINDOW_MS",
  coalesceMs: "GATEWAY_COALESCE_MS",
  connectionsMax: "GATEWAY_CONNECTIONS_MAX",
  fileDescriptorsReserved: "GATEWAY_FILE_DESCRIPTORS_RESERVED",
  connectionsReserved: "GATEWAY_CONNECTIONS_RESERVED",
  authenticateWithinMs: "GATEWAY_AUTHENTICATE_WITHIN_MS",
  healthPort: "GATEWAY_HEALTH_PORT",
  idleTimeoutSec: "GATEWAY_IDLE_TIMEOUT_SEC",
  retryAfterSec: "GATEWAY_RETRY_AFTER_SEC",
  availabilityNodesMax: "GATEWAY_AVAILABILITY_NODES_MAX",
  availabilityCacheEntriesMax: "GATEWAY_AVAILABILITY_CACHE_ENTRIES_MAX",
  outboxPollMs: "GATEWAY_OUTBOX_POLL_MS",
  outboxBatchMax: "GATEWAY_OUTBOX_BATCH_MAX",
  webhookTimeoutMs: "GATEWAY_WEBHOOK_TIMEOUT_MS",
  webhookAttemptsMax: "GATEWAY_WEBHOOK_ATTEMPTS_MAX",
  webhookBackoffMsInitial: "GATEWAY_WEBHOOK_BACKOFF_MS_INITIAL",
  webhookBackoffMsMax: "GATEWAY_WEBHOOK_BACKOFF_MS_MAX",
  webhookConcurrencyMax: "GATEWAY_WEBHOOK_CONCURRENCY_MAX",
  webhookResponseBytesMax: "GATEWAY_WEBHOOK_RESPONSE_BYTES_MAX",
  opsTickMs: "GATEWAY_OPS_TICK_MS",
  opsRoutingSamplesPerTickMax: "GATEWAY_OPS_ROUTING_SAMPLES_PER_TICK_MAX",
  lowStockUnits: "GATEWAY_LOW_STOCK_UNITS",
  hotSkuReservationsPerTick: "GATEWAY_HOT_SKU_RESERVATIONS_PER_TICK",
  opsAlertsPerTickMax: "GATEWAY_OPS_ALERTS_PER_TICK_MAX",
  opsAlertGroupsMax: "GATEWAY_OPS_ALERT_GROUPS_MAX",
  opsLowPoolsTrackedMax: "GATEWAY_OPS_LOW_POOLS_TRACKED_MAX",
  opsArcsPerTickMax: "GATEWAY_OPS_ARCS_PER_TICK_MAX",
  opsSkusListedMax: "GATEWAY_OPS_SKUS_LISTED_MAX",
  opsHoldsExpiringMs: "GATEWAY_OPS_HOLDS_EXPIRING_MS",
  engineCallTimeoutMs: "GATEWAY_ENGINE_CALL_TIMEOUT_MS",
  reportTimeoutMs: "GATEWAY_REPORT_TIMEOUT_MS",
  csvRowsMax: "GATEWAY_CSV_ROWS_MAX",
  closeDrainMs: "GATEWAY_CLOSE_DRAIN_MS",
  secretKeyRequestsPerSec: "GATEWAY_SECRET_KEY_REQUESTS_PER_SEC",
  secretKeyRequestsBurst: "GATEWAY_SECRET_KEY_REQUESTS_BURST",
  secretConnectionRequestsPerSec: "GATEWAY_SECRET_CONNECTION_REQUESTS_PER_SEC",
  secretConnectionRequestsBurst: "GATEWAY_SECRET_CONNECTION_REQUESTS_BURST",
  publishableKeyRequestsPerSec: "GATEWAY_PUBLISHABLE_KEY_REQUESTS_PER_SEC",
  publishableKeyRequestsBurst: "GATEWAY_PUBLISHABLE_KEY_REQUESTS_BURST",
  publishableConnectionRequestsPerSec: "GATEWAY_PUBLISHABLE_CONNECTION_REQUESTS_PER_SEC",
  publishableConnectionRequestsBurst: "GATEWAY_PUBLISHABLE_CONNECTION_REQUESTS_BURST",
  publishableKeyHoldsPerSec: "GATEWAY_PUBLISHABLE_KEY_HOLDS_PER_SEC",
  publishableKeyHoldsBurst: "GATEWAY_PUBLISHABLE_KEY_HOLDS_BURST",
  publishableConnectionHoldsPerSec: "GATEWAY_PUBLISHABLE_CONNECTION_HOLDS_PER_SEC",
  publishableConnectionHoldsBurst: "GATEWAY_PUBLISHABLE_CONNECTION_HOLDS_BURST"
}

/** The environment variable of each setting, for docs/protocol.md and error messages. */
export const gatewayEnvNames = envNames

/** Used when the file limit cannot be read, or is unlimited (the former fixed default). */
const fileLimitUnknown = 100_000

/** The soft limit of open files from the text of /proc/<pid>/limits ("Max open files  20000  20000  files"); undefined if absent or unlimited. */
export const fileLimitOfProcLimits = (text: string): number | undefined => {
  const m = /^Max open files\s+(\S+)/m.exec(text)
  const n = m ? Number(m[1]) : NaN
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}

/**
 * The process's open-file limit (RLIMIT_NOFILE, soft; Node raises it to the
 * hard limit at start), read without native code: /proc/self/limits on
 * Linux, else `ulimit -n` of a shell (which inherits the limit). Undefined
 * when neither answers or the limit is unlimited.
 */
export const processFileLimit = (): number | undefined => {
  try {
    const n = fileLimitOfProcLimits(readFileSync("/proc/self/limits", "utf8"))
    if (n !== undefined) return n
  } catch {
    // not Linux: ask a shell
  }
  try {
    const n = Number(execFileSync("/bin/sh", ["-c", "ulimit -n"], { encoding: "utf8", timeout: 5_000, stdio: ["ignore", "pipe", "ignore"] }).trim())
    return Number.isSafeInteger(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}

/**
 * The default connectionsMax: the file limit less fileDescriptorsReserved
 * (at most half the limit is reserved, so a small limit still serves), or
 * the former fixed 100,000 when the limit is unknown or unlimited.
 */
export const connectionsMaxOf = (fileLimit: number | undefined, fileDescriptorsReserved: number): number =>
  fileLimit === undefined ? fileLimitUnknown : Math.max(1, fileLimit - Math.min(fileDescriptorsReserved, Math.floor(fileLimit / 2)))

/** Defaults, overridden by `overrides`, then by the environment; asserted before it is returned. */
export const loadGatewayConfig = (
  overrides: Partial<GatewayConfig> = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
  fileLimit: () => number | undefined = processFileLimit
): GatewayConfig => {
  const result = settingsFromEnv<GatewayConfig & Record<string, number | string>>(
    gatewayDefaults as GatewayConfig & Record<string, number | string>, envNames, overrides, env
  )
  const connectionsMaxSet = overrides.connectionsMax !== undefined || (env[envNames.connectionsMax] ?? "") !== ""
  const config: GatewayConfig = connectionsMaxSet ? result : { ...result, connectionsMax: connectionsMaxOf(fileLimit(), result.fileDescriptorsReserved) }
  assertGatewayConfig(config)
  return config
}

export const assertGatewayConfig = (c: GatewayConfig): void => {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`invalid gateway configuration: ${what}`)
  }
  for (const [key, value] of Object.entries(c)) {
    if (key === "host") check(typeof value === "string" && value !== "", "host must not be empty")
    else if (key === "port") check(Number.isSafeInteger(value) && value >= 0 && value <= 65_535, "port must be 0..65535")
    else if (key === "healthPort") check(Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 65_535, "healthPort must be 0 (none) or 1..65535")
    else if (key === "availabilityCacheEntriesMax") check(Number.isSafeInteger(value) && (value as number) >= 0, `${key} must be 0 (off) or a positive integer`)
    else check(Number.isSafeInteger(value) && (value as number) > 0, `${key} must be a positive integer`)
  }
  check(c.frameBytesMax <= c.frameBytesHardMax, "frameBytesMax <= frameBytesHardMax")
  check(c.bodyBytesMax <= c.loadBodyBytesMax, "bodyBytesMax <= loadBodyBytesMax")
  check(c.loadBodyBytesMax <= c.bodyBytesBufferedMax, "loadBodyBytesMax <= bodyBytesBufferedMax")
  check(c.connectionsReserved < c.connectionsMax, "connectionsReserved < connectionsMax")
  check(c.bufferedBytesMax < c.bufferedBytesHardMax, "bufferedBytesMax < bufferedBytesHardMax")
  check(c.skusPerRequestMax <= c.subscriptionsPerConnectionMax, "skusPerRequestMax <= subscriptionsPerConnectionMax")
  check(c.webhookBackoffMsInitial <= c.webhookBackoffMsMax, "webhookBackoffMsInitial <= webhookBackoffMsMax")
  check(c.coalesceMs <= 60_000, "coalesceMs <= 60000")
  check(c.opsTickMs >= 100, "opsTickMs >= 100 (at most ten ops messages per second per viewer)")
  // a publishable key (public, in browsers) is never allowed more than a secret one, nor one browser more than its whole key
  check(c.publishableKeyRequestsPerSec <= c.secretKeyRequestsPerSec, "publishableKeyRequestsPerSec <= secretKeyRequestsPerSec")
  check(c.publishableConnectionRequestsPerSec <= c.secretConnectionRequestsPerSec, "publishableConnectionRequestsPerSec <= secretConnectionRequestsPerSec")
  check(c.publishableConnectionRequestsPerSec <= c.publishableKeyRequestsPerSec, "publishableConnectionRequestsPerSec <= publishableKeyRequestsPerSec")
  check(c.publishableConnectionHoldsPerSec <= c.publishableKeyHoldsPerSec, "publishableConnectionHoldsPerSec <= publishableKeyHoldsPerSec")
}
