/**
 * The storefront operations, once for both transports: a decoded payload and
 * the caller's principal in, an Outcome out. Scope is enforced here: a
 * storefront key acts only within its channel (the channel is put into every
 * engine command, and reads of another channel's orders or holds answer as if
 * they did not exist); the ops token may read, not write; a publishable key
 * (safe in a browser) reads availability and holds stock in its channel, no more.
 *
 * Subscriptions are connection state and live in ws-session.ts.
 */
import { channelNodes, isLatLon, type Command } from "../engine/index.ts"
import type { AvailabilityCache, Stamp } from "./availability-cache.ts"
import type { EngineAccess, EngineReply } from "./engine-access.ts"
import { EngineUnreachable } from "./engine-access.ts"
import { aKey, clientError, gatewayError, isRetryable, type ErrorBody } from "./errors.ts"
import { bareHoldId, type HoldTokens } from "./hold-tokens.ts"
import type { Principal } from "./keys.ts"
import type { StorefrontOp, StorefrontPayload } from "./payloads.ts"

export interface OutcomeError extends ErrorBody {
  /** Present and true when the request was not applied and may simply be retried. */
  readonly retryable?: true
  /** The correlation id under which the gateway logged a store failure's detail. */
  readonly ref?: string
}

export type Outcome =
  /** `encoded`: the result already as JSON (a cached availability answer); `result` is then undefined. */
  | { readonly ok: true; readonly result: unknown; readonly created?: boolean; readonly encoded?: string }
  | { readonly ok: false; readonly error: OutcomeError }

/**
 * A refusal as the client sees it (a store failure's detail is logged with a
 * ref, not sent: errors.ts clientError); `rate_limited` keeps its retryAfterMs.
 */
export const failure = (error: ErrorBody): Outcome => {
  const e = clientError({ code: error.code, message: error.message })
  return {
    ok: false,
    error: {
      ...e,
      ...(isRetryable(e.code) ? { retryable: true } : {}),
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {})
    }
  }
}

/** An engine reply as an outcome: the reply without `ok` on success, its code and message on refusal. */
export const outcomeOf = (reply: EngineReply, created = false): Outcome => {
  if (!reply.ok) return failure({ code: reply.code, message: reply.message })
  const { ok: _ok, ...result } = reply
  return { ok: true, result, created }
}

const notFound = (code: "order_not_found" | "hold_not_found"): Outcome =>
  failure({ code, message: code === "order_not_found" ? "no order has this id (in this channel)" : "no hold has this id" })

const forbidden = (message: string): Outcome => failure(gatewayError("forbidden", message))

export interface OperationContext {
  readonly engine: EngineAccess
  readonly availabilityNodesMax: number
  readonly skusPerRequestMax: number
  /** Encoded availability answers (only where the engine is in this process). */
  readonly availabilityCache?: AvailabilityCache
  /** Seals the hold ids of publishable keys (hold-tokens.ts). */
  readonly holdTokens: HoldTokens
}


/** The channel a principal acts in, or an outcome refusing a write. (A publishable key only gets this far for its ops.) */
const channelOf = (p: Principal): string | Outcome =>
  p.kind === "storefront" || p.kind === "publishable" ? p.channel : forbidden(`${aKey(p.kind)} cannot act for a sales channel; use a storefront key`)

/** May this principal see an order of `channel`? (Not a publishable key: orders carry customers' names and addresses.) */
export const canSee = (p: Principal, channel: string): boolean => p.kind === "ops" || (p.kind === "storefront" && p.channel === channel)

/** May this principal see a hold of `channel`? */
export const canSeeHold = (p: Principal, channel: string): boolean =>
  canSee(p, channel) || (p.kind === "publishable" && p.channel === channel)

/**
 * What a publishable key (one that sits in a browser, so is public) may do:
 * read availability, subscribe to it, hold stock, and read which nodes its
 * channel sells from; nothing that places, changes or reads orders.
 */
export const publishableOps: ReadonlySet<StorefrontOp> = new Set<StorefrontOp>([
  "ping", "availability", "availability.subscribe", "availability.unsubscribe", "hold.create", "hold.extend", "hold.release", "hold.get",
  "channel.get"
])

/** A refusal when this principal may not run `op` at all (a publishable key outside publishableOps). */
export const refusedOp = (p: Principal, op: StorefrontOp): Outcome | undefined =>
  p.kind === "publishable" && !publishableOps.has(op)
    ? forbidden(`a publishable key may only read availability and hold stock (${[...publishableOps].join(", ")}); ${op} needs the channel's secret storefront key, from a server`)
    : undefined

const submit = async (ctx: OperationContext, command: Command, created = false): Promise<Outcome> =>
  outcomeOf(await ctx.engine.submit(command), created)

type Handler<K extends StorefrontOp> = (ctx: OperationContext, p: Principal, payload: StorefrontPayload<K>) => Promise<Outcome>

