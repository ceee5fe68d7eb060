/**
 * What the ops feed says each tick, aggregated server-side from the engine's
 * committed events and the gateway's request metrics:
 *
 *   metrics   orders, reservations, latency percentiles, fill and split rate, backordered units
 *   routing   up to opsRoutingSamplesPerTickMax routing decisions with their explanation, plus counts by reason
 *   nodes     status changes this tick, and the most loaded nodes (shipments today / capacity)
 *   alerts    low stock, hot SKU, node over capacity, store errors, shipments late against their
 *             promise and carrier exceptions (at most opsAlertsPerTickMax listed)
 *   arcs      up to opsArcsPerTickMax routing decisions as node -> customer arcs, with how they were routed
 *   holds     cart holds open, expiring within opsHoldsExpiringMs, expired in the tick
 *   skus      the hottest SKUs of the tick and the lowest pools reserved from
 *   nodes     every node's status, load, rejections and short picks (the dashboard's node table)
 *
 * The work per event is a few counter updates; everything else happens once per tick.
 *
 * In two steps, so that the same code serves one engine and a cluster:
 * `EngineOps` folds the committed events of the engines a process holds (the
 * owner gateway's one engine, or a runner's partition engines) into a
 * `PartialTick` of summable counts and bounded lists; `mergeTicks`
 * (ops-merge.ts) turns the partial ticks of every such process, with the
 * gateway's own request figures, into the OpsTick viewers get. The owner
 * merges its one partial tick; a cluster gateway merges the runners' partial
 * ticks heard on Redis (ops-merge.ts PartialTicks).
 *
 * Longer than the ~450 lines other files keep to: the tick's types and the
 * three classes that fill them (EngineOps, GatewayFigures, OpsAggregator)
 * change together whenever the feed gains a figure.
 */
import { Queries, type Engine, type EngineEvent, type OpsHistoryStore, type OrderRouted } from "../engine/index.ts"
import type { GatewayConfig } from "./config.ts"
import type { LocalEngine } from "./engine-access.ts"
import type { GatewayMetrics } from "./metrics.ts"
import { NodeCounters, type NodeCounter } from "./ops-counters.ts"
import { keptAlerts, mergeTicks, worstOf } from "./ops-merge.ts"
import { PipelineFold } from "./ops-pipeline.ts"
import type { Alert, ArcKind, OpsTick, PartialNodeRow, PartialTick, PoolReading, RoutingArc, RoutingSample } from "./ops-feed-types.ts"

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000

/** Most severe first: store and engine, capacity, late shipments, hot SKUs, then low stock. */
export const alertRank: Readonly<Record<Alert["kind"], number>> = {
  engine_not_running: 0, store_errors: 1, node_over_capacity: 2, shipment_late: 3, shipment_exception: 4, hot_sku: 5, low_stock: 6
}

/** Alerts most severe first, in their order within a kind (the sort is stable). */
export const bySeverity = (alerts: ReadonlyArray<Alert>): Array<Alert> => [...alerts].sort((a, b) => alertRank[a.kind] - alertRank[b.kind])

type Limits = Pick<GatewayConfig, "opsRoutingSamplesPerTickMax" | "opsArcsPerTickMax" | "opsAlertsPerTickMax" | "opsSkusListedMax" | "opsHoldsExpiringMs" | "lowStockUnits" | "hotSkuReservationsPerTick"> &
  Partial<Pick<GatewayConfig, "opsLowPoolsTrackedMax">>

/** Pool readings one partial tick carries at most (the others are read again the next tick). */
export const poolReadingsPerTickMax = 5_000

/**
 * The event fold of the ops feed over the engines one process holds: the
 * owner gateway's engine, or the partition engines of a runner (attached as
 * the cluster activates them, detached when they close). An event is looked
 * up (its order's destination, its shipment's node) in the engine that
 * committed it.
 */
