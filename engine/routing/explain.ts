/**
 * The human-readable side of a routing decision: one summary sentence and at
 * most five candidate nodes (the chosen ones first, then the best runners-up
 * with the reason they lost). It is journaled with every order, so it stays
 * small. Built once per call from the router's scratch state; nothing here
 * runs in the search itself.
 */
import type { LineQty } from "../domain/commands.ts"
import type { RouteCandidateExplanation, RouteExplanation } from "../domain/events.ts"
import type { FulfillmentNode } from "../domain/network.ts"
import { distanceKm } from "../domain/network.ts"
import { formatCents } from "./cost.ts"
import type { PlannedShipment, RouteRequest } from "./types.ts"

/** Why a node is (not) a candidate; one code per node and call. */
export const Reason = {
  eligible: 0,
  outOfStock: 1,
  offline: 2,
  paused: 3,
  excluded: 4,
  notAllowed: 5,
  noShip: 6,
  storeShipOff: 7,
  noPickup: 8,
  notPickupNode: 9,
  tooFar: 10,
  overCapacity: 11,
  promiseUnreachable: 12
} as const

const reasonCount = 13

export const candidatesMax = 5

/** What the router knows after its search; arrays are scratch buffers, valid for the current call only. */
export interface ExplainInput {
  readonly request: RouteRequest
  readonly nodes: ReadonlyArray<FulfillmentNode>
  /** Per node index: a `Reason` code. */
  readonly reason: Uint8Array
  /** Per node index: distance to the destination in km; NaN until needed (filled in here on demand). */
  readonly dist: Float64Array
  /** Per node index: its slot when eligible, else -1. */
  readonly slotOf: Int32Array
  /** Per slot: the node index. */
  readonly slotNode: Int32Array
  readonly slots: number
  /** Per slot: units it could ship of what is ordered. */
  readonly units: Float64Array
  /** Per slot: cost of one shipment carrying those units (unrounded cents). */
  readonly coverCost: Float64Array
  /** Per slot x SKU group: available to promise, capped at the group's ordered quantity. */
  readonly atp: Float64Array
  readonly groups: number
  /** Per line: its SKU group. */
  readonly lineGroup: Int32Array
  readonly totalUnits: number
  readonly maxShipments: number
  /** Node index of the pickup node (pickup only), -1 when unknown. */
  readonly pickupNode: number
  /** Per SKU group: whether all eligible nodes together hold the ordered quantity. */
  readonly groupCoverable: Uint8Array
  /** Node indices of the shipments, in order. */
  readonly chosen: ReadonlyArray<number>
  /** Cheapest node that fills the whole order (-1 if none) and its cost. */
  readonly bestFullSlot: number
  readonly bestFullCost: number
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

/** "1,234 km" (toLocaleString is slow on the hot path). */
const km = (d: number): string => {
  const n = Math.round(d)
  if (n < 1000) return `${n} km`
  const s = String(n)
  return `${s.replace(/\B(?=(\d{3})+(?!\d))/g, ",")} km`
}

const round1 = (d: number): number => (Number.isFinite(d) ? Math.round(d * 10) / 10 : 0)

/** "line 3" or "lines 1, 3" */
const lineList = (lineNos: ReadonlyArray<number>): string =>
  `${lineNos.length === 1 ? "line" : "lines"} ${lineNos.join(", ")}`

/** Lines (by number) the slot could fill completely. */
const fillsOf = (x: ExplainInput, slot: number): Array<number> => {
  const out: Array<number> = []
  const lines = x.request.lines
  for (let l = 0; l < lines.length; l++) {
    const q = lines[l].qty
    if (q > 0 && x.atp[slot * x.groups + x.lineGroup[l]] >= q) out.push(lines[l].lineNo)
  }
  return out
}

const verdictOf = (x: ExplainInput, nodeIndex: number): string => {
  switch (x.reason[nodeIndex]) {
    case Reason.outOfStock: return "out of stock"
    case Reason.offline: return "offline"
    case Reason.paused: return "paused"
    case Reason.excluded: return "excluded for this order"
    case Reason.notAllowed: return "not allowed for this channel"
    case Reason.noShip: return "does not ship"
    case Reason.storeShipOff: return "store: ship from store is off for this channel"
    case Reason.noPickup: return "does not offer pickup"
    case Reason.notPickupNode: return "not the pickup store"
    case Reason.tooFar: return `beyond ${km(x.request.policy.maxDistanceKm)}`
    case Reason.overCapacity: return "over capacity"
    case Reason.promiseUnreachable: return "no carrier service meets the promise"
    default: return "not chosen"
  }
}

/** "38 nodes considered, 6 out of stock, 2 offline, 1 over capacity" */
const tally = (x: ExplainInput): string => {
  const counts = new Array<number>(reasonCount).fill(0)
  for (let i = 0; i < x.nodes.length; i++) counts[x.reason[i]]++
  let s = plural(counts[Reason.eligible] + counts[Reason.outOfStock], "node", "nodes") + " considered"
  const add = (n: number, what: string) => {
    if (n > 0) s += `, ${n} ${what}`
  }
  add(counts[Reason.outOfStock], "out of stock")
  add(counts[Reason.offline], "offline")
  add(counts[Reason.paused], "paused")
  add(counts[Reason.excluded], "excluded")
  add(counts[Reason.notAllowed], "not allowed for the channel")
  add(counts[Reason.noShip], counts[Reason.noShip] === 1 ? "does not ship" : "do not ship")
  add(counts[Reason.storeShipOff], counts[Reason.storeShipOff] === 1 ? "store (no ship from store)" : "stores (no ship from store)")
  add(counts[Reason.tooFar], `beyond ${km(x.request.policy.maxDistanceKm)}`)
  add(counts[Reason.overCapacity], "over capacity")
  add(counts[Reason.promiseUnreachable], "cannot meet the promise")
  return s
}

const backorderClause = (
  x: ExplainInput,
  backordered: ReadonlyArray<LineQty>,
  lacking = x.slots === 0 ? "no node is eligible" : "no eligible node has enough stock"
): string => {
  let units = 0
  let limitedBySplits = false
  const nos: Array<number> = []
  const lines = x.request.lines
  for (const b of backordered) {
    units += b.qty
    nos.push(b.lineNo)
    for (let l = 0; l < lines.length; l++) {
      if (lines[l].lineNo === b.lineNo && x.groupCoverable[x.lineGroup[l]] === 1) limitedBySplits = true
    }
  }
  const why = limitedBySplits
    ? `filling it would take more than the ${plural(x.maxShipments, "package", "packages")} allowed`
    : lacking
  return `${plural(units, "unit", "units")} backordered (${lineList(nos)}): ${why}`
}

const pickupSummary = (
  x: ExplainInput,
  shipments: ReadonlyArray<PlannedShipment>,
  backordered: ReadonlyArray<LineQty>
): string => {
  const id = x.request.pickupNodeId ?? "(none)"
  if (shipments.length === 0) {
    const why = x.pickupNode < 0
      ? (x.request.pickupNodeId === null ? "no pickup store was given" : `pickup store ${id} is unknown`)
      : x.reason[x.pickupNode] === Reason.outOfStock || x.reason[x.pickupNode] === Reason.eligible
        ? `pickup store ${id} has none of the items`
        : `pickup store ${id}: ${verdictOf(x, x.pickupNode)}`
    return `Backordered all ${plural(x.totalUnits, "unit", "units")} for pickup: ${why}.`
  }
  const s = shipments[0]
  const where = `${id} (${km(s.distanceKm)} from the customer, ${formatCents(s.costCents)})`
  if (backordered.length === 0) return `Ready for pickup at ${where}: it has every line in stock.`
  const planned = s.lines.reduce((n, l) => n + l.qty, 0)
  return `Pickup at ${where} for ${planned} of ${plural(x.totalUnits, "unit", "units")}; ${backorderClause(x, backordered, "the pickup store lacks the stock")}.`
}

const shipSummary = (
  x: ExplainInput,
  shipments: ReadonlyArray<PlannedShipment>,
  backordered: ReadonlyArray<LineQty>,
  totalCostCents: number
): string => {
  const tail = tally(x)
  if (shipments.length === 0) {
    if (x.totalUnits === 0) return `Nothing to route: the order has no open quantity; ${tail}.`
    const why = x.slots === 0 ? "no node is eligible" : "no eligible node has any of the items"
    return `Backordered all ${plural(x.totalUnits, "unit", "units")}: ${why}; ${tail}.`
  }
  if (shipments.length === 1) {
    const s = shipments[0]
    const head = `(${km(s.distanceKm)}, ${formatCents(s.costCents)})`
    if (backordered.length === 0) {
      return `Shipped from ${s.nodeId} in 1 package ${head}: the cheapest node that fills the whole order; ${tail}.`
    }
    const planned = s.lines.reduce((n, l) => n + l.qty, 0)
    return `Shipped ${planned} of ${plural(x.totalUnits, "unit", "units")} from ${s.nodeId} ${head}, ` +
      `the node that fills the most; ${backorderClause(x, backordered)}; ${tail}.`
  }
  const ids = shipments.map((s) => s.nodeId)
  const from = `${ids.slice(0, -1).join(", ")} and ${ids[ids.length - 1]}`
  const head = `Split into ${shipments.length} packages from ${from} (${formatCents(totalCostCents)} in all)`
  let why: string
  if (x.bestFullSlot >= 0) {
    const alone = Math.round(x.bestFullCost)
    why = `${totalCostCents < alone ? "cheaper than" : "no dearer than"} shipping everything from ` +
      `${x.nodes[x.slotNode[x.bestFullSlot]].nodeId} (${formatCents(alone)})`
  } else {
    why = "no single node fills the whole order"
  }
  const bo = backordered.length > 0 ? `; ${backorderClause(x, backordered)}` : ""
  return `${head}: ${why}${bo}; ${tail}.`
}

/** Runner-up verdict for an eligible node with stock that was not chosen. */
const runnerUpVerdict = (x: ExplainInput, slot: number, fills: ReadonlyArray<number>, totalCostCents: number): string => {
  if (x.units[slot] >= x.totalUnits && x.totalUnits > 0) {
    const diff = Math.round(x.coverCost[slot]) - totalCostCents
    return diff > 0 ? `costs ${formatCents(diff)} more` : "same cost, ranked lower"
  }
  if (fills.length > 0) return `fills ${lineList(fills)} only`
  return `has ${x.units[slot]} of ${plural(x.totalUnits, "unit", "units")} only`
}

/** Inserts `item` into the short ranked list `list`, keeping at most `room` entries. */
const insertRanked = (list: Array<number>, item: number, room: number, before: (a: number, b: number) => boolean) => {
  let at = list.length
  if (at === room && !before(item, list[at - 1])) return
  while (at > 0 && before(item, list[at - 1])) at--
  if (list.length < room) list.push(item)
  for (let j = list.length - 1; j > at; j--) list[j] = list[j - 1]
  list[at] = item
}

/** Whether slot a ranks before slot b as a runner-up: fills more units, then costs less. */
const ranksBefore = (x: ExplainInput, a: number, b: number): boolean =>
  x.units[a] !== x.units[b] ? x.units[a] > x.units[b] : x.coverCost[a] < x.coverCost[b]

export const explain = (
  x: ExplainInput,
  shipments: ReadonlyArray<PlannedShipment>,
  backordered: ReadonlyArray<LineQty>,
  totalCostCents: number
): RouteExplanation => {
  const pickup = x.request.fulfillment === "pickup"
  const summary = pickup
    ? pickupSummary(x, shipments, backordered)
    : shipSummary(x, shipments, backordered, totalCostCents)

  const candidates: Array<RouteCandidateExplanation> = []
  const chosen = x.chosen
  for (let c = 0; c < shipments.length && c < candidatesMax; c++) {
    const s = shipments[c]
    candidates.push({ nodeId: s.nodeId, distanceKm: s.distanceKm, costCents: s.costCents, fills: fillsOf(x, x.slotOf[chosen[c]]), verdict: "chosen" })
  }

  // Runners-up with stock: the best few by units they could ship, then cost.
  const room = candidatesMax - candidates.length
  const best: Array<number> = []
  for (let s = 0; s < x.slots && room > 0; s++) {
    if (x.units[s] <= 0 || chosen.includes(x.slotNode[s])) continue
    insertRanked(best, s, room, (a, b) => ranksBefore(x, a, b))
  }
  for (const s of best) {
    const fills = fillsOf(x, s)
    const nodeIndex = x.slotNode[s]
    candidates.push({
      nodeId: x.nodes[nodeIndex].nodeId,
      distanceKm: round1(x.dist[nodeIndex]),
      costCents: Math.round(x.coverCost[s]),
      fills,
      verdict: runnerUpVerdict(x, s, fills, totalCostCents)
    })
  }

  // Then the nearest nodes that could not take part (out of stock or not eligible).
  const rest = candidatesMax - candidates.length
  if (rest > 0) {
    const near: Array<number> = []
    const distOf = (i: number) => {
      if (Number.isNaN(x.dist[i])) x.dist[i] = distanceKm(x.nodes[i].location, x.request.destination)
      return Number.isFinite(x.dist[i]) ? x.dist[i] : Infinity
    }
    const nearer = (a: number, b: number) => distOf(a) < distOf(b)
    for (let i = 0; i < x.nodes.length; i++) {
      const r = x.reason[i]
      if (r === Reason.eligible || r === Reason.notPickupNode || chosen.includes(i)) continue
      insertRanked(near, i, rest, nearer)
    }
    for (const i of near) {
      candidates.push({ nodeId: x.nodes[i].nodeId, distanceKm: round1(distOf(i)), costCents: 0, fills: [], verdict: verdictOf(x, i) })
    }
  }
  return { summary, candidates }
}
