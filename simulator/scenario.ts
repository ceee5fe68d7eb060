/**
 * Peak-event scenarios: what a simulated day looks like, as data. A scenario
 * is a JSON file in simulator/scenarios/ (or any path), checked with an effect
 * Schema (unknown fields rejected, so a typo is an error, not a silent
 * default) and then for meaning (weights that sum to something, an outage
 * inside the day, ...).
 *
 * A scenario names the network (the demo network of engine/demo/network.ts,
 * with its size), the catalog and how skewed demand is over it (Zipf), the
 * doorbusters, the demand curve over the day (24 hourly weights and a spike),
 * the session mix of the storefronts, how fulfillment nodes behave (reject and
 * short-pick rates, delays, an outage, inventory receipts) and how much the
 * day is compressed (`day.wallClockMinutes` of wall-clock time for 24 hours).
 *
 * Optional parts switch on product features (absent: not exercised):
 * delivery promises (`sessions.promise`), B2B orders (`sessions.b2b`),
 * customer feedback (`sessions.feedbackRate`) and carrier tracking
 * (`nodes.tracking`). New draws are keyed by session (demand.ts `chance`), so
 * switching them on leaves the rest of the day's draws as they were.
 */
import { readFileSync, existsSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Result, Schema } from "effect"

const opt = Schema.optionalKey
const Share = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const Count = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))
const Positive = Schema.Number.check(Schema.isGreaterThan(0))
const NonNegative = Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))
const Hour = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 24 }))
const Range = Schema.Struct({ min: NonNegative, max: NonNegative })

const Network = Schema.Struct({
  /** The demo network of engine/demo/network.ts (real US cities). */
  kind: Schema.Literal("demo"),
  /** Seed of the network's layout and stock (default 7, the demo's). */
  seed: opt(Count),
  warehouses: opt(Count),
  stores: opt(Count)
})

const Catalog = Schema.Struct({
  skus: Count.check(Schema.isGreaterThanOrEqualTo(1)),
  /** Zipf exponent of demand over the regular catalog: P(rank k) ~ 1 / k^s. */
  zipfSkew: NonNegative
})

const Doorbusters = Schema.Struct({
  count: Count,
  /** Share of cart items that are doorbusters outside the spike. */
  demandShare: Share,
  /** Share of cart items that are doorbusters during the spike. */
  spikeDemandShare: Share,
  /** Overrides the demo's doorbuster stock: units at each warehouse (and store) that stocks it. */
  unitsPerWarehouse: opt(Count),
  unitsPerStore: opt(Count)
})

const Day = Schema.Struct({
  /** Wall-clock length of the simulated 24 hours (`--minutes` overrides it). */
  wallClockMinutes: Positive,
  /** Storefront sessions over the whole day (`--scale` multiplies it). */
  sessions: Count.check(Schema.isGreaterThanOrEqualTo(1)),
  /** Relative traffic of each hour, 00:00 first: 24 weights. */
  hourWeights: Schema.Array(NonNegative).check(Schema.isMinLength(24), Schema.isMaxLength(24)),
  /** The doorbuster spike: a share of the day's sessions packed into a few minutes. */
  spike: Schema.Struct({ startHour: Hour, minutes: Positive, sessionsShare: Share })
})

const ChannelMix = Schema.Struct({ web: NonNegative, marketplace: NonNegative, store: NonNegative })

const DeliveryPromise = Schema.Struct({
  /** Share of sessions (not B2B) that ask availability with delivery promise dates (`promise: true`). */
  askRate: Share,
  /** Share of checkouts that order with a carrier service level (one of the gateway's carriers' services). */
  serviceRate: Share,
  /** Share of checkouts that order with a `deliverBy` date chosen from the promise answer (they ask it). */
  deliverByRate: Share,
  /** Share of those `deliverBy` customers who ask a day before the earliest promised (answered promise_unreachable; they then order without it). */
  tooEarlyRate: Share
})

const B2b = Schema.Struct({
  /** Share of sessions that are B2B orders on the `b2b` channel (purchase order, payment on account, no cart holds). */
  share: Share,
  /** WebSocket connections of the b2b channel. */
  connections: Count,
  /** Units per line at most (regular SKUs only). */
  qtyMax: Count.check(Schema.isGreaterThanOrEqualTo(1)),
  /** Share of B2B orders that are ship-complete (every unit at once, or wait whole as a backorder). */
  shipCompleteRate: Share,
  /** Requested delivery date: days after today (engine calendar). */
  requestedDeliveryDays: Range
})