export class EngineOps {
  private orders = 0
  private reservations = 0
  private unitsOrdered = 0
  private unitsRouted = 0
  private placedRoutings = 0
  private splits = 0
  private backordered = 0
  private cancellations = 0
  private reroutes = 0
  private byReason: Record<string, number> = {}
  private samples: Array<RoutingSample> = []
  private statusChanges: Array<{ nodeId: string; status: string; reason: string }> = []
  /**
   * Pools reserved from in this tick, by SKU then node, with their engine, and
   * the order they were first reserved from in; a pool already listed costs no
   * allocation (every hold of a peak passes here, and entries replaced within
   * the tick would outlive young collections).
   */
  private reservedPools = new Map<string, Map<string, Engine>>()
  private reservedOrder: Array<{ readonly sku: string; readonly nodeId: string }> = []
  private reservationsBySku = new Map<string, number>()
  private lastTickMs = performance.now()
  private arcs: Array<RoutingArc> = []
  private holdsExpired = 0
  /** Since the journal began, per stream and node, kept in the store (ops-counters.ts). */
  private readonly counters: NodeCounters
  /** Shipment alerts of the tick (late against their promise, carrier exceptions), at most opsAlertsPerTickMax kept. */
  private shipmentAlerts: Array<Alert> = []
  private shipmentAlertsDropped = 0
  /**
   * Pools seen at or below lowStockUnits, followed (their ATP read each tick)
   * until they are back above it; at most opsLowPoolsTrackedMax. `reported`:
   * the ATP last put in a partial tick.
   */
  private readonly lowPools = new Map<string, { readonly sku: string; readonly nodeId: string; engine: Engine; reported: number | undefined }>()
  /** Orders by state, late and at-risk shipments, the oldest backorder (ops-pipeline.ts). */
  private readonly pipeline = new PipelineFold()
  /** The engines folded, by stream, with how to stop listening. */
  private readonly engines = new Map<string, { engine: Engine; unsubscribe: () => void }>()

  /** `store`: where the per-node counters are kept across restarts (the engine's store). */
  constructor(private readonly config: Limits, store?: OpsHistoryStore) {
    this.counters = new NodeCounters(store)
  }

  /** Folds this engine's committed events from now on, until `detach` (or until another engine is attached for the stream). */
  attach(stream: string, engine: Engine): () => void {
    this.engines.get(stream)?.unsubscribe()
    this.counters.attach(stream)
    const unsubscribe = engine.subscribe((batch) => {
      for (const j of batch.events) this.onEvent(j.event, engine, stream)
    })
    this.engines.set(stream, { engine, unsubscribe })
    return () => {
      unsubscribe()
      if (this.engines.get(stream)?.engine === engine) {
        this.engines.delete(stream)
        this.counters.detach(stream)
      }
    }
  }

  /** Stops folding; resolves once the counters are written. */
  close(): Promise<void> {
    for (const e of this.engines.values()) e.unsubscribe()
    this.engines.clear()
    return this.counters.saveAll()
  }

  private onEvent(e: EngineEvent, engine: Engine, stream: string): void {
    this.pipeline.onEvent(e)
    switch (e.type) {
      case "OrderPlaced":
        this.orders++
        for (const l of e.lines) this.unitsOrdered += l.qty
        break
      case "HoldPlaced":
      case "StockReserved": {
        this.reservations++
        this.reservationsBySku.set(e.sku, (this.reservationsBySku.get(e.sku) ?? 0) + 1)
        let nodes = this.reservedPools.get(e.sku)
        if (nodes === undefined) this.reservedPools.set(e.sku, (nodes = new Map()))
        const known = nodes.get(e.nodeId)
        if (known === undefined) this.reservedOrder.push({ sku: e.sku, nodeId: e.nodeId })
        if (known !== engine) nodes.set(e.nodeId, engine)
        break
      }
      case "OrderRouted": {
        this.byReason[e.reason] = (this.byReason[e.reason] ?? 0) + 1
        const back = e.backordered.reduce((n, b) => n + b.qty, 0)
        this.backordered += back
        if (e.reason === "placed") {
          this.placedRoutings++
          if (e.shipments.length > 1) this.splits++
          for (const s of e.shipments) for (const l of s.lines) this.unitsRouted += l.qty
        } else this.reroutes++
        if (this.samples.length < this.config.opsRoutingSamplesPerTickMax) {
          this.samples.push({
            orderId: e.orderId,
            reason: e.reason,
            shipments: e.shipments.map((s) => ({ nodeId: s.nodeId, units: s.lines.reduce((n, l) => n + l.qty, 0), distanceKm: Math.round(s.distanceKm), costCents: Math.round(s.costCents) })),
            backorderedUnits: back,
            explanation: e.explanation.summary,
            candidates: e.explanation.candidates.slice(0, 3).map((c) => ({ nodeId: c.nodeId, costCents: Math.round(c.costCents), verdict: c.verdict }))
          })
        }
        break
      }
      case "OrderCancelled":
        this.cancellations++
        break
      case "StockAdjusted":
      case "SafetyStockSet": {
        // stock taken away without a reservation can make a pool low too
        let nodes = this.reservedPools.get(e.sku)
        if (nodes === undefined) this.reservedPools.set(e.sku, (nodes = new Map()))
        if (!nodes.has(e.nodeId)) this.reservedOrder.push({ sku: e.sku, nodeId: e.nodeId })
        nodes.set(e.nodeId, engine)
        break
      }
      case "NodeStatusChanged":
        this.statusChanges.push({ nodeId: e.nodeId, status: e.status, reason: e.reason })
        break
      case "HoldEnded":
        if (e.reason === "expired") this.holdsExpired++
        break
      case "ShipmentWithdrawn":
        if (e.reason === "rejected") this.countAtNode(engine, stream, "rejections", e.orderId, e.shipmentId)
        break
      case "ShipmentPicked":
        if (e.short.length > 0) this.countAtNode(engine, stream, "short_picks", e.orderId, e.shipmentId)
        break
      case "ShipmentLate":
        this.shipmentAlert({
          kind: "shipment_late", orderId: e.orderId, shipmentId: e.shipmentId,
          message: `${e.shipmentId} late against its promise (by ${new Date(e.promisedBy).toISOString().slice(0, 10)}): ${e.cause === "estimate" ? "the carrier's estimate is later" : "not delivered"}`
        })
        break
      case "ShipmentTracked":
        if (e.status === "exception") {
          this.shipmentAlert({ kind: "shipment_exception", orderId: e.orderId, shipmentId: e.shipmentId, message: `${e.shipmentId}: carrier exception${e.detail ? `: ${e.detail}` : ""}` })
        }
        break
    }
    if (e.type === "OrderRouted" && this.arcs.length < this.config.opsArcsPerTickMax) this.addArc(e, engine)
  }

