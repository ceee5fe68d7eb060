/**
 * The figures of one simulated day, as plain JSON: traffic (peak sustained
 * rate, latency percentiles, failures by code), routing at placement (fill
 * rate, split rate, shipping distance and cost, store share, backorders),
 * holds, node load, what the sessions and nodes did, delivery promises, B2B
 * orders, carrier tracking and feedback, the audit's verdict, and the series
 * over simulated time the report draws.
 */
import { bucketSimMs, percentile, answerCodes } from "./metrics.ts"
import type { RunResult } from "./run.ts"

export interface SeriesPoint {
  /** Simulated hour at the start of the bucket. */
  readonly hour: number
  readonly requestsPerSec: number
  readonly p50: number
  readonly p99: number
  readonly failures: number
  readonly orders: number
  readonly fillRate: number | null
  readonly splitRate: number | null
  readonly avgDistanceKm: number | null
  readonly avgCostCents: number | null
  readonly backorderedOpen: number
  readonly holdExpiries: number
  readonly holdsPlaced: number
  readonly insufficientStock: number
}

export interface RunSummary {
  readonly label: string
  readonly scenario: string
  readonly seed: number
  readonly compression: number
  readonly wallSeconds: { readonly provision: number; readonly day: number; readonly drain: number; readonly audit: number }
  readonly sessions: number
  readonly requests: number
  readonly failures: number
  readonly peakSustainedRate: number
  /** Latency of the day's requests (from send to reply, as the simulator saw it). */
  readonly latency: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number }
  /** After the day: open shipments, returns and cancellations finishing, faster. */
  readonly drain: { readonly requests: number; readonly failures: number; readonly latency: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number } }
  /** p99 of the busiest half-hour of simulated time. */
  readonly peakBucketP99: number
  /**
   * Routing at placement, defined as the ops report (GET /v1/reports,
   * engine/reports/report.ts) defines it over the same run: `orders` placed
   * (answered by order.place), `splitRate` = orders whose placement made more
   * than one shipment / orders, `shipments` = the packages of the placements
   * (re-routings after a rejection, an outage or a short pick are not
   * counted), their mean distance and their mean cost as the engine priced
   * them (`avgEngineCostCents`).
   */
  readonly orders: number
  readonly fillRate: number
  readonly splitRate: number
  readonly shipments: number
  readonly shipmentsPerOrder: number
  readonly avgDistanceKm: number
  /** Per package, cost.ts model (no load term, no carrier rate): what the what-if comparison and the hindsight bound price with. */
  readonly avgCostCents: number
  /** Per package, as the engine priced it at routing (package, distance, weight, node load, carrier service of a promised order): the ops report's average shipping cost. */
  readonly avgEngineCostCents: number
  /** Packages plus split penalties, per order and in all. */
  readonly costPerOrderCents: number
  readonly totalCostCents: number
  readonly storeShare: number
  readonly unitsOrdered: number
  readonly unitsBackorderedAtPlacement: number
  readonly backorderedOpenAtEnd: number
  readonly holdsPlaced: number
  readonly holdsExpired: number
  readonly busiestNode: { readonly nodeId: string; readonly load: number }
  readonly outage: RunResult["outage"]
  readonly errorsByCode: Readonly<Record<string, number>>
  readonly requestsByOp: Readonly<Record<string, number>>
  readonly storefront: RunResult["storefront"]
  readonly fulfillment: RunResult["fulfillment"]
  readonly pushes: RunResult["pushes"]
  /** Availability answers with promise dates, orders placed with a service or deliverBy, refusals promise_unreachable; shipments late at the end. */
  readonly promise: { readonly answers: number; readonly orders: number; readonly unreachable: number; readonly lateShipments: number }
  /** B2B orders, the ship-complete ones, those waiting whole as a backorder at placement and at the end of the run. */
  readonly b2b: { readonly orders: number; readonly shipComplete: number; readonly shipCompleteBackorderedAtPlacement: number; readonly shipCompleteWaitingAtEnd: number }
  /** Carrier tracking updates acknowledged, and in-transit estimates past the promised day among them. */
  readonly tracking: { readonly updates: number; readonly lateEstimates: number }
  readonly feedback: { readonly count: number; readonly averageRating: number | null }
  readonly drainComplete: boolean
  /** The simulator's own event-loop delay during the day: latency measured above includes it. */
  readonly simulatorLoopDelayP99Ms: number
  /** CPU time of the simulator's process and of the engine's (when it runs in a child process on Linux). */
  readonly cpuSeconds: { readonly simulator: number; readonly engine: number | null }
  readonly auditOk: boolean
  readonly audit: { readonly partsMs: RunResult["audit"]["partsMs"]; readonly checked: RunResult["audit"]["checked"]; readonly byCheck: Readonly<Record<string, number>>; readonly violations: ReadonlyArray<{ check: string; subject: string; message: string }> }
  readonly series: ReadonlyArray<SeriesPoint>
  /** Load (shipments today / daily capacity) per node at the end of each bucket, the busiest nodes. */
  readonly nodeLoad: Readonly<Record<string, ReadonlyArray<number>>>
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null)

