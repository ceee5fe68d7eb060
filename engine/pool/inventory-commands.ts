/**
 * Inventory: the StockPool commands inventory.receive, inventory.adjust,
 * inventory.setSafetyStock and the bulk inventory.load. The rules:
 *
 * - A pool is a known SKU at a known node.
 * - A receipt adds a positive quantity; on hand never goes above onHandMax.
 * - An adjustment is either a signed non-zero delta or an absolute count
 *   (a count equal to on hand changes nothing), always with a reason; on hand
 *   never goes below what is held and allocated (decideAdjust).
 * - Safety stock is a whole number in 0..onHandMax.
 * - A bulk load (absolute counts, optional safety stock, at most bulkRowsMax
 *   rows, each pool once) checks every row first, then applies them all.
 */
import type { AdjustStock, LoadInventory, ReceiveStock, SetSafetyStock } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { PoolEvent } from "../domain/events.ts"
import type { Reply } from "../domain/replies.ts"
import { checkId, checkQty, checkText, isCount } from "../domain/validate.ts"
import { decideAdjust, decideReceive, decideSafetyStock, poolSlot } from "./pool-actor.ts"
import type { PoolContext } from "./pool-context.ts"
import { poolView } from "./pool-views.ts"

/** A known SKU at a known node. */
const checkPool = (sku: unknown, nodeId: unknown, ctx: PoolContext): Rejection | undefined => {
  const bad = checkId(sku, ctx.config) ?? checkId(nodeId, ctx.config)
  if (bad) return bad
  if (!ctx.net.skuIndex.has(sku as string)) return reject("unknown_sku", `unknown SKU ${String(sku)}`)
  if (!ctx.net.nodeIndex.has(nodeId as string)) return reject("unknown_node", `unknown node ${String(nodeId)}`)
  return undefined
}

/** The pool as it is now. */
const viewOf = (sku: string, nodeId: string, ctx: PoolContext): Reply => ({ ok: true, pool: poolView(ctx.stockOf(sku), ctx.net, sku, nodeId) })

/** Journals the decided event, then answers the pool as it now stands. */
const applied = (d: PoolEvent | Rejection, sku: string, nodeId: string, ctx: PoolContext): Reply => {
  if ("ok" in d) return d
  ctx.emit(d)
  return viewOf(sku, nodeId, ctx)
}

export const receiveStock = (c: ReceiveStock, ctx: PoolContext): Reply => {
  const bad = checkPool(c.sku, c.nodeId, ctx) ?? checkQty(c.qty, ctx.config) ?? checkText(c.reference ?? "", "reference")
  if (bad) return bad
  return applied(decideReceive(ctx.stockOf(c.sku), ctx.net, c.sku, c.nodeId, c.qty, c.reference ?? "", ctx.now, ctx.config), c.sku, c.nodeId, ctx)
}

export const adjustStock = (c: AdjustStock, ctx: PoolContext): Reply => {
  const { config } = ctx
  const bad = checkPool(c.sku, c.nodeId, ctx) ?? checkText(c.reason, "reason")
  if (bad) return bad
  const hasDelta = c.delta !== undefined
  if (hasDelta === (c.count !== undefined)) return reject("malformed_command", "give either delta or count")
  const stock = ctx.stockOf(c.sku)
  let delta: number
  if (hasDelta) {
    if (typeof c.delta !== "number" || !Number.isInteger(c.delta) || c.delta === 0) return reject("quantity_must_be_positive", "delta is a non-zero whole number")
    if (Math.abs(c.delta) > config.quantityMax) return reject("quantity_too_large")
    delta = c.delta
  } else {
    if (!isCount(c.count)) return reject("quantity_must_be_positive", "count is a whole number >= 0")
    if (c.count > config.onHandMax) return reject("on_hand_too_large")
    delta = c.count - (stock.pools.onHand[poolSlot(stock, ctx.net, c.sku, c.nodeId)] ?? 0)
    if (delta === 0) return viewOf(c.sku, c.nodeId, ctx)
  }
  return applied(decideAdjust(stock, ctx.net, c.sku, c.nodeId, delta, c.reason, ctx.now, config), c.sku, c.nodeId, ctx)
}

export const setSafetyStock = (c: SetSafetyStock, ctx: PoolContext): Reply => {
  const bad = checkPool(c.sku, c.nodeId, ctx)
  if (bad) return bad
  if (!isCount(c.qty) || c.qty > ctx.config.onHandMax) return reject("quantity_must_be_positive", "safety stock is a whole number >= 0")
  return applied(decideSafetyStock(c.sku, c.nodeId, c.qty), c.sku, c.nodeId, ctx)
}

/** A bulk load of absolute counts: every row is checked first, then all apply. */
export const loadInventory = (c: LoadInventory, ctx: PoolContext): Reply => {
  const { config, net } = ctx
  if (!Array.isArray(c.rows) || c.rows.length === 0) return reject("malformed_command", "rows must be a non-empty list")
  if (c.rows.length > config.bulkRowsMax) return reject("too_many_lines", `at most ${config.bulkRowsMax} rows`)
  const badRef = checkText(c.reference ?? "", "reference")
  if (badRef) return badRef
  const seen = new Set<string>()
  for (const [i, row] of c.rows.entries()) {
    const where = `row ${i + 1}: `
    if (typeof row !== "object" || row === null) return reject("malformed_command", `${where}not an object`)
    const bad = checkPool(row.sku, row.nodeId, ctx)
    if (bad) return reject(bad.code, where + bad.message)
    const key = `${row.sku}\u0000${row.nodeId}`
    if (seen.has(key)) return reject("duplicate_line", `${where}${row.sku} at ${row.nodeId} appears twice`)
    seen.add(key)
    if (!isCount(row.onHand) || row.onHand > config.onHandMax) return reject("quantity_must_be_positive", `${where}onHand is a whole number in 0..${config.onHandMax}`)
    if (row.safetyStock !== undefined && (!isCount(row.safetyStock) || row.safetyStock > config.onHandMax)) {
      return reject("quantity_must_be_positive", `${where}safetyStock is a whole number >= 0`)
    }
    const stock = ctx.stockOf(row.sku)
    const slot = poolSlot(stock, net, row.sku, row.nodeId)
    const promised = slot < 0 ? 0 : stock.pools.held[slot] + stock.pools.allocated[slot]
    if (row.onHand < promised) return reject("below_reserved", `${where}on hand ${row.onHand} is below the ${promised} held and allocated`)
  }
  const reason = `load${c.reference ? `:${c.reference}` : ""}`
  for (const row of c.rows) {
    const stock = ctx.stockOf(row.sku)
    const slot = poolSlot(stock, net, row.sku, row.nodeId)
    const delta = row.onHand - (slot < 0 ? 0 : stock.pools.onHand[slot])
    if (delta !== 0) ctx.emit({ type: "StockAdjusted", sku: row.sku, nodeId: row.nodeId, delta, reason, at: ctx.now })
    if (row.safetyStock !== undefined && (slot < 0 || stock.pools.safety[slot] !== row.safetyStock)) {
      ctx.emit({ type: "SafetyStockSet", sku: row.sku, nodeId: row.nodeId, qty: row.safetyStock })
    }
  }
  return { ok: true }
}
