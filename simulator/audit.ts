/**
 * The end-of-day audit: the simulator's ledger (what the gateway
 * acknowledged) against the engine's state, read through the gateway's HTTP
 * API with the ops token (orders, pools, holds, pool history).
 *
 *   orders     every acknowledged order exists, in its channel, with its
 *              external id and the same lines; its payment is as acknowledged;
 *              no acknowledged counter (cancelled, shipped, delivered,
 *              returned) went back
 *   oversell   per pool: held + allocated <= on hand, nothing negative, and
 *              no more shipped than ever was there; per SKU: the units on
 *              live shipments of the acknowledged orders fit in the supply
 *              (loaded + received + restocked - written off)
 *   holds      every hold left to expire is no longer live, and no pool still
 *              holds stock for anything but orders awaiting payment; in the
 *              pools whose history is read, each such hold ended "expired"
 *   stock      per pool touched: loaded + received - shipped - short-picked
 *              + restocked = on hand (and the same sum over the pool's
 *              journal history, when it is short enough to read whole)
 *   terms      an order carries the promise and B2B terms it was placed
 *              with; its acknowledged feedback is on it
 *   promise    every routing of an order with a service or a last delivery
 *              day (deliverBy, requestedDeliveryDate) gives each shipment a
 *              promise of that service, delivered by the end of that day;
 *              a re-route after placement may instead declare the promise
 *              unreachable (the order then ships by the earliest day)
 *   ship-complete  every routing of a ship-complete order placed every unit
 *              it was asked to, or none (read from the order's history)
 *
 * Any violation fails the audit (and the simulator exits non-zero).
 */
import type { HistoryEntry, HoldView, JournaledEvent, OrderRouted, OrderView, PoolView } from "../engine/index.ts"
import { HttpError, type HttpApi } from "./http.ts"
import { poolKey, type Ledger, type LedgerPool, type OrderTerms } from "./ledger.ts"

export interface Violation {
  readonly check: "order_missing" | "order_mismatch" | "order_lines" | "order_payment" | "order_regressed" | "oversold" | "hold_not_released" | "hold_release_missing" | "stock_not_conserved" | "pool_missing"
    | "order_terms" | "promise_broken" | "ship_complete_partial" | "feedback_missing"
  readonly subject: string
  readonly message: string
}

export interface AuditResult {
  readonly ok: boolean
  readonly violations: ReadonlyArray<Violation>
  /** Violations by check. */
  readonly byCheck: Readonly<Record<string, number>>
  readonly checked: {
    orders: number; pools: number; skus: number; holds: number; poolHistories: number
    /** Orders with promise terms, ship-complete orders (their routings read from history), feedback acknowledged. */
    promiseOrders: number; shipCompleteOrders: number; feedback: number
  }
  readonly ms: number
  /** Time spent per part: orders, pools, holds, histories. */
  readonly partsMs: { orders: number; pools: number; holds: number; histories: number }
  /** The engine's order views read by the audit (for the report). */
  readonly orders: ReadonlyArray<OrderView>
  readonly poolsRead: ReadonlyArray<PoolView>
}

/** How the audit reads the engine: the gateway's HTTP API with the ops token. */
export interface EngineReader {
  order(orderId: string): Promise<OrderView | null>
  pool(nodeId: string, sku: string): Promise<PoolView | null>
  hold(holdId: string): Promise<HoldView | null>
  poolHistory(nodeId: string, sku: string, limit: number): Promise<ReadonlyArray<JournaledEvent>>
  /** The order's events, oldest first (the engine keeps the first and the newest few hundred). */
  orderHistory(orderId: string): Promise<ReadonlyArray<HistoryEntry>>
}

const notFoundAsNull = async <T>(f: () => Promise<T>): Promise<T | null> => {
  try {
    return await f()
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) return null
    throw e
  }
}