const Sessions = Schema.Struct({
  /** Weights of what a session does: look only, add to cart and leave, or buy. */
  browse: NonNegative,
  abandonCart: NonNegative,
  checkout: NonNegative,
  channels: ChannelMix,
  /** WebSocket connections per channel the storefront traffic is spread over. */
  connections: ChannelMix,
  itemsPerCart: Range,
  qtyMax: Count.check(Schema.isGreaterThanOrEqualTo(1)),
  /** Cart hold TTL in simulated minutes (clamped to the engine's minimum in wall-clock time). */
  holdTtlMinutes: Positive,
  /** Time between adding to cart and checking out, simulated minutes (kept under the hold TTL). */
  thinkMinutes: Range,
  paymentDeclineRate: Share,
  cancelRate: Share,
  returnRate: Share,
  /** Share of customers who still order an item they could not hold (it is backordered). */
  keepSoldOutRate: Share,
  /** Share of sessions that subscribe to the doorbusters' availability while they shop. */
  watchDoorbustersRate: Share,
  promise: opt(DeliveryPromise),
  b2b: opt(B2b),
  /** Share of customers who rate their order (1-5, sometimes a comment) once it is delivered. */
  feedbackRate: opt(Share)
})

const Tracking = Schema.Struct({
  /** Share of shipments whose carrier reports tracking (in_transit, out_for_delivery, delivered) instead of the node's deliver event. */
  rate: Share,
  /** Share of tracked shipments with a promise whose carrier estimates delivery past the promised day (late at once). */
  delayRate: Share,
  /** Days past the promised day of such an estimate. */
  delayDays: Range
})

const Outage = Schema.Struct({
  /** A node id, or "busiest-warehouse": the warehouse with the most shipments routed when the outage starts. */
  node: Schema.String,
  fromHour: Hour,
  toHour: Hour
})

const Receipt = Schema.Struct({
  atHour: Hour,
  /** "doorbusters", or SKU ids. */
  skus: Schema.Union([Schema.Literal("doorbusters"), Schema.Array(Schema.String)]),
  /** "warehouses", or node ids. */
  nodes: Schema.Union([Schema.Literal("warehouses"), Schema.Array(Schema.String)]),
  qty: Count.check(Schema.isGreaterThanOrEqualTo(1))
})

const NodeBehaviour = Schema.Struct({
  /** Share of shipments a node rejects (the rest it accepts). */
  rejectRate: Share,
  /** Share of accepted shipments picked short by one unit. */
  shortPickRate: Share,
  /** Share of received returns restocked (the rest written off). */
  restockRate: Share,
  /** Simulated minutes from routing to accept, accept to pick, pick to pack, pack to ship. */
  minutes: Schema.Struct({ accept: Range, pick: Range, pack: Range, ship: Range }),
  /** Simulated hours in transit, and from delivery to the customer's return request, and to its receipt. */
  hours: Schema.Struct({ transit: Range, returnAfterDelivery: Range, returnTransit: Range }),
  outage: opt(Outage),
  receipts: Schema.Array(Receipt),
  tracking: opt(Tracking)
})

export const ScenarioSchema = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1)),
  description: Schema.String,
  network: Network,
  catalog: Catalog,
  doorbusters: Doorbusters,
  day: Day,
  sessions: Sessions,
  nodes: NodeBehaviour,
  /** After the day: wall seconds at most to let open shipments finish (simulated time runs faster then). */
  drain: Schema.Struct({ maxWallSeconds: Positive, speedup: Positive })
})

export type Scenario = typeof ScenarioSchema.Type

const decode = Schema.decodeUnknownResult(ScenarioSchema, { onExcessProperty: "error" })

export class ScenarioError extends Error {
  override readonly name = "ScenarioError"
}

