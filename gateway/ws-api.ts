/**
 * The storefront WebSocket API at /v1/ws: authentication at upgrade (the
 * `key` query parameter), then JSON frames `{ id, op, ...fields }`, each
 * answered by one frame `{ id, ok: true, result }` or
 * `{ id, ok: false, error: { code, message } }`, plus pushes `{ push, ... }`.
 *
 * Every frame is shape-checked with Schema before anything runs; bad frames
 * are answered with named codes and the connection stays open until it sends
 * more than badFramesBeforeClose of them within badFramesWindowMs (close 4000).
 * Requests over a limit of the key or connection (rate limits, requests in
 * flight) are answered too (`rate_limited`, `too_many_requests`) and are not
 * misbehaviour: every request gets exactly one answer, also when the
 * connection closes (ws-session.ts drains before it closes).
 * See docs/protocol.md.
 */
import uWS from "uWebSockets.js"
import type { AvailabilityFeed } from "./availability-feed.ts"
import type { GatewayConfig } from "./config.ts"
import type { EngineAccess } from "./engine-access.ts"
import { EngineUnreachable } from "./engine-access.ts"
import { aKey, closeCodes, gatewayError, httpStatusOf, isRetryable, type ErrorBody } from "./errors.ts"
import type { KeyRing } from "./keys.ts"
import type { GatewayMetrics } from "./metrics.ts"
import type { OrderFeed } from "./order-feed.ts"
import { legIdsOf } from "../engine/index.ts"
import { decoderOf, storefrontPayloads, type Decoded, type StorefrontOp, type StorefrontPayload } from "./payloads.ts"
import { admitRequest, type KeyLimits } from "./rate-limits.ts"
import { availabilityQuestionRefused, canSee, failure, refusedOp, runStorefrontOp, type OperationContext, type Outcome } from "./storefront-operations.ts"
import { WsSession, type SessionHolder } from "./ws-session.ts"
import type { AvailabilityCache } from "./availability-cache.ts"
import type { Connections } from "./connections.ts"

export interface WsApiDeps {
  readonly config: GatewayConfig
  readonly keys: KeyRing
  readonly engine: EngineAccess
  readonly metrics: GatewayMetrics
  readonly availability: AvailabilityFeed
  readonly orders: OrderFeed
  readonly sessions: Set<WsSession>
  /** Encoded availability answers, shared with the HTTP API (owner gateways only). */
  readonly availabilityCache?: AvailabilityCache
  /** Everything the gateway holds (connections.ts): an upgrade is refused from connectionsMax - connectionsReserved on. */
  readonly connections: Connections
  /** Rate limits per key, shared with the HTTP API. */
  readonly keyLimits: KeyLimits
}

const decoders = Object.fromEntries(
  Object.entries(storefrontPayloads).map(([op, schema]) => [op, decoderOf(schema)])
) as { readonly [K in StorefrontOp]: (input: unknown) => Decoded<StorefrontPayload<K>> }

const idLengthMax = 128

type FrameId = string | number | null

const validId = (id: unknown): id is string | number =>
  (typeof id === "string" && id.length > 0 && id.length <= idLengthMax) || (typeof id === "number" && Number.isFinite(id))

const statusText = (status: number): string =>
  ({ 401: "401 Unauthorized", 403: "403 Forbidden", 503: "503 Service Unavailable" })[status] ?? `${status} Error`

export const replyText = (id: FrameId, outcome: Outcome): string =>
  !outcome.ok ? JSON.stringify({ id, ok: false, error: outcome.error })
  : outcome.encoded !== undefined ? `{"id":${JSON.stringify(id)},"ok":true,"result":${outcome.encoded}}`
  : JSON.stringify({ id, ok: true, result: outcome.result })

