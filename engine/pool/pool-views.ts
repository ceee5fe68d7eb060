/**
 * The read models of a stock pool and of a cart hold, as replies and queries
 * show them to clients.
 */
import type { HoldView, PoolView } from "../domain/replies.ts"
import type { NetworkState } from "../network/network-actor.ts"
import type { EndedHold } from "./ended-holds.ts"
import { endedHoldById, holdById, poolSlot, type Hold, type StockState } from "./pool-actor.ts"

/** A pool's figures; a pool never touched shows zeros. */
export const poolView = (s: StockState, net: NetworkState, sku: string, nodeId: string): PoolView => {
  const slot = poolSlot(s, net, sku, nodeId)
  const t = s.pools
  return slot < 0
    ? { sku, nodeId, onHand: 0, safetyStock: 0, held: 0, allocated: 0, atp: 0 }
    : { sku, nodeId, onHand: t.onHand[slot], safetyStock: t.safety[slot], held: t.held[slot], allocated: t.allocated[slot], atp: t.atp(slot) }
}

export type HoldFields = Pick<Hold, "holdId" | "channel" | "sku" | "nodeId" | "qty" | "expiresAt" | "placedAt" | "extensions" | "cartId" | "customerId">

/** A hold as clients see it: live (`active`), or how and when it ended. */
export const holdView = (h: HoldFields, ended?: { readonly reason: EndedHold["reason"]; readonly endedAt: number }): HoldView => ({
  holdId: h.holdId, channel: h.channel, sku: h.sku, nodeId: h.nodeId, qty: h.qty, expiresAt: h.expiresAt,
  status: ended ? ended.reason : "active",
  endedAt: ended ? ended.endedAt : null,
  placedAt: h.placedAt,
  extensions: h.extensions,
  ...(h.cartId !== null ? { cartId: h.cartId } : {}),
  ...(h.customerId !== null ? { customerId: h.customerId } : {})
})

/** The final state of an ended hold, from its record. */
export const endedHoldView = (s: StockState, e: EndedHold): HoldView => holdView({ ...e, holdId: s.ended.holdId(e) }, e)

/**
 * A hold by id at engine time `now`: live, or ended within the retention
 * (holdEndedRetentionMs, holdsEndedRetainedMax). A live hold whose TTL ran out
 * shows as expired at its expiry (the engine ends it with the next batch).
 */
export const holdViewAt = (s: StockState, holdId: string, now: number): HoldView | undefined => {
  const live = holdById(s, holdId)
  if (live) return live.expiresAt <= now ? holdView(live, { reason: "expired", endedAt: live.expiresAt }) : holdView(live)
  const ended = endedHoldById(s, holdId, now)
  return ended ? endedHoldView(s, ended) : undefined
}
