/**
 * The HTTP API under /v1 (plus /healthz, /readyz, /metrics and the owner's
 * internal engine route): one table of routes, each with the principals it
 * admits, its body limit, and a handler. Bodies and query parameters are
 * shape-checked with the Schemas of payloads.ts; engine replies map to HTTP
 * statuses by errors.ts. See docs/protocol.md for every route.
 *
 * Longer than the ~450 lines other files keep to, on purpose: the route table
 * is one list, so every route with its principals and limits reads in one
 * place, as protocol.md lists them (protocol-doc.test.ts checks the two agree).
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js"
import type { Command } from "../engine/index.ts"
import type { GatewayConfig } from "./config.ts"
import type { EngineAccess } from "./engine-access.ts"
import { EngineUnreachable, LocalEngine, engineMethods, type EngineMethod } from "./engine-access.ts"
import { aKey, clientError, gatewayError, type ErrorBody } from "./errors.ts"
import { errorAnswer, requestKey, serve, type HttpAnswer, type HttpCall } from "./http-io.ts"
import type { BodyBudget, Connections } from "./connections.ts"
import type { KeyRing, Principal, PrincipalKind } from "./keys.ts"
import type { GatewayMetrics } from "./metrics.ts"
import {
  adminPayloads, decoderOf, inventoryPayloads, NodeEvent, NodeStatusBody, storefrontPayloads, TrackingBody, type Decoded, type StorefrontOp
} from "./payloads.ts"
import type { AvailabilityCache } from "./availability-cache.ts"
import { admitRequest, KeyLimits } from "./rate-limits.ts"
import { historyRangeMaxSec, historyRangeMinSec, type OpsHistory } from "./ops-history.ts"
import { availabilityKey, availabilityQuestionRefused, failure, nodesListed, outcomeOf, runStorefrontOp, type OperationContext, type Outcome } from "./storefront-operations.ts"
import { Result, Schema } from "effect"
import { inventoryCsv, parseInventoryCsv, type RowResult } from "./inventory-csv.ts"
import { reportCsv, reportRange } from "./report-csv.ts"
import { opsConsoleHandlers, type OpsConsole } from "./ops-console.ts"
import { decodeShopifyOrder, mapShopifyOrder, noShopifyShops, shopFor, verifyShopifySignature, type ShopifyShops } from "./shopify.ts"

export interface HttpApiDeps {
  readonly config: GatewayConfig
  readonly keys: KeyRing
  readonly engine: EngineAccess
  readonly metrics: GatewayMetrics
  /**
   * Links reported by /readyz (e.g. Redis connected) that do not decide
   * readiness: without Redis a gateway still serves every request; only
   * pushes to other processes wait (and are read again when it is back).
   */
  readonly ready: () => Promise<Record<string, boolean>>
  /** Shops whose orders/create webhooks are taken (POST /v1/integrations/shopify/orders). */
  readonly shopify?: ShopifyShops
  /** Encoded availability answers, shared with the WS API (owner gateways only). */
  readonly availabilityCache?: AvailabilityCache
  /** Connections held by the gateway (connections.ts); without it requests are not counted. */
  readonly connections?: Connections
  /** Request body bytes buffered across all requests; without it bodies are bounded per request only. */
  readonly bodies?: BodyBudget
  /** Rate limits per key, shared with the WS API (a fresh set when not given). */
  readonly keyLimits?: KeyLimits
  /** The ops charts' history this process keeps (owner and cluster gateways); an edge asks the owner. */
  readonly history?: OpsHistory
  /** Alert groups and the audit log (ops-console.ts); without it the alert routes answer alerts_not_kept_here. */
  readonly opsConsole?: OpsConsole
}

type Handler = (call: HttpCall, principal: Principal) => Promise<HttpAnswer>

interface Route {
  readonly method: "get" | "post" | "del"
  readonly pattern: string
  /** Principals admitted; "public" for health and metrics. */
  readonly allow: ReadonlyArray<PrincipalKind> | "public"
  readonly bodyBytesMax?: number
  /** The body is handed over as bytes (call.rawBody), not parsed as JSON. */
  readonly rawBody?: boolean
  /** Request headers the handler reads (lower case). */
  readonly headers?: ReadonlyArray<string>
  readonly handler: Handler
  /** A synchronous answer tried first (true: answered); the handler runs otherwise. */
  readonly answered?: (res: HttpResponse, req: HttpRequest) => boolean
  /** Checks of the headers made before the body is read (on routes authenticated by something other than a key). */
  readonly precheck?: (call: Omit<HttpCall, "body">) => HttpAnswer | undefined
  /** The storefront op the route runs, when it holds stock (the hold rate limits of publishable keys apply). */
  readonly holdOp?: "hold.create" | "hold.extend"
  /** What an ops token's successful call is recorded as in the audit log (default "METHOD pattern" for every non-GET route; false: the handler records it). */
  readonly audit?: string | false
}