  private countAtNode(engine: Engine, stream: string, counter: NodeCounter, orderId: string, shipmentId: string): void {
    const nodeId = engine.view.orderById(orderId)?.shipments.find((s) => s.shipmentId === shipmentId)?.nodeId
    if (nodeId !== undefined) this.counters.add(stream, counter, nodeId)
  }

  private addArc(e: OrderRouted, engine: Engine): void {
    const order = engine.view.orderById(e.orderId)
    if (!order) return
    const pickup = order.fulfillment === "pickup"
    const kind: ArcKind = e.reason !== "placed" ? "rerouted"
      : e.shipments.length === 0 ? "backordered"
      : pickup ? "pickup"
      : e.shipments.length > 1 ? "split" : "single"
    this.arcs.push({
      orderId: e.orderId,
      kind,
      to: { lat: round4(order.destination.lat), lon: round4(order.destination.lon) },
      from: e.shipments.map((s) => s.nodeId)
    })
  }

  /**
   * Live holds, and those whose TTL ends within opsHoldsExpiringMs (engine
   * clock). The expiring ones are read off each partition's expiry heap, which
   * visits only timers due in the window (a hold extended or ended leaves a
   * stale timer there: counted only if it is still the hold's own), so a tick
   * costs the holds about to expire, not every open hold.
   */
  private holdCounts(engine: Engine): { open: number; expiringSoon: number } {
    const view = engine.view
    const until = view.now + this.config.opsHoldsExpiringMs
    let open = 0
    let expiringSoon = 0
    for (const p of view.partitions) {
      const holds = p.stock.holds
      open += holds.size
      p.stock.holdExpiry.forEachDue(until, (due, holdNo) => {
        if (holds.expiresAt(holdNo) === due) expiringSoon++
      })
    }
    return { open, expiringSoon }
  }

  /** Late shipments are critical: never dropped; carrier exceptions at most opsAlertsPerTickMax a tick. */
  private shipmentAlert(a: Alert): void {
    if (a.kind === "shipment_late" || this.shipmentAlerts.length < this.config.opsAlertsPerTickMax) this.shipmentAlerts.push(a)
    else this.shipmentAlertsDropped++
  }

