/**
 * The read models of a stock pool and of a cart hold, as replies and queries
 * show them to clients.
 */
import type { HoldView, PoolView } from "../domain/replies.ts"
import type { NetworkState } from "../network/network-actor.ts"
import { poolSlot, type Hold, type StockState } from "./pool-actor.ts"

/** A pool's figures; a pool never touched shows zeros. */
export const poolView = (s: StockState, net: NetworkState, sku: string, nodeId: string): PoolView => {
  const slot = poolSlot(s, net, sku, nodeId)
  const t = s.pools
  return slot < 0
    ? { sku, nodeId, onHand: 0, safetyStock: 0, held: 0, allocated: 0, atp: 0 }
    : { sku, nodeId, onHand: t.onHand[slot], safetyStock: t.safety[slot], held: t.held[slot], allocated: t.allocated[slot], atp: t.atp(slot) }
}

export const holdView = (h: Pick<Hold, "holdId" | "channel" | "sku" | "nodeId" | "qty" | "expiresAt">): HoldView => ({
  holdId: h.holdId, channel: h.channel, sku: h.sku, nodeId: h.nodeId, qty: h.qty, expiresAt: h.expiresAt
})
