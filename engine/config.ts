/**
 * Engine limits and settings: every queue, batch, TTL and quantity has a named
 * upper bound here, units last. Read once at start-up (from the environment,
 * with the defaults below) and their relations asserted, so a bad setting
 * stops the process before it serves anything.
 */

export interface EngineConfig {
  /** Number of partitions (journal streams) that own pools and orders. Fixed for the life of a data folder. */
  readonly partitions: number
  /** Client commands taken into one batch (one group commit). */
  readonly batchCommandsMax: number
  /**
   * Time a batch may spend running commands before the rest wait for the next
   * batch (ms): bounds the loop's pause whatever the commands carry.
   */
  readonly batchTimeMaxMs: number
  /** Client commands waiting for a batch; past it, commands are refused with `engine_overloaded`. */
  readonly mailboxCommandsMax: number
  readonly holdTtlMsDefault: number
  readonly holdTtlMsMin: number
  readonly holdTtlMsMax: number
  /**
   * Units of one SKU the live holds of one cart (`cartId`), of one customer (`customerId`) may hold, within a
   * channel; a hold with neither counts alone (hold_cart_limit).
   */
  readonly holdUnitsPerCartMax: number
  /**
   * Share (percent, 1..100) of a SKU's ATP the live holds of one channel may take: the channel's held units stay
   * at most ceil(percent x (ATP the channel sees + what its holds hold) / 100) (hold_channel_share). 100: no cap.
   */
  readonly holdChannelSharePercentMax: number
  /** Longest a hold may live, counted from its creation, however often it is extended (hold_lifetime_exceeded). */
  readonly holdLifetimeMsMax: number
  /** Extensions one hold may have (hold_extends_exceeded). */
  readonly holdExtendsMax: number
  /**
   * Ended holds (expired, released, converted) one partition remembers, newest kept: what hold.get answers
   * about them, and their client keys (a repeated request answers the ended hold).
   */
  readonly holdsEndedRetainedMax: number
  /** ...and for how long after they ended (whichever bound comes first). */
  readonly holdEndedRetentionMs: number
  /** How long stock stays held for an order whose payment is not yet authorised. */
  readonly paymentTimeoutMs: number
  /** Largest quantity on one order line, hold or inventory movement. */
  readonly quantityMax: number
  /** Largest on-hand count a pool may reach. */
  readonly onHandMax: number
  readonly orderLinesMax: number
  readonly holdsPerOrderMax: number
  readonly bulkRowsMax: number
  /** Length of any id (SKU, node, channel, external order id). */
  readonly idLengthMax: number
  readonly nodesMax: number
  /** Routings of one order (first routing, re-routes, backorder retries); past it, what is unrouted waits as a backorder for ops. */
  readonly routeAttemptsMax: number
  /** Take a snapshot of a partition once this many events were appended to it since the last one (bounds the journal replayed at a restart). */
  readonly snapshotEveryEvents: number
  /** ...or once this many of its orders changed since the last one (bounds the orders kept in memory until they are stored). */
  readonly snapshotDirtyOrdersMax: number
  /**
   * Orders kept in memory, over all partitions, when more are not needed: past it, orders with no
   * live work leave memory (settled ones first) and come back from the store when a command or a
   * read needs them. Orders with live work (payment pending, backordered, notifications not yet
   * delivered, changed since the last snapshot) stay whatever the limit.
   */
  readonly ordersResidentMax: number
  /** A repeated order.place (same channel and external id) returns the original order if it was placed within this window. */
  readonly idempotencyWindowMs: number
  /**
   * Events of one partition kept in the journal behind its newest snapshot, before compaction. The
   * default keeps the whole journal: order timelines and reports read it back for any order ever placed.
   */
  readonly journalRetainEvents: number
  /** Delay between attempts to reach the store again after it failed. */
  readonly storeRetryMs: number
  /**
   * Deadline of one journal append (a group commit): past it the commands in it are answered
   * `outcome_unknown` and the engine reloads from the journal once the store answers.
   */
  readonly storeAppendTimeoutMs: number
  /**
   * Deadline of every other store round trip (reads, loads of orders, snapshot writes, pings);
   * on PostgreSQL also the server's statement_timeout and idle_in_transaction_session_timeout.
   */
  readonly storeCallTimeoutMs: number
  /** PostgreSQL connections: idle time before TCP keepalive probes start (a peer gone silently is noticed). */
  readonly storeKeepAliveMs: number
  /** Events kept in memory per order for its history (the full history stays in the journal). */
  readonly orderHistoryMax: number
  /** Characters of a customer's feedback comment. */
  readonly feedbackCommentLengthMax: number
}

