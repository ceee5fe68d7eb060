/**
 * Fulfillment routing: which nodes ship which quantities of an order.
 *
 * 1. One pass over the nodes decides eligibility (online, not excluded,
 *    allowed by the channel's policy, offers the service, within range, has
 *    capacity left), computes each node's distance and cost terms once, reads
 *    its stock for the ordered SKUs and tracks the cheapest node that fills
 *    the whole order.
 * 2. A single node that fills everything wins outright when no split is
 *    allowed or when it costs no more than the cheapest conceivable split
 *    (2 * the smallest fixed cost + split penalty + the order's weight at the
 *    cheapest per-kg rate): the common case, with no search at all.
 * 3. Otherwise the `splitCandidatesMax` most useful nodes (units they can
 *    ship, then cost) are picked and every combination of up to maxSplits + 1
 *    of them is tried: each line goes to the cheapest node of the combination that has
 *    all of it, or is cut across the nodes with the most of it; plans are
 *    ranked by units left unfilled, then cost, then fewer shipments. A single
 *    node that fills everything still wins a tie on cost.
 *
 * Hot path (tens of thousands of calls a second): all per-node and per-line
 * work runs in module-level typed arrays grown on demand; objects and strings
 * are only built for the result and its explanation. Routing is synchronous,
 * so the scratch space is never shared between two calls in flight.
 *
 * Longer than the ~450 lines other files keep to: the three steps share that
 * module-level scratch space, which would otherwise have to be exported.
 */
import type { LineQty } from "../domain/commands.ts"
import type { FulfillmentNode } from "../domain/network.ts"
import { distanceKm } from "../domain/network.ts"
import { fixedCostCents, perKgCostCents, splitPenaltyCents, weightsNonNegative } from "./cost.ts"
import { explain, Reason, type ExplainInput } from "./explain.ts"
import type { PlannedShipment, RouteRequest, Router } from "./types.ts"

/** Nodes the split search combines (2^8 combinations at most). */
export const splitCandidatesMax = 8

const K = splitCandidatesMax

const popcount = new Uint8Array(1 << K)
for (let m = 1; m < popcount.length; m++) popcount[m] = popcount[m >> 1] + (m & 1)

// ---- scratch space ------------------------------------------------------------

let nodeCap = 0
let reason = new Uint8Array(0)
let dist = new Float64Array(0)
let slotOf = new Int32Array(0)
let slotNode = new Int32Array(0)
let fixed = new Float64Array(0)
let perKg = new Float64Array(0)
let units = new Float64Array(0)
let coverCost = new Float64Array(0)

let lineCap = 0
let lineGroup = new Int32Array(0)
let lineQty = new Float64Array(0)
let lineKg = new Float64Array(0)
let groupQty = new Float64Array(0)
let groupKg = new Float64Array(0) // total weight of the group's ordered units
let groupSupply = new Float64Array(0)
let groupCoverable = new Uint8Array(0)
const groupSku: Array<string> = []
let avail = new Float64Array(0)
let assigned = new Float64Array(0)
let bestAssigned = new Float64Array(0)

let atpCap = 0
let atp = new Float64Array(0)

const top = new Int32Array(K)
const carried = new Float64Array(K)

const ensureNodes = (n: number) => {
  if (n <= nodeCap) return
  nodeCap = Math.max(n, nodeCap * 2, 64)
  reason = new Uint8Array(nodeCap)
  dist = new Float64Array(nodeCap)
  slotOf = new Int32Array(nodeCap)
  slotNode = new Int32Array(nodeCap)
  fixed = new Float64Array(nodeCap)
  perKg = new Float64Array(nodeCap)
  units = new Float64Array(nodeCap)
  coverCost = new Float64Array(nodeCap)
}

const ensureLines = (l: number) => {
  if (l <= lineCap) return
  lineCap = Math.max(l, lineCap * 2, 16)
  lineGroup = new Int32Array(lineCap)
  lineQty = new Float64Array(lineCap)
  lineKg = new Float64Array(lineCap)
  groupQty = new Float64Array(lineCap)
  groupKg = new Float64Array(lineCap)
  groupSupply = new Float64Array(lineCap)
  groupCoverable = new Uint8Array(lineCap)
  avail = new Float64Array(K * lineCap)
  assigned = new Float64Array(K * lineCap)
  bestAssigned = new Float64Array(K * lineCap)
}

