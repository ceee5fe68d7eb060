/**
 * The gateway server: ONE uWebSockets.js app on one port serving the
 * storefront WS API (/v1/ws), the HTTP API (/v1/..., /healthz, /readyz,
 * /metrics), socket.io (the /ops namespace) and the ops dashboard page
 * (/dashboard/) - the one server through which
 * storefronts, fulfillment nodes and ops reach the engine.
 *
 * A gateway either owns the engine (LocalEngine: it derives changes from the
 * engine's commits, delivers the outbox, runs the ops feed and serves the
 * internal route edges forward to) or is an edge (RemoteEngine: it forwards
 * every command and read to the owner and hears changes through Redis).
 */
import uWS from "uWebSockets.js"
import { AvailabilityFeed } from "./availability-feed.ts"
import { ChangeHub, EngineChangeSource } from "./changes.ts"
import { mountDashboard } from "./dashboard-files.ts"
import type { GatewayConfig } from "./config.ts"
import { LocalEngine, type EngineAccess } from "./engine-access.ts"
import { closeCodes } from "./errors.ts"
import { mountHttpApi, mountNotFound, readiness } from "./http-api.ts"
import { BodyBudget, Connections } from "./connections.ts"
import { startHealthListener, type HealthListener } from "./health-listener.ts"
import type { KeyRing } from "./keys.ts"
import { GatewayMetrics } from "./metrics.ts"
import { OpsConsole } from "./ops-console.ts"
import { OpsFeed } from "./ops-feed.ts"
import { OpsHistory } from "./ops-history.ts"
import { OrderFeed } from "./order-feed.ts"
import { OutboxPump } from "./outbox-pump.ts"
import { RedisFanout } from "./redis-fanout.ts"
import type { ShopifyShops } from "./shopify.ts"
import type { WebhookTargets } from "./webhook-targets.ts"
import { wsBehavior } from "./ws-api.ts"
import type { SessionHolder, WsSession } from "./ws-session.ts"
import { AvailabilityCache } from "./availability-cache.ts"
import { KeyLimits } from "./rate-limits.ts"

export interface GatewayOptions {
  readonly config: GatewayConfig
  readonly keys: KeyRing
  readonly engine: EngineAccess
  /** Where customer notifications are POSTed, per channel (owner only). */
  readonly webhooks?: WebhookTargets
  /** With Redis: the socket.io Redis adapter, and changes fan out from the owner to every edge. */
  readonly redisUrl?: string
  /** The Redis channel changes fan out on (default oms:changes); gateways sharing one engine use the same. */
  readonly redisChannel?: string
  /** Shopify shops whose order webhooks are taken, each with its channel and secret. */
  readonly shopify?: ShopifyShops
  /** The built dashboard page (default dashboard/dist). */
  readonly dashboardDir?: string
  /** Cluster mode: the runners, their health and who owns each partition, shown on the ops feed. */
  readonly cluster?: () => Promise<unknown>
  /** Cluster mode: every stream ("net", "p0", ...), so that the ops feed names those no runner reports. */
  readonly clusterStreams?: ReadonlyArray<string>
  /** Alert groups and the audit log (default: opened for this gateway, ops-console.ts). */
  readonly opsConsole?: OpsConsole
}

export interface Gateway {
  readonly port: number
  /** http://host:port (127.0.0.1 when listening on every interface). */
  readonly url: string
  readonly owner: boolean
  readonly metrics: GatewayMetrics
  readonly hub: ChangeHub
  /** Open storefront WS connections. */
  connections(): number
  /** Everything counted against connectionsMax: storefront WS, socket.io clients, HTTP requests in progress. */
  connectionsHeld(): number
  /** The port of the health listener (healthPort), when there is one. */
  readonly healthPort?: number
  close(): Promise<void>
}