export const defaults: EngineConfig = {
  partitions: 8,
  batchCommandsMax: 2048,
  batchTimeMaxMs: 10,
  mailboxCommandsMax: 200_000,
  holdTtlMsDefault: 15 * 60_000,
  holdTtlMsMin: 1_000,
  holdTtlMsMax: 24 * 60 * 60_000,
  holdUnitsPerCartMax: 50,
  holdChannelSharePercentMax: 50,
  holdLifetimeMsMax: 24 * 60 * 60_000,
  holdExtendsMax: 10,
  holdsEndedRetainedMax: 50_000,
  holdEndedRetentionMs: 60 * 60_000,
  paymentTimeoutMs: 30 * 60_000,
  quantityMax: 100_000,
  onHandMax: 1_000_000_000,
  orderLinesMax: 200,
  holdsPerOrderMax: 200,
  bulkRowsMax: 100_000,
  idLengthMax: 128,
  nodesMax: 4096,
  routeAttemptsMax: 32,
  snapshotEveryEvents: 1_000_000,
  snapshotDirtyOrdersMax: 5_000,
  ordersResidentMax: 100_000,
  idempotencyWindowMs: 90 * 86_400_000,
  journalRetainEvents: Number.MAX_SAFE_INTEGER,
  storeRetryMs: 1_000,
  storeAppendTimeoutMs: 5_000,
  storeCallTimeoutMs: 30_000,
  storeKeepAliveMs: 10_000,
  orderHistoryMax: 256,
  feedbackCommentLengthMax: 2_000
}

const envNames: { readonly [K in keyof EngineConfig]: string } = {
  partitions: "ENGINE_PARTITIONS",
  batchCommandsMax: "ENGINE_BATCH_COMMANDS_MAX",
  batchTimeMaxMs: "ENGINE_BATCH_TIME_MAX_MS",
  mailboxCommandsMax: "ENGINE_MAILBOX_COMMANDS_MAX",
  holdTtlMsDefault: "ENGINE_HOLD_TTL_MS_DEFAULT",
  holdTtlMsMin: "ENGINE_HOLD_TTL_MS_MIN",
  holdTtlMsMax: "ENGINE_HOLD_TTL_MS_MAX",
  holdUnitsPerCartMax: "ENGINE_HOLD_UNITS_PER_CART_MAX",
  holdChannelSharePercentMax: "ENGINE_HOLD_CHANNEL_SHARE_PERCENT_MAX",
  holdLifetimeMsMax: "ENGINE_HOLD_LIFETIME_MS_MAX",
  holdExtendsMax: "ENGINE_HOLD_EXTENDS_MAX",
  holdsEndedRetainedMax: "ENGINE_HOLDS_ENDED_RETAINED_MAX",
  holdEndedRetentionMs: "ENGINE_HOLD_ENDED_RETENTION_MS",
  paymentTimeoutMs: "ENGINE_PAYMENT_TIMEOUT_MS",
  quantityMax: "ENGINE_QUANTITY_MAX",
  onHandMax: "ENGINE_ON_HAND_MAX",
  orderLinesMax: "ENGINE_ORDER_LINES_MAX",
  holdsPerOrderMax: "ENGINE_HOLDS_PER_ORDER_MAX",
  bulkRowsMax: "ENGINE_BULK_ROWS_MAX",
  idLengthMax: "ENGINE_ID_LENGTH_MAX",
  nodesMax: "ENGINE_NODES_MAX",
  routeAttemptsMax: "ENGINE_ROUTE_ATTEMPTS_MAX",
  snapshotEveryEvents: "ENGINE_SNAPSHOT_EVERY_EVENTS",
  snapshotDirtyOrdersMax: "ENGINE_SNAPSHOT_DIRTY_ORDERS_MAX",
  ordersResidentMax: "ENGINE_ORDERS_RESIDENT_MAX",
  idempotencyWindowMs: "ENGINE_IDEMPOTENCY_WINDOW_MS",
  journalRetainEvents: "ENGINE_JOURNAL_RETAIN_EVENTS",
  storeRetryMs: "ENGINE_STORE_RETRY_MS",
  storeAppendTimeoutMs: "ENGINE_STORE_APPEND_TIMEOUT_MS",
  storeCallTimeoutMs: "ENGINE_STORE_CALL_TIMEOUT_MS",
  storeKeepAliveMs: "ENGINE_STORE_KEEPALIVE_MS",
  orderHistoryMax: "ENGINE_ORDER_HISTORY_MAX",
  feedbackCommentLengthMax: "ENGINE_FEEDBACK_COMMENT_LENGTH_MAX"
}