  /**
   * The ATP now of every low pool followed whose ATP changed since it was last
   * reported (at most poolReadingsPerTickMax; the rest next tick). A pool back
   * above lowStockUnits is reported once more and no longer followed; one whose
   * engine closed (its partition moved) is left to its new owner.
   */
  private poolReadings(live: ReadonlySet<Engine>): Array<PoolReading> {
    const out: Array<PoolReading> = []
    const at = Date.now()
    for (const [key, f] of this.lowPools) {
      if (out.length >= poolReadingsPerTickMax) break
      const pool = live.has(f.engine) ? Queries.pool(f.engine.view, f.sku, f.nodeId) : undefined
      if (!pool) {
        this.lowPools.delete(key)
        continue
      }
      if (pool.atp === f.reported) continue
      out.push({ sku: f.sku, nodeId: f.nodeId, atp: pool.atp, at })
      f.reported = pool.atp
      if (pool.atp > this.config.lowStockUnits) this.lowPools.delete(key)
    }
    return out
  }

  /**
   * Node rows summed over the running engines: each engine counts the
   * shipments of its own partitions today (a runner's partition engines hold
   * one partition each; the owner's engine all of them).
   */
  private nodeRows(running: ReadonlyArray<Engine>): Array<PartialNodeRow> {
    const rows = new Map<string, PartialNodeRow>()
    for (const engine of running) {
      for (const n of Queries.nodes(engine.view)) {
        const seen = rows.get(n.nodeId)
        rows.set(n.nodeId, {
          nodeId: n.nodeId, kind: n.kind, status: n.status, capacityPerDay: n.capacityPerDay,
          shipmentsToday: (seen?.shipmentsToday ?? 0) + n.shipmentsToday,
          rejections: this.counters.total("rejections", n.nodeId), shortPicks: this.counters.total("short_picks", n.nodeId)
        })
      }
    }
    return [...rows.values()]
  }

  /**
   * The partial tick since the previous one; resets the counters.
   * `source` names this process in it (a runner's name, or "owner").
   */
  partial(source: string): PartialTick {
    const now = performance.now()
    const intervalMs = now - this.lastTickMs
    this.lastTickMs = now
    const { opsSkusListedMax, opsAlertsPerTickMax } = this.config
    const attached = [...this.engines]
    const stats = attached.map(([stream, { engine }]) => ({ stream, engine, stats: engine.stats() }))
    const running = stats.filter((s) => s.stats.state === "running")
    const live = new Set(attached.map(([, { engine }]) => engine))

    const alerts: Array<Alert> = []
    const low: Array<{ sku: string; nodeId: string; atp: number }> = []
    for (const { sku, nodeId } of this.reservedOrder) {
      const engine = this.reservedPools.get(sku)!.get(nodeId)!
      // a pool of an engine closed within the tick (its partition moved) is the new owner's to report
      const pool = live.has(engine) ? Queries.pool(engine.view, sku, nodeId) : undefined
      if (pool && pool.atp <= this.config.lowStockUnits) {
        alerts.push({ kind: "low_stock", sku, nodeId, message: `${sku} at ${nodeId}: ATP ${pool.atp}` })
        low.push({ sku, nodeId, atp: pool.atp })
        const key = `${sku}\u0000${nodeId}`
        const followed = this.lowPools.get(key)
        if (followed) followed.engine = engine
        else if (this.lowPools.size < (this.config.opsLowPoolsTrackedMax ?? Infinity)) this.lowPools.set(key, { sku, nodeId, engine, reported: undefined })
      }
    }
    const pools = this.poolReadings(live)
    low.sort((a, b) => a.atp - b.atp)
    const hot = [...this.reservationsBySku]
      .sort((a, b) => b[1] - a[1])
      .slice(0, opsSkusListedMax)
      .map(([sku, reservations]) => ({ sku, reservations }))
    for (const [sku, n] of this.reservationsBySku) {
      if (n > this.config.hotSkuReservationsPerTick) alerts.push({ kind: "hot_sku", sku, message: `${sku}: ${n} reservations in ${Math.round(intervalMs)} ms` })
    }
    for (const s of stats) {
      if (s.stats.state !== "running") alerts.push({ kind: "engine_not_running", message: `${s.stream === ownerStream ? "engine" : s.stream} is ${s.stats.state}` })
    }
    alerts.push(...this.shipmentAlerts)
    const sorted = bySeverity(alerts)
    const kept = keptAlerts(sorted, opsAlertsPerTickMax)

    let open = 0
    let expiringSoon = 0
    for (const s of stats) {
      const h = s.stats.state === "running" ? this.holdCounts(s.engine) : { open: s.stats.holds, expiringSoon: 0 }
      open += h.open
      expiringSoon += h.expiringSoon
    }

    const partial: PartialTick = {
      source,
      at: Date.now(),
      intervalMs,
      streams: attached.map(([stream]) => stream),
      counts: {
        orders: this.orders, reservations: this.reservations, unitsOrdered: this.unitsOrdered, unitsRouted: this.unitsRouted,
        placedRoutings: this.placedRoutings, splits: this.splits, backorderedUnits: this.backordered,
        cancellations: this.cancellations, reroutes: this.reroutes, holdsExpired: this.holdsExpired
      },
      byReason: this.byReason,
      samples: this.samples,
      statusChanges: this.statusChanges,
      arcs: this.arcs,
      holds: { open, expiringSoon },
      hot,
      low: low.slice(0, opsSkusListedMax),
      alerts: kept,
      alertsDropped: Math.max(0, sorted.length - kept.length) + this.shipmentAlertsDropped,
      pools,
      pipeline: this.pipeline.view(running[0]?.engine.view.now ?? Date.now()),
      nodes: this.nodeRows(running.map((s) => s.engine)),
      engine: stats.length === 0 ? null : {
        state: worstOf(stats.map((s) => s.stats.state)),
        mailbox: stats.reduce((n, s) => n + s.stats.mailbox, 0),
        lastCommitMs: Math.round(Math.max(...stats.map((s) => s.stats.lastCommitMs)) * 100) / 100
      }
    }
    this.orders = this.reservations = this.unitsOrdered = this.unitsRouted = this.placedRoutings = 0
    this.splits = this.backordered = this.cancellations = this.reroutes = 0
    this.byReason = {}
    this.samples = []
    this.statusChanges = []
    this.arcs = []
    this.holdsExpired = 0
    this.shipmentAlerts = []
    this.shipmentAlertsDropped = 0
    this.reservedPools = new Map()
    this.reservedOrder = []
    this.reservationsBySku = new Map()
    void this.counters.saveAll()
    return partial
  }
}