const ensureAtp = (size: number) => {
  if (size <= atpCap) return
  atpCap = Math.max(size, atpCap * 2, 1024)
  atp = new Float64Array(atpCap)
}

const setCache = new WeakMap<ReadonlyArray<string>, ReadonlySet<string>>()
const setOf = (xs: ReadonlyArray<string>): ReadonlySet<string> => {
  let s = setCache.get(xs)
  if (s === undefined) {
    s = new Set(xs)
    setCache.set(xs, s)
  }
  return s
}

const hasService = (node: FulfillmentNode, service: "ship" | "pickup"): boolean => {
  const services = node.services
  for (let i = 0; i < services.length; i++) if (services[i] === service) return true
  return false
}

const inGroups = (node: FulfillmentNode, groups: ReadonlySet<string>): boolean => {
  const gs = node.groups
  for (let i = 0; i < gs.length; i++) if (groups.has(gs[i])) return true
  return false
}

/** Whether slot a is a more useful split candidate than slot b: more units, then cheaper. */
const moreUseful = (a: number, b: number): boolean =>
  units[a] !== units[b] ? units[a] > units[b] : coverCost[a] < coverCost[b]

const round1 = (d: number): number => Math.round(d * 10) / 10

/** Costs closer than this (cents) are a tie: the same plan summed in another order must not win. */
const costEpsilon = 1e-6

/** Fills `top` with the (at most K) most useful slots that have stock, best first; returns how many. */
const selectCandidates = (slots: number): number => {
  let k = 0
  for (let s = 0; s < slots; s++) {
    if (units[s] <= 0) continue
    if (k === K && !moreUseful(s, top[K - 1])) continue
    let at = k < K ? k : K - 1
    while (at > 0 && moreUseful(s, top[at - 1])) {
      top[at] = top[at - 1]
      at--
    }
    top[at] = s
    if (k < K) k++
  }
  return k
}

// ---- split search ---------------------------------------------------------------

interface SearchResult {
  /** Candidates (bits of `top`) the best plan uses; 0 when nothing beat the seed plan. */
  used: number
  unfilled: number
  cost: number
}
const searchResult: SearchResult = { used: 0, unfilled: 0, cost: 0 }

// Per combination (bit mask over `top`), built incrementally from the mask without its lowest bit.
const maskFixed = new Float64Array(1 << K)
const maskPerKg = new Float64Array(1 << K)
const maskUnfilled = new Float64Array(1 << K)
let maskCover = new Float64Array(0)

/**
 * Tries every combination of up to `maxShipments` of the first `k` candidates
 * in `top`; leaves the best plan's rows in `bestAssigned` (row j = candidate j).
 * The search starts from a seed plan (the best single node that fills
 * everything, `seedCost`, or none: Infinity) that a split must beat strictly.
 * The units a combination leaves unfilled are known before assigning anything
 * (stock summed per SKU), and so is a lower bound of its cost: combinations
 * that cannot win are skipped.
 */
