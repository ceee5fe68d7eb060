/**
 * What the ops feed and the ops HTTP routes send the page (docs/protocol.md,
 * sections 4 and 5). Only the fields the page reads are typed.
 */

export interface LatLon {
  readonly lat: number
  readonly lon: number
}

export interface NetworkNode {
  readonly nodeId: string
  readonly name: string
  readonly kind: "warehouse" | "store" | string
  readonly location: LatLon
  readonly status: string
  readonly capacityPerDay: number
  readonly shipmentsToday: number
}

export interface Hello {
  readonly nodes: ReadonlyArray<NetworkNode>
  readonly intervalMs: number
}

export type ArcKind = "single" | "split" | "pickup" | "rerouted" | "backordered"

export interface RoutingArc {
  readonly orderId: string
  readonly kind: ArcKind
  readonly to: LatLon
  readonly from: ReadonlyArray<string>
}

export interface NodeRow {
  readonly nodeId: string
  readonly kind: string
  readonly status: string
  readonly shipmentsToday: number
  readonly capacityPerDay: number
  readonly load: number
  readonly rejections: number
  readonly shortPicks: number
}

export interface Alert {
  readonly kind: string
  readonly message: string
  readonly sku?: string
  readonly nodeId?: string
}

export interface OpsTick {
  readonly at: number
  readonly intervalMs: number
  readonly metrics: {
    readonly ordersPerSec: number
    readonly reservationsPerSec: number
    readonly requestsPerSec: number
    readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number }
    readonly fillRate: number | null
    readonly splitRate: number | null
    readonly backorderedUnits: number
    readonly cancellations: number
    readonly reroutes: number
  }
  readonly nodes: {
    readonly statusChanges: ReadonlyArray<{ readonly nodeId: string; readonly status: string; readonly reason: string }>
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

export interface OrderView {
  readonly orderId: string
  readonly channel: string
  readonly externalId: string
  readonly status: string
  readonly payment: string
  readonly fulfillment: string
  readonly destination: LatLon
  readonly lines: ReadonlyArray<{ readonly lineNo: number; readonly sku: string; readonly qty: number; readonly cancelled: number; readonly backordered: number; readonly shipped: number }>
  readonly shipments: ReadonlyArray<{ readonly shipmentId: string; readonly nodeId: string; readonly status: string; readonly distanceKm: number; readonly costCents: number; readonly carrier: string | null; readonly trackingId: string | null }>
  readonly explanation: string | null
  readonly placedAt: number
}

export interface OrderEvent {
  readonly type: string
  readonly at?: number
  readonly [field: string]: unknown
}

export interface OrderTimeline {
  readonly order: OrderView
  readonly history: ReadonlyArray<{ readonly seq: number; readonly event: OrderEvent }>
  readonly notifications: ReadonlyArray<{ readonly id: string; readonly kind: string; readonly state: "delivered" | "pending"; readonly at: number | null }>
}

export interface ErrorBody {
  readonly code: string
  readonly message: string
}

/** Cluster mode only: the `cluster` message, once per tick interval (gateway/cluster-access.ts ClusterView). */
export interface ClusterView {
  readonly runners: ReadonlyArray<{ readonly address: string; readonly healthy: boolean; readonly lastHeartbeat: string; readonly streams: ReadonlyArray<string> }>
  readonly streams: ReadonlyArray<{ readonly stream: string; readonly owner: string; readonly epoch: number; readonly claimedAt: string }>
}
