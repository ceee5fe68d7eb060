/**
 * The StockPool actor, one per SKU x node: on hand, safety stock, holds
 * (cart reservations with a TTL) and order reservations (held while payment
 * is pending, allocated once paid). A partition keeps the state of all its
 * pools column-wise (PoolTable) plus the hold and reservation records.
 *
 * Order: state, commands (decide), evolve. Decide functions read state and
 * return events or a named rejection; only evolve changes state. The command
 * handlers that validate a client's command and call them are in
 * hold-commands.ts and inventory-commands.ts (table: pool-commands.ts); the
 * messages Order actors send are in pool-port.ts.
 */
import type { EngineConfig } from "../config.ts"
import { invariant, reject, type Rejection } from "../domain/errors.ts"
import type { HoldEnded, HoldExtended, HoldPlaced, PoolEvent, StockReserved } from "../domain/events.ts"
import type { NetworkState } from "../network/network-actor.ts"
import { TimerHeap } from "../runtime/timer-heap.ts"
import { EndedHolds, type EndedHold } from "./ended-holds.ts"
import { HoldBook, holdIdFor } from "./hold-book.ts"
import { PoolTable, type PoolTableSnapshot } from "./pool-table.ts"

// ---- state -------------------------------------------------------------------

export interface Hold {
  readonly holdId: string
  readonly slot: number
  readonly sku: string
  readonly nodeId: string
  readonly channel: string
  readonly qty: number
  expiresAt: number
  readonly key: string | null
  readonly placedAt: number
  readonly cartId: string | null
  readonly customerId: string | null
  /** HoldExtended events so far. */
  readonly extensions: number
}

export interface Reservation {
  readonly reservationId: string
  readonly slot: number
  readonly sku: string
  readonly nodeId: string
  readonly orderId: string
  readonly qty: number
  readonly stage: "held" | "allocated"
}

export interface StockState {
  readonly partition: number
  pools: PoolTable
  /** Live holds by their number within the partition (the part of the hold id after the dash), stored column-wise. */
  readonly holds: HoldBook
  /** (channel, client key) -> hold id, for idempotent hold requests. */
  readonly holdsByKey: Map<string, string>
  /**
   * Recently ended holds, how and when (bounded: holdsEndedRetainedMax, holdEndedRetentionMs): a late request
   * hears "expired" rather than "not found", hold.get shows the final state, a client key still names its hold.
   */
  readonly ended: EndedHolds
  /** Units held by the live holds of a channel, by (channel, SKU): the channel share limit. */
  readonly channelHeld: Map<string, number>
  /** Units held by the live holds of a cart or customer, by (channel, cart or customer, SKU): the per-cart limit. */
  readonly holderHeld: Map<string, number>
  readonly holdExpiry: TimerHeap<number>
  readonly reservations: Map<string, Reservation>
  nextHoldNo: number
}

export const emptyStock = (partition: number, config: EngineConfig): StockState => ({
  partition,
  pools: new PoolTable(config.nodesMax),
  holds: new HoldBook(partition),
  holdsByKey: new Map(),
  ended: new EndedHolds(partition, config.holdsEndedRetainedMax, config.holdEndedRetentionMs),
  channelHeld: new Map(),
  holderHeld: new Map(),
  holdExpiry: new TimerHeap<number>(),
  reservations: new Map(),
  nextHoldNo: 1
})

export { holdIdFor }

/** The partition a hold id names (hold ids carry the partition of their pool). */
export const partitionOfHold = (holdId: string): number => {
  const dash = holdId.indexOf("-")
  if (holdId.charCodeAt(0) !== 104 /* h */ || dash < 2) return -1
  const p = Number(holdId.slice(1, dash))
  return Number.isInteger(p) ? p : -1
}

/** The number of a hold id of this partition, or -1 when the id is not one the engine issued. */
export const holdNoOf = (holdId: string): number => {
  const dash = holdId.indexOf("-")
  const n = dash < 0 ? NaN : parseInt(holdId.slice(dash + 1), 36)
  return Number.isSafeInteger(n) && n > 0 && holdIdFor(partitionOfHold(holdId), n) === holdId ? n : -1
}

