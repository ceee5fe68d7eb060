/**
 * Cluster mode: orders whose lines lie in several partitions are placed as
 * *legs*, one ordinary order per partition holding any of its lines (as split
 * fulfillment orders in other OMSes). This file holds the pure parts of the
 * saga that places and serves them (split-orders.ts does the I/O, through
 * the cluster client it is given):
 *
 * - the split of an `order.place` into legs (lines keep the client's order;
 *   a cart hold goes with the partition its id names, h<k>-...), and the
 *   claim of its external id in its home partition (split-claim.ts);
 * - the composite order id that names every leg, and its parse;
 * - the mapping of the client's line numbers to the legs' line numbers;
 * - the group view the client sees (lines in its order, shipments and returns
 *   of every leg with group line numbers, one status for the whole).
 */
import type { ClaimSplit, LineQty, OrderLineInput, PlaceOrder, ReleaseSplit } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import { externalKey, partitionOfOrder } from "../order/order-book.ts"
import type { HistoryEntry, OrderStatus, OrderView } from "../order/order-state.ts"
import { partitionOfHold } from "../pool/pool-actor.ts"
import { partitionOf } from "../runtime/partition.ts"

// ---- the split ------------------------------------------------------------------------------------

export type Split =
  /** Every line and hold lies in the order's own partition: placed as one ordinary order. */
  | { readonly kind: "whole" }
  /** One leg per partition holding a line, by partition (ascending). */
  | { readonly kind: "legs"; readonly legs: ReadonlyArray<PlaceOrder & { readonly leg: NonNullable<PlaceOrder["leg"]> }> }
  | Rejection

/** The partition an ordinary order with this external id lives in; a split order's claim of the external id lives there too. */
export const homePartitionOf = (channel: string, externalId: string, partitions: number): number => partitionOf(externalKey(channel, externalId), partitions)

const homeOf = (c: PlaceOrder, partitions: number): number => homePartitionOf(c.channel, c.externalId, partitions)

/**
 * How the cluster client places `c`. Malformed commands (and legs sent by a
 * caller) are placed whole, so the engine answers them with its own codes.
 */
export const splitOrder = (c: PlaceOrder, partitions: number): Split => {
  if (c.leg !== undefined || !Array.isArray(c.lines) || c.lines.length === 0 || typeof c.channel !== "string" || typeof c.externalId !== "string") {
    return { kind: "whole" }
  }
  if (c.lines.some((l) => typeof l !== "object" || l === null || typeof l.sku !== "string")) return { kind: "whole" }
  const holdIds = Array.isArray(c.holdIds) ? c.holdIds : []
  if (holdIds.some((h) => typeof h !== "string")) return { kind: "whole" }
  const lineParts = c.lines.map((l) => partitionOf(l.sku, partitions))
  const home = homeOf(c, partitions)
  const holdParts = holdIds.map(partitionOfHold)
  if (lineParts.every((p) => p === home) && holdParts.every((p) => p === home)) return { kind: "whole" }
  const byPartition = new Map<number, { lines: Array<OrderLineInput>; lineNos: Array<number>; holdIds: Array<string> }>()
  lineParts.forEach((p, i) => {
    let leg = byPartition.get(p)
    if (!leg) byPartition.set(p, (leg = { lines: [], lineNos: [], holdIds: [] }))
    leg.lines.push(c.lines[i])
    leg.lineNos.push(i + 1)
  })
  for (let i = 0; i < holdIds.length; i++) {
    const leg = byPartition.get(holdParts[i])
    // a hold goes with its SKU's partition; one whose partition holds no line of the order cannot be for a line of it
    if (!leg) return holdParts[i] < 0 ? reject("hold_not_found", `no hold has id ${holdIds[i]}`) : reject("hold_mismatch", `hold ${holdIds[i]} is not for a SKU of the order`)
    leg.holdIds.push(holdIds[i])
  }
  const legs = [...byPartition.entries()].sort(([a], [b]) => a - b).map(([partition, leg]) => {
    const { holdIds: _all, leg: _none, ...rest } = c
    return {
      ...rest,
      lines: leg.lines,
      ...(c.holdIds !== undefined ? { holdIds: leg.holdIds } : {}),
      leg: { partition, lineNos: leg.lineNos }
    }
  })
  return { kind: "legs", legs }
}

