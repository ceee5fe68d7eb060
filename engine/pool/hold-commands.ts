/**
 * Cart holds: the StockPool commands hold.create, hold.extend and
 * hold.release. The rules, in order:
 *
 * - A hold names a channel, a SKU and a quantity; its TTL lies in
 *   holdTtlMsMin..holdTtlMsMax (holdTtlMsDefault when absent).
 * - A client key makes the request idempotent within the channel, while the
 *   hold lives and while its end is retained (holdEndedRetentionMs,
 *   holdsEndedRetainedMax): the same SKU, quantity (and node, when named)
 *   answer the hold (`existing`, in its current or final state); anything
 *   else is hold_key_conflict.
 * - The node: the one named (online, and one the channel may sell from);
 *   else, with a location, the node routing would ship the line from; else
 *   the online node the channel may use with the most available stock.
 * - The pool must have the quantity available (decidePlaceHold).
 * - Limits against one client holding a whole product: the live holds of one
 *   cart, and of one customer, hold at most holdUnitsPerCartMax units of the
 *   SKU (a hold naming neither counts alone): hold_cart_limit; the live holds
 *   of one channel take at most holdChannelSharePercentMax percent of the
 *   SKU's ATP as the channel sees it (plus what they hold): hold_channel_share.
 *   Both read indexes evolved from HoldPlaced / HoldEnded, so recovery
 *   rebuilds them.
 * - Only the channel that placed a hold may extend or release it, while it
 *   lives (liveHold: expired, used or unknown holds are named as such). An
 *   extension never shortens the hold, and stays within holdLifetimeMsMax of
 *   its creation and holdExtendsMax extensions (decideExtendHold).
 */
import type { EngineConfig } from "../config.ts"
import type { CreateHold, ExtendHold, ReleaseHold } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import { isLatLon, policyAllows, type RoutingPolicy } from "../domain/network.ts"
import type { Reply } from "../domain/replies.ts"
import { checkId, checkQty } from "../domain/validate.ts"
import { nodeById } from "../network/network-actor.ts"
import {
  cartHeldKey, channelHeldKey, customerHeldKey, decideExtendHold, decidePlaceHold, decideReleaseHold, findEndedHoldByKey, findHoldByKey,
  holdById, poolAtp, type StockState
} from "./pool-actor.ts"
import type { PoolContext } from "./pool-context.ts"
import { endedHoldView, holdView, type HoldFields } from "./pool-views.ts"

/** A hold's TTL: a whole number of ms in holdTtlMsMin..holdTtlMsMax. */
export const checkTtl = (ttlMs: unknown, config: EngineConfig): Rejection | undefined =>
  typeof ttlMs === "number" && Number.isInteger(ttlMs) && ttlMs >= config.holdTtlMsMin && ttlMs <= config.holdTtlMsMax
    ? undefined
    : reject("ttl_out_of_range", `ttlMs must be a whole number in ${config.holdTtlMsMin}..${config.holdTtlMsMax}`)