export const httpReader = (http: HttpApi, opsKey: string): EngineReader => {
  const enc = encodeURIComponent
  return {
    order: (id) => notFoundAsNull(() => http.call<{ order: OrderView }>("GET", `/v1/orders/${enc(id)}`, opsKey).then((r) => r.order)),
    pool: (nodeId, sku) => notFoundAsNull(() => http.call<{ pool: PoolView }>("GET", `/v1/pools/${enc(nodeId)}/${enc(sku)}`, opsKey).then((r) => r.pool)),
    hold: (id) => notFoundAsNull(() => http.call<{ hold: HoldView }>("GET", `/v1/holds/${enc(id)}`, opsKey).then((r) => r.hold)),
    poolHistory: (nodeId, sku, limit) =>
      http.call<{ history: Array<JournaledEvent> }>("GET", `/v1/pools/${enc(nodeId)}/${enc(sku)}/history?limit=${limit}`, opsKey).then((r) => r.history),
    orderHistory: (id) => http.call<{ history: Array<HistoryEntry> }>("GET", `/v1/orders/${enc(id)}/history`, opsKey).then((r) => r.history)
  }
}

/** The last acceptable delivery day of an order's terms: the earlier of deliverBy and requestedDeliveryDate. */
export const lastDeliveryDay = (t: OrderTerms): string | undefined =>
  t.deliverBy !== undefined && t.requestedDeliveryDate !== undefined
    ? (t.deliverBy < t.requestedDeliveryDate ? t.deliverBy : t.requestedDeliveryDate)
    : t.deliverBy ?? t.requestedDeliveryDate

/** Whether the order asked for a promise (a service or a last delivery day). */
export const asksPromise = (t: OrderTerms | undefined): boolean => t !== undefined && (t.service !== undefined || lastDeliveryDay(t) !== undefined)

const endOfDay = (date: string): number => Date.parse(`${date}T23:59:59.999Z`)

/** What breaks the order's promise in its routings (an empty list: nothing). */
export const promiseProblems = (terms: OrderTerms, routings: ReadonlyArray<OrderRouted>): Array<string> => {
  const problems: Array<string> = []
  const day = lastDeliveryDay(terms)
  for (const r of routings) {
    // only a later routing may fall back to the earliest day: at placement the order is refused instead
    if (r.reason !== "placed" && r.explanation.summary.startsWith("promise_unreachable:")) continue
    for (const s of r.shipments) {
      const p = s.promise
      if (!p) problems.push(`${r.reason} routing: shipment ${s.shipmentId} carries no promise`)
      else if (terms.service !== undefined && p.service !== terms.service) problems.push(`${r.reason} routing: shipment ${s.shipmentId} goes by ${p.carrier} ${p.service}, ${terms.service} asked`)
      else if (day !== undefined && p.promisedBy > endOfDay(day)) problems.push(`${r.reason} routing: shipment ${s.shipmentId} promised by ${new Date(p.promisedBy).toISOString().slice(0, 10)}, after ${day}`)
    }
  }
  return problems
}

/** Routings of a ship-complete order that placed part of what they were asked to (the rest backordered). */
export const shipCompleteProblems = (routings: ReadonlyArray<OrderRouted>): Array<string> =>
  routings.filter((r) => r.shipments.length > 0 && r.backordered.some((b) => b.qty > 0))
    .map((r) => `${r.reason} routing shipped ${r.shipments.map((s) => s.shipmentId).join(", ")} and backordered ${r.backordered.map((b) => `${b.qty} of line ${b.lineNo}`).join(", ")}`)

/** The order's terms as the engine shows them, against those asked; each difference. */
export const termsProblems = (t: OrderTerms, v: Pick<OrderView, "service" | "deliverBy" | "purchaseOrder" | "shipComplete" | "requestedDeliveryDate">): Array<string> => {
  const expected = {
    service: t.service ?? null, deliverBy: lastDeliveryDay(t) ?? null, purchaseOrder: t.purchaseOrder ?? null,
    shipComplete: t.shipComplete ?? false, requestedDeliveryDate: t.requestedDeliveryDate ?? null
  }
  return (Object.keys(expected) as Array<keyof typeof expected>).filter((k) => v[k] !== expected[k]).map((k) => `${k} is ${String(v[k])}, asked ${String(expected[k])}`)
}

