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
  /** Orders by state, late and at-risk shipments, the oldest backorder; null when no source reports one. */
  readonly pipeline?: Pipeline | null
  /** Alert groups changed in the tick (absent when none changed; every group comes with the hello). */
  readonly alertGroups?: AlertsMessage
  /** Audit entries recorded since the previous tick (at most auditPerTickMax; absent when none). */
  readonly audit?: ReadonlyArray<AuditEntry>
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
  /**
   * Pools whose ATP changed since the last reading while low (at most a few
   * thousand a tick; the rest are read again the next tick), including those
   * back above lowStockUnits (then no longer followed). Absent from runners
   * of an older version.
   */
  readonly pools?: ReadonlyArray<PoolReading>
  /** The pipeline of this process's partitions (ops-pipeline.ts); absent from runners of an older version. */
  readonly pipeline?: Pipeline
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

// ---- alerts as a workflow, the audit log, the pipeline (gateway/ops-alerts.ts, ops-audit.ts, ops-pipeline.ts) ----

export type AlertSeverity = "critical" | "warning" | "info"

/** The kinds of alert groups: the feed's alerts, and node status and capacity changes. */
export type AlertGroupKind = Alert["kind"] | "node_status" | "node_capacity"

/** Who did something to an alert, why, and when. */
export interface AlertAction {
  readonly by: string
  readonly reason: string
  readonly at: number
}

/** A pool in a low-stock group: its ATP now, and when it last changed (wall clock ms). */
export interface LowPool {
  readonly nodeId: string
  readonly atp: number
  readonly at: number
}

/**
 * One line of the alert list: every alert of the same key (kind and what it
 * is about: a SKU, a node, an order) counted on it, with the first and last
 * time it was raised. Condition alerts (low stock, over capacity, engine,
 * node status) resolve by themselves when the condition clears.
 */
export interface AlertGroup {
  /** Stable id of the key, used in the HTTP routes. */
  readonly id: string
  readonly key: string
  readonly kind: AlertGroupKind
  readonly severity: AlertSeverity
  readonly message: string
  readonly sku?: string
  readonly nodeId?: string
  readonly orderId?: string
  readonly shipmentId?: string
  /** Times raised (for low stock: pool readings at or below the threshold). */
  readonly count: number
  readonly firstAt: number
  readonly lastAt: number
  /** When its condition cleared; null while open. */
  readonly resolvedAt: number | null
  readonly acknowledged: AlertAction | null
  /** Muted until `until` (wall clock ms); the group still counts, but is not shown by default. */
  readonly muted: (AlertAction & { readonly until: number }) | null
  /** Low stock: the SKU's pools seen low, with their ATP now (above the threshold once back). */
  readonly pools?: ReadonlyArray<LowPool>
}

/** The `alerts` message: every group (full, on connect) or those changed in the tick, and keys removed. */
export interface AlertsMessage {
  readonly full: boolean
  readonly groups: ReadonlyArray<AlertGroup>
  readonly removed: ReadonlyArray<string>
  /** ATP at or below this is low stock. */
  readonly lowStockUnits: number
}

/** One entry of the ops audit log. */
export interface AuditEntry {
  readonly id: number
  readonly at: number
  readonly who: string
  readonly action: string
  readonly target: string
  readonly reason: string
  readonly detail: string
}

/** A pool's ATP read by the ops feed: it went low, changed while low, or came back above the threshold. */
export interface PoolReading {
  readonly sku: string
  readonly nodeId: string
  readonly atp: number
  readonly at: number
}

/** A shipment in the pipeline view: late against its promise, or at risk (promised soon and not shipped). */
export interface PipelineShipment {
  readonly orderId: string
  readonly shipmentId: string
  readonly nodeId: string
  readonly promisedBy: number
}

/**
 * The pipeline and SLA view: orders by state (open ones; delivered and
 * cancelled counted since the gateway started), shipments late and at risk,
 * the oldest backorder waiting.
 */
export interface Pipeline {
  readonly since: number
  readonly byState: Readonly<Record<string, number>>
  readonly late: number
  readonly atRisk: number
  /** At most pipelineListedMax of each, oldest promise first. */
  readonly lateShipments: ReadonlyArray<PipelineShipment>
  readonly atRiskShipments: ReadonlyArray<PipelineShipment>
  readonly oldestBackorder: { readonly orderId: string; readonly since: number } | null
}