export const createHold = (c: CreateHold, ctx: PoolContext): Reply => {
  const { config, net } = ctx
  const bad = checkId(c.channel, config) ?? checkId(c.sku, config) ?? checkQty(c.qty, config) ??
    (c.key !== undefined ? checkId(c.key, config) : undefined) ??
    (c.cartId !== undefined ? checkId(c.cartId, config) : undefined) ??
    (c.customerId !== undefined ? checkId(c.customerId, config) : undefined) ??
    checkTtl(c.ttlMs ?? config.holdTtlMsDefault, config)
  if (bad) return bad
  const channel = net.channels.get(c.channel)
  if (!channel) return reject("unknown_channel")
  if (!net.skuIndex.has(c.sku)) return reject("unknown_sku", `unknown SKU ${c.sku}`)
  const stock = ctx.stockOf(c.sku)
  if (c.key !== undefined) {
    const same = (h: { readonly sku: string; readonly qty: number; readonly nodeId: string }) =>
      h.sku === c.sku && h.qty === c.qty && (c.nodeId === undefined || c.nodeId === h.nodeId)
    const conflict = (holdId: string) =>
      reject("hold_key_conflict", `the key names hold ${holdId}, for another SKU, quantity or node; use a new key for a new hold`)
    const existing = findHoldByKey(stock, c.channel, c.key)
    if (existing) return same(existing) ? { ok: true, hold: holdView(existing), existing: true } : conflict(existing.holdId)
    const ended = findEndedHoldByKey(stock, c.channel, c.key, ctx.now)
    if (ended) return same(ended) ? { ok: true, hold: endedHoldView(stock, ended), existing: true } : conflict(stock.ended.holdId(ended))
  }
  const nodeId = holdNode(c, channel.policy, ctx)
  if (typeof nodeId !== "string") return nodeId
  const placed = decidePlaceHold(stock, net, c.channel, c.sku, nodeId, c.qty, c.ttlMs ?? config.holdTtlMsDefault, c.key ?? null, ctx.now, c)
  if ("ok" in placed) return placed
  const over = holdLimitRefusal(c, nodeId, channel.policy, stock, ctx)
  if (over) return over
  ctx.emit(placed)
  // field by field: a spread of the event into a new literal takes V8's slow path (a quarter of the hold rate)
  const hold: HoldFields = {
    holdId: placed.holdId, channel: placed.channel, sku: placed.sku, nodeId: placed.nodeId, qty: placed.qty, expiresAt: placed.expiresAt,
    placedAt: placed.at, extensions: 0, cartId: placed.cartId ?? null, customerId: placed.customerId ?? null
  }
  return { ok: true, hold: holdView(hold) }
}

/**
 * The limits on what one client may hold of a SKU: per cart and per customer
 * (a hold naming neither is its own cart), and per channel as a share of the
 * SKU's ATP over the online nodes the channel may sell from (what availability
 * shows it) plus the units its live holds already hold.
 */
const holdLimitRefusal = (c: CreateHold, nodeId: string, policy: RoutingPolicy, stock: StockState, ctx: PoolContext): Rejection | undefined => {
  const { config, net } = ctx
  const cap = config.holdUnitsPerCartMax
  const holders: Array<[string, string | undefined]> = [["cart", c.cartId], ["customer", c.customerId]]
  for (const [what, id] of holders) {
    if (id === undefined) continue
    const held = stock.holderHeld.get(what === "cart" ? cartHeldKey(c.channel, id, c.sku) : customerHeldKey(c.channel, id, c.sku)) ?? 0
    if (held + c.qty > cap) return reject("hold_cart_limit", `${what} ${id} holds ${held} of ${c.sku}; at most ${cap} (holdUnitsPerCartMax)`)
  }
  if (c.qty > cap) return reject("hold_cart_limit", `a hold is for at most ${cap} units of a SKU per cart (holdUnitsPerCartMax), ${c.qty} asked`)
  const share = config.holdChannelSharePercentMax
  if (share >= 100) return undefined
  const held = stock.channelHeld.get(channelHeldKey(c.channel, c.sku)) ?? 0
  // the chosen pool's ATP alone often shows the hold is within the share: no need to add up every node's
  if ((held + c.qty) * 100 <= share * (held + poolAtp(stock, net, c.sku, nodeId))) return undefined
  const atpAt = ctx.stock.row(c.sku)
  let atp = 0
  for (let nodeNo = 0; nodeNo < net.nodes.length; nodeNo++) {
    const node = net.nodes[nodeNo]
    if (node.status === "online" && policyAllows(policy, node)) atp += atpAt(nodeNo)
  }
  const allowed = Math.ceil((share * (atp + held)) / 100)
  if (held + c.qty > allowed) {
    return reject("hold_channel_share", `channel ${c.channel} holds ${held} of ${c.sku}; its holds may take at most ${share}% of the ${atp + held} it could hold (${allowed})`)
  }
  return undefined
}