const search = (
  k: number,
  maxShipments: number,
  lines: number,
  groups: number,
  splitPenalty: number,
  totalKg: number,
  seedCost: number
): SearchResult => {
  let bestUsed = 0
  let bestUnfilled = seedCost < Infinity ? 0 : Infinity
  let bestCost = seedCost
  let bestCount = 1
  const masks = 1 << k
  if (maskCover.length < masks * groups) maskCover = new Float64Array(masks * groups)
  maskFixed[0] = 0
  maskPerKg[0] = Infinity
  for (let g = 0; g < groups; g++) maskCover[g] = 0
  for (let mask = 1; mask < masks; mask++) {
    const pc = popcount[mask]
    if (pc > maxShipments) continue
    const low = mask & -mask
    const jLow = 31 - Math.clz32(low)
    const prev = mask ^ low
    const sLow = top[jLow]
    maskFixed[mask] = maskFixed[prev] + fixed[sLow]
    maskPerKg[mask] = perKg[sLow] < maskPerKg[prev] ? perKg[sLow] : maskPerKg[prev]
    let open = 0
    for (let g = 0; g < groups; g++) {
      const c = maskCover[prev * groups + g] + atp[sLow * groups + g]
      maskCover[mask * groups + g] = c
      if (c < groupQty[g]) open += groupQty[g] - c
    }
    maskUnfilled[mask] = open
    if (open > bestUnfilled) continue
    if (open === bestUnfilled) {
      // Every node of the combination ships (else it is a smaller combination), all filled units are carried.
      const bound = maskFixed[mask] + splitPenalty * (pc - 1) + (open === 0 ? maskPerKg[mask] * totalKg : 0)
      if (bound > bestCost + costEpsilon) continue
    }

    for (let j = 0; j < k; j++) {
      if ((mask & (1 << j)) === 0) continue
      const s = top[j]
      for (let g = 0; g < groups; g++) avail[j * groups + g] = atp[s * groups + g]
      assigned.fill(0, j * lines, j * lines + lines)
      carried[j] = 0
    }
    let used = 0
    let unfilled = 0
    for (let l = 0; l < lines; l++) {
      let rem = lineQty[l]
      if (rem <= 0) continue
      const g = lineGroup[l]
      const kg = lineKg[l]
      while (rem > 0) {
        // The cheapest node that has all that is left of the line, else the one with the most of it.
        let pick = -1
        let pickFull = false
        let pickVal = Infinity
        let pickAvail = 0
        for (let j = 0; j < k; j++) {
          if ((mask & (1 << j)) === 0) continue
          const av = avail[j * groups + g]
          if (av <= 0) continue
          const s = top[j]
          const opening = (used & (1 << j)) === 0 ? fixed[s] : 0
          if (av >= rem) {
            const val = opening + perKg[s] * kg * rem
            if (!pickFull || val < pickVal) {
              pick = j
              pickFull = true
              pickVal = val
            }
          } else if (!pickFull) {
            const val = opening + perKg[s] * kg * av
            if (av > pickAvail || (av === pickAvail && val < pickVal)) {
              pick = j
              pickAvail = av
              pickVal = val
            }
          }
        }
        if (pick < 0) break
        const a = avail[pick * groups + g]
        const take = a < rem ? a : rem
        avail[pick * groups + g] = a - take
        assigned[pick * lines + l] += take
        carried[pick] += take * kg
        used |= 1 << pick
        rem -= take
      }
      unfilled += rem
    }
    if (unfilled > bestUnfilled) continue
    let cost = 0
    let count = 0
    for (let j = 0; j < k; j++) {
      if ((used & (1 << j)) === 0) continue
      const s = top[j]
      cost += fixed[s] + perKg[s] * carried[j]
      count++
    }
    if (count > 1) cost += splitPenalty * (count - 1)
    if (unfilled < bestUnfilled || cost < bestCost - costEpsilon || (cost <= bestCost + costEpsilon && count < bestCount)) {
      bestUsed = used
      bestUnfilled = unfilled
      bestCost = cost
      bestCount = count
      for (let j = 0; j < k; j++) {
        if ((used & (1 << j)) === 0) continue
        for (let x = j * lines, end = x + lines; x < end; x++) bestAssigned[x] = assigned[x]
      }
    }
  }
  searchResult.used = bestUsed
  searchResult.unfilled = bestUnfilled
  searchResult.cost = bestCost
  return searchResult
}

// ---- the router ---------------------------------------------------------------------

/** The checks that need no distance; `Reason.eligible` when the node passes them. */
const screen = (
  node: FulfillmentNode,
  request: RouteRequest,
  allowIds: ReadonlySet<string> | null,
  allowGroups: ReadonlySet<string> | null
): number => {
  if (node.status !== "online") return node.status === "paused" ? Reason.paused : Reason.offline
  if (request.excludedNodeIds.has(node.nodeId)) return Reason.excluded
  if ((allowIds !== null || allowGroups !== null) &&
    !((allowIds !== null && allowIds.has(node.nodeId)) || (allowGroups !== null && inGroups(node, allowGroups)))) {
    return Reason.notAllowed
  }
  if (request.fulfillment === "pickup") {
    if (!hasService(node, "pickup")) return Reason.noPickup
  } else {
    if (!hasService(node, "ship")) return Reason.noShip
    if (node.kind === "store" && !request.policy.shipFromStore) return Reason.storeShipOff
  }
  return Reason.eligible
}