type Handlers = { readonly [K in StorefrontOp]?: Handler<K> }

/** An op that is its command as sent, in the key's channel (a write: storefront keys only). */
const inChannel = <K extends StorefrontOp>(type: K & Command["type"], created = false): Handler<K> => async (ctx, p, x) => {
  const channel = channelOf(p)
  if (typeof channel !== "string") return channel
  return submit(ctx, { type, channel, ...x } as Command, created)
}

/**
 * The meaning checks of an availability question (read or subscribe), as the
 * engine checks a hold's: a location must have lat in -90..90 and lon in
 * -180..180 (`invalid_location`), nodesMax must be 0 or more (`invalid_frame`).
 */
export const availabilityQuestionRefused = (x: { readonly location?: unknown; readonly nodesMax?: number }): Outcome | undefined =>
  x.location !== undefined && !isLatLon(x.location)
    ? failure({ code: "invalid_location", message: "location needs lat in -90..90 and lon in -180..180" })
    : x.nodesMax !== undefined && !(x.nodesMax >= 0)
      ? failure(gatewayError("invalid_frame", "nodesMax: 0 or more (nodes listed per SKU)"))
      : undefined

/**
 * The engine's id of a hold a principal names: a publishable key names holds
 * by the sealed ids it was given (anything else: undefined, read as not
 * found); other keys may name them sealed or bare.
 */
const holdIdOf = (ctx: OperationContext, p: Principal, holdId: string): string | undefined =>
  p.kind === "publishable" ? ctx.holdTokens.open(p.channel, holdId) : bareHoldId(holdId)

/**
 * The outcome as a publishable key sees it: its hold's id sealed, live or
 * ended, and in the message of a hold_key_conflict (the hold the key names).
 */
const asSeenBy = (ctx: OperationContext, p: Principal, o: Outcome): Outcome => {
  if (p.kind !== "publishable") return o
  if (!o.ok) {
    if (o.error.code !== "hold_key_conflict") return o
    // engine hold ids are h<partition>-<base 36 number> (engine/pool/hold-book.ts holdIdFor)
    const message = o.error.message.replace(/\bh\d+-[0-9a-z]+\b/g, (id) => ctx.holdTokens.seal(p.channel, id))
    return { ...o, error: { ...o.error, message } }
  }
  const result = o.result as { hold?: { holdId: string } } | undefined
  if (result?.hold === undefined) return o
  return { ...o, result: { ...result, hold: { ...result.hold, holdId: ctx.holdTokens.seal(p.channel, result.hold.holdId) } } }
}

/** hold.extend and hold.release: on the hold the principal names (sealed, for a publishable key). */
const onHold = <K extends "hold.extend" | "hold.release">(type: K): Handler<K> => {
  const run = inChannel(type)
  return async (ctx, p, x) => {
    const holdId = holdIdOf(ctx, p, x.holdId)
    if (holdId === undefined) return notFound("hold_not_found")
    return asSeenBy(ctx, p, await run(ctx, p, { ...x, holdId }))
  }
}

/** Nodes listed per SKU: what the client asked for, at most the gateway's limit. */
export const nodesListed = (asked: number | undefined, limit: number): number => Math.max(0, Math.min(limit, asked ?? limit))

/**
 * The cache key of an availability question: everything its answer depends
 * on besides the engine's state (the caller's channel, nodes listed, the
 * customer's location, the SKUs in order). Only answers to valid questions
 * are stored, so a key built from an invalid one finds nothing.
 */
export const availabilityKey = (channel: string | undefined, nodesMax: number, location: { readonly lat: number; readonly lon: number } | undefined, skus: ReadonlyArray<string>): string =>
  `${channel ?? ""}|${nodesMax}|${location === undefined ? "" : `${location.lat},${location.lon}`}|${skus.join(",")}`

const createHold = inChannel("hold.create", true)

