/**
 * What the ops feed says each tick, aggregated server-side from the engine's
 * committed events and the gateway's request metrics (owner process only):
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
 */
import type { EngineEvent, OrderRouted } from "../engine/domain/events.ts"
import * as Queries from "../engine/runtime/queries.ts"
import type { GatewayConfig } from "./config.ts"
import type { LocalEngine } from "./engine-access.ts"
import { percentile, type GatewayMetrics } from "./metrics.ts"

export interface RoutingSample {
  readonly orderId: string
  readonly reason: OrderRouted["reason"]
  readonly shipments: ReadonlyArray<{ readonly nodeId: string; readonly units: number; readonly distanceKm: number; readonly costCents: number }>
  readonly backorderedUnits: number
  readonly explanation: string
  readonly candidates: ReadonlyArray<{ readonly nodeId: string; readonly costCents: number; readonly verdict: string }>
}

export interface Alert {
  readonly kind: "low_stock" | "hot_sku" | "node_over_capacity" | "store_errors" | "engine_not_running" | "shipment_late" | "shipment_exception"
  readonly message: string
  readonly sku?: string
  readonly nodeId?: string
  readonly orderId?: string
  readonly shipmentId?: string
}

/** How a routing decision was made, as the dashboard colours it. */
export type ArcKind = "single" | "split" | "pickup" | "rerouted" | "backordered"

export interface RoutingArc {
  readonly orderId: string
  readonly kind: ArcKind
  /** The customer's location (or the pickup store's). */
  readonly to: { readonly lat: number; readonly lon: number }
  /** The nodes shipping it (none when everything was backordered). */
  readonly from: ReadonlyArray<string>
}

export interface NodeRow {
  readonly nodeId: string
  readonly kind: string
  readonly status: string
  readonly shipmentsToday: number
  readonly capacityPerDay: number
  readonly load: number
  /** Shipments the node rejected, and picks it came up short on, since this gateway started. */
  readonly rejections: number
  readonly shortPicks: number
}

export interface OpsTick {
  readonly at: number
  readonly intervalMs: number
  readonly metrics: {
    readonly ordersPerSec: number
    readonly reservationsPerSec: number
    readonly requestsPerSec: number
    readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number }
    /** Units routed at placement / units ordered (1 = everything found a node). */
    readonly fillRate: number | null
    /** Placed orders cut into more than one shipment / placed orders. */
    readonly splitRate: number | null
    readonly backorderedUnits: number
    readonly cancellations: number
    readonly reroutes: number
  }
  readonly routing: { readonly byReason: Readonly<Record<string, number>>; readonly samples: ReadonlyArray<RoutingSample> }
  readonly nodes: {
    readonly statusChanges: ReadonlyArray<{ readonly nodeId: string; readonly status: string; readonly reason: string }>
    readonly busiest: ReadonlyArray<{ readonly nodeId: string; readonly status: string; readonly shipmentsToday: number; readonly capacityPerDay: number; readonly load: number }>
    /** Every node, in network order. */
    readonly table: ReadonlyArray<NodeRow>
  }
  readonly arcs: ReadonlyArray<RoutingArc>
  readonly holds: { readonly open: number; readonly expiringSoon: number; readonly expired: number }
  readonly skus: {
    readonly hot: ReadonlyArray<{ readonly sku: string; readonly reservations: number }>
    readonly low: ReadonlyArray<{ readonly sku: string; readonly nodeId: string; readonly atp: number }>
  }
  readonly alerts: ReadonlyArray<Alert>
  readonly alertsDropped: number
  readonly engine: { readonly state: string; readonly mailbox: number; readonly lastCommitMs: number } | null
}

const busiestListed = 5
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000

/** Nearest-rank percentile in milliseconds, to the hundredth. */
const percentileMs = (sample: ReadonlyArray<number>, p: number): number => Math.round(percentile(sample, p) * 100) / 100