/** Checks of meaning the shape cannot express. */
const checkMeaning = (s: Scenario): Array<string> => {
  const problems: Array<string> = []
  const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)
  if (sum(s.day.hourWeights) <= 0) problems.push("day.hourWeights must not all be 0")
  if (s.sessions.browse + s.sessions.abandonCart + s.sessions.checkout <= 0) problems.push("sessions: browse + abandonCart + checkout must be > 0")
  const { channels, connections } = s.sessions
  if (channels.web + channels.marketplace + channels.store <= 0) problems.push("sessions.channels must not all be 0")
  for (const c of ["web", "marketplace", "store"] as const) {
    if (channels[c] > 0 && connections[c] < 1) problems.push(`sessions.connections.${c} must be >= 1 when channel ${c} has traffic`)
    if (!Number.isInteger(connections[c])) problems.push(`sessions.connections.${c} must be a whole number`)
  }
  for (const [name, r] of [
    ["sessions.itemsPerCart", s.sessions.itemsPerCart], ["sessions.thinkMinutes", s.sessions.thinkMinutes],
    ["nodes.minutes.accept", s.nodes.minutes.accept], ["nodes.minutes.pick", s.nodes.minutes.pick],
    ["nodes.minutes.pack", s.nodes.minutes.pack], ["nodes.minutes.ship", s.nodes.minutes.ship],
    ["nodes.hours.transit", s.nodes.hours.transit], ["nodes.hours.returnAfterDelivery", s.nodes.hours.returnAfterDelivery],
    ["nodes.hours.returnTransit", s.nodes.hours.returnTransit]
  ] as const) if (r.min > r.max) problems.push(`${name}: min > max`)
  const { promise, b2b } = s.sessions
  if (promise && promise.serviceRate + promise.deliverByRate > 1) problems.push("sessions.promise: serviceRate + deliverByRate must be <= 1")
  if (b2b) {
    if (b2b.share > 0 && b2b.connections < 1) problems.push("sessions.b2b.connections must be >= 1 when sessions.b2b.share > 0")
    if (b2b.requestedDeliveryDays.min > b2b.requestedDeliveryDays.max) problems.push("sessions.b2b.requestedDeliveryDays: min > max")
    if (!Number.isInteger(b2b.requestedDeliveryDays.min) || !Number.isInteger(b2b.requestedDeliveryDays.max)) problems.push("sessions.b2b.requestedDeliveryDays must be whole days")
  }
  const tracking = s.nodes.tracking
  if (tracking && tracking.delayDays.min > tracking.delayDays.max) problems.push("nodes.tracking.delayDays: min > max")
  if (tracking && (tracking.delayDays.min < 1 || !Number.isInteger(tracking.delayDays.min) || !Number.isInteger(tracking.delayDays.max))) problems.push("nodes.tracking.delayDays must be whole days, at least 1")
  if (s.sessions.itemsPerCart.min < 1) problems.push("sessions.itemsPerCart.min must be >= 1")
  if (s.doorbusters.count >= s.catalog.skus) problems.push("doorbusters.count must be below catalog.skus")
  if (s.day.spike.startHour * 60 + s.day.spike.minutes > 24 * 60) problems.push("day.spike must end within the day")
  if (s.nodes.outage && s.nodes.outage.fromHour >= s.nodes.outage.toHour) problems.push("nodes.outage: fromHour must be before toHour")
  return problems
}

/** Decodes and checks a scenario; throws ScenarioError naming every problem. */
export const parseScenario = (json: unknown, source = "scenario"): Scenario => {
  const r = decode(json)
  if (Result.isFailure(r)) throw new ScenarioError(`${source}: ${r.failure.message.replace(/\s*\n\s*/g, " ")}`)
  const problems = checkMeaning(r.success)
  if (problems.length > 0) throw new ScenarioError(`${source}: ${problems.join("; ")}`)
  return r.success
}

export const scenariosDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "scenarios")

/** A scenario by name (a file in simulator/scenarios/) or by path to a JSON file. */
export const loadScenario = (nameOrPath: string): Scenario => {
  const file = nameOrPath.endsWith(".json") || nameOrPath.includes("/") ? nameOrPath : path.join(scenariosDir, `${nameOrPath}.json`)
  if (!existsSync(file)) throw new ScenarioError(`no scenario ${nameOrPath} (looked for ${file})`)
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, "utf8"))
  } catch (e) {
    throw new ScenarioError(`${file}: not JSON: ${(e as Error).message}`)
  }
  return parseScenario(json, path.basename(file))
}

/** Simulated milliseconds per wall-clock millisecond for a day of `wallClockMinutes`. */
export const compressionOf = (wallClockMinutes: number): number => (24 * 60) / wallClockMinutes