export interface AuditOptions {
  /** Pools whose journal history is read (each read scans a partition's journal). */
  readonly historyPoolsMax?: number
  /** Holds left to expire that are looked up one by one. */
  readonly holdsMax?: number
}

const historyLimit = 10_000

export const audit = async (ledger: Ledger, reader: EngineReader, options: AuditOptions = {}): Promise<AuditResult> => {
  const t0 = performance.now()
  const violations: Array<Violation> = []
  const fail = (check: Violation["check"], subject: string, message: string) => violations.push({ check, subject, message })

  // ---- orders ----
  const views = new Map<string, OrderView>()
  let promiseOrders = 0
  let shipCompleteOrders = 0
  let feedback = 0
  await Promise.all(ledger.orders.map(async (o) => {
    const v = await reader.order(o.orderId)
    if (!v) return fail("order_missing", o.orderId, `acknowledged order ${o.orderId} (${o.externalId}) does not exist`)
    views.set(o.orderId, v)
    if (v.channel !== o.channel || v.externalId !== o.externalId) {
      fail("order_mismatch", o.orderId, `order ${o.orderId} is ${v.channel}/${v.externalId}, acknowledged as ${o.channel}/${o.externalId}`)
    }
    const sameLines = v.lines.length === o.lines.length &&
      o.lines.every((l) => v.lines.some((x) => x.lineNo === l.lineNo && x.sku === l.sku && x.qty === l.qty))
    if (!sameLines) {
      const show = (ls: ReadonlyArray<{ lineNo: number; sku: string; qty: number }>) => ls.map((l) => `${l.lineNo}:${l.sku}x${l.qty}`).join(",")
      fail("order_lines", o.orderId, `order ${o.orderId} has lines [${show(v.lines)}], acknowledged [${show(o.lines)}]`)
    }
    if ((o.payment === "authorised" || o.payment === "declined") && v.payment !== o.payment) {
      fail("order_payment", o.orderId, `order ${o.orderId} payment is ${v.payment}, acknowledged ${o.payment}`)
    }
    for (const l of o.lines) {
      const x = v.lines.find((y) => y.lineNo === l.lineNo)
      if (!x) continue
      for (const k of ["cancelled", "shipped", "delivered", "returned"] as const) {
        if (x[k] < l[k]) fail("order_regressed", o.orderId, `order ${o.orderId} line ${l.lineNo}: ${k} ${x[k]}, acknowledged ${l[k]}`)
      }
    }
    if (o.feedback) {
      feedback++
      if (!v.feedback || v.feedback.rating !== o.feedback.rating || v.feedback.comment !== o.feedback.comment) {
        fail("feedback_missing", o.orderId, `order ${o.orderId} has feedback ${v.feedback ? `${v.feedback.rating} "${v.feedback.comment}"` : "none"}, acknowledged ${o.feedback.rating} "${o.feedback.comment}"`)
      }
    }
    const terms = o.terms
    if (!terms) return
    for (const p of termsProblems(terms, v)) fail("order_terms", o.orderId, `order ${o.orderId}: ${p}`)
    const promised = asksPromise(terms)
    if (!promised && !terms.shipComplete) return
    const routings = (await reader.orderHistory(o.orderId)).map((h) => h.event).filter((e): e is OrderRouted => e.type === "OrderRouted")
    if (promised) {
      promiseOrders++
      for (const p of promiseProblems(terms, routings)) fail("promise_broken", o.orderId, `order ${o.orderId}: ${p}`)
    }
    if (terms.shipComplete) {
      shipCompleteOrders++
      for (const p of shipCompleteProblems(routings)) fail("ship_complete_partial", o.orderId, `order ${o.orderId}: ${p}`)
    }
  }))

  const ordersDone = performance.now()

  // ---- pools touched ----
  const touched = new Map<string, LedgerPool>()
  for (const p of ledger.pools) {
    if (p.holds + p.received + p.shipped + p.shortPicked + p.restocked > 0) touched.set(poolKey(p.nodeId, p.sku), p)
  }
  const pendingHeld = new Map<string, number>()
  for (const v of views.values()) {
    for (const s of v.shipments) {
      for (const l of s.lines) {
        const sku = v.lines.find((x) => x.lineNo === l.lineNo)!.sku
        const key = poolKey(s.nodeId, sku)
        if (!touched.has(key)) touched.set(key, ledger.data.pools[key] ?? { sku, nodeId: s.nodeId, initial: 0, received: 0, shipped: 0, shortPicked: 0, restocked: 0, holds: 0 })
        if (v.payment === "pending" && s.status !== "withdrawn" && s.status !== "shipped" && s.status !== "delivered") {
          pendingHeld.set(key, (pendingHeld.get(key) ?? 0) + l.qty)
        }
      }
    }
  }
  const pools = new Map<string, PoolView>()
  const heldExcess: Array<{ key: string; sku: string; excess: number; pool: PoolView }> = []
  await Promise.all([...touched].map(async ([key, p]) => {
    const pool = await reader.pool(p.nodeId, p.sku)
    if (!pool) return fail("pool_missing", key, `pool ${key} does not exist`)
    pools.set(key, pool)
    if (pool.onHand < 0 || pool.held < 0 || pool.allocated < 0 || pool.held + pool.allocated > pool.onHand) {
      fail("oversold", key, `pool ${key}: on hand ${pool.onHand}, held ${pool.held}, allocated ${pool.allocated}`)
    }
    const everThere = p.initial + p.received + p.restocked - p.shortPicked
    if (p.shipped > everThere) fail("oversold", key, `pool ${key}: ${p.shipped} units shipped, only ${everThere} ever there`)
    const expected = p.initial + p.received - p.shipped - p.shortPicked + p.restocked
    if (pool.onHand !== expected) {
      fail("stock_not_conserved", key, `pool ${key}: on hand ${pool.onHand}, ledger says ${expected} (loaded ${p.initial} + received ${p.received} - shipped ${p.shipped} - short-picked ${p.shortPicked} + restocked ${p.restocked})`)
    }
    const excess = pool.held - (pendingHeld.get(key) ?? 0) - (p.heldAtStart ?? 0)
    if (excess > 0) heldExcess.push({ key, sku: p.sku, excess, pool })
  }))
  // Stock still held beyond our orders awaiting payment. On a shared gateway, units held before the day
  // (other clients' unpaid orders) may have moved to another node of the same SKU when it was re-routed.
  const heldBefore = new Map<string, number>()
  for (const p of ledger.pools) if (p.heldAtStart) heldBefore.set(p.sku, (heldBefore.get(p.sku) ?? 0) + p.heldAtStart)
  const excessBySku = new Map<string, number>()
  for (const x of heldExcess) excessBySku.set(x.sku, (excessBySku.get(x.sku) ?? 0) + x.excess)
  for (const x of heldExcess) {
    if ((excessBySku.get(x.sku) ?? 0) <= (heldBefore.get(x.sku) ?? 0)) continue
    fail("hold_not_released", x.key, `pool ${x.key} still holds ${x.pool.held} units, ${x.excess} more than orders awaiting payment${heldBefore.has(x.sku) ? " and holds from before the day" : ""} account for`)
  }

  // ---- per SKU: committed units fit in the supply ----
  const supply = new Map<string, number>()
  const shipped = new Map<string, number>()
  for (const p of ledger.pools) {
    supply.set(p.sku, (supply.get(p.sku) ?? 0) + p.initial + p.received + p.restocked - p.shortPicked)
    shipped.set(p.sku, (shipped.get(p.sku) ?? 0) + p.shipped)
  }
  const committed = new Map<string, number>()
  for (const v of views.values()) {
    for (const l of v.lines) committed.set(l.sku, (committed.get(l.sku) ?? 0) + l.qty - l.cancelled - l.backordered)
  }
  for (const [sku, units] of committed) {
    const have = supply.get(sku) ?? 0
    if (units > have) fail("oversold", sku, `${sku}: ${units} units on live shipments of acknowledged orders, supply ${have}`)
  }
  for (const [sku, units] of shipped) {
    const have = supply.get(sku) ?? 0
    if (units > have) fail("oversold", sku, `${sku}: ${units} units shipped, supply ${have}`)
  }

  const poolsDone = performance.now()

  // ---- holds left to expire ----
  const now = Date.now()
  const expiring = ledger.holds.filter((h) => (h.fate === "abandoned" || h.fate === "open") && h.expiresAt <= now)
  const sampled = expiring.slice(0, options.holdsMax ?? 20_000)
  await Promise.all(sampled.map(async (h) => {
    // an ended hold is still answered, with how it ended, for holdEndedRetentionMs: only an active one is a fault
    const seen = await reader.hold(h.holdId)
    const live = seen !== null && seen.status === "active"
    if (live) fail("hold_not_released", h.holdId, `hold ${h.holdId} (${h.qty} x ${h.sku} at ${h.nodeId}) is still live ${now - h.expiresAt} ms after it expired`)
  }))

  const holdsDone = performance.now()

  // ---- pool histories (a sample): expiries journaled, stock conserved in the journal ----
  const byPool = new Map<string, Array<string>>()
  for (const h of expiring) {
    const key = poolKey(h.nodeId, h.sku)
    const list = byPool.get(key)
    if (list) list.push(h.holdId)
    else byPool.set(key, [h.holdId])
  }
  const historyPools = [...byPool.keys(), ...[...touched.keys()].filter((k) => !byPool.has(k))].slice(0, options.historyPoolsMax ?? 40)
  let histories = 0
  for (const key of historyPools) {
    const p = touched.get(key) ?? ledger.data.pools[key]
    const pool = pools.get(key)
    if (!p || !pool) continue
    const history = await reader.poolHistory(p.nodeId, p.sku, historyLimit)
    histories++
    const ended = new Map<string, string>()
    let onHand = 0
    for (const { event: e } of history) {
      if (e.type === "HoldEnded") ended.set(e.holdId, e.reason)
      else if (e.type === "StockAdjusted") onHand += e.delta
      else if (e.type === "StockReceived") onHand += e.qty
      else if (e.type === "StockShipped") onHand -= e.qty
      else if (e.type === "StockRestocked") onHand += e.qty
    }
    if (history.length < historyLimit) {
      for (const holdId of byPool.get(key) ?? []) {
        const reason = ended.get(holdId)
        if (reason !== "expired") fail("hold_release_missing", holdId, `hold ${holdId} at ${key}: ${reason === undefined ? "no HoldEnded event" : `ended "${reason}"`}, expected "expired"`)
      }
      if (onHand !== pool.onHand) fail("stock_not_conserved", key, `pool ${key}: its journal history sums to ${onHand}, on hand is ${pool.onHand}`)
    }
  }

  const byCheck: Record<string, number> = {}
  for (const v of violations) byCheck[v.check] = (byCheck[v.check] ?? 0) + 1
  return {
    ok: violations.length === 0,
    violations,
    byCheck,
    checked: { orders: ledger.orders.length, pools: touched.size, skus: committed.size, holds: sampled.length, poolHistories: histories, promiseOrders, shipCompleteOrders, feedback },
    ms: Math.round(performance.now() - t0),
    partsMs: {
      orders: Math.round(ordersDone - t0), pools: Math.round(poolsDone - ordersDone),
      holds: Math.round(holdsDone - poolsDone), histories: Math.round(performance.now() - holdsDone)
    },
    orders: [...views.values()],
    poolsRead: [...pools.values()]
  }
}
