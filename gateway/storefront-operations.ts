/**
 * The storefront operations, once for both transports: a decoded payload and
 * the caller's principal in, an Outcome out. Scope is enforced here: a
 * storefront key acts only within its channel (the channel is put into every
 * engine command, and reads of another channel's orders or holds answer as if
 * they did not exist); the ops token may read, not write.
 *
 * Subscriptions are connection state and live in ws-connection.ts.
 */
import type { Command } from "../engine/domain/commands.ts"
import type { EngineAccess, EngineReply } from "./engine-access.ts"
import { EngineUnreachable } from "./engine-access.ts"
import { gatewayError, isRetryable, type ErrorBody } from "./errors.ts"
import type { Principal } from "./keys.ts"
import type { StorefrontOp, StorefrontPayload } from "./payloads.ts"

export interface OutcomeError extends ErrorBody {
  /** Present and true when the request was not applied and may simply be retried. */
  readonly retryable?: true
}

export type Outcome =
  | { readonly ok: true; readonly result: unknown; readonly created?: boolean }
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
}

/** The channel a principal acts in, or an outcome refusing a write. */
const channelOf = (p: Principal): string | Outcome =>
  p.kind === "storefront" ? p.channel : forbidden(`a ${p.kind} key cannot act for a sales channel; use a storefront key`)

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

const handlers: Handlers = {
  ping: async (_ctx, _p, x) => ({ ok: true, result: { pong: Date.now(), ...(x.nonce !== undefined ? { nonce: x.nonce } : {}) } }),

  availability: async (ctx, p, x) => {
    if (x.skus.length > ctx.skusPerRequestMax) return failure(gatewayError("too_many_skus", `at most ${ctx.skusPerRequestMax} SKUs per request`))
    if (p.kind !== "storefront" && p.kind !== "ops") return forbidden("availability needs a storefront key or the ops token")
    const channel = p.kind === "storefront" ? p.channel : undefined
    const nodesMax = Math.max(0, Math.min(ctx.availabilityNodesMax, x.nodesMax ?? ctx.availabilityNodesMax))
    if (x.promise === true && x.location === undefined) return failure(gatewayError("invalid_frame", "promise needs the customer's location"))
    const promise = x.promise === true ? { promise: true } : {}
    const answers = await ctx.engine.availability(x.skus.map((sku) => ({ sku, channel, location: x.location, nodesMax, ...promise })))
    return { ok: true, result: { items: answers.map((a, i) => a ?? { sku: x.skus[i], error: { code: "unknown_sku", message: "the SKU is not in the catalog" } }) } }
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