export const wsBehavior = (deps: WsApiDeps): uWS.WebSocketBehavior<SessionHolder> => {
  const { config, keys, engine, metrics, availability, orders, sessions } = deps
  const ctx: OperationContext = {
    engine, availabilityNodesMax: config.availabilityNodesMax, skusPerRequestMax: config.skusPerRequestMax, availabilityCache: deps.availabilityCache,
    holdTokens: deps.keys.holdTokens
  }

  const refuseUpgrade = (res: uWS.HttpResponse, error: ErrorBody) => {
    const status = httpStatusOf(error.code)
    metrics.count("gateway_errors_total", { code: error.code })
    const retryable = isRetryable(error.code)
    res.cork(() => {
      res.writeStatus(statusText(status)).writeHeader("content-type", "application/json")
      if (retryable) res.writeHeader("retry-after", String(config.retryAfterSec))
      res.end(JSON.stringify({ error: retryable ? { ...error, retryable: true } : error }))
    })
  }

  /** Answers a frame the gateway refused before running it; `bad`: counts it as a bad frame (after answering it). */
  const refuseFrame = (s: WsSession, id: FrameId, error: ErrorBody, started: number, op = "invalid", bad = true) => {
    metrics.request("ws", op, started, error.code)
    s.reply(replyText(id, failure(error)))
    if (bad) s.badFrame(Date.now())
  }

  const subscribeAvailability = async (s: WsSession, x: StorefrontPayload<"availability.subscribe">): Promise<Outcome> => {
    if (x.skus.length > config.skusPerRequestMax) return failure(gatewayError("too_many_skus", `at most ${config.skusPerRequestMax} SKUs per request`))
    const refused = availabilityQuestionRefused(x)
    if (refused) return refused
    const fresh = new Set(x.skus.filter((sku) => !s.availability.has(sku)))
    if (s.subscriptions + fresh.size > config.subscriptionsPerConnectionMax) {
      return failure(gatewayError("too_many_subscriptions", `at most ${config.subscriptionsPerConnectionMax} subscriptions per connection; this one has ${s.subscriptions}`))
    }
    const nodesMax = Math.max(0, Math.min(config.availabilityNodesMax, x.nodesMax ?? config.availabilityNodesMax))
    const params = x.location ? { location: x.location, nodesMax } : { nodesMax }
    const known = x.skus
    // subscribed before the read, so no change between the two is missed; undone if the read fails
    availability.subscribe(s, known, params)
    let answers: Awaited<ReturnType<typeof engine.availability>>
    try {
      answers = await engine.availability(known.map((sku) => ({ sku, channel: s.channel, location: x.location, nodesMax })))
    } catch (e) {
      availability.unsubscribe(s, known)
      throw e
    }
    const unknown = known.filter((_, i) => answers[i] === null)
    if (unknown.length > 0) availability.unsubscribe(s, unknown)
    return {
      ok: true,
      result: {
        items: answers.map((a, i) => a ?? { sku: known[i], error: { code: "unknown_sku", message: "the SKU is not in the catalog" } }),
        subscriptions: s.subscriptions
      }
    }
  }

  /**
   * Subscribes to an order. A composite id (an order split over partitions in
   * cluster mode) subscribes to each of its legs: pushes then name the leg
   * (`orderId` of the push is a leg id, one of the `legs` of the order view),
   * with the leg's own `seq`.
   */
  const subscribeOrder = async (s: WsSession, orderId: string): Promise<Outcome> => {
    const ids = legIdsOf(orderId) ?? [orderId]
    const tooMany = () => s.subscriptions + ids.filter((id) => !s.orders.has(id)).length > config.subscriptionsPerConnectionMax
    if (tooMany()) {
      return failure(gatewayError("too_many_subscriptions", `at most ${config.subscriptionsPerConnectionMax} subscriptions per connection`))
    }
    // live events of the order wait on the pending subscription while it is read. The history is read first:
    // its newest seq is then at most what the order view reflects, so pushes carry on from it and nothing
    // committed in between is missed (at worst an event is pushed that the view already shows)
    const pending = ids.map((id) => orders.begin(s, id))
    let confirmed = false
    try {
      const histories = await Promise.all(ids.map((id) => engine.orderHistory(id)))
      const order = await engine.order(orderId)
      if (!order || !canSee(s.principal, order.channel)) return failure({ code: "order_not_found", message: "no order has this id (in this channel)" })
      // the connection may have closed, or filled up, while the order was read
      if (s.closed) return failure(gatewayError("too_many_subscriptions", "the connection closed"))
      if (tooMany()) {
        return failure(gatewayError("too_many_subscriptions", `at most ${config.subscriptionsPerConnectionMax} subscriptions per connection`))
      }
      pending.forEach((p, i) => orders.confirm(p, histories[i]?.at(-1)?.seq ?? 0))
      confirmed = true
      return { ok: true, result: { order, subscriptions: s.subscriptions } }
    } finally {
      if (!confirmed) for (const p of pending) orders.cancel(p)
    }
  }

  const run = async <K extends StorefrontOp>(s: WsSession, op: K, payload: StorefrontPayload<K>): Promise<Outcome> => {
    try {
      switch (op) {
        case "availability.subscribe":
          return await subscribeAvailability(s, payload as StorefrontPayload<"availability.subscribe">)
        case "availability.unsubscribe": {
          const skus = (payload as StorefrontPayload<"availability.unsubscribe">).skus
          if (skus.length > config.skusPerRequestMax) return failure(gatewayError("too_many_skus", `at most ${config.skusPerRequestMax} SKUs per request`))
          availability.unsubscribe(s, skus)
          return { ok: true, result: { subscriptions: s.subscriptions } }
        }
        case "order.subscribe":
          return await subscribeOrder(s, (payload as StorefrontPayload<"order.subscribe">).orderId)
        case "order.unsubscribe":
          for (const id of legIdsOf((payload as StorefrontPayload<"order.unsubscribe">).orderId) ?? [(payload as StorefrontPayload<"order.unsubscribe">).orderId]) orders.unsubscribe(s, id)
          return { ok: true, result: { subscriptions: s.subscriptions } }
        default:
          return await runStorefrontOp(ctx, s.principal, op, payload)
      }
    } catch (e) {
      if (e instanceof EngineUnreachable) return failure(gatewayError("engine_unreachable", e.message))
      console.error(`gateway: ws ${op} failed`, e)
      return failure(gatewayError("internal_error"))
    }
  }

  const onFrame = (s: WsSession, message: ArrayBuffer): void => {
    const started = performance.now()
    if (s.closingCode !== undefined) {
      // closing: a misbehaving client's further frames are not read; at shutdown each request is answered, not run
      if (s.closingCode === closeCodes.goingAway) answerClosing(s, message, started)
      return
    }
    if (message.byteLength > config.frameBytesMax) {
      refuseFrame(s, null, gatewayError("frame_too_large", `frames are at most ${config.frameBytesMax} bytes; this one has ${message.byteLength}`), started)
      return
    }
    let frame: unknown
    try {
      frame = JSON.parse(Buffer.from(message).toString("utf8"))
    } catch {
      refuseFrame(s, null, gatewayError("malformed_json", "the frame is not valid JSON"), started)
      return
    }
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
      refuseFrame(s, null, gatewayError("malformed_json", "a frame is a JSON object"), started)
      return
    }
    const { id, op, ...fields } = frame as Record<string, unknown>
    if (!validId(id)) {
      refuseFrame(s, null, gatewayError("invalid_frame", `every frame needs an id: a string of 1..${idLengthMax} characters or a number`), started)
      return
    }
    if (typeof op !== "string" || !Object.hasOwn(decoders, op)) {
      const named = typeof op === "string" ? ` ${JSON.stringify(op.slice(0, 64))}` : ""
      refuseFrame(s, id, gatewayError("unknown_op", `unknown op${named}; ops are ${Object.keys(decoders).join(", ")}`), started)
      return
    }
    const decoded = decoders[op as StorefrontOp](fields)
    if (!decoded.ok) {
      refuseFrame(s, id, decoded.error, started, op)
      return
    }
    // over a limit: an answer, not misbehaviour (not counted as a bad frame)
    const limited = admitRequest(op, started, s.keyLimits, s.limits)
    if (limited) {
      refuseFrame(s, id, limited.error, started, op, false)
      return
    }
    const refused = refusedOp(s.principal, op as StorefrontOp)
    if (refused) {
      metrics.request("ws", op, started, "forbidden")
      s.reply(replyText(id, refused))
      return
    }
    if (s.inFlight >= config.requestsInFlightPerConnectionMax) {
      refuseFrame(s, id, gatewayError("too_many_requests", `at most ${config.requestsInFlightPerConnectionMax} requests in flight per connection`), started, op, false)
      return
    }
    const request = s.begin(id)
    void run(s, op as StorefrontOp, decoded.value).then((outcome) => {
      const code = outcome.ok ? undefined : outcome.error.code
      metrics.request("ws", op, started, code)
      s.answer(request, replyText(id, outcome))
      if (code === "too_many_subscriptions" || code === "too_many_skus") s.badFrame(Date.now())
    })
  }

  /** A frame that arrives while the gateway shuts down: answered `gateway_closing` (not run), when it has an id to answer. */
  const answerClosing = (s: WsSession, message: ArrayBuffer, started: number): void => {
    let id: FrameId = null
    try {
      const frame = message.byteLength <= config.frameBytesMax ? (JSON.parse(Buffer.from(message).toString("utf8")) as unknown) : undefined
      const candidate = typeof frame === "object" && frame !== null ? (frame as { id?: unknown }).id : undefined
      if (validId(candidate)) id = candidate
    } catch {
      // not JSON: answered with id null
    }
    metrics.request("ws", "closing", started, "gateway_closing")
    s.reply(replyText(id, failure(gatewayError("gateway_closing", "the gateway is shutting down; the request was not run; send it again (to another gateway)"))))
  }

  return {
    maxPayloadLength: config.frameBytesHardMax,
    maxBackpressure: config.bufferedBytesHardMax * 2,
    closeOnBackpressureLimit: 0,
    idleTimeout: config.idleTimeoutSec,
    sendPingsAutomatically: true,
    compression: uWS.DISABLED,

    upgrade: (res, req, context) => {
      const key = req.getQuery("key") ?? ""
      const secKey = req.getHeader("sec-websocket-key")
      const secProtocol = req.getHeader("sec-websocket-protocol")
      const secExtensions = req.getHeader("sec-websocket-extensions")
      if (key === "") return refuseUpgrade(res, gatewayError("unauthorized", "pass the storefront API key as ?key=..."))
      const principal = keys.resolve(key)
      if (!principal) return refuseUpgrade(res, gatewayError("unauthorized", "unknown API key"))
      if (principal.kind !== "storefront" && principal.kind !== "publishable" && principal.kind !== "ops") {
        return refuseUpgrade(res, gatewayError("forbidden", `${aKey(principal.kind)} cannot open the storefront WS API`))
      }
      if (!deps.connections.admits(false)) {
        return refuseUpgrade(res, gatewayError("too_many_connections", `the gateway holds connectionsMax (${config.connectionsMax}) connections, less connectionsReserved (${config.connectionsReserved}) kept for health and node routes; retry later`))
      }
      res.cork(() => {
        res.upgrade<SessionHolder>({ session: undefined, principal, key }, secKey, secProtocol, secExtensions, context)
      })
    },

    open: (ws) => {
      const holder = ws.getUserData()
      const s = new WsSession(ws, holder.principal, deps.keyLimits.of(holder.key, holder.principal, performance.now()), config, metrics)
      holder.session = s
      sessions.add(s)
    },

    message: (ws, message) => {
      const s = ws.getUserData().session
      if (s && !s.closed) {
        try {
          onFrame(s, message)
        } catch (e) {
          console.error(`gateway: a frame handler failed: ${e instanceof Error ? e.message : String(e)}`)
          if (!s.closed) void s.close(closeCodes.misbehaving, "internal_error")
        }
      }
    },

    drain: (ws) => {
      const s = ws.getUserData().session
      if (!s || s.closed) return
      s.drainHeld()
      availability.drained(s)
    },

    close: (ws) => {
      const s = ws.getUserData().session
      if (!s) return
      s.gone()
      sessions.delete(s)
      availability.drop(s)
      orders.drop(s)
    }
  }
}