/**
 * The claim of the order's external id in its home partition, sent before the
 * legs are placed: it names the legs' partitions, so the same order placed
 * again claims the same, and the external id used with other lines (split
 * otherwise, or not split) is refused there.
 */
export const splitClaimOf = (c: PlaceOrder, legs: ReadonlyArray<{ readonly leg: NonNullable<PlaceOrder["leg"]> }>): ClaimSplit => ({
  type: "order.claimSplit", channel: c.channel, externalId: c.externalId, partitions: legs.map((l) => l.leg.partition)
})

/** The release of a claim, when the placement it was for is compensated. */
export const releaseOf = (claim: ClaimSplit): ReleaseSplit => ({
  type: "order.releaseSplit", channel: claim.channel, externalId: claim.externalId, partitions: claim.partitions
})

// ---- the composite order id ------------------------------------------------------------------------

/**
 * Joins leg ids into the id of their order. `_` is an unreserved URL
 * character (never percent-encoded, usable as is in a path) and cannot
 * appear in a leg id (o<partition>-<base 36 number>).
 */
export const legSeparator = "_"

const legIdPattern = /^o\d+-[0-9a-z]+$/

export const compositeOrderId = (legIds: ReadonlyArray<string>): string => legIds.join(legSeparator)

/** The leg ids a composite order id names (two or more, each in another partition), or undefined for any other id. */
export const legIdsOf = (orderId: unknown): ReadonlyArray<string> | undefined => {
  if (typeof orderId !== "string" || !orderId.includes(legSeparator)) return undefined
  const ids = orderId.split(legSeparator)
  if (ids.length < 2 || !ids.every((id) => legIdPattern.test(id))) return undefined
  const parts = new Set(ids.map(partitionOfOrder))
  return parts.size === ids.length ? ids : undefined
}

// ---- line numbers ----------------------------------------------------------------------------------

export interface LegLines {
  readonly orderId: string
  /** The client's line numbers of the leg's lines: the leg's line n is the client's line lineNos[n - 1]. */
  readonly lineNos: ReadonlyArray<number>
}

export const legLinesOf = (v: OrderView): LegLines => ({ orderId: v.orderId, lineNos: v.leg?.lineNos ?? v.lines.map((l) => l.lineNo) })

/** Group line numbers to each leg's own, per leg id (only legs with a line asked); line_not_found for a number no leg has. */
export const linesByLeg = (legs: ReadonlyArray<LegLines>, lines: ReadonlyArray<LineQty>): Map<string, Array<LineQty>> | Rejection => {
  const out = new Map<string, Array<LineQty>>()
  for (const l of lines) {
    const leg = legs.find((x) => x.lineNos.includes(l.lineNo))
    if (!leg) return reject("line_not_found", `no line ${l.lineNo}`)
    let list = out.get(leg.orderId)
    if (!list) out.set(leg.orderId, (list = []))
    list.push({ lineNo: leg.lineNos.indexOf(l.lineNo) + 1, qty: l.qty })
  }
  return out
}

const toGroupLine = (leg: LegLines, lineNo: number): number => leg.lineNos[lineNo - 1] ?? lineNo

// ---- the group view --------------------------------------------------------------------------------

/** Order statuses from least to most advanced (cancelled aside). */
const progress: ReadonlyArray<OrderStatus> = [
  "awaiting_payment", "backordered", "routed", "in_fulfillment", "partially_shipped", "shipped", "delivered", "partially_returned", "returned"
]

