/**
 * The storefront operations, once for both transports: a decoded payload and
 * the caller's principal in, an Outcome out. Scope is enforced here: a
 * storefront key acts only within its channel (the channel is put into every
 * engine command, and reads of another channel's orders or holds answer as if
 * they did not exist); the ops token may read, not write.
 *
 * Subscriptions are connection state and live in ws-session.ts.
 */
import { channelNodes, type Command } from "../engine/index.ts"
import type { AvailabilityCache, Stamp } from "./availability-cache.ts"
import type { EngineAccess, EngineReply } from "./engine-access.ts"
import { EngineUnreachable } from "./engine-access.ts"
import { aKey, gatewayError, isRetryable, type ErrorBody } from "./errors.ts"
import type { Principal } from "./keys.ts"
import type { StorefrontOp, StorefrontPayload } from "./payloads.ts"

export interface OutcomeError extends ErrorBody {
  /** Present and true when the request was not applied and may simply be retried. */
  readonly retryable?: true
}

export type Outcome =
  /** `encoded`: the result already as JSON (a cached availability answer); `result` is then undefined. */
  | { readonly ok: true; readonly result: unknown; readonly created?: boolean; readonly encoded?: string }
  | { readonly ok: false; readonly error: OutcomeError }

export const failure = (error: ErrorBody): Outcome => ({
  ok: false,
  error: isRetryable(error.code) ? { code: error.code, message: error.message, retryable: true } : { code: error.code, message: error.message }
})

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
}


/** The channel a principal acts in, or an outcome refusing a write. */
const channelOf = (p: Principal): string | Outcome =>
  p.kind === "storefront" ? p.channel : forbidden(`${aKey(p.kind)} cannot act for a sales channel; use a storefront key`)

/** May this principal see an order or hold of `channel`? */
export const canSee = (p: Principal, channel: string): boolean => p.kind === "ops" || (p.kind === "storefront" && p.channel === channel)

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

const handlers: Handlers = {
  ping: async (_ctx, _p, x) => ({ ok: true, result: { pong: Date.now(), ...(x.nonce !== undefined ? { nonce: x.nonce } : {}) } }),

  availability: async (ctx, p, x) => {
    if (x.skus.length > ctx.skusPerRequestMax) return failure(gatewayError("too_many_skus", `at most ${ctx.skusPerRequestMax} SKUs per request`))
    if (p.kind !== "storefront" && p.kind !== "ops") return forbidden("availability needs a storefront key or the ops token")
    const channel = p.kind === "storefront" ? p.channel : undefined
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

  "hold.create": inChannel("hold.create", true),
  "hold.extend": inChannel("hold.extend"),
  "hold.release": inChannel("hold.release"),
  "hold.get": async (ctx, p, x) => {
    const hold = await ctx.engine.hold(x.holdId)
    if (!hold || !canSee(p, hold.channel)) return notFound("hold_not_found")
    return { ok: true, result: { hold } }
  },

  "order.place": async (ctx, p, x) => {
    const channel = channelOf(p)
    if (typeof channel !== "string") return channel
    const reply = await ctx.engine.submit({ type: "order.place", channel, ...x })
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
  try {
    return await handler(ctx, principal, payload)
  } catch (e) {
    if (e instanceof EngineUnreachable) return failure(gatewayError("engine_unreachable", e.message))
    console.error(`gateway: ${op} failed`, e)
    return failure(gatewayError("internal_error"))
  }
}
