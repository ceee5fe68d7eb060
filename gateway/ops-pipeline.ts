/**
 * The pipeline and SLA view of the ops feed, folded from the engine's
 * committed events by the process that holds the engine (or a runner's
 * partitions): open orders by state (placed, routed, backordered, shipped),
 * delivered and cancelled ones counted, shipments late against their promise
 * and at risk (promised within pipelineAtRiskMs and not shipped yet), and the
 * oldest backorder still waiting.
 *
 * It sees the orders that moved since this process started (`since`): an
 * order placed before and untouched since is not in it. Memory is bounded:
 * at most pipelineOrdersMax open orders are followed (the oldest are let go
 * first); shipments and backorders only of followed orders.
 */
import type { EngineEvent } from "../engine/index.ts"
import type { Pipeline, PipelineShipment } from "./ops-feed-types.ts"

export const pipelineOrdersMax = 100_000
/** A promised shipment not shipped this close to its promise is at risk. */
export const pipelineAtRiskMs = 24 * 3_600_000
/** Late and at-risk shipments listed per tick (oldest promise first). */
export const pipelineListedMax = 10

type OpenState = "placed" | "routed" | "backordered" | "shipped"

interface Followed {
  state: OpenState
  /** Shipments routed and not delivered or withdrawn yet. */
  open: Set<string>
  /** Promised shipments not shipped yet. */
  promised: Map<string, PipelineShipment>
  late: Map<string, PipelineShipment>
  backorderedUnits: number
  backorderedSince: number | undefined
}

const units = (lines: ReadonlyArray<{ readonly qty: number }>): number => lines.reduce((n, l) => n + l.qty, 0)

const oldestFirst = (a: PipelineShipment, b: PipelineShipment): number => a.promisedBy - b.promisedBy

export class PipelineFold {
  private readonly orders = new Map<string, Followed>()
  private delivered = 0
  private cancelled = 0

  constructor(readonly since: number = Date.now()) {}

  onEvent(e: EngineEvent): void {
    switch (e.type) {
      case "OrderPlaced": {
        if (this.orders.size >= pipelineOrdersMax) {
          const oldest = this.orders.keys().next().value
          if (oldest !== undefined) this.orders.delete(oldest)
        }
        this.orders.set(e.orderId, { state: "placed", open: new Set(), promised: new Map(), late: new Map(), backorderedUnits: 0, backorderedSince: undefined })
        break
      }
      case "OrderRouted": {
        const o = this.orders.get(e.orderId)
        if (!o) break
        for (const s of e.shipments) {
          o.open.add(s.shipmentId)
          if (s.promise) o.promised.set(s.shipmentId, { orderId: e.orderId, shipmentId: s.shipmentId, nodeId: s.nodeId, promisedBy: s.promise.promisedBy })
        }
        // at placement and on a retry of the backorder, what is backordered now; on other re-routings, more of it
        const back = units(e.backordered)
        o.backorderedUnits = e.reason === "placed" || e.reason === "backorder_retry" ? back : o.backorderedUnits + back
        if (o.backorderedUnits > 0) o.backorderedSince ??= e.at
        else o.backorderedSince = undefined
        o.state = o.open.size === 0 && o.backorderedUnits > 0 ? "backordered" : o.state === "shipped" ? "shipped" : "routed"
        break
      }
      case "ShipmentWithdrawn": {
        const o = this.orders.get(e.orderId)
        o?.promised.delete(e.shipmentId)
        o?.open.delete(e.shipmentId)
        break
      }
      case "ShipmentShipped": {
        const o = this.orders.get(e.orderId)
        if (!o) break
        o.promised.delete(e.shipmentId)
        o.state = "shipped"
        break
      }
      case "ShipmentLate": {
        const o = this.orders.get(e.orderId)
        if (!o) break
        const known = o.promised.get(e.shipmentId)
        o.late.set(e.shipmentId, { orderId: e.orderId, shipmentId: e.shipmentId, nodeId: known?.nodeId ?? "", promisedBy: e.promisedBy })
        o.promised.delete(e.shipmentId)
        break
      }
      case "ShipmentDelivered": {
        const o = this.orders.get(e.orderId)
        if (!o) break
        o.promised.delete(e.shipmentId)
        o.late.delete(e.shipmentId)
        o.open.delete(e.shipmentId)
        if (o.open.size === 0 && o.backorderedUnits === 0) {
          this.orders.delete(e.orderId)
          this.delivered++
        }
        break
      }
      case "OrderCancelled": {
        const o = this.orders.get(e.orderId)
        if (!o) break
        if (e.complete) {
          this.orders.delete(e.orderId)
          this.cancelled++
          break
        }
        o.backorderedUnits = Math.max(0, o.backorderedUnits - units(e.fromBackorder))
        if (o.backorderedUnits === 0) o.backorderedSince = undefined
        break
      }
    }
  }

  /** The view now (`now`: the engine's clock, against which promises are judged). */
  view(now: number): Pipeline {
    const byState: Record<string, number> = { placed: 0, routed: 0, backordered: 0, shipped: 0, delivered: this.delivered, cancelled: this.cancelled }
    const late: Array<PipelineShipment> = []
    const atRisk: Array<PipelineShipment> = []
    let oldest: { orderId: string; since: number } | null = null
    for (const [orderId, o] of this.orders) {
      byState[o.state]++
      for (const s of o.late.values()) late.push(s)
      for (const s of o.promised.values()) if (s.promisedBy - now <= pipelineAtRiskMs) atRisk.push(s)
      if (o.backorderedSince !== undefined && (oldest === null || o.backorderedSince < oldest.since)) oldest = { orderId, since: o.backorderedSince }
    }
    return {
      since: this.since, byState, late: late.length, atRisk: atRisk.length,
      lateShipments: late.sort(oldestFirst).slice(0, pipelineListedMax),
      atRiskShipments: atRisk.sort(oldestFirst).slice(0, pipelineListedMax),
      oldestBackorder: oldest
    }
  }
}

/** Pipelines of several processes (each its own partitions) as one: sums, the lists merged, the oldest backorder of all. */
export const mergePipelines = (parts: ReadonlyArray<Pipeline>): Pipeline | null => {
  if (parts.length === 0) return null
  const byState: Record<string, number> = {}
  for (const p of parts) for (const [k, n] of Object.entries(p.byState)) byState[k] = (byState[k] ?? 0) + n
  const oldest = parts.flatMap((p) => (p.oldestBackorder ? [p.oldestBackorder] : [])).sort((a, b) => a.since - b.since)[0] ?? null
  return {
    since: Math.min(...parts.map((p) => p.since)),
    byState,
    late: parts.reduce((n, p) => n + p.late, 0),
    atRisk: parts.reduce((n, p) => n + p.atRisk, 0),
    lateShipments: parts.flatMap((p) => p.lateShipments).sort(oldestFirst).slice(0, pipelineListedMax),
    atRiskShipments: parts.flatMap((p) => p.atRiskShipments).sort(oldestFirst).slice(0, pipelineListedMax),
    oldestBackorder: oldest
  }
}