/**
 * The status of a split order from its legs' statuses: cancelled when every
 * leg is; otherwise, over the legs not cancelled, the least advanced one,
 * except that some goods on their way while another leg has not shipped is
 * `partially_shipped`, and delivered with some leg returned is `partially_returned`.
 */
export const groupStatus = (statuses: ReadonlyArray<OrderStatus>): OrderStatus => {
  const live = statuses.filter((s) => s !== "cancelled")
  if (live.length === 0) return "cancelled"
  const rank = (s: OrderStatus) => progress.indexOf(s)
  const least = live.reduce((a, b) => (rank(b) < rank(a) ? b : a))
  const most = live.reduce((a, b) => (rank(b) > rank(a) ? b : a))
  if (rank(least) < rank("partially_shipped") && rank(most) >= rank("partially_shipped")) return "partially_shipped"
  if (least === "delivered" && rank(most) > rank("delivered")) return "partially_returned"
  return least
}

/** The payment of a split order: the first of declined, timeout, pending that any leg has, else authorised. */
export const groupPayment = (payments: ReadonlyArray<OrderView["payment"]>): OrderView["payment"] =>
  (["declined", "timeout", "pending"] as const).find((p) => payments.includes(p)) ?? "authorised"

export interface LegSummary {
  readonly orderId: string
  readonly partition: number
  readonly lineNos: ReadonlyArray<number>
  readonly status: OrderStatus
  readonly payment: OrderView["payment"]
}

export interface GroupView extends OrderView {
  /** The legs of the order, by partition; absent on an order that is not split. */
  readonly legs: ReadonlyArray<LegSummary>
}

/** The view of an order split into `legs` (in the order their ids appear in its composite id). */
export const groupView = (legs: ReadonlyArray<OrderView>): GroupView => {
  const first = legs[0]
  const mapped = legs.map(legLinesOf)
  const lines = legs.flatMap((v, i) => v.lines.map((l) => ({ ...l, lineNo: toGroupLine(mapped[i], l.lineNo) }))).sort((a, b) => a.lineNo - b.lineNo)
  const relined = (i: number, ls: ReadonlyArray<LineQty>) => ls.map((l) => ({ ...l, lineNo: toGroupLine(mapped[i], l.lineNo) }))
  return {
    ...first,
    orderId: compositeOrderId(legs.map((v) => v.orderId)),
    status: groupStatus(legs.map((v) => v.status)),
    payment: groupPayment(legs.map((v) => v.payment)),
    lines,
    shipments: legs.flatMap((v, i) => v.shipments.map((s) => ({ ...s, lines: relined(i, s.lines) }))),
    returns: legs.flatMap((v, i) => v.returns.map((r) => ({ ...r, lines: relined(i, r.lines) }))),
    explanation: legs.some((v) => v.explanation !== null) ? legs.map((v) => `${v.orderId}: ${v.explanation ?? "-"}`).join(" | ") : null,
    feedback: legs.find((v) => v.feedback !== null)?.feedback ?? null,
    leg: null,
    placedAt: Math.min(...legs.map((v) => v.placedAt)),
    updatedAt: Math.max(...legs.map((v) => v.updatedAt)),
    legs: legs.map((v, i) => ({ orderId: v.orderId, partition: partitionOfOrder(v.orderId), lineNos: mapped[i].lineNos, status: v.status, payment: v.payment }))
  }
}

/** The events of several legs as one history: by time, then leg (each entry's event names its leg's orderId). */
export const mergeHistories = (histories: ReadonlyArray<ReadonlyArray<HistoryEntry>>): Array<HistoryEntry> =>
  histories
    .flatMap((h, leg) => h.map((entry) => ({ entry, leg })))
    .sort((a, b) => ((a.entry.event as { at?: number }).at ?? 0) - ((b.entry.event as { at?: number }).at ?? 0) || a.leg - b.leg || a.entry.seq - b.entry.seq)
    .map((x) => x.entry)