export const summarise = (r: RunResult): RunSummary => {
  const m = r.metrics
  const bucketWallSec = bucketSimMs / r.compression / 1000
  const series: Array<SeriesPoint> = m.buckets.slice(0, 48).map((b, i) => {
    const sorted = [...b.latencies].sort((x, y) => x - y)
    return {
      hour: i / 2,
      requestsPerSec: b.requests / bucketWallSec,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      failures: b.errors - b.insufficientStock,
      orders: b.orders,
      fillRate: ratio(b.unitsRoutedAtPlacement, b.unitsOrdered),
      splitRate: ratio(b.splitOrders, b.orders),
      avgDistanceKm: ratio(b.distanceKmSum, b.shipments),
      avgCostCents: ratio(b.costCentsSum, b.shipments),
      backorderedOpen: b.backorderedOpen,
      holdExpiries: b.holdExpiries,
      holdsPlaced: b.holdsPlaced,
      insufficientStock: b.insufficientStock
    }
  })
  const sum = (f: (b: (typeof m.buckets)[number]) => number) => m.buckets.reduce((n, b) => n + f(b), 0)
  const orders = sum((b) => b.orders)
  const shipments = sum((b) => b.shipments)
  const unitsOrdered = sum((b) => b.unitsOrdered)
  const packageCost = sum((b) => b.costCentsSum)
  const totalCost = sum((b) => b.planCostCentsSum)
  const kind = new Map(r.network.nodes.map((n) => [n.nodeId, n.kind]))
  let storeShipments = 0
  for (const o of r.ledger.orders) for (const s of o.placement.shipments) if (kind.get(s.nodeId) === "store") storeShipments++
  const busiest = [...r.nodesAtEnd].map((n) => ({ nodeId: n.nodeId, load: n.capacityPerDay > 0 ? n.shipmentsToday / n.capacityPerDay : 0 })).sort((a, b) => b.load - a.load)[0] ?? { nodeId: "-", load: 0 }
  const peakBucket = m.buckets.slice(0, 48).reduce((best, b) => (b.requests > best.requests ? b : best), m.buckets[0])
  const topNodes = [...r.nodesAtEnd].sort((a, b) => b.shipmentsToday / b.capacityPerDay - a.shipmentsToday / a.capacityPerDay).slice(0, 8).map((n) => n.nodeId)
  if (r.outage && !topNodes.includes(r.outage.nodeId)) topNodes.push(r.outage.nodeId)
  const nodeLoad: Record<string, Array<number>> = {}
  for (const id of topNodes) nodeLoad[id] = m.buckets.slice(0, 48).map((b) => b.nodeLoad[id] ?? 0)
  const failures = [...m.errorsByCode].filter(([c]) => !answerCodes.has(c)).reduce((n, [, v]) => n + v, 0)
  return {
    label: r.label,
    scenario: r.scenario.name,
    seed: r.seed,
    compression: r.compression,
    wallSeconds: { provision: r.wall.provisionMs / 1000, day: r.wall.dayMs / 1000, drain: r.wall.drainMs / 1000, audit: r.wall.auditMs / 1000 },
    sessions: r.sessions,
    requests: m.requests,
    failures,
    peakSustainedRate: m.peakSustainedRate(5),
    latency: m.latency("day"),
    drain: { requests: m.buckets[48].requests, failures: m.buckets[48].errors - m.buckets[48].insufficientStock, latency: m.latency("drain") },
    peakBucketP99: percentile([...peakBucket.latencies].sort((x, y) => x - y), 99),
    orders,
    fillRate: ratio(sum((b) => b.unitsRoutedAtPlacement), unitsOrdered) ?? 0,
    splitRate: ratio(sum((b) => b.splitOrders), orders) ?? 0,
    shipments,
    shipmentsPerOrder: ratio(shipments, orders) ?? 0,
    avgDistanceKm: ratio(sum((b) => b.distanceKmSum), shipments) ?? 0,
    avgCostCents: ratio(packageCost, shipments) ?? 0,
    avgEngineCostCents: ratio(sum((b) => b.engineCostCentsSum), shipments) ?? 0,
    costPerOrderCents: ratio(totalCost, orders) ?? 0,
    totalCostCents: totalCost,
    storeShare: ratio(storeShipments, shipments) ?? 0,
    unitsOrdered,
    unitsBackorderedAtPlacement: sum((b) => b.unitsBackorderedAtPlacement),
    backorderedOpenAtEnd: r.audit.orders.reduce((n, o) => n + o.lines.reduce((k, l) => k + l.backordered, 0), 0),
    holdsPlaced: sum((b) => b.holdsPlaced),
    holdsExpired: r.ledger.holds.filter((h) => h.fate === "abandoned").length,
    busiestNode: busiest,
    outage: r.outage,
    errorsByCode: Object.fromEntries([...m.errorsByCode].sort((a, b) => b[1] - a[1])),
    requestsByOp: Object.fromEntries([...m.requestsByOp].sort((a, b) => b[1] - a[1])),
    storefront: r.storefront,
    fulfillment: r.fulfillment,
    pushes: r.pushes,
    promise: {
      answers: r.storefront.promiseAnswers, orders: r.storefront.promiseOrders, unreachable: r.storefront.promiseUnreachable,
      lateShipments: r.audit.orders.reduce((n, o) => n + o.shipments.filter((s) => s.late).length, 0)
    },
    b2b: {
      orders: r.storefront.b2bOrders, shipComplete: r.storefront.shipCompleteOrders, shipCompleteBackorderedAtPlacement: r.storefront.shipCompleteBackordered,
      shipCompleteWaitingAtEnd: r.audit.orders.filter((o) => o.shipComplete && o.lines.some((l) => l.backordered > 0)).length
    },
    tracking: { updates: r.fulfillment.trackingUpdates, lateEstimates: r.fulfillment.lateEstimates },
    feedback: { count: r.fulfillment.feedback, averageRating: ratio(r.fulfillment.feedbackRatingSum, r.fulfillment.feedback) },
    drainComplete: r.drainComplete,
    simulatorLoopDelayP99Ms: r.loopDelayP99Ms,
    cpuSeconds: r.cpuSeconds,
    auditOk: r.audit.ok,
    audit: { partsMs: r.audit.partsMs, checked: r.audit.checked, byCheck: r.audit.byCheck, violations: r.audit.violations.slice(0, 100) },
    series,
    nodeLoad
  }
}
