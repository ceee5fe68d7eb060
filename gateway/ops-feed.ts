/**
 * The socket.io ops feed, namespace /ops on the gateway's own port (socket.io
 * attached to the uWebSockets.js app). Viewers authenticate with the ops token
 * (`auth: { token }` in the socket.io handshake); anything else is refused
 * with a connect_error whose `data.code` is unauthorized or forbidden.
 *
 * Messages (server -> viewer):
 *   "hello"  once on connect: { nodes, intervalMs, operator, alerts } (the nodes read through the
 *            engine access, so an edge lists the owner's nodes too; the name the
 *            token acts under; every alert group where the gateway keeps them,
 *            ops-console.ts)
 *   "tick"   one OpsTick per opsTickMs (ops-aggregator.ts), whatever the load
 *            (cluster mode: merged from the runners' partial ticks), with the
 *            alert groups changed and the audit entries recorded since the previous one
 *   "cluster" (cluster mode) per opsTickMs: the runners, their health and
 *            which runner owns each partition with its owner epoch
 *            (gateway/cluster-access.ts ClusterView); each gateway sends it
 *            to its own viewers only
 *
 * Embedded mode: only the engine owner aggregates and emits; with Redis the
 * socket.io Redis adapter carries its ticks to viewers connected to any
 * gateway process.
 *
 * Cluster mode: no process owns the engine. Each runner publishes a partial
 * tick of the partitions it hosts on Redis (redis-fanout.ts
 * opsPartialsChannel); each cluster gateway merges the latest of every runner
 * heard within partialsStaleAfterTicks intervals (ops-merge.ts) with its own
 * request figures and sends the tick to its own viewers only (as `cluster`):
 * every cluster gateway merges, so a broadcast through the adapter would
 * reach each viewer once per gateway.
 */
import { createAdapter } from "@socket.io/redis-adapter"
import { Server, type Socket } from "socket.io"
import type { TemplatedApp } from "uWebSockets.js"
import type { GatewayConfig } from "./config.ts"
import type { Connections } from "./connections.ts"
import { aKey } from "./errors.ts"
import type { EngineAccess, LocalEngine } from "./engine-access.ts"
import type { KeyRing } from "./keys.ts"
import type { GatewayMetrics } from "./metrics.ts"
import { GatewayFigures, OpsAggregator } from "./ops-aggregator.ts"
import type { OpsConsole } from "./ops-console.ts"
import { isPartialTick, mergeTicks, PartialTicks } from "./ops-merge.ts"
import type { OpsTick } from "./ops-feed-types.ts"
import type { OpsHistory } from "./ops-history.ts"
import type { RedisFanout } from "./redis-fanout.ts"

export const opsNamespace = "/ops"

export interface OpsFeedDeps {
  readonly config: GatewayConfig
  readonly keys: KeyRing
  readonly metrics: GatewayMetrics
  /** The engine when this process owns it (then it aggregates and emits). */
  readonly engine: LocalEngine | undefined
  /** How this process reads the engine (local, or the owner's internal route on an edge). */
  readonly access: EngineAccess
  readonly redis: RedisFanout | undefined
  /** Cluster mode: the view of runners and partition ownership. */
  readonly cluster?: () => Promise<unknown>
  /** Cluster mode: every stream a runner should report figures for ("net", "p0", ...); one no runner reports is alerted. */
  readonly clusterStreams?: ReadonlyArray<string>
  /** What the gateway holds: a new socket.io client (handshake) is refused from connectionsMax - connectionsReserved on. */
  readonly connections?: Connections
  /** Where each tick this process makes is kept for the charts (ops-history.ts). */
  readonly history?: OpsHistory
  /** Alert groups fed by each tick, and the audit log, pushed to viewers as `alerts` and `audit` (ops-console.ts). */
  readonly opsConsole?: OpsConsole
}

/** On closing, how long the last ops counters and chart points may take to be written. */
export const opsCloseWriteWaitMs = 2_000

/** A runner whose partial tick has not been heard for this many intervals is left out (it died, or lost Redis). */
export const partialsStaleAfterTicks = 3

/** Cluster mode: hears the runners' partial ticks and emits their merge once per opsTickMs. */
const clusterTicks = async (redis: RedisFanout, deps: OpsFeedDeps, emit: (tick: OpsTick) => void): Promise<ReturnType<typeof setInterval>> => {
  const { config } = deps
  const partials = new PartialTicks(partialsStaleAfterTicks * config.opsTickMs)
  await redis.onPartials((message) => {
    if (isPartialTick(message)) partials.heard(message, Date.now())
  })
  const figures = new GatewayFigures(deps.metrics)
  let overCapacity: ReadonlySet<string> = new Set()
  const timer = setInterval(() => {
    try {
      const merged = mergeTicks({ sources: partials.take(Date.now()), gateway: figures.take(), limits: config, overCapacity, expectedStreams: deps.clusterStreams })
      overCapacity = merged.overCapacity
      emit(deps.opsConsole ? deps.opsConsole.withTick(merged.tick, merged.readings) : merged.tick)
    } catch (e) {
      console.error(`gateway: ops tick failed: ${String(e)}`)
    }
  }, config.opsTickMs)
  timer.unref?.()
  return timer
}