/** The question of GET /v1/availability from its query string (validated afterwards like a WS payload). */
const availabilityOfQuery = (query: URLSearchParams) => {
  const skus = (query.get("skus") ?? query.get("sku") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
  const lat = query.get("lat")
  const lon = query.get("lon")
  const nodesMax = query.get("nodesMax")
  const promise = query.get("promise")
  return {
    skus,
    ...(promise !== null ? { promise: promise === "true" || promise === "1" } : {}),
    // lat and lon go together: a missing one is NaN, which validation refuses (Number(null) would be 0)
    ...(lat !== null || lon !== null ? { location: { lat: lat === null ? NaN : Number(lat), lon: lon === null ? NaN : Number(lon) } } : {}),
    ...(nodesMax !== null ? { nodesMax: Number(nodesMax) } : {})
  }
}

const json = (status: number, body: unknown): HttpAnswer => ({ status, body })

/** The answer of /readyz (also served by the health listener, health-listener.ts). */
export const readiness = async (deps: Pick<HttpApiDeps, "engine" | "ready" | "config">): Promise<HttpAnswer & { readonly body: unknown }> => {
  const health = await deps.engine.health()
  const extra = await deps.ready()
  const ready = health.engine === "running" && health.store
  return {
    status: ready ? 200 : 503,
    body: { ready, engine: health.engine, store: health.store, ...extra },
    headers: ready ? undefined : { "retry-after": String(deps.config.retryAfterSec) }
  }
}

const csv = (text: string, filename: string): HttpAnswer => ({
  status: 200, text, contentType: "text/csv; charset=utf-8", headers: { "content-disposition": `attachment; filename="${filename}"` }
})

/** Rows of a CSV import submitted to the engine at once (they share group commits). */
const importChunkRows = 1_000
/** Open shipments a node's drill-down lists by default, and at most (`limit`). */
const nodeShipmentsListedDefault = 50
const nodeShipmentsListedMax = 500

const shopifyHeaders = ["x-shopify-hmac-sha256", "x-shopify-shop-domain", "x-shopify-topic"] as const

export const httpRoutes = (deps: HttpApiDeps): ReadonlyArray<Route> => {
  const { config, engine } = deps
  const ctx: OperationContext = {
    engine, availabilityNodesMax: config.availabilityNodesMax, skusPerRequestMax: config.skusPerRequestMax, availabilityCache: deps.availabilityCache,
    holdTokens: deps.keys.holdTokens
  }
  const err = (e: ErrorBody) => errorAnswer(e, config.retryAfterSec)
  const answerOf = (o: Outcome, status = 200): HttpAnswer =>
    !o.ok ? errorAnswer(o.error, config.retryAfterSec)
    : o.encoded !== undefined ? { status, text: o.encoded, contentType: "application/json" }
    : json(o.created ? 201 : status, o.result)
  const decode = <A>(decoder: (x: unknown) => Decoded<A>, body: unknown): Decoded<A> =>
    body === undefined ? { ok: false, error: gatewayError("malformed_json", "this route needs a JSON body") } : decoder(body)

  /** A storefront op whose payload is the body plus path fields. */
  const storefront = <K extends StorefrontOp>(op: K, fromPath: (call: HttpCall) => Record<string, unknown> = () => ({})): Handler => {
    const decoder = decoderOf(storefrontPayloads[op])
    return async (call, principal) => {
      const input = { ...((call.body as Record<string, unknown> | undefined) ?? {}), ...fromPath(call) }
      const d = decoder(input)
      if (!d.ok) return err(d.error)
      return answerOf(await runStorefrontOp(ctx, principal, op, d.value as never))
    }
  }

  const submit = async (command: Command): Promise<HttpAnswer> => answerOf(outcomeOf(await engine.submit(command)))

  /** A node key acts only for its own node. */
  const ownNode = (p: Principal, nodeId: string): HttpAnswer | undefined =>
    p.kind === "node" && p.nodeId !== nodeId
      ? err(gatewayError("forbidden", `this key is for node ${p.nodeId}, not ${nodeId}`))
      : undefined

  const inventory = <K extends keyof typeof inventoryPayloads>(kind: K, toCommand: (x: (typeof inventoryPayloads)[K]["Type"]) => Command): Handler => {
    const decoder = decoderOf(inventoryPayloads[kind])
    return async (call, p) => {
      const d = decode(decoder, call.body)
      if (!d.ok) return err(d.error)
      const x = d.value as { nodeId?: string; rows?: ReadonlyArray<{ nodeId: string }> }
      for (const nodeId of x.rows ? x.rows.map((r) => r.nodeId) : [x.nodeId!]) {
        const refused = ownNode(p, nodeId)
        if (refused) return refused
      }
      return submit(toCommand(d.value))
    }
  }

  const admin = <K extends keyof typeof adminPayloads>(kind: K, toCommand: (x: (typeof adminPayloads)[K]["Type"]) => Command): Handler => {
    const decoder = decoderOf(adminPayloads[kind])
    return async (call) => {
      const d = decode(decoder, call.body)
      return d.ok ? submit(toCommand(d.value)) : err(d.error)
    }
  }

  const nodeEvent = decoderOf(NodeEvent)
  const nodeStatus = decoderOf(NodeStatusBody)
  const tracking = decoderOf(TrackingBody)
  const internalCall = decoderOf(Schema.Struct({ method: Schema.Literals(engineMethods), args: Schema.Array(Schema.Unknown) }))
  const storefrontKinds: ReadonlyArray<PrincipalKind> = ["storefront"]
  const readers: ReadonlyArray<PrincipalKind> = ["storefront", "ops"]
  /** Availability, holds and the channel's nodes: a publishable key (in a browser) too. */
  const holders: ReadonlyArray<PrincipalKind> = ["storefront", "publishable"]
  const holdReaders: ReadonlyArray<PrincipalKind> = ["storefront", "publishable", "ops"]
  const nodeOrOps: ReadonlyArray<PrincipalKind> = ["node", "ops"]

  const availabilityQuery = (call: HttpCall) => availabilityOfQuery(call.query)
  const console_ = opsConsoleHandlers(deps.opsConsole, err)

  /**
   * GET /v1/availability answered from the cache of encoded answers, at once
   * in the request handler (no body, no promise, no schema decoding): the
   * same key and the same answer the full path would give, because the key is
   * built from the query exactly as the full path builds its question, and
   * only answers to valid questions are ever stored. Anything else (no or
   * unknown key, another principal, a promise, a miss) takes the full path,
   * which also fills the cache.
   */
  const cachedAvailability = (cache: AvailabilityCache) => (res: HttpResponse, req: HttpRequest): boolean => {
    const key = requestKey(req)
    const p = deps.keys.resolve(key)
    if (p === undefined || (p.kind !== "storefront" && p.kind !== "publishable" && p.kind !== "ops")) return false
    const q = availabilityOfQuery(new URLSearchParams(req.getQuery() ?? ""))
    // a refused question takes the full path, which names the error (a negative nodesMax would otherwise find nodesMax 0's answer)
    if (q.promise === true || availabilityQuestionRefused(q) !== undefined) return false
    const channel = p.kind === "storefront" || p.kind === "publishable" ? p.channel : undefined
    const encoded = cache.get(availabilityKey(channel, nodesListed(q.nodesMax, config.availabilityNodesMax), q.location, q.skus))
    if (encoded === undefined) return false
    // over its rate limit: the full path answers 429 (no token is taken by a refusal)
    const now = performance.now()
    if (deps.keyLimits && admitRequest("availability", now, deps.keyLimits.of(key, p, now))) return false
    res.cork(() => {
      res.writeStatus("200 OK")
      res.writeHeader("content-type", "application/json")
      res.end(encoded)
    })
    return true
  }

  return [
    // ---- health and metrics ----
    { method: "get", pattern: "/healthz", allow: "public", handler: async () => json(200, { status: "ok" }) },
    {
      method: "get", pattern: "/readyz", allow: "public",
      handler: () => readiness(deps)
    },
    {
      method: "get", pattern: "/metrics", allow: "public",
      handler: async () => ({ status: 200, text: await deps.metrics.render(await engine.stats()), contentType: deps.metrics.contentType })
    },

    // ---- storefront ----
    {
      method: "get", pattern: "/v1/availability", allow: holdReaders,
      handler: (call, p) => storefront("availability", availabilityQuery)(call, p),
      answered: deps.availabilityCache ? cachedAvailability(deps.availabilityCache) : undefined
    },
    { method: "get", pattern: "/v1/channel", allow: holders, handler: storefront("channel.get") },
    { method: "post", pattern: "/v1/holds", allow: holders, holdOp: "hold.create", handler: storefront("hold.create") },
    { method: "get", pattern: "/v1/holds/:holdId", allow: holdReaders, handler: storefront("hold.get", (c) => ({ holdId: c.params[0] })) },
    {
      method: "post", pattern: "/v1/holds/:holdId/extend", allow: holders, holdOp: "hold.extend",
      handler: storefront("hold.extend", (c) => ({ holdId: c.params[0] }))
    },
    { method: "post", pattern: "/v1/holds/:holdId/release", allow: holders, handler: storefront("hold.release", (c) => ({ holdId: c.params[0] })) },
    { method: "del", pattern: "/v1/holds/:holdId", allow: holders, handler: storefront("hold.release", (c) => ({ holdId: c.params[0] })) },
    { method: "post", pattern: "/v1/orders", allow: storefrontKinds, handler: storefront("order.place") },
    {
      method: "get", pattern: "/v1/orders", allow: storefrontKinds,
      handler: storefront("order.get", (c) => ({ externalId: c.query.get("externalId") ?? "" }))
    },
    { method: "get", pattern: "/v1/orders/:orderId", allow: readers, handler: storefront("order.get", (c) => ({ orderId: c.params[0] })) },
    { method: "get", pattern: "/v1/orders/:orderId/history", allow: readers, handler: storefront("order.history", (c) => ({ orderId: c.params[0] })) },
    { method: "post", pattern: "/v1/orders/:orderId/cancel", allow: storefrontKinds, handler: storefront("order.cancel", (c) => ({ orderId: c.params[0] })) },
    { method: "post", pattern: "/v1/orders/:orderId/payment", allow: storefrontKinds, handler: storefront("order.payment", (c) => ({ orderId: c.params[0] })) },
    { method: "post", pattern: "/v1/orders/:orderId/returns", allow: storefrontKinds, handler: storefront("return.request", (c) => ({ orderId: c.params[0] })) },
    { method: "post", pattern: "/v1/orders/:orderId/exchange", allow: storefrontKinds, handler: storefront("order.exchange", (c) => ({ orderId: c.params[0] })) },
    { method: "post", pattern: "/v1/orders/:orderId/feedback", allow: storefrontKinds, handler: storefront("order.feedback", (c) => ({ orderId: c.params[0] })) },

    // ---- fulfillment nodes ----
    {
      method: "post", pattern: "/v1/nodes/:nodeId/events", allow: nodeOrOps,
      handler: async (call, p) => {
        const nodeId = call.params[0]
        const refused = ownNode(p, nodeId)
        if (refused) return refused
        const d = decode(nodeEvent, call.body)
        if (!d.ok) return err(d.error)
        return submit({ ...d.value, nodeId } as Command)
      }
    },
    {
      method: "post", pattern: "/v1/nodes/:nodeId/status", allow: nodeOrOps, audit: "node.setStatus",
      handler: async (call, p) => {
        const nodeId = call.params[0]
        const refused = ownNode(p, nodeId)
        if (refused) return refused
        const d = decode(nodeStatus, call.body)
        if (!d.ok) return err(d.error)
        return submit({ type: "node.setStatus", nodeId, status: d.value.status, reason: d.value.reason })
      }
    },
    { method: "get", pattern: "/v1/nodes", allow: ["ops"], handler: async () => json(200, { nodes: await engine.nodes() }) },
    {
      // carrier tracking: the shipment's node (its key) or ops; the order id is the shipment id without its "-s<n>" suffix
      method: "post", pattern: "/v1/shipments/:shipmentId/tracking", allow: nodeOrOps,
      handler: async (call, p) => {
        const shipmentId = call.params[0]
        const d = decode(tracking, call.body)
        if (!d.ok) return err(d.error)
        const cut = shipmentId.lastIndexOf("-s")
        const orderId = cut > 0 ? shipmentId.slice(0, cut) : shipmentId
        return submit({
          type: "shipment.track", orderId, shipmentId, status: d.value.status,
          ...(p.kind === "node" ? { nodeId: p.nodeId } : {}),
          ...(d.value.detail !== undefined ? { detail: d.value.detail } : {}),
          ...(d.value.estimatedDelivery !== undefined ? { estimatedDelivery: d.value.estimatedDelivery } : {})
        })
      }
    },

    // ---- inventory (WMS / ERP): a node key for its own node, the ops token for any ----
    { method: "post", pattern: "/v1/inventory/receive", allow: nodeOrOps, handler: inventory("receive", (x) => ({ type: "inventory.receive", ...x })) },
    { method: "post", pattern: "/v1/inventory/adjust", allow: nodeOrOps, handler: inventory("adjust", (x) => ({ type: "inventory.adjust", ...x })) },
    { method: "post", pattern: "/v1/inventory/safety-stock", allow: nodeOrOps, handler: inventory("safety-stock", (x) => ({ type: "inventory.setSafetyStock", ...x })) },
    {
      method: "post", pattern: "/v1/inventory/load", allow: nodeOrOps, bodyBytesMax: config.loadBodyBytesMax,
      handler: inventory("load", (x) => ({ type: "inventory.load", ...x }))
    },
    {
      method: "get", pattern: "/v1/pools/:nodeId/:sku", allow: nodeOrOps,
      handler: async (call, p) => {
        const [nodeId, sku] = call.params
        const refused = ownNode(p, nodeId)
        if (refused) return refused
        const pool = await engine.pool(sku, nodeId)
        return pool ? json(200, { pool }) : err(gatewayError("not_found", `no pool for SKU ${sku} at node ${nodeId}`))
      }
    },
    {
      method: "get", pattern: "/v1/pools/:nodeId/:sku/history", allow: nodeOrOps,
      handler: async (call, p) => {
        const [nodeId, sku] = call.params
        const refused = ownNode(p, nodeId)
        if (refused) return refused
        const limit = Math.max(1, Math.min(10_000, Number(call.query.get("limit") ?? 1000) || 1000))
        if (!(await engine.pool(sku, nodeId))) return err(gatewayError("not_found", `no pool for SKU ${sku} at node ${nodeId}`))
        return json(200, { sku, nodeId, history: await engine.poolHistory(sku, nodeId, limit) })
      }
    },

    {
      method: "post", pattern: "/v1/inventory/import", allow: nodeOrOps, bodyBytesMax: config.loadBodyBytesMax, rawBody: true,
      handler: async (call, p) => {
        const parsed = parseInventoryCsv(call.rawBody?.toString("utf8") ?? "", config.csvRowsMax)
        if (!parsed.ok) return err(parsed.error)
        const results: Array<RowResult> = [...parsed.rejected]
        const mine = parsed.rows.filter((r) => {
          if (p.kind !== "node" || r.load.nodeId === p.nodeId) return true
          results.push({ row: r.row, sku: r.load.sku, node: r.load.nodeId, status: "rejected", error: gatewayError("forbidden", `this key is for node ${p.nodeId}`) })
          return false
        })
        for (let i = 0; i < mine.length; i += importChunkRows) {
          const chunk = mine.slice(i, i + importChunkRows)
          const replies = await Promise.all(chunk.map((r) => engine.submit({ type: "inventory.load", rows: [r.load], reference: "csv import" })))
          replies.forEach((reply, j) => {
            const r = chunk[j]
            results.push(reply.ok
              ? { row: r.row, sku: r.load.sku, node: r.load.nodeId, status: "applied" }
              : { row: r.row, sku: r.load.sku, node: r.load.nodeId, status: "rejected", error: clientError({ code: reply.code, message: reply.message.replace(/^row 1: /, "") }) })
          })
        }
        results.sort((a, b) => a.row - b.row)
        const applied = results.filter((r) => r.status === "applied").length
        return json(200, { applied, rejected: results.length - applied, rows: results })
      }
    },
    {
      method: "get", pattern: "/v1/inventory/export", allow: nodeOrOps,
      handler: async (call, p) => {
        const node = call.query.get("node")
        const nodeId = p.kind === "node" ? p.nodeId : node
        if (p.kind === "node" && node !== null && node !== p.nodeId) return ownNode(p, node)!
        return csv(inventoryCsv(await engine.pools(nodeId)), `inventory${nodeId ? `-${nodeId}` : ""}.csv`)
      }
    },

    // ---- reports (ops) ----
    {
      method: "get", pattern: "/v1/reports", allow: ["ops"],
      handler: async (call) => {
        const range = reportRange(call.query, Date.now())
        if (!range.ok) return err(range.error)
        const report = await engine.report(range.from, range.to)
        return call.query.get("format") === "csv" ? csv(reportCsv(report), "report.csv") : json(200, { report })
      }
    },
    {
      method: "get", pattern: "/v1/reports.csv", allow: ["ops"],
      handler: async (call) => {
        const range = reportRange(call.query, Date.now())
        if (!range.ok) return err(range.error)
        return csv(reportCsv(await engine.report(range.from, range.to)), "report.csv")
      }
    },

    // ---- integrations: authenticated by the sender's signature, not by a key ----
    {
      method: "post", pattern: "/v1/integrations/shopify/orders", allow: "public", rawBody: true, headers: shopifyHeaders,
      // no configured shop, or no signature: refused before the body is read
      precheck: (call) => {
        const domain = call.headers["x-shopify-shop-domain"] ?? ""
        if (!shopFor(deps.shopify ?? noShopifyShops, domain)) {
          return err(gatewayError("integration_not_configured", `no Shopify shop ${JSON.stringify(domain)} is configured (GATEWAY_SHOPIFY)`))
        }
        if ((call.headers["x-shopify-hmac-sha256"] ?? "") === "") return err(gatewayError("invalid_signature", "X-Shopify-Hmac-Sha256 is missing"))
        return undefined
      },
      handler: async (call) => {
        const shop = shopFor(deps.shopify ?? noShopifyShops, call.headers["x-shopify-shop-domain"] ?? "")
        if (!shop) return err(gatewayError("integration_not_configured", `no Shopify shop ${JSON.stringify(call.headers["x-shopify-shop-domain"] ?? "")} is configured (GATEWAY_SHOPIFY)`))
        const raw = call.rawBody ?? Buffer.alloc(0)
        const signature = call.headers["x-shopify-hmac-sha256"] ?? ""
        if (signature === "" || !verifyShopifySignature(shop.secret, raw, signature)) {
          return err(gatewayError("invalid_signature", "X-Shopify-Hmac-Sha256 is missing or does not match the body"))
        }
        const topic = call.headers["x-shopify-topic"] ?? ""
        if (topic !== "" && topic !== "orders/create" && topic !== "orders/paid") {
          return err(gatewayError("unsupported_topic", `this route takes orders/create and orders/paid, not ${topic}`))
        }
        let body: unknown
        try {
          body = JSON.parse(raw.toString("utf8"))
        } catch {
          return err(gatewayError("malformed_json", "the body is not valid JSON"))
        }
        const decoded = decodeShopifyOrder(body)
        if (Result.isFailure(decoded)) return err(gatewayError("invalid_frame", decoded.failure.message.replace(/\s*\n\s*/g, " ")))
        const mapped = mapShopifyOrder(decoded.success, shop.channel)
        if (!mapped.ok) return err(mapped.error)
        if (topic === "orders/paid") {
          // the payment of an order taken as pending (orders/create came first): record it, once
          const known = await engine.orderByExternal(shop.channel, mapped.command.externalId)
          if (known?.payment === "pending") {
            const paid = await engine.submit({ type: "order.payment", orderId: known.orderId, channel: shop.channel, outcome: "authorised" })
            return answerOf(outcomeOf(paid, false))
          }
          if (known) return json(200, { order: known, existing: true })
          // orders/paid before orders/create: the order is placed as paid; the later orders/create is then `existing`
        }
        const reply = await engine.submit(mapped.command)
        return answerOf(outcomeOf(reply, reply.ok && reply.existing !== true))
      }
    },

    // ---- ops admin ----
    { method: "post", pattern: "/v1/admin/nodes", allow: ["ops"], handler: admin("nodes", (x) => ({ type: "node.upsert", ...x })) },
    { method: "post", pattern: "/v1/admin/skus", allow: ["ops"], handler: admin("skus", (x) => ({ type: "sku.upsert", ...x })) },
    { method: "post", pattern: "/v1/admin/channels", allow: ["ops"], handler: admin("channels", (x) => ({ type: "channel.upsert", ...x })) },
    { method: "post", pattern: "/v1/admin/carriers", allow: ["ops"], handler: admin("carriers", (x) => ({ type: "carrier.upsert", ...x })) },
    { method: "get", pattern: "/v1/admin/carriers", allow: ["ops"], handler: async () => json(200, { carriers: await engine.carriers() }) },
    { method: "get", pattern: "/v1/admin/stats", allow: ["ops"], handler: async () => json(200, { engine: await engine.stats() }) },

    // ---- ops dashboard: the charts' history, order search and timeline (any channel) ----
    {
      method: "get", pattern: "/v1/ops/history", allow: ["ops"],
      handler: async (call) => {
        const seconds = Number(call.query.get("seconds") ?? "")
        if (!Number.isInteger(seconds) || seconds < historyRangeMinSec || seconds > historyRangeMaxSec) {
          return err(gatewayError("invalid_range", `seconds: a whole number of seconds from ${historyRangeMinSec} to ${historyRangeMaxSec} (7 days)`))
        }
        const answer = deps.history ? deps.history.answer(seconds) : await engine.opsHistory(seconds)
        return answer ? json(200, answer) : err(gatewayError("not_found", "this gateway keeps no ops history"))
      }
    },
    {
      method: "get", pattern: "/v1/ops/orders", allow: ["ops"],
      handler: async (call) => {
        const q = (call.query.get("q") ?? "").trim()
        if (q === "" || q.length > 256) return err(gatewayError("invalid_frame", "q: an order id or an external id of 1..256 characters"))
        return json(200, { orders: await engine.orderSearch(q) })
      }
    },
    {
      // a node's drill-down on the dashboard: its open shipments, oldest first
      method: "get", pattern: "/v1/ops/nodes/:nodeId/shipments", allow: ["ops"],
      handler: async (call) => {
        const nodeId = call.params[0]
        const given = call.query.get("limit")
        const limit = given === null ? nodeShipmentsListedDefault : Number(given)
        if (!Number.isInteger(limit) || limit < 1 || limit > nodeShipmentsListedMax) {
          return err(gatewayError("invalid_frame", `limit: an integer of 1..${nodeShipmentsListedMax}`))
        }
        const node = (await engine.nodes()).find((n) => n.nodeId === nodeId)
        if (!node) return err({ code: "unknown_node", message: "no fulfillment node has this id" })
        const open = await engine.nodeShipments(nodeId, limit)
        return json(200, { ...open, status: node.status, capacityPerDay: node.capacityPerDay, shipmentsToday: node.shipmentsToday })
      }
    },
    {
      method: "get", pattern: "/v1/ops/orders/:orderId/timeline", allow: ["ops"],
      handler: async (call) => {
        const timeline = await engine.orderTimeline(call.params[0])
        return timeline ? json(200, timeline) : err({ code: "order_not_found", message: "no order has this id" })
      }
    },

    // ---- ops console: alert groups (acknowledge, mute) and the audit log ----
    { method: "get", pattern: "/v1/ops/alerts", allow: ["ops"], handler: (call) => console_.list(call) },
    { method: "post", pattern: "/v1/ops/alerts/:alertId/acknowledge", allow: ["ops"], audit: false, handler: console_.act("acknowledge") },
    { method: "post", pattern: "/v1/ops/alerts/:alertId/mute", allow: ["ops"], audit: false, handler: console_.act("mute") },
    { method: "get", pattern: "/v1/ops/audit", allow: ["ops"], handler: (call) => console_.audit(call) },

    // ---- the engine owner's internal routes, for edge gateways ----
    { method: "post", pattern: "/internal/v1/audit", allow: ["internal"], handler: (call) => console_.recordFromEdge(call) },
    {
      method: "post", pattern: "/internal/v1/engine", allow: ["internal"], bodyBytesMax: config.loadBodyBytesMax,
      handler: async (call) => {
        if (!(engine instanceof LocalEngine)) return err(gatewayError("not_found", "this gateway does not own the engine"))
        const d = decode(internalCall, call.body)
        if (!d.ok) return err(d.error)
        const method = d.value.method as EngineMethod
        const fn = engine[method] as (...args: ReadonlyArray<unknown>) => Promise<unknown>
        return json(200, { result: await fn.apply(engine, [...d.value.args]) })
      }
    }
  ]
}

/**
 * Routes that may use the connections kept in reserve (connectionsReserved):
 * health, readiness and metrics for load balancers and monitoring, every
 * route a node key may call, and the internal route edges depend on.
 */
const priorityRoute = (r: Route): boolean =>
  r.pattern === "/healthz" || r.pattern === "/readyz" || r.pattern === "/metrics" || (r.allow !== "public" && (r.allow.includes("node") || r.allow.includes("internal")))

/**
 * Registers every route, 405 for other methods on a known path, and 404 for
 * unknown paths. The key is checked from the headers before any body byte is
 * read (401/403 at once), as are the Content-Length (413) and the bodies
 * buffered across requests (503 gateway_busy).
 */
export const mountHttpApi = (app: TemplatedApp, deps: HttpApiDeps): void => {
  const { config, keys, metrics } = deps
  const keyLimits = deps.keyLimits ?? new KeyLimits(config)
  const routes = httpRoutes({ ...deps, keyLimits })
  const audit = opsConsoleHandlers(deps.opsConsole, (e) => errorAnswer(e, config.retryAfterSec))
  const patterns = new Set<string>()
  for (const route of routes) {
    patterns.add(route.pattern)
    const params = route.pattern.split("/").filter((s) => s.startsWith(":")).length
    const op = `${route.method.toUpperCase()} ${route.pattern}`
    const priority = priorityRoute(route)
    const connections = deps.connections ? { gate: deps.connections, priority } : undefined
    app[route.method](route.pattern, (res, req) => {
      const started = performance.now()
      if ((!connections || connections.gate.admits(priority)) && route.answered?.(res, req)) return metrics.request("http", op, started, undefined)
      let principal: Principal = { kind: "ops", name: "public" }
      const admit = (call: Omit<HttpCall, "body">): HttpAnswer | undefined => {
        if (route.allow !== "public") {
          if (call.key === "") return errorAnswer(gatewayError("unauthorized", "pass a key as Authorization: Bearer <key> or X-Api-Key"), config.retryAfterSec)
          const p = keys.resolve(call.key)
          if (!p) return errorAnswer(gatewayError("unauthorized", "unknown API key"), config.retryAfterSec)
          if (!route.allow.includes(p.kind)) {
            return errorAnswer(gatewayError("forbidden", `${op} admits ${route.allow.join(" or ")} keys, not ${aKey(p.kind)}`), config.retryAfterSec)
          }
          // over a rate limit of the key: 429 with Retry-After, nothing run
          const now = performance.now()
          const limited = admitRequest(route.holdOp ?? op, now, keyLimits.of(call.key, p, now))
          if (limited) return answerFailure(failure(limited.error), config.retryAfterSec)
          principal = p
        }
        return route.precheck?.(call)
      }
      serve(res, req, params, {
        bodyBytesMax: route.bodyBytesMax ?? config.bodyBytesMax,
        rawBody: route.rawBody,
        headers: route.headers,
        retryAfterSec: config.retryAfterSec,
        done: (_status, code) => metrics.request("http", op, started, code),
        connections,
        admit,
        bodies: deps.bodies
      }, async (call, body) => {
        try {
          const answer = await route.handler({ ...call, body }, principal)
          // every change an ops token made goes in the audit log (who, what, why, when)
          if (principal.kind === "ops" && route.method !== "get" && route.audit !== false && route.allow !== "public" && answer.status < 400) {
            await audit.record(principal, route.audit ?? op, { ...call, body })
          }
          return answer
        } catch (e) {
          if (e instanceof EngineUnreachable) return answerFailure(failure(gatewayError("engine_unreachable", e.message)), config.retryAfterSec)
          throw e
        }
      })
    })
  }
  const other = deps.connections ? { gate: deps.connections, priority: false } : undefined
  for (const pattern of patterns) {
    app.any(pattern, (res, req) => {
      const started = performance.now()
      serve(res, req, 0, { bodyBytesMax: 0, retryAfterSec: config.retryAfterSec, connections: other, done: (_s, code) => metrics.request("http", "other", started, code) },
        async () => errorAnswer(gatewayError("method_not_allowed"), config.retryAfterSec))
    })
  }
}

const answerFailure = (o: Outcome, retryAfterSec: number): HttpAnswer =>
  o.ok ? json(200, o.result) : errorAnswer(o.error, retryAfterSec)

/** The catch-all 404; registered last so socket.io and the WS route keep their paths. */
export const mountNotFound = (app: TemplatedApp, deps: Pick<HttpApiDeps, "config" | "metrics" | "connections">): void => {
  const connections = deps.connections ? { gate: deps.connections, priority: false } : undefined
  app.any("/*", (res, req) => {
    const started = performance.now()
    serve(res, req, 0, { bodyBytesMax: 0, retryAfterSec: deps.config.retryAfterSec, connections, done: (_s, code) => deps.metrics.request("http", "other", started, code) },
      async (call) => errorAnswer(gatewayError("not_found", `no route ${call.method} ${call.path}`), deps.config.retryAfterSec))
  })
}