/** A live hold by id. */
export const holdById = (s: StockState, holdId: string): Hold | undefined => s.holds.get(holdNoOf(holdId))

const keyOf = (channel: string, key: string) => `${channel}\u0000${key}`

/** The index keys of what a channel's holds hold of a SKU. */
export const channelHeldKey = (channel: string, sku: string) => `${channel}\u0000${sku}`
export const cartHeldKey = (channel: string, cartId: string, sku: string) => `${channel}\u0000c\u0000${cartId}\u0000${sku}`
export const customerHeldKey = (channel: string, customerId: string, sku: string) => `${channel}\u0000u\u0000${customerId}\u0000${sku}`

const bump = (m: Map<string, number>, key: string, delta: number): void => {
  const n = (m.get(key) ?? 0) + delta
  if (n === 0) m.delete(key)
  else m.set(key, n)
}

/** Counts a live hold into (delta 1) or out of (delta -1) the channel and cart indexes. */
const indexHold = (s: StockState, h: Pick<Hold, "channel" | "sku" | "qty" | "cartId" | "customerId">, delta: 1 | -1): void => {
  bump(s.channelHeld, channelHeldKey(h.channel, h.sku), delta * h.qty)
  if (h.cartId !== null) bump(s.holderHeld, cartHeldKey(h.channel, h.cartId, h.sku), delta * h.qty)
  if (h.customerId !== null) bump(s.holderHeld, customerHeldKey(h.channel, h.customerId, h.sku), delta * h.qty)
}

export const poolSlot = (s: StockState, net: NetworkState, sku: string, nodeId: string): number => {
  const skuNo = net.skuIndex.get(sku)
  const nodeNo = net.nodeIndex.get(nodeId)
  return skuNo === undefined || nodeNo === undefined ? -1 : s.pools.slot(skuNo, nodeNo)
}

export const poolAtp = (s: StockState, net: NetworkState, sku: string, nodeId: string): number =>
  s.pools.atp(poolSlot(s, net, sku, nodeId))

// ---- decide: inventory -----------------------------------------------------------

export type PoolDecision = PoolEvent | Rejection

export const decideReceive = (
  s: StockState, net: NetworkState, sku: string, nodeId: string, qty: number, reference: string, now: number, config: EngineConfig
): PoolDecision => {
  const onHand = s.pools.onHand[poolSlot(s, net, sku, nodeId)] ?? 0
  if (onHand + qty > config.onHandMax) return reject("on_hand_too_large")
  return { type: "StockReceived", sku, nodeId, qty, reference, at: now }
}

/** A signed change of on hand; never below what is held and allocated, never above onHandMax. */
export const decideAdjust = (
  s: StockState, net: NetworkState, sku: string, nodeId: string, delta: number, reason: string, now: number, config: EngineConfig
): PoolDecision => {
  const slot = poolSlot(s, net, sku, nodeId)
  const onHand = slot < 0 ? 0 : s.pools.onHand[slot]
  const promised = slot < 0 ? 0 : s.pools.held[slot] + s.pools.allocated[slot]
  if (onHand + delta < promised) {
    return reject("below_reserved", `on hand would be ${onHand + delta}, below the ${promised} held and allocated`)
  }
  if (onHand + delta > config.onHandMax) return reject("on_hand_too_large")
  return { type: "StockAdjusted", sku, nodeId, delta, reason, at: now }
}

export const decideSafetyStock = (sku: string, nodeId: string, qty: number): PoolDecision =>
  ({ type: "SafetyStockSet", sku, nodeId, qty })

// ---- decide: holds -----------------------------------------------------------------

/** An existing hold for the same (channel, key) answers a repeated request; other parameters are a conflict. */
export const findHoldByKey = (s: StockState, channel: string, key: string): Hold | undefined => {
  const id = s.holdsByKey.get(keyOf(channel, key))
  return id === undefined ? undefined : holdById(s, id)
}

/** An ended hold (retained at `now`) that a client key of the channel names. */
export const findEndedHoldByKey = (s: StockState, channel: string, key: string, now: number): EndedHold | undefined =>
  s.ended.byClientKey(channel, key, now)

/** An ended hold by id, while it is retained. */
export const endedHoldById = (s: StockState, holdId: string, now: number): EndedHold | undefined => s.ended.get(holdNoOf(holdId), now)