const handlers: Handlers = {
  ping: async (_ctx, _p, x) => ({ ok: true, result: { pong: Date.now(), ...(x.nonce !== undefined ? { nonce: x.nonce } : {}) } }),

  availability: async (ctx, p, x) => {
    if (x.skus.length > ctx.skusPerRequestMax) return failure(gatewayError("too_many_skus", `at most ${ctx.skusPerRequestMax} SKUs per request`))
    if (p.kind !== "storefront" && p.kind !== "publishable" && p.kind !== "ops") return forbidden("availability needs a storefront key or the ops token")
    const refused = availabilityQuestionRefused(x)
    if (refused) return refused
    const channel = p.kind === "storefront" || p.kind === "publishable" ? p.channel : undefined
    const nodesMax = nodesListed(x.nodesMax, ctx.availabilityNodesMax)
    if (x.promise === true && x.location === undefined) return failure(gatewayError("invalid_frame", "promise needs the customer's location"))
    const promise = x.promise === true ? { promise: true } : {}
    // promise dates depend on the clock and today's node capacity: never cached
    const cache = x.promise === true ? undefined : ctx.availabilityCache
    let stamp: Stamp | undefined
    if (cache !== undefined) {
      const key = availabilityKey(channel, nodesMax, x.location, x.skus)
      const encoded = cache.get(key)
      if (encoded !== undefined) return { ok: true, result: undefined, encoded }
      stamp = cache.stamp(key, x.skus)
    }
    const answers = await ctx.engine.availability(x.skus.map((sku) => ({ sku, channel, location: x.location, nodesMax, ...promise })))
    const result = { items: answers.map((a, i) => a ?? { sku: x.skus[i], error: { code: "unknown_sku", message: "the SKU is not in the catalog" } }) }
    if (cache === undefined || stamp === undefined) return { ok: true, result }
    const encoded = JSON.stringify(result)
    cache.set(stamp, encoded)
    return { ok: true, result: undefined, encoded }
  },

  "hold.create": async (ctx, p, x) => asSeenBy(ctx, p, await createHold(ctx, p, x)),
  "hold.extend": onHold("hold.extend"),
  "hold.release": onHold("hold.release"),
  "hold.get": async (ctx, p, x) => {
    const holdId = holdIdOf(ctx, p, x.holdId)
    const hold = holdId === undefined ? null : await ctx.engine.hold(holdId)
    if (!hold || !canSeeHold(p, hold.channel)) return notFound("hold_not_found")
    return asSeenBy(ctx, p, { ok: true, result: { hold } })
  },

  "order.place": async (ctx, p, x) => {
    const channel = channelOf(p)
    if (typeof channel !== "string") return channel
    // holds named as the browser was given them (sealed) or bare
    const holds = x.holdIds === undefined ? {} : { holdIds: x.holdIds.map(bareHoldId) }
    const reply = await ctx.engine.submit({ type: "order.place", channel, ...x, ...holds })
    return outcomeOf(reply, reply.ok && reply.existing !== true)
  },
  "order.payment": inChannel("order.payment"),
  "order.cancel": async (ctx, p, x) => {
    const channel = channelOf(p)
    if (typeof channel !== "string") return channel
    return submit(ctx, { type: "order.cancel", channel, orderId: x.orderId, lines: x.lines, reason: x.reason ?? "cancelled by the storefront" })
  },
  "return.request": inChannel("return.request", true),
  "order.exchange": inChannel("order.exchange", true),
  "order.feedback": inChannel("order.feedback"),

  "channel.get": async (ctx, p) => {
    const channelId = channelOf(p)
    if (typeof channelId !== "string") return channelId
    const [channels, nodes] = await Promise.all([ctx.engine.channels(), ctx.engine.nodes()])
    const channel = channels.find((c) => c.channel === channelId)
    if (!channel) return failure({ code: "unknown_channel", message: `no channel ${channelId} is configured in the engine` })
    const { weights: _weights, ...policy } = channel.policy
    return { ok: true, result: { channel: channel.channel, policy, nodes: channelNodes(channel.policy, nodes) } }
  },

  "order.get": async (ctx, p, x) => {
    if ((x.orderId === undefined) === (x.externalId === undefined)) {
      return failure(gatewayError("invalid_frame", "give exactly one of orderId and externalId"))
    }
    if (x.externalId !== undefined) {
      if (p.kind !== "storefront") return forbidden("lookup by external id needs a storefront key (external ids are per channel)")
      const order = await ctx.engine.orderByExternal(p.channel, x.externalId)
      return order ? { ok: true, result: { order } } : notFound("order_not_found")
    }
    const order = await ctx.engine.order(x.orderId!)
    return order && canSee(p, order.channel) ? { ok: true, result: { order } } : notFound("order_not_found")
  },
  "order.history": async (ctx, p, x) => {
    const order = await ctx.engine.order(x.orderId)
    if (!order || !canSee(p, order.channel)) return notFound("order_not_found")
    const history = await ctx.engine.orderHistory(x.orderId)
    return { ok: true, result: { orderId: x.orderId, history: history ?? [] } }
  }
}

/** Runs a storefront operation (not the subscription ones). Never rejects. */
export const runStorefrontOp = async <K extends StorefrontOp>(
  ctx: OperationContext,
  principal: Principal,
  op: K,
  payload: StorefrontPayload<K>
): Promise<Outcome> => {
  const handler = handlers[op] as Handler<K> | undefined
  if (!handler) return failure(gatewayError("unknown_op", `${op} is not an operation of this transport`))
  const refused = refusedOp(principal, op)
  if (refused) return refused
  try {
    return await handler(ctx, principal, payload)
  } catch (e) {
    if (e instanceof EngineUnreachable) return failure(gatewayError("engine_unreachable", e.message))
    console.error(`gateway: ${op} failed`, e)
    return failure(gatewayError("internal_error"))
  }
}