/** The node a new hold reserves at: the one named, else the best for the customer (bestNodeForHold). */
const holdNode = (c: CreateHold, policy: RoutingPolicy, ctx: PoolContext): string | Rejection => {
  if (c.nodeId !== undefined) {
    const node = typeof c.nodeId === "string" ? nodeById(ctx.net, c.nodeId) : undefined
    if (!node) return reject("unknown_node")
    if (node.status !== "online") return reject("node_not_available", `${node.nodeId} is ${node.status}`)
    if (!policyAllows(policy, node)) return reject("node_not_available", `channel ${c.channel} may not sell from ${node.nodeId}`)
    return node.nodeId
  }
  if (c.location !== undefined && !isLatLon(c.location)) return reject("invalid_location")
  return bestNodeForHold(c, policy, ctx) ?? reject("insufficient_stock", `no node the channel may use has ${c.qty} of ${c.sku}`)
}

/** "Best node for this customer": the node routing would ship the line from (by location), else the one with most stock. */
export const bestNodeForHold = (c: CreateHold, policy: RoutingPolicy, ctx: PoolContext): string | undefined => {
  const { net } = ctx
  if (c.location !== undefined) {
    const sku = net.skus[net.skuIndex.get(c.sku)!]
    const result = ctx.route(
      { lines: [{ lineNo: 1, sku: c.sku, qty: c.qty, weightGrams: sku.weightGrams }], destination: c.location, fulfillment: "ship", pickupNodeId: null, policy, excludedNodeIds: new Set() },
      net.nodes, ctx.stock, ctx.capacity
    )
    const s = result.shipments[0]
    return s && s.lines[0].qty === c.qty ? s.nodeId : undefined
  }
  // one read of the SKU's row of pools, then node numbers: no SKU or node lookup per node
  const atpAt = ctx.stock.row(c.sku)
  const nodes = net.nodes
  let best: string | undefined
  let bestAtp = c.qty - 1
  for (let nodeNo = 0; nodeNo < nodes.length; nodeNo++) {
    const node = nodes[nodeNo]
    if (node.status !== "online") continue
    const atp = atpAt(nodeNo)
    if (atp > bestAtp && policyAllows(policy, node)) {
      best = node.nodeId
      bestAtp = atp
    }
  }
  return best
}

export const extendHold = (c: ExtendHold, ctx: PoolContext): Reply => {
  if (typeof c.holdId !== "string") return reject("invalid_id")
  const stock = ctx.stockOfHold(c.holdId)
  if (!stock) return reject("hold_not_found")
  const bad = checkTtl(c.ttlMs, ctx.config)
  if (bad) return bad
  const extended = decideExtendHold(stock, c.holdId, c.channel, c.ttlMs, ctx.now, ctx.config)
  if ("ok" in extended) return extended
  // an extension to before the current expiry changes nothing: the hold as it is
  if (!("type" in extended)) return { ok: true, hold: holdView(extended) }
  const hold = holdById(stock, c.holdId)!
  const reply: Reply = { ok: true, hold: holdView({ ...hold, expiresAt: extended.expiresAt, extensions: hold.extensions + 1 }) }
  ctx.emit(extended)
  return reply
}

export const releaseHold = (c: ReleaseHold, ctx: PoolContext): Reply => {
  if (typeof c.holdId !== "string") return reject("invalid_id")
  const stock = ctx.stockOfHold(c.holdId)
  if (!stock) return reject("hold_not_found")
  const released = decideReleaseHold(stock, c.holdId, c.channel, ctx.now)
  if ("ok" in released) return released
  // the reply shows the hold's final state: a released hold leaves the book
  const reply: Reply = { ok: true, hold: holdView(holdById(stock, c.holdId)!, { reason: "released", endedAt: ctx.now }) }
  ctx.emit(released)
  return reply
}