export const decidePlaceHold = (
  s: StockState, net: NetworkState, channel: string, sku: string, nodeId: string, qty: number,
  ttlMs: number, key: string | null, now: number, who: { readonly cartId?: string; readonly customerId?: string } = {}
): HoldPlaced | Rejection => {
  const atp = poolAtp(s, net, sku, nodeId)
  if (atp < qty) return reject("insufficient_stock", `${atp} of ${sku} available at ${nodeId}, ${qty} asked`)
  const placed: { -readonly [K in keyof HoldPlaced]: HoldPlaced[K] } = {
    type: "HoldPlaced", holdId: holdIdFor(s.partition, s.nextHoldNo), channel, sku, nodeId, qty, expiresAt: now + ttlMs, key, at: now
  }
  // added, not spread in: spreads of optional fields make objects of many shapes, slow to build and to read (bench -- engine)
  if (who.cartId !== undefined) placed.cartId = who.cartId
  if (who.customerId !== undefined) placed.customerId = who.customerId
  return placed
}

/** A live hold of this channel, or the named reason it cannot be used. */
export const liveHold = (s: StockState, holdId: string, channel: string, now: number): Hold | Rejection => {
  const holdNo = holdNoOf(holdId)
  const hold = s.holds.get(holdNo)
  if (!hold) {
    const ended = s.ended.get(holdNo, now)
    if (ended?.reason === "expired") return reject("hold_expired")
    if (ended) return reject("hold_used", `the hold was ${ended.reason}`)
    return reject("hold_not_found")
  }
  if (hold.channel !== channel) return reject("hold_foreign")
  if (hold.expiresAt <= now) return reject("hold_expired")
  return hold
}

/**
 * An extension never shortens a hold: the new expiry is now + ttlMs when that
 * is later than the current one. Then no event: the hold is answered as it is
 * (and no extension is counted). A hold lives at most holdLifetimeMsMax from
 * its creation and is extended at most holdExtendsMax times.
 */
export const decideExtendHold = (
  s: StockState, holdId: string, channel: string, ttlMs: number, now: number, config: Pick<EngineConfig, "holdLifetimeMsMax" | "holdExtendsMax">
): HoldExtended | Hold | Rejection => {
  const hold = liveHold(s, holdId, channel, now)
  if ("ok" in hold) return hold
  const expiresAt = now + ttlMs
  if (expiresAt <= hold.expiresAt) return hold
  const latest = hold.placedAt + config.holdLifetimeMsMax
  if (expiresAt > latest) {
    return reject("hold_lifetime_exceeded", `a hold lives at most ${config.holdLifetimeMsMax} ms from its creation: this one may be extended to ${latest} at the latest (ttlMs ${latest - now} from now)`)
  }
  if (hold.extensions >= config.holdExtendsMax) return reject("hold_extends_exceeded", `the hold was extended ${hold.extensions} times (holdExtendsMax ${config.holdExtendsMax})`)
  return { type: "HoldExtended", holdId, sku: hold.sku, nodeId: hold.nodeId, expiresAt }
}

export const decideReleaseHold = (s: StockState, holdId: string, channel: string, now: number): HoldEnded | Rejection => {
  const hold = liveHold(s, holdId, channel, now)
  if ("ok" in hold) return hold
  return { type: "HoldEnded", holdId, sku: hold.sku, nodeId: hold.nodeId, reason: "released", at: now }
}

/** Holds whose TTL has run out by `now`, earliest first. */
export const dueHoldExpiries = (s: StockState, now: number, limit = Infinity): Array<HoldEnded> => {
  const out: Array<HoldEnded> = []
  while (out.length < limit && s.holdExpiry.peekTime() <= now) {
    const due = s.holdExpiry.peekTime()
    const holdNo = s.holdExpiry.pop()
    // an entry for an ended hold, or one left behind by an extension (which queued its own), is stale
    if (s.holds.expiresAt(holdNo) !== due) continue
    const hold = s.holds.get(holdNo)!
    out.push({ type: "HoldEnded", holdId: hold.holdId, sku: hold.sku, nodeId: hold.nodeId, reason: "expired", at: hold.expiresAt })
  }
  return out
}