const refusal = (code: "unauthorized" | "forbidden", message: string): Error =>
  Object.assign(new Error(message), { data: { code, message } })

export class OpsFeed {
  private timer: ReturnType<typeof setInterval> | undefined
  private clusterTimer: ReturnType<typeof setInterval> | undefined

  private constructor(private readonly io: Server, private readonly aggregator: OpsAggregator | undefined, private readonly history: OpsHistory | undefined) {}

  static async attach(app: TemplatedApp, deps: OpsFeedDeps): Promise<OpsFeed> {
    const io = new Server({
      serveClient: false, transports: ["websocket", "polling"], cors: { origin: "*" },
      // a client that has not joined /ops with the token by then is closed (socket.io's default is 45 s)
      connectTimeout: deps.config.authenticateWithinMs,
      // what a viewer sends is small: a polling POST or WS message over frameBytesMax is refused, not buffered
      maxHttpBufferSize: deps.config.frameBytesMax,
      // every socket.io client counts against connectionsMax (from connectionsMax - connectionsReserved on, none is taken)
      allowRequest: (_req, callback) => {
        if (!deps.connections || deps.connections.admits(false)) callback(null, true)
        else callback("too_many_connections", false)
      }
    })
    if (deps.redis) io.adapter(createAdapter(deps.redis.adapterPub, deps.redis.adapterSub, { key: deps.redis.adapterKey }))
    io.attachApp(app)
    const authorize = (socket: Socket, next: (err?: Error) => void) => {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token
      if (typeof token !== "string" || token === "") return next(refusal("unauthorized", "pass the ops token as auth: { token }"))
      const p = deps.keys.resolve(token)
      if (!p) return next(refusal("unauthorized", "unknown token"))
      if (p.kind !== "ops") return next(refusal("forbidden", `${aKey(p.kind)} cannot watch the ops feed`))
      socket.data.operator = p.name
      next()
    }
    io.of("/").use((_socket, next) => next(refusal("forbidden", `connect to the ${opsNamespace} namespace`)))
    const nsp = io.of(opsNamespace)
    nsp.use(authorize)
    deps.metrics.gauge("gateway_ops_viewers", "socket.io ops feed viewers connected to this process.", () => nsp.sockets.size)
    const aggregator = deps.engine ? new OpsAggregator(deps.engine, deps.config, deps.metrics) : undefined
    const emitTick = (tick: OpsTick, to: { emit: (ev: string, tick: OpsTick) => unknown }) => {
      deps.history?.record(tick)
      to.emit("tick", tick)
    }
    const opsConsole = deps.opsConsole
    nsp.on("connection", (socket) => {
      // every alert group as the hello is sent; the ticks carry the changes from then on
      const rest = () => ({ intervalMs: deps.config.opsTickMs, operator: socket.data.operator as string, ...(opsConsole?.alerts ? { alerts: opsConsole.alerts.everything() } : {}) })
      deps.access.nodes().then(
        (nodes) => socket.emit("hello", { nodes, ...rest() }),
        (e: unknown) => {
          console.error(`gateway: ops hello could not read the nodes: ${String(e)}`)
          socket.emit("hello", { nodes: [], ...rest() })
        }
      )
    })
    const feed = new OpsFeed(io, aggregator, deps.history)
    if (aggregator) {
      feed.timer = setInterval(() => {
        try {
          const { tick, readings } = aggregator.tick()
          emitTick(opsConsole ? opsConsole.withTick(tick, readings) : tick, nsp)
        } catch (e) {
          console.error(`gateway: ops tick failed: ${String(e)}`)
        }
      }, deps.config.opsTickMs)
      feed.timer.unref?.()
    } else if (deps.cluster && deps.redis) {
      feed.timer = await clusterTicks(deps.redis, deps, (tick) => emitTick(tick, nsp.local))
    }
    const cluster = deps.cluster
    if (cluster) {
      let busy = false
      feed.clusterTimer = setInterval(() => {
        if (busy || nsp.sockets.size === 0) return
        busy = true
        cluster().then(
          (view) => nsp.local.emit("cluster", view),
          (e) => console.error(`gateway: cluster view failed: ${String(e)}`)
        ).finally(() => (busy = false))
      }, deps.config.opsTickMs)
      feed.clusterTimer.unref?.()
    }
    return feed
  }

  /** socket.io clients of this process (WS or polling, in a namespace or not yet). */
  clients(): number {
    return this.io.engine?.clientsCount ?? 0
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    clearInterval(this.clusterTimer)
    // what the store should keep of this run: the last counters and points (not waited for past opsCloseWriteWaitMs: a store that is down must not hold the shutdown)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opsCloseWriteWaitMs)
      void Promise.all([this.aggregator?.close(), this.history?.close()]).finally(() => {
        clearTimeout(timer)
        resolve()
      })
    })
    this.io.of(opsNamespace).disconnectSockets(true)
    await new Promise<void>((resolve) => {
      // Server.close also closes the engine.io server; the uWS listen socket is closed by the gateway.
      this.io.close(() => resolve())
      setTimeout(resolve, 500).unref?.()
    })
  }
}