export class OpsAggregator {
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
  private reservedPools = new Map<string, { sku: string; nodeId: string }>()
  private reservationsBySku = new Map<string, number>()
  private lastStoreErrors = 0
  private lastRequests = 0
  private lastTickMs = performance.now()
  private readonly overCapacity = new Set<string>()
  private arcs: Array<RoutingArc> = []
  private holdsExpired = 0
  /** Since this gateway started, per node (bounded by the number of nodes). */
  private readonly rejections = new Map<string, number>()
  private readonly shortPicks = new Map<string, number>()
  /** Shipment alerts of the tick (late against their promise, carrier exceptions), at most opsAlertsPerTickMax kept. */
  private shipmentAlerts: Array<Alert> = []
  private shipmentAlertsDropped = 0
  private readonly unsubscribe: () => void

  constructor(private readonly engine: LocalEngine, private readonly config: GatewayConfig, private readonly metrics: GatewayMetrics) {
    this.unsubscribe = engine.engine.subscribe((batch) => {
      for (const j of batch.events) this.onEvent(j.event)
    })
  }

  close(): void {
    this.unsubscribe()
  }

  private onEvent(e: EngineEvent): void {
    switch (e.type) {
      case "OrderPlaced":
        this.orders++
        for (const l of e.lines) this.unitsOrdered += l.qty
        break
      case "HoldPlaced":
      case "StockReserved": {
        this.reservations++
        this.reservationsBySku.set(e.sku, (this.reservationsBySku.get(e.sku) ?? 0) + 1)
        this.reservedPools.set(`${e.sku}\u0000${e.nodeId}`, { sku: e.sku, nodeId: e.nodeId })
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
      case "NodeStatusChanged":
        this.statusChanges.push({ nodeId: e.nodeId, status: e.status, reason: e.reason })
        break
      case "HoldEnded":
        if (e.reason === "expired") this.holdsExpired++
        break
      case "ShipmentWithdrawn":
        if (e.reason === "rejected") this.countAtNode(this.rejections, e.orderId, e.shipmentId)
        break
      case "ShipmentPicked":
        if (e.short.length > 0) this.countAtNode(this.shortPicks, e.orderId, e.shipmentId)
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
    if (e.type === "OrderRouted" && this.arcs.length < this.config.opsArcsPerTickMax) this.addArc(e)
  }

  private countAtNode(counts: Map<string, number>, orderId: string, shipmentId: string): void {
    const nodeId = this.engine.engine.view.orderById(orderId)?.shipments.find((s) => s.shipmentId === shipmentId)?.nodeId
    if (nodeId !== undefined) counts.set(nodeId, (counts.get(nodeId) ?? 0) + 1)
  }

  private addArc(e: OrderRouted): void {
    const order = this.engine.engine.view.orderById(e.orderId)
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
  private holdCounts(): { open: number; expiringSoon: number } {
    const view = this.engine.engine.view
    const until = view.now + this.config.opsHoldsExpiringMs
    let open = 0
    let expiringSoon = 0
    for (const p of view.partitions) {
      const holds = p.stock.holds
      open += holds.size
      p.stock.holdExpiry.forEachDue(until, (due, holdNo) => {
        if (holds.get(holdNo)?.expiresAt === due) expiringSoon++
      })
    }
    return { open, expiringSoon }
  }

  private shipmentAlert(a: Alert): void {
    if (this.shipmentAlerts.length < this.config.opsAlertsPerTickMax) this.shipmentAlerts.push(a)
    else this.shipmentAlertsDropped++
  }

  /** The tick since the previous one; resets the counters. */
  tick(): OpsTick {
    const now = performance.now()
    const seconds = Math.max(0.001, (now - this.lastTickMs) / 1000)
    const intervalMs = Math.round(now - this.lastTickMs)
    this.lastTickMs = now
    const view = this.engine.engine.view
    const stats = this.engine.engine.stats()
    const latencies = this.metrics.drainTickLatencies()
    const requests = this.metrics.counterTotal("gateway_requests_total")
    const storeErrors = this.metrics.counterValue("gateway_errors_total", { code: "store_unavailable" })

    const alerts: Array<Alert> = []
    const low: Array<{ sku: string; nodeId: string; atp: number }> = []
    for (const { sku, nodeId } of this.reservedPools.values()) {
      const pool = Queries.pool(view, sku, nodeId)
      if (pool && pool.atp <= this.config.lowStockUnits) {
        alerts.push({ kind: "low_stock", sku, nodeId, message: `${sku} at ${nodeId}: ATP ${pool.atp}` })
        low.push({ sku, nodeId, atp: pool.atp })
      }
    }
    low.sort((a, b) => a.atp - b.atp)
    const hot = [...this.reservationsBySku]
      .sort((a, b) => b[1] - a[1])
      .slice(0, this.config.opsSkusListedMax)
      .map(([sku, reservations]) => ({ sku, reservations }))
    for (const [sku, n] of this.reservationsBySku) {
      if (n > this.config.hotSkuReservationsPerTick) alerts.push({ kind: "hot_sku", sku, message: `${sku}: ${n} reservations in ${intervalMs} ms` })
    }
    const nodes = stats.state === "running" ? Queries.nodes(view) : []
    for (const n of nodes) {
      const over = n.shipmentsToday >= n.capacityPerDay
      if (over && !this.overCapacity.has(n.nodeId)) {
        alerts.push({ kind: "node_over_capacity", nodeId: n.nodeId, message: `${n.nodeId}: ${n.shipmentsToday} shipments today, capacity ${n.capacityPerDay}` })
      }
      if (over) this.overCapacity.add(n.nodeId)
      else this.overCapacity.delete(n.nodeId)
    }
    if (storeErrors > this.lastStoreErrors) alerts.push({ kind: "store_errors", message: `${storeErrors - this.lastStoreErrors} commands refused with store_unavailable` })
    if (stats.state !== "running") alerts.push({ kind: "engine_not_running", message: `engine is ${stats.state}` })
    alerts.push(...this.shipmentAlerts)
    // Most severe first: store and engine, capacity, late shipments, hot SKUs, then low stock.
    const rank = { engine_not_running: 0, store_errors: 1, node_over_capacity: 2, shipment_late: 3, shipment_exception: 4, hot_sku: 5, low_stock: 6 } as const
    alerts.sort((a, b) => rank[a.kind] - rank[b.kind])

    const table: Array<NodeRow> = nodes.map((n) => ({
      nodeId: n.nodeId, kind: n.kind, status: n.status, shipmentsToday: n.shipmentsToday, capacityPerDay: n.capacityPerDay,
      load: Math.round((n.shipmentsToday / n.capacityPerDay) * 1000) / 1000,
      rejections: this.rejections.get(n.nodeId) ?? 0, shortPicks: this.shortPicks.get(n.nodeId) ?? 0
    }))
    const busiest = [...table]
      .sort((a, b) => b.load - a.load)
      .slice(0, busiestListed)
      .map(({ nodeId, status, shipmentsToday, capacityPerDay, load }) => ({ nodeId, status, shipmentsToday, capacityPerDay, load }))
    const holds = stats.state === "running" ? { ...this.holdCounts(), expired: this.holdsExpired } : { open: stats.holds, expiringSoon: 0, expired: this.holdsExpired }

    const tick: OpsTick = {
      at: Date.now(),
      intervalMs,
      metrics: {
        ordersPerSec: Math.round(this.orders / seconds),
        reservationsPerSec: Math.round(this.reservations / seconds),
        requestsPerSec: Math.round((requests - this.lastRequests) / seconds),
        latencyMs: { p50: percentileMs(latencies, 50), p90: percentileMs(latencies, 90), p99: percentileMs(latencies, 99) },
        fillRate: this.unitsOrdered > 0 ? Math.min(1, this.unitsRouted / this.unitsOrdered) : null,
        splitRate: this.placedRoutings > 0 ? this.splits / this.placedRoutings : null,
        backorderedUnits: this.backordered,
        cancellations: this.cancellations,
        reroutes: this.reroutes
      },
      routing: { byReason: this.byReason, samples: this.samples },
      nodes: { statusChanges: this.statusChanges, busiest, table },
      arcs: this.arcs,
      holds,
      skus: { hot, low: low.slice(0, this.config.opsSkusListedMax) },
      alerts: alerts.slice(0, this.config.opsAlertsPerTickMax),
      alertsDropped: Math.max(0, alerts.length - this.config.opsAlertsPerTickMax) + this.shipmentAlertsDropped,
      engine: { state: stats.state, mailbox: stats.mailbox, lastCommitMs: Math.round(stats.lastCommitMs * 100) / 100 }
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
    this.reservationsBySku = new Map()
    this.lastStoreErrors = storeErrors
    this.lastRequests = requests
    return tick
  }
}