// ---- decide: order reservations (sent by Order actors) --------------------------------

/**
 * `convertedQty` of the units come from cart holds at this pool that were just
 * ended for this reservation: they were already promised, so only the rest is
 * checked against ATP (a safety stock raised since the hold does not take them away).
 */
export const decideReserve = (
  s: StockState, net: NetworkState, reservationId: string, orderId: string, sku: string, nodeId: string,
  qty: number, stage: StockReserved["stage"], convertedQty = 0
): PoolDecision => {
  if (s.reservations.has(reservationId)) return reject("invalid_state", `reservation ${reservationId} exists`)
  const slot = poolSlot(s, net, sku, nodeId)
  const t = s.pools
  const onHand = slot < 0 ? 0 : t.onHand[slot]
  const promised = slot < 0 ? 0 : t.held[slot] + t.allocated[slot]
  const atp = Math.max(0, onHand - promised - convertedQty - (slot < 0 ? 0 : t.safety[slot]))
  if (qty - convertedQty > atp || promised + qty > onHand) {
    return reject("insufficient_stock", `${atp} of ${sku} available at ${nodeId}, ${qty - convertedQty} asked`)
  }
  return { type: "StockReserved", reservationId, orderId, sku, nodeId, qty, stage }
}

// ---- evolve ---------------------------------------------------------------------------

export const evolvePool = (s: StockState, net: NetworkState, e: PoolEvent): void => {
  const pools = s.pools
  switch (e.type) {
    case "StockReceived": {
      const slot = pools.ensure(net.skuIndex.get(e.sku)!, net.nodeIndex.get(e.nodeId)!)
      pools.onHand[slot] += e.qty
      return
    }
    case "StockAdjusted": {
      const slot = pools.ensure(net.skuIndex.get(e.sku)!, net.nodeIndex.get(e.nodeId)!)
      pools.onHand[slot] += e.delta
      pools.assertPool(slot)
      return
    }
    case "SafetyStockSet": {
      const slot = pools.ensure(net.skuIndex.get(e.sku)!, net.nodeIndex.get(e.nodeId)!)
      pools.safety[slot] = e.qty
      return
    }
    case "StockRestocked": {
      const slot = pools.ensure(net.skuIndex.get(e.sku)!, net.nodeIndex.get(e.nodeId)!)
      pools.onHand[slot] += e.qty
      return
    }
    case "HoldPlaced": {
      const holdNo = s.nextHoldNo++
      invariant(e.holdId === holdIdFor(s.partition, holdNo), () => `hold ${e.holdId} placed as number ${holdNo} of partition ${s.partition}`)
      const slot = pools.ensure(net.skuIndex.get(e.sku)!, net.nodeIndex.get(e.nodeId)!)
      pools.held[slot] += e.qty
      pools.assertPool(slot)
      const hold = {
        slot, sku: e.sku, nodeId: e.nodeId, channel: e.channel, qty: e.qty,
        expiresAt: e.expiresAt, key: e.key, placedAt: e.at, cartId: e.cartId ?? null, customerId: e.customerId ?? null, extensions: 0
      }
      s.holds.set(holdNo, hold)
      indexHold(s, hold, 1)
      if (e.key !== null) s.holdsByKey.set(keyOf(e.channel, e.key), e.holdId)
      s.holdExpiry.push(e.expiresAt, holdNo)
      return
    }
    case "HoldExtended": {
      // the old timer stays and is skipped when it comes due
      const holdNo = holdNoOf(e.holdId)
      s.holds.extend(holdNo, e.expiresAt)
      s.holdExpiry.push(e.expiresAt, holdNo)
      return
    }
    case "HoldEnded": {
      const holdNo = holdNoOf(e.holdId)
      const hold = s.holds.get(holdNo)!
      pools.held[hold.slot] -= hold.qty
      pools.assertPool(hold.slot)
      s.holds.delete(holdNo)
      indexHold(s, hold, -1)
      if (hold.key !== null) s.holdsByKey.delete(keyOf(hold.channel, hold.key))
      s.ended.add({
        holdNo, channel: hold.channel, sku: hold.sku, nodeId: hold.nodeId, qty: hold.qty, placedAt: hold.placedAt,
        expiresAt: hold.expiresAt, extensions: hold.extensions, endedAt: e.at, reason: e.reason,
        key: hold.key, cartId: hold.cartId, customerId: hold.customerId
      })
      return
    }
    case "StockReserved": {
      const slot = pools.ensure(net.skuIndex.get(e.sku)!, net.nodeIndex.get(e.nodeId)!)
      if (e.stage === "held") pools.held[slot] += e.qty
      else pools.allocated[slot] += e.qty
      pools.assertPool(slot)
      s.reservations.set(e.reservationId, {
        reservationId: e.reservationId, slot, sku: e.sku, nodeId: e.nodeId, orderId: e.orderId, qty: e.qty, stage: e.stage
      })
      return
    }
    case "ReservationAllocated": {
      const r = s.reservations.get(e.reservationId)!
      invariant(r.stage === "held", () => `reservation ${r.reservationId} allocated twice`)
      pools.held[r.slot] -= r.qty
      pools.allocated[r.slot] += r.qty
      // replaced, never changed in place: a snapshot in progress holds the reservations as they were (runtime/snapshots.ts)
      s.reservations.set(r.reservationId, { ...r, stage: "allocated" })
      return
    }
    case "ReservationReleased": {
      const r = s.reservations.get(e.reservationId)!
      invariant(e.qty > 0 && e.qty <= r.qty, () => `release of ${e.qty} from reservation ${r.reservationId} of ${r.qty}`)
      if (r.stage === "held") pools.held[r.slot] -= e.qty
      else pools.allocated[r.slot] -= e.qty
      leaveReservation(s, r, e.qty)
      pools.assertPool(r.slot)
      return
    }
    case "StockShipped": {
      const r = s.reservations.get(e.reservationId)!
      invariant(r.stage === "allocated" && e.qty > 0 && e.qty <= r.qty, () => `shipment of ${e.qty} from reservation ${r.reservationId}`)
      pools.allocated[r.slot] -= e.qty
      pools.onHand[r.slot] -= e.qty
      leaveReservation(s, r, e.qty)
      pools.assertPool(r.slot)
      return
    }
  }
}

