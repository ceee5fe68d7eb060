/**
 * What the engine answers to an accepted command, and the read models of
 * pools and holds that queries return (orders: see order/order-state.ts).
 */
import type { OrderView } from "../order/order-state.ts"
import type { FulfillmentNode } from "./network.ts"
import type { Rejection } from "./errors.ts"

export interface PoolView {
  readonly sku: string
  readonly nodeId: string
  readonly onHand: number
  readonly safetyStock: number
  readonly held: number
  readonly allocated: number
  /** Available to promise: on hand - held - allocated - safety stock, never negative. */
  readonly atp: number
}

export interface HoldView {
  readonly holdId: string
  readonly channel: string
  readonly sku: string
  readonly nodeId: string
  readonly qty: number
  readonly expiresAt: number
  /** `active` while it holds stock; else how it ended (and `endedAt` when). */
  readonly status: "active" | "expired" | "released" | "converted"
  readonly endedAt: number | null
  /** When it was created: it lives at most holdLifetimeMsMax from then. */
  readonly placedAt: number
  /** Extensions so far (at most holdExtendsMax). */
  readonly extensions: number
  readonly cartId?: string
  readonly customerId?: string
}

export interface Accepted {
  readonly ok: true
  readonly order?: OrderView
  readonly hold?: HoldView
  readonly pool?: PoolView
  readonly pools?: ReadonlyArray<PoolView>
  readonly node?: FulfillmentNode
  /** The command repeated an earlier one (same idempotency key or external id); the earlier result is returned. */
  readonly existing?: boolean
  /** Cluster mode: the claim of a split order's external id (order.claimSplit), the partitions of its legs. */
  readonly split?: { readonly partitions: ReadonlyArray<number> }
  /** Notifications taken out of the outbox. */
  readonly delivered?: number
}

export type Reply = Accepted | Rejection

export const accepted: Accepted = { ok: true }
