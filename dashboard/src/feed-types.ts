/**
 * What the ops feed and the ops HTTP routes send the page (docs/protocol.md,
 * sections 4 and 5). The feed's own messages (the tick, the cluster view) are
 * the gateway's types, shared by a type import (gateway/ops-feed-types.ts);
 * the engine's views as the HTTP routes and the `hello` message send them are
 * typed here with only the fields the page reads (the page does not compile
 * the engine).
 */
export type { Alert, ArcKind, ClusterView, NodeRow, OpsHistoryAnswer, OpsTick, RoutingArc } from "../../gateway/ops-feed-types.ts"
export type { AlertGroup, AlertsMessage, AlertSeverity, AuditEntry, Pipeline } from "../../gateway/ops-feed-types.ts"
import type { AlertsMessage } from "../../gateway/ops-feed-types.ts"

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
  /** Every alert group (absent on a gateway that keeps none). */
  readonly alerts?: AlertsMessage
  /** The name the ops token acts under (the "who" of the audit log). */
  readonly operator?: string
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