export const route: Router = (request, nodes, stock, capacity) => {
  const n = nodes.length
  const lines = request.lines
  const L = lines.length
  const policy = request.policy
  const weights = policy.weights
  const fulfillment = request.fulfillment
  const pickup = fulfillment === "pickup"
  const shipping = pickup ? undefined : request.shipping
  ensureNodes(n)
  ensureLines(L)

  // Lines, grouped by SKU (lines of one SKU share its stock at a node).
  let G = 0
  let totalUnits = 0
  let totalKg = 0
  for (let l = 0; l < L; l++) {
    const line = lines[l]
    const q = line.qty > 0 && Number.isFinite(line.qty) ? line.qty : 0
    const kg = line.weightGrams > 0 ? line.weightGrams / 1000 : 0
    let g = 0
    while (g < G && groupSku[g] !== line.sku) g++
    if (g === G) {
      groupSku[G] = line.sku
      groupQty[G] = 0
      groupKg[G] = 0
      groupSupply[G] = 0
      G++
    }
    lineGroup[l] = g
    lineQty[l] = q
    lineKg[l] = kg
    groupQty[g] += q
    groupKg[g] += q * kg
    totalUnits += q
    totalKg += q * kg
  }
  ensureAtp(n * G)

  // Nodes: eligibility, cost terms, stock and the best node that fills everything.
  const allowIds = policy.allowedNodeIds.length > 0 ? setOf(policy.allowedNodeIds) : null
  const allowGroups = policy.allowedGroups.length > 0 ? setOf(policy.allowedGroups) : null
  const maxKm = policy.maxDistanceKm > 0 ? policy.maxDistanceKm : Infinity
  let slots = 0
  let pickupNode = -1
  let bestFull = -1
  let bestFullCost = Infinity
  let minFixed = Infinity
  let minPerKg = Infinity
  let stocked = 0
  let rows: Array<(nodeIndex: number) => number> | null = null
  if (stock.row !== undefined) {
    rows = []
    for (let g = 0; g < G; g++) rows.push(stock.row(groupSku[g]))
  }
  for (let i = 0; i < n; i++) {
    const node = nodes[i]
    let used = -1
    slotOf[i] = -1
    if (pickup && node.nodeId !== request.pickupNodeId) {
      reason[i] = Reason.notPickupNode
      dist[i] = NaN
      continue
    }
    if (pickup) pickupNode = i
    // Distances of nodes that fail the cheap checks are only computed if the explanation lists them.
    let r = screen(node, request, allowIds, allowGroups)
    const d = r === Reason.eligible || pickup ? distanceKm(node.location, request.destination) : NaN
    dist[i] = d
    if (r === Reason.eligible) {
      if (!pickup && d > maxKm) r = Reason.tooFar
      else if (!((used = capacity.usedAt ? capacity.usedAt(i) : -1) >= 0 ? node.capacityPerDay - used >= 1 : capacity.remaining(node.nodeId) >= 1)) {
        r = Reason.overCapacity
      }
    }
    if (shipping !== undefined && r === Reason.eligible && !(shipping.fixedCents[i] >= 0)) r = Reason.promiseUnreachable
    reason[i] = r
    if (r !== Reason.eligible) continue

    const s = slots++
    slotOf[i] = s
    slotNode[s] = i
    const share = used >= 0 ? Math.min(1, used / node.capacityPerDay) : capacity.usedShare(node.nodeId)
    let fx = fixedCostCents(weights, node, d, share, fulfillment)
    let pk = perKgCostCents(weights, d, fulfillment)
    if (shipping !== undefined) {
      fx += shipping.fixedCents[i]
      pk += shipping.perKgCents[i]
    }
    let u = 0
    let kgCovered = 0
    let full = true
    for (let g = 0; g < G; g++) {
      const raw = rows !== null ? rows[g](i) : stock.atp(groupSku[g], node.nodeId)
      const want = groupQty[g]
      const a = raw > 0 ? (raw < want ? Math.floor(raw) : want) : 0
      atp[s * G + g] = a
      u += a
      kgCovered += a === want ? groupKg[g] : (a * groupKg[g]) / want
      groupSupply[g] += a
      if (a < want) full = false
    }
    fixed[s] = fx
    perKg[s] = pk
    units[s] = u
    coverCost[s] = full ? fx + pk * totalKg : fx + pk * kgCovered
    if (u <= 0) {
      reason[i] = Reason.outOfStock
      continue
    }
    if (full) {
      const cost = coverCost[s]
      if (cost < bestFullCost) {
        bestFull = s
        bestFullCost = cost
      }
    }
    if (fx < minFixed) minFixed = fx
    if (pk < minPerKg) minPerKg = pk
    stocked++
  }
  for (let g = 0; g < G; g++) groupCoverable[g] = groupSupply[g] >= groupQty[g] ? 1 : 0

  const maxSplits = policy.maxSplits >= 0 ? Math.floor(policy.maxSplits) : 0
  const maxShipments = pickup ? 1 : Math.min(maxSplits + 1, K)

  // Decide.
  let single = -1
  let k = 0
  let result: SearchResult | null = null
  if (stocked > 0) {
    const cheapestSplit = 2 * minFixed + weights.splitPenaltyCents + minPerKg * totalKg
    if (bestFull >= 0 && (maxShipments === 1 || (weightsNonNegative(weights) && bestFullCost <= cheapestSplit))) {
      single = bestFull
    } else {
      k = selectCandidates(slots)
      // Seeded with the best single node: a split must be strictly cheaper (ties go to the single node).
      result = search(k, maxShipments, L, G, weights.splitPenaltyCents, totalKg, bestFull >= 0 ? bestFullCost : Infinity)
      if (result.used === 0) {
        single = bestFull
        result = null
      }
    }
  }

  // Build the plan.
  const shipments: Array<PlannedShipment> = []
  const chosen: Array<number> = []
  const backordered: Array<LineQty> = []
  let total = 0
  if (single >= 0) {
    const planned: Array<LineQty> = []
    for (let l = 0; l < L; l++) if (lineQty[l] > 0) planned.push({ lineNo: lines[l].lineNo, qty: lineQty[l] })
    const i = slotNode[single]
    const costCents = Math.round(bestFullCost)
    shipments.push({ nodeId: nodes[i].nodeId, lines: planned, distanceKm: round1(dist[i]), costCents })
    chosen.push(i)
    total = costCents
  } else {
    const used = result === null ? 0 : result.used
    for (let j = 0; j < k; j++) {
      if ((used & (1 << j)) === 0) continue
      const s = top[j]
      const i = slotNode[s]
      const planned: Array<LineQty> = []
      let kg = 0
      for (let l = 0; l < L; l++) {
        const q = bestAssigned[j * L + l]
        if (q > 0) {
          planned.push({ lineNo: lines[l].lineNo, qty: q })
          kg += q * lineKg[l]
        }
      }
      const costCents = Math.round(fixed[s] + perKg[s] * kg)
      shipments.push({ nodeId: nodes[i].nodeId, lines: planned, distanceKm: round1(dist[i]), costCents })
      chosen.push(i)
      total += costCents
    }
    total += Math.round(splitPenaltyCents(weights, shipments.length))
    for (let l = 0; l < L; l++) {
      let open = lineQty[l]
      if (open <= 0) continue
      for (let j = 0; j < k; j++) if ((used & (1 << j)) !== 0) open -= bestAssigned[j * L + l]
      if (open > 0) backordered.push({ lineNo: lines[l].lineNo, qty: open })
    }
  }

  const input: ExplainInput = {
    request, nodes, reason, dist, slotOf, slotNode, slots, units, coverCost, atp,
    groups: G, lineGroup, totalUnits, maxShipments, pickupNode, groupCoverable, chosen,
    bestFullSlot: bestFull,
    bestFullCost
  }
  const explanation = explain(input, shipments, backordered, total)
  return { shipments, backordered, totalCostCents: total, explanation }
}
