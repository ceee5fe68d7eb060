/**
 * What the ops feed says each tick, aggregated server-side from the engine's
 * committed events and the gateway's request metrics (owner process only):
 *
 *   metrics   orders, reservations, latency percentiles, fill and split rate, backordered units
 *   routing   up to opsRoutingSamplesPerTickMax routing decisions with their explanation, plus counts by reason
 *   nodes     status changes this tick, and the most loaded nodes (shipments today / capacity)
 *   alerts    low stock, hot SKU, node over capacity, store errors, shipments late against their
 *             promise and carrier exceptions (at most opsAlertsPerTickMax listed)
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
  }
  readonly alerts: ReadonlyArray<Alert>
  readonly alertsDropped: number
  readonly engine: { readonly state: string; readonly mailbox: number; readonly lastCommitMs: number } | null
}

const busiestListed = 5

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
    for (const { sku, nodeId } of this.reservedPools.values()) {
      const pool = Queries.pool(view, sku, nodeId)
      if (pool && pool.atp <= this.config.lowStockUnits) alerts.push({ kind: "low_stock", sku, nodeId, message: `${sku} at ${nodeId}: ATP ${pool.atp}` })
    }
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

    const busiest = nodes
      .map((n) => ({ nodeId: n.nodeId, status: n.status, shipmentsToday: n.shipmentsToday, capacityPerDay: n.capacityPerDay, load: Math.round((n.shipmentsToday / n.capacityPerDay) * 1000) / 1000 }))
      .sort((a, b) => b.load - a.load)
      .slice(0, busiestListed)

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
      nodes: { statusChanges: this.statusChanges, busiest },
      alerts: alerts.slice(0, this.config.opsAlertsPerTickMax),
      alertsDropped: Math.max(0, alerts.length - this.config.opsAlertsPerTickMax) + this.shipmentAlertsDropped,
      engine: { state: stats.state, mailbox: stats.mailbox, lastCommitMs: Math.round(stats.lastCommitMs * 100) / 100 }
    }
    this.orders = this.reservations = this.unitsOrdered = this.unitsRouted = this.placedRoutings = 0
    this.splits = this.backordered = this.cancellations = this.reroutes = 0
    this.byReason = {}
    this.samples = []
    this.statusChanges = []
    this.shipmentAlerts = []
    this.shipmentAlertsDropped = 0
    this.reservedPools = new Map()
    this.reservationsBySku = new Map()
    this.lastStoreErrors = storeErrors
    this.lastRequests = requests
    return tick
  }
}
