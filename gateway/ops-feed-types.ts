/**
 * What the ops feed sends its viewers (socket.io namespace /ops, docs/protocol.md
 * section 5): the `tick` (OpsTick, ops-aggregator.ts and ops-merge.ts make it)
 * and, in cluster mode, the `cluster` view; and the partial tick each
 * engine-holding process publishes for the gateways to merge. The gateway and
 * the dashboard page (dashboard/src, by `import type`) share these types.
 *
 * Types only, and no imports: the page's own type check (dashboard/tsconfig.json)
 * compiles this file without Node's or the engine's types.
 */

/** Why an order was routed (the engine's OrderRouted reason; the aggregator's assignment checks they agree). */
export type RouteReason = "placed" | "node_offline" | "rejected" | "short_pick" | "backorder_retry"

export interface RoutingSample {
  readonly orderId: string
  readonly reason: RouteReason
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
  /** Shipments the node rejected, and picks it came up short on, kept in the store across restarts (ops-counters.ts). */
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

/** A node as one process sees it: its load counts only the partitions that process holds. */
export interface PartialNodeRow {
  readonly nodeId: string
  readonly kind: string
  readonly status: string
  readonly shipmentsToday: number
  readonly capacityPerDay: number
  readonly rejections: number
  readonly shortPicks: number
}

/**
 * What one engine-holding process aggregated over one tick, in a form that
 * sums: counts rather than rates and ratios, lists already bounded by the
 * feed's limits (so a runner's message stays small whatever the load).
 * Runners publish one per opsTickMs on Redis (redis-fanout.ts
 * opsPartialsChannel); the owner gateway merges its own.
 */
export interface PartialTick {
  /** Who aggregated it: the runner's name in cluster mode, "owner" for an owner gateway. */
  readonly source: string
  /** Wall clock at the end of its interval (ms). */
  readonly at: number
  /** The length of the interval its counts cover (ms). */
  readonly intervalMs: number
  /** The journal streams of the engines it covers ("net", "p0", ...; the owner's one engine: "engine"). */
  readonly streams: ReadonlyArray<string>
  readonly counts: {
    readonly orders: number
    readonly reservations: number
    readonly unitsOrdered: number
    readonly unitsRouted: number
    readonly placedRoutings: number
    readonly splits: number
    readonly backorderedUnits: number
    readonly cancellations: number
    readonly reroutes: number
    readonly holdsExpired: number
  }
  readonly byReason: Readonly<Record<string, number>>
  /** At most opsRoutingSamplesPerTickMax, the first of the interval. */
  readonly samples: ReadonlyArray<RoutingSample>
  readonly statusChanges: ReadonlyArray<{ readonly nodeId: string; readonly status: string; readonly reason: string }>
  /** At most opsArcsPerTickMax. */
  readonly arcs: ReadonlyArray<RoutingArc>
  readonly holds: { readonly open: number; readonly expiringSoon: number }
  /**
   * The opsSkusListedMax SKUs with the most reservations. Exact when merged:
   * a SKU's pools live in one partition, so one process counts all of its
   * reservations (but for a partition moving within the tick).
   */
  readonly hot: ReadonlyArray<{ readonly sku: string; readonly reservations: number }>
  /** The opsSkusListedMax lowest pools reserved from whose ATP is at most lowStockUnits, lowest first. */
  readonly low: ReadonlyArray<{ readonly sku: string; readonly nodeId: string; readonly atp: number }>
  /**
   * The alerts only the engines can see (low_stock, hot_sku, shipment_late,
   * shipment_exception, engine_not_running), most severe first, at most
   * opsAlertsPerTickMax; the rest counted in alertsDropped. The merge adds
   * node_over_capacity (from the summed loads) and store_errors (the gateway's).
   */
  readonly alerts: ReadonlyArray<Alert>
  readonly alertsDropped: number
  /** Every node in network order, with this process's shipments today (empty when no engine runs). */
  readonly nodes: ReadonlyArray<PartialNodeRow>
  /** Summed over its engines (state: the worst of them); null when it holds none. */
  readonly engine: { readonly state: string; readonly mailbox: number; readonly lastCommitMs: number } | null
}

/** The charted figures of the ops history, each a series of the answer. */
export type OpsHistoryFigure =
  | "ordersPerSec" | "reservationsPerSec" | "requestsPerSec" | "latencyP50Ms" | "latencyP90Ms" | "latencyP99Ms" | "fillRate" | "splitRate"

/** GET /v1/ops/history?seconds=: the charted figures over the last `seconds`, oldest first (gateway/ops-history.ts). */
export interface OpsHistoryAnswer {
  /** The range asked, epoch ms. */
  readonly from: number
  readonly to: number
  /** 1 (one point per tick) up to an hour back; beyond, minute means, averaged into wider buckets for long ranges. */
  readonly resolutionSec: number
  /** Each point's time (epoch ms; a bucket's start). */
  readonly at: ReadonlyArray<number>
  /** One value per point (null: nothing to measure, e.g. no order placed). */
  readonly series: Readonly<Record<OpsHistoryFigure, ReadonlyArray<number | null>>>
}

/** Cluster mode only: the `cluster` message, once per tick interval (the engine's ClusterStatus, engine/cluster/cluster-status.ts, as sent). */
export interface ClusterView {
  readonly runners: ReadonlyArray<{ readonly address: string; readonly healthy: boolean; readonly lastHeartbeat: string; readonly streams: ReadonlyArray<string> }>
  readonly streams: ReadonlyArray<{ readonly stream: string; readonly owner: string; readonly epoch: number; readonly claimedAt: string }>
}
