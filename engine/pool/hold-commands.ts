/**
 * Cart holds: the StockPool commands hold.create, hold.extend and
 * hold.release. The rules, in order:
 *
 * - A hold names a channel, a SKU and a quantity; its TTL lies in
 *   holdTtlMsMin..holdTtlMsMax (holdTtlMsDefault when absent).
 * - A client key makes the request idempotent within the channel: the same
 *   SKU, quantity (and node, when named) answer the existing hold
 *   (`existing`); anything else is exists_with_different_lines.
 * - The node: the one named (online, and one the channel may sell from);
 *   else, with a location, the node routing would ship the line from; else
 *   the online node the channel may use with the most available stock.
 * - The pool must have the quantity available (decidePlaceHold).
 * - Only the channel that placed a hold may extend or release it, while it
 *   lives (liveHold: expired, used or unknown holds are named as such).
 */
import type { EngineConfig } from "../config.ts"
import type { CreateHold, ExtendHold, ReleaseHold } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import { isLatLon, policyAllows, type RoutingPolicy } from "../domain/network.ts"
import type { Reply } from "../domain/replies.ts"
import { checkId, checkQty } from "../domain/validate.ts"
import { nodeById } from "../network/network-actor.ts"
import { decideExtendHold, decidePlaceHold, decideReleaseHold, findHoldByKey, holdById } from "./pool-actor.ts"
import type { PoolContext } from "./pool-context.ts"
import { holdView } from "./pool-views.ts"

/** A hold's TTL: a whole number of ms in holdTtlMsMin..holdTtlMsMax. */
export const checkTtl = (ttlMs: unknown, config: EngineConfig): Rejection | undefined =>
  typeof ttlMs === "number" && Number.isInteger(ttlMs) && ttlMs >= config.holdTtlMsMin && ttlMs <= config.holdTtlMsMax
    ? undefined
    : reject("ttl_out_of_range", `ttlMs must be a whole number in ${config.holdTtlMsMin}..${config.holdTtlMsMax}`)

export const createHold = (c: CreateHold, ctx: PoolContext): Reply => {
  const { config, net } = ctx
  const bad = checkId(c.channel, config) ?? checkId(c.sku, config) ?? checkQty(c.qty, config) ??
    (c.key !== undefined ? checkId(c.key, config) : undefined) ??
    checkTtl(c.ttlMs ?? config.holdTtlMsDefault, config)
  if (bad) return bad
  const channel = net.channels.get(c.channel)
  if (!channel) return reject("unknown_channel")
  if (!net.skuIndex.has(c.sku)) return reject("unknown_sku", `unknown SKU ${c.sku}`)
  const stock = ctx.stockOf(c.sku)
  if (c.key !== undefined) {
    const existing = findHoldByKey(stock, c.channel, c.key)
    if (existing) {
      const same = existing.sku === c.sku && existing.qty === c.qty && (c.nodeId === undefined || c.nodeId === existing.nodeId)
      return same ? { ok: true, hold: holdView(existing), existing: true } : reject("exists_with_different_lines", "a hold with this key exists for another SKU, quantity or node")
    }
  }
  const nodeId = holdNode(c, channel.policy, ctx)
  if (typeof nodeId !== "string") return nodeId
  const placed = decidePlaceHold(stock, net, c.channel, c.sku, nodeId, c.qty, c.ttlMs ?? config.holdTtlMsDefault, c.key ?? null, ctx.now)
  if ("ok" in placed) return placed
  ctx.emit(placed)
  return { ok: true, hold: holdView(placed) }
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
  const extended = decideExtendHold(stock, c.holdId, c.channel, c.ttlMs, ctx.now)
  if ("ok" in extended) return extended
  const reply: Reply = { ok: true, hold: holdView({ ...holdById(stock, c.holdId)!, expiresAt: extended.expiresAt }) }
  ctx.emit(extended)
  return reply
}

export const releaseHold = (c: ReleaseHold, ctx: PoolContext): Reply => {
  if (typeof c.holdId !== "string") return reject("invalid_id")
  const stock = ctx.stockOfHold(c.holdId)
  if (!stock) return reject("hold_not_found")
  const released = decideReleaseHold(stock, c.holdId, c.channel, ctx.now)
  if ("ok" in released) return released
  // the reply shows the hold as it was: a released hold leaves the book
  const reply: Reply = { ok: true, hold: holdView(holdById(stock, c.holdId)!) }
  ctx.emit(released)
  return reply
}