/** The environment variable that sets each field, for docs/operations.md and error messages. */
export const configEnvNames = envNames

/**
 * Settings from defaults, then `overrides`, then the environment (by each
 * setting's variable name): whole numbers, or text where the default is text.
 * The engine's and the gateway's settings are read the same way.
 */
export const settingsFromEnv = <C extends Record<string, number | string>>(
  defaultsOf: C,
  names: { readonly [K in keyof C]: string },
  overrides: Partial<C>,
  env: Readonly<Record<string, string | undefined>>
): C => {
  const config: Record<string, number | string> = { ...defaultsOf, ...overrides }
  for (const key of Object.keys(names) as Array<keyof C & string>) {
    const raw = env[names[key]]
    if (raw === undefined || raw === "") continue
    if (typeof defaultsOf[key] === "string") {
      config[key] = raw
      continue
    }
    const value = Number(raw)
    if (!Number.isSafeInteger(value)) throw new Error(`${names[key]} must be a whole number, got ${JSON.stringify(raw)}`)
    config[key] = value
  }
  return config as C
}

/** Defaults, overridden by `overrides`, then by the environment; asserted before it is returned. */
export const loadConfig = (
  overrides: Partial<EngineConfig> = {},
  env: Readonly<Record<string, string | undefined>> = process.env
): EngineConfig => {
  const result = settingsFromEnv<EngineConfig & Record<string, number>>(defaults as EngineConfig & Record<string, number>, envNames, overrides, env)
  assertConfig(result)
  return result
}

export const assertConfig = (c: EngineConfig): void => {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`invalid engine configuration: ${what}`)
  }
  for (const [key, value] of Object.entries(c)) check(Number.isSafeInteger(value) && value > 0, `${key} must be a positive integer`)
  check(c.partitions <= 1024, "partitions <= 1024")
  check(c.batchCommandsMax <= c.mailboxCommandsMax, "batchCommandsMax <= mailboxCommandsMax")
  check(c.holdTtlMsMin <= c.holdTtlMsDefault && c.holdTtlMsDefault <= c.holdTtlMsMax, "holdTtlMsMin <= holdTtlMsDefault <= holdTtlMsMax")
  check(c.holdChannelSharePercentMax <= 100, "holdChannelSharePercentMax <= 100")
  check(c.holdTtlMsMax <= c.holdLifetimeMsMax, "holdTtlMsMax <= holdLifetimeMsMax")
  check(c.quantityMax <= c.onHandMax, "quantityMax <= onHandMax")
  check(c.onHandMax <= 2 ** 31 - 1, "onHandMax fits a 32-bit counter")
  check(c.nodesMax <= 65_536, "nodesMax <= 65536")
  check(c.journalRetainEvents >= c.snapshotEveryEvents, "journalRetainEvents >= snapshotEveryEvents")
  check(c.storeAppendTimeoutMs <= c.storeCallTimeoutMs, "storeAppendTimeoutMs <= storeCallTimeoutMs")
  check(c.storeCallTimeoutMs <= 2 ** 31 - 1, "storeCallTimeoutMs fits a timer")
}