/** The stream name the owner gateway gives its one engine (which holds every stream). */
export const ownerStream = "engine"

/**
 * The figures of a tick that are the gateway's own, not the engine's: the
 * requests it answered, their latency, the commands it saw refused with
 * store_unavailable. A cluster gateway reports its own requests, as the
 * owner does (each gateway's viewers see that gateway's traffic).
 */
export class GatewayFigures {
  private lastRequests = 0
  private lastStoreErrors = 0
  private lastTickMs = performance.now()

  constructor(private readonly metrics: GatewayMetrics) {}

  /** The figures since the previous call. */
  take(): { intervalMs: number; requestsPerSec: number; latencyMs: OpsTick["metrics"]["latencyMs"]; storeErrors: number } {
    const now = performance.now()
    const seconds = Math.max(0.001, (now - this.lastTickMs) / 1000)
    const intervalMs = Math.round(now - this.lastTickMs)
    this.lastTickMs = now
    const { p50, p90, p99 } = this.metrics.takeTickLatency()
    const requests = this.metrics.requestsTotal()
    const storeErrors = this.metrics.errorsWith("store_unavailable")
    const figures = {
      intervalMs,
      requestsPerSec: Math.round((requests - this.lastRequests) / seconds),
      latencyMs: { p50, p90, p99 },
      storeErrors: Math.max(0, storeErrors - this.lastStoreErrors)
    }
    this.lastRequests = requests
    this.lastStoreErrors = storeErrors
    return figures
  }
}

/** The owner gateway's ops tick: its engine's partial tick, merged alone with the gateway's figures. */
export class OpsAggregator {
  private readonly ops: EngineOps
  private readonly gateway: GatewayFigures
  private overCapacity: ReadonlySet<string> = new Set()

  constructor(engine: LocalEngine, private readonly config: GatewayConfig, metrics: GatewayMetrics) {
    this.ops = new EngineOps(config, engine.store.opsHistory)
    this.ops.attach(ownerStream, engine.engine)
    this.gateway = new GatewayFigures(metrics)
  }

  close(): Promise<void> {
    return this.ops.close()
  }

  /** The tick since the previous one, with the low pools' readings; resets the counters. */
  tick(): { tick: OpsTick; readings: Array<PoolReading> } {
    const partial = this.ops.partial("owner")
    const merged = mergeTicks({
      sources: [{ latest: partial, unsent: [partial] }],
      gateway: this.gateway.take(),
      limits: this.config,
      overCapacity: this.overCapacity
    })
    this.overCapacity = merged.overCapacity
    return { tick: merged.tick, readings: merged.readings }
  }
}