export const startGateway = async (options: GatewayOptions): Promise<Gateway> => {
  const { config, keys, engine } = options
  const metrics = new GatewayMetrics()
  const hub = new ChangeHub()
  const sessions = new Set<WsSession>()
  const availability = new AvailabilityFeed(engine, config.coalesceMs, metrics)
  const orders = new OrderFeed(engine)
  hub.subscribe((c) => availability.onChanges(c))
  hub.subscribe((c) => orders.onChanges(c))
  const owner = engine instanceof LocalEngine
  const availabilityCache = owner && config.availabilityCacheEntriesMax > 0
    ? new AvailabilityCache(engine.availabilityVersions, config.availabilityCacheEntriesMax)
    : undefined

  metrics.gauge("gateway_ws_connections", "Open storefront WS connections.", () => sessions.size)
  metrics.gauge("gateway_ws_availability_skus", "SKUs with at least one availability subscriber.", () => availability.subscribedSkus)
  metrics.gauge("gateway_ws_order_subscriptions", "Orders with at least one subscriber.", () => orders.subscribedOrders)
  if (availabilityCache) {
    const cache = availabilityCache
    metrics.gauge("gateway_availability_cache_entries", "Encoded availability answers kept.", () => cache.size)
    metrics.gauge("gateway_availability_cache_hits_total", "Availability answers served from the cache.", () => cache.hits)
    metrics.gauge("gateway_availability_cache_misses_total", "Availability answers computed (not in the cache, or changed since).", () => cache.misses)
  }

  const fanout = options.redisUrl ? await RedisFanout.connect(options.redisUrl, hub, owner, options.redisChannel) : undefined
  const source = owner ? new EngineChangeSource(engine.engine, hub) : undefined
  const pump = owner ? new OutboxPump(engine, hub, options.webhooks ?? { byChannel: {} }, config, metrics) : undefined

  const connections = new Connections(config)
  const bodies = new BodyBudget(config.bodyBytesBufferedMax)
  const keyLimits = new KeyLimits(config)
  metrics.gauge("gateway_connections", "Connections counted against connectionsMax (storefront WS, socket.io clients, HTTP requests in progress).", () => connections.total)
  metrics.gauge("gateway_body_bytes_buffered", "Request body bytes buffered across all HTTP requests (at most bodyBytesBufferedMax).", () => bodies.used)
  const ready = async (): Promise<Record<string, boolean>> => (fanout ? { redis: fanout.connected() } : {})

  // the charts' history: kept where ticks are made (the owner, with its store; a cluster gateway, in memory)
  const history = owner ? new OpsHistory(engine.store.opsHistory) : options.cluster ? new OpsHistory() : undefined
  await history?.load()
  if (owner) engine.history = history
  const opsConsole = options.opsConsole ?? await OpsConsole.open(engine, config, options.cluster !== undefined)

  const app = uWS.App()
  app.ws<SessionHolder>("/v1/ws", wsBehavior({ config, keys, engine, metrics, availability, orders, sessions, availabilityCache, connections, keyLimits }))
  mountHttpApi(app, { config, keys, engine, metrics, shopify: options.shopify, availabilityCache, ready, connections, bodies, keyLimits, history, opsConsole })
  mountDashboard(app, { dir: options.dashboardDir, metrics })
  const ops = await OpsFeed.attach(app, { config, keys, metrics, engine: owner ? engine : undefined, access: engine, redis: fanout, cluster: options.cluster, clusterStreams: options.clusterStreams, connections, history, opsConsole })
  connections.others = () => sessions.size + ops.clients()
  mountNotFound(app, { config, metrics, connections })

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (socket) => (socket ? resolve(socket) : reject(new Error(`gateway: cannot listen on ${config.host}:${config.port}`))))
  })
  const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket)
  let health: HealthListener | undefined
  if (config.healthPort > 0) {
    health = await startHealthListener(config.host, config.healthPort, {
      healthz: async () => ({ status: 200, body: { status: "ok" } }),
      readyz: () => readiness({ engine, ready, config })
    })
  }
  pump?.start()
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host

  let closing: Promise<void> | undefined
  return {
    port,
    url: `http://${host}:${port}`,
    owner,
    metrics,
    hub,
    connections: () => sessions.size,
    connectionsHeld: () => connections.total,
    healthPort: health?.port,
    close: () =>
      (closing ??= (async () => {
        uWS.us_listen_socket_close(listenSocket)
        await health?.close()
        // every connection drains before its 1001: requests in flight are answered, what is buffered is written
        // (at most closeDrainMs); frames arriving meanwhile are answered gateway_closing
        await Promise.all([...sessions].map((s) => s.close(closeCodes.goingAway, "gateway_closing")))
        availability.close()
        source?.close()
        await pump?.stop()
        await ops.close()
        await opsConsole.alerts?.flush().catch((e: unknown) => console.error(`gateway: alerts could not be stored at close: ${String(e)}`))
        await fanout?.close()
      })())
  }
}