/** `qty` units leave a reservation (released or shipped): it is replaced by one with the rest, or deleted. */
const leaveReservation = (s: StockState, r: Reservation, qty: number): void => {
  if (r.qty === qty) s.reservations.delete(r.reservationId)
  else s.reservations.set(r.reservationId, { ...r, qty: r.qty - qty })
}

// ---- snapshot ---------------------------------------------------------------------------

export interface StockSnapshot {
  readonly pools: PoolTableSnapshot
  readonly holds: ReadonlyArray<Hold>
  /** Ended holds as records, oldest ended first. (Snapshots written before they carried records had `endedHolds`, [number, reason] pairs: not read.) */
  readonly ended?: ReadonlyArray<EndedHold>
  readonly reservations: ReadonlyArray<Reservation>
  readonly nextHoldNo: number
}

export const snapshotStock = (s: StockState): StockSnapshot => ({
  pools: s.pools.snapshot(),
  holds: [...s.holds.values()],
  ended: [...s.ended.values()],
  reservations: [...s.reservations.values()],
  nextHoldNo: s.nextHoldNo
})

export const restoreStock = (partition: number, snap: StockSnapshot, config: EngineConfig): StockState => {
  const s = emptyStock(partition, config)
  s.pools = PoolTable.restore(snap.pools, config.nodesMax)
  for (const h of snap.holds) {
    const holdNo = holdNoOf(h.holdId)
    // snapshots written before holds carried who held them and their extensions
    const hold = { ...h, cartId: h.cartId ?? null, customerId: h.customerId ?? null, extensions: h.extensions ?? 0 }
    s.holds.set(holdNo, hold)
    indexHold(s, hold, 1)
    if (h.key !== null) s.holdsByKey.set(keyOf(h.channel, h.key), h.holdId)
    s.holdExpiry.push(h.expiresAt, holdNo)
  }
  for (const e of snap.ended ?? []) s.ended.add(e)
  for (const r of snap.reservations) s.reservations.set(r.reservationId, { ...r })
  s.nextHoldNo = snap.nextHoldNo
  return s
}
