/**
 * The messages an Order actor sends to StockPool actors (in whichever
 * partition owns the pool): use or end a cart hold, reserve for an order
 * (held while payment is pending, allocated once paid), allocate, release,
 * ship, write off after a short pick, restock a return. `poolPort` serves
 * them on the pools a PoolContext reaches.
 */
import { invariant, reject, type Rejection } from "../domain/errors.ts"
import { decideReserve, holdById, liveHold, type Hold, type StockState } from "./pool-actor.ts"
import type { PoolContext } from "./pool-context.ts"

export interface PoolPort {
  /** A live hold of this channel, or why it cannot be used. */
  findHold(holdId: string, channel: string): Hold | Rejection
  endHold(holdId: string, reason: "converted" | "released"): void
  /** `convertedQty` of the units come from cart holds at the pool ended for this reservation. */
  reserve(
    reservationId: string, orderId: string, sku: string, nodeId: string, qty: number, stage: "held" | "allocated", convertedQty: number
  ): Rejection | undefined
  allocate(reservationId: string, sku: string): void
  release(reservationId: string, sku: string, qty: number, reason: string): void
  ship(reservationId: string, sku: string, qty: number): void
  /** A short pick proved the node does not have the units: take them off its on hand. */
  writeOff(sku: string, nodeId: string, qty: number, reason: string): void
  restock(sku: string, nodeId: string, qty: number, orderId: string, returnId: string): void
}

const reservationNode = (stock: StockState, reservationId: string): string => {
  const r = stock.reservations.get(reservationId)
  invariant(r !== undefined, () => `no reservation ${reservationId} in p${stock.partition}`)
  return r!.nodeId
}

export const poolPort = (ctx: PoolContext): PoolPort => ({
  findHold: (holdId, channel) => {
    const stock = ctx.stockOfHold(holdId)
    return stock ? liveHold(stock, holdId, channel, ctx.now) : reject("hold_not_found")
  },
  endHold: (holdId, reason) => {
    const hold = holdById(ctx.stockOfHold(holdId)!, holdId)!
    ctx.emit({ type: "HoldEnded", holdId, sku: hold.sku, nodeId: hold.nodeId, reason, at: ctx.now })
  },
  reserve: (reservationId, orderId, sku, nodeId, qty, stage, convertedQty) => {
    const d = decideReserve(ctx.stockOf(sku), ctx.net, reservationId, orderId, sku, nodeId, qty, stage, convertedQty)
    if ("ok" in d) return d
    ctx.emit(d)
    return undefined
  },
  allocate: (reservationId, sku) => {
    ctx.emit({ type: "ReservationAllocated", reservationId, sku, nodeId: reservationNode(ctx.stockOf(sku), reservationId) })
  },
  release: (reservationId, sku, qty, reason) => {
    ctx.emit({ type: "ReservationReleased", reservationId, sku, nodeId: reservationNode(ctx.stockOf(sku), reservationId), qty, reason })
  },
  ship: (reservationId, sku, qty) => {
    ctx.emit({ type: "StockShipped", reservationId, sku, nodeId: reservationNode(ctx.stockOf(sku), reservationId), qty })
  },
  writeOff: (sku, nodeId, qty, reason) => {
    ctx.emit({ type: "StockAdjusted", sku, nodeId, delta: -qty, reason, at: ctx.now })
  },
  restock: (sku, nodeId, qty, orderId, returnId) => {
    ctx.emit({ type: "StockRestocked", sku, nodeId, qty, orderId, returnId })
  }
})
