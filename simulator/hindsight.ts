/**
 * The hindsight bound: how good could routing have been for a sample of the
 * day's orders had all of that demand been known in advance? A mixed-integer
 * program over the sampled orders and the stock they competed for, solved
 * with HiGHS (the `highs` package, WebAssembly):
 *
 *   x[o,l,n] >= 0, integer   units of line l of order o shipped from node n
 *   y[o,n]   in {0, 1}       order o gets a package from node n
 *
 *   minimise  sum fixed(o,n) y[o,n] + perKg(o,n) w(l) x[o,l,n] + splitPenalty (sum_n y[o,n] - 1)
 *   such that sum_n x[o,l,n] = units of the line the live routing filled at placement
 *             x[o,l,n] <= units(o,l) y[o,n]
 *             sum_{o,l of SKU s} x[o,l,n] <= stock of s at n for the sample
 *             sum_o y[o,n] <= shipments node n can take for the sample
 *             sum_n y[o,n] <= maxSplits + 1, only nodes the channel's policy allows
 *
 * with the engine's cost model (engine/routing/cost.ts: per package, per km,
 * per kg per 100 km, priority steps, split penalty; the load penalty, which
 * depends on the moment, is left out of both sides). The stock of a pool for
 * the sample is what the sample's live plans took from it plus the sample's
 * share (sampled orders / orders) of what was still unsold at the end of the
 * day; a node's capacity likewise. The live plans are a feasible solution, so
 * the bound is never above live: the gap is (live - best) / live.
 */
import highsModule from "highs"
import { prng } from "../bench/workload.ts"
import { distanceKm, type RoutingPolicy, type UpsertNode } from "../engine/index.ts"
import { ShippingCost } from "./cost.ts"
import type { LedgerOrder } from "./ledger.ts"
import type { RunResult } from "./run.ts"

export interface HindsightResult {
  readonly status: "solved" | "skipped" | "failed"
  readonly message: string
  readonly orders: number
  /** The sample's live placement plans, priced with the model. */
  readonly liveCostCents: number
  /** The best plan found in hindsight. */
  readonly bestCostCents: number
  /** The LP relaxation: nothing can be cheaper. */
  readonly lowerBoundCents: number
  readonly gapPercent: number
  readonly solverStatus: string
  readonly liveSplits: number
  readonly bestSplits: number
  readonly liveAvgDistanceKm: number
  readonly bestAvgDistanceKm: number
  readonly variables: number
  readonly constraints: number
  readonly solveMs: number
}

const allows = (p: RoutingPolicy, n: UpsertNode): boolean => {
  if (!p.shipFromStore && n.kind === "store") return false
  if (p.allowedNodeIds.length === 0 && p.allowedGroups.length === 0) return true
  return p.allowedNodeIds.includes(n.nodeId) || (n.groups ?? []).some((g) => p.allowedGroups.includes(g))
}

const fmt = (x: number) => (Math.abs(x) < 1e-9 ? "0" : Number(x.toFixed(6)).toString())

/** The package is CommonJS with ESM builds: its default export is the loader under ESM, `.default` as TypeScript sees it. */
const loadHighs: typeof highsModule.default =
  typeof (highsModule as unknown) === "function" ? (highsModule as unknown as typeof highsModule.default) : highsModule.default

/** Candidate nodes per order beyond those the live plan used. */
const candidatesMax = 10

export const hindsight = async (run: RunResult, options: { readonly sample: number; readonly seed: number; readonly timeLimitSec?: number }): Promise<HindsightResult> => {
  const empty = (status: HindsightResult["status"], message: string): HindsightResult => ({
    status, message, orders: 0, liveCostCents: 0, bestCostCents: 0, lowerBoundCents: 0, gapPercent: 0, solverStatus: "-",
    liveSplits: 0, bestSplits: 0, liveAvgDistanceKm: 0, bestAvgDistanceKm: 0, variables: 0, constraints: 0, solveMs: 0
  })
  const routed = run.ledger.orders.filter((o) => o.placement.shipments.length > 0).sort((a, b) => a.externalId.localeCompare(b.externalId))
  if (routed.length === 0) return empty("skipped", "no routed orders")
  const rnd = prng(options.seed ^ 0x5eed)
  const pool = [...routed]
  const sample: Array<LedgerOrder> = []
  const size = Math.min(options.sample, pool.length)
  while (sample.length < size) sample.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0])
  const share = sample.length / routed.length

  const nodes = run.network.nodes
  const nodeIx = new Map(nodes.map((n, i) => [n.nodeId, i]))
  const leftover = new Map<string, number>()
  for (const p of run.ledger.pools) leftover.set(`${p.nodeId}/${p.sku}`, Math.max(0, p.initial + p.received + p.restocked - p.shortPicked))
  for (const p of run.audit.poolsRead) leftover.set(`${p.nodeId}/${p.sku}`, p.atp)
  const outage = run.outage
  const offlineDuring = (o: LedgerOrder) => outage !== undefined && o.placedSim >= outage.fromHour * 3_600_000 && o.placedSim < outage.toHour * 3_600_000

  // Live units per (order, line, node) and the stock and capacity the sample used.
  const stock = new Map<string, number>()
  const capacity = new Map<string, number>()
  const filled = sample.map((o) => {
    const byLine = new Map<number, number>()
    for (const s of o.placement.shipments) {
      capacity.set(s.nodeId, (capacity.get(s.nodeId) ?? 0) + 1)
      for (const l of s.lines) {
        byLine.set(l.lineNo, (byLine.get(l.lineNo) ?? 0) + l.qty)
        const sku = o.lines.find((x) => x.lineNo === l.lineNo)!.sku
        const key = `${s.nodeId}/${sku}`
        stock.set(key, (stock.get(key) ?? 0) + l.qty)
      }
    }
    return byLine
  })
  for (const [key, units] of leftover) if (units > 0) stock.set(key, (stock.get(key) ?? 0) + Math.floor(units * share))
  for (const n of nodes) capacity.set(n.nodeId, Math.max(capacity.get(n.nodeId) ?? 0, Math.ceil(n.capacityPerDay * share)))

  // Costs with the engine's model (no load term).
  const pricer = new ShippingCost(nodes, run.network.skus, run.channelUpserts)
  const policyOf = (channel: string) => pricer.policy(channel)
  const fixed = (o: LedgerOrder, n: UpsertNode) => pricer.fixed(o.channel, o.destination, n.nodeId)
  const perKg = (o: LedgerOrder, n: UpsertNode) => pricer.perKg(o.channel, o.destination, n.nodeId)

  let liveCost = 0
  let liveSplits = 0
  let liveDistance = 0
  let liveShipments = 0
  for (const o of sample) {
    liveCost += pricer.plan(o.channel, o.destination, pricer.shipmentsOf(o.lines, o.placement.shipments))
    for (const sh of o.placement.shipments) {
      liveDistance += distanceKm(o.destination, pricer.node(sh.nodeId).location)
      liveShipments++
    }
    if (o.placement.shipments.length > 1) liveSplits++
  }

  // The model, in CPLEX LP format.
  const objective: Array<string> = []
  const rows: Array<string> = []
  const ints: Array<string> = []
  const bins: Array<string> = []
  const bounds: Array<string> = []
  const stockRows = new Map<string, Array<string>>()
  const capRows = new Map<string, Array<string>>()
  let constant = 0
  const terms = (list: ReadonlyArray<string>) => {
    const out: Array<string> = []
    for (let i = 0; i < list.length; i += 8) out.push(list.slice(i, i + 8).join(" "))
    return out.join("\n   ")
  }
  const candidates: Array<Array<number>> = []
  sample.forEach((o, oi) => {
    const policy = policyOf(o.channel)
    const used = new Set(o.placement.shipments.map((s) => nodeIx.get(s.nodeId)!))
    const skus = o.lines.filter((l) => (filled[oi].get(l.lineNo) ?? 0) > 0).map((l) => l.sku)
    const eligible = nodes
      .map((n, ni) => ({ n, ni, d: distanceKm(o.destination, n.location) }))
      .filter(({ n, ni, d }) => !used.has(ni) && allows(policy, n) && (policy.maxDistanceKm === 0 || d <= policy.maxDistanceKm) &&
        !(offlineDuring(o) && n.nodeId === outage!.nodeId) && skus.some((sku) => (stock.get(`${n.nodeId}/${sku}`) ?? 0) > 0))
      .sort((a, b) => fixed(o, a.n) - fixed(o, b.n))
      .slice(0, candidatesMax)
      .map((c) => c.ni)
    const cands = [...used, ...eligible]
    candidates.push(cands)
    const w = policy.weights
    constant -= w.splitPenaltyCents
    const ys: Array<string> = []
    for (const ni of cands) {
      const n = nodes[ni]
      const y = `y${oi}_${ni}`
      ys.push(`+ ${y}`)
      bins.push(y)
      objective.push(`+ ${fmt(fixed(o, n) + w.splitPenaltyCents)} ${y}`)
      const cap = capRows.get(n.nodeId) ?? []
      cap.push(`+ ${y}`)
      capRows.set(n.nodeId, cap)
    }
    rows.push(`splits${oi}: ${terms(ys)} <= ${policy.maxSplits + 1}`)
    for (const l of o.lines) {
      const units = filled[oi].get(l.lineNo) ?? 0
      if (units === 0) continue
      const xs: Array<string> = []
      for (const ni of cands) {
        const n = nodes[ni]
        const have = stock.get(`${n.nodeId}/${l.sku}`) ?? 0
        if (have <= 0) continue
        const x = `x${oi}_${l.lineNo}_${ni}`
        xs.push(`+ ${x}`)
        ints.push(x)
        bounds.push(`0 <= ${x} <= ${units}`)
        const c = perKg(o, n) * pricer.weightKg(l.sku)
        if (c !== 0) objective.push(`+ ${fmt(c)} ${x}`)
        rows.push(`link${oi}_${l.lineNo}_${ni}: ${x} - ${units} y${oi}_${ni} <= 0`)
        const key = `${n.nodeId}/${l.sku}`
        const st = stockRows.get(key) ?? []
        st.push(`+ ${x}`)
        stockRows.set(key, st)
      }
      rows.push(`fill${oi}_${l.lineNo}: ${terms(xs)} = ${units}`)
    }
  })
  let r = 0
  for (const [key, xs] of stockRows) rows.push(`stock${r++}: ${terms(xs)} <= ${stock.get(key) ?? 0}`)
  r = 0
  for (const [nodeId, ys] of capRows) rows.push(`cap${r++}: ${terms(ys)} <= ${capacity.get(nodeId) ?? 0}`)
  const head = ["Minimize", ` obj: ${terms(objective)}`, "Subject To", ...rows.map((x) => ` ${x}`), "Bounds", ...bounds.map((b) => ` ${b}`)]
  const integral = [...head, "Generals", ...ints.map((x) => ` ${x}`), "Binaries", ...bins.map((y) => ` ${y}`), "End"].join("\n")
  const relaxed = [...head, ...bins.map((y) => ` 0 <= ${y} <= 1`), "End"].join("\n")

  const t0 = performance.now()
  try {
    const highs = await loadHighs()
    const mip = highs.solve(integral, { output_flag: false, time_limit: options.timeLimitSec ?? 30, mip_rel_gap: 1e-4 } as never)
    const lpRelax = highs.solve(relaxed, { output_flag: false } as never)
    const solveMs = performance.now() - t0
    if (mip.Status !== "Optimal" && mip.Status !== "Time limit reached") {
      return { ...empty("failed", `HiGHS: ${mip.Status}`), orders: sample.length, liveCostCents: liveCost, solverStatus: mip.Status, solveMs }
    }
    const best = mip.ObjectiveValue + constant
    let bestSplits = 0
    let bestDistance = 0
    let bestShipments = 0
    sample.forEach((o, oi) => {
      let k = 0
      for (const ni of candidates[oi]) {
        const col = mip.Columns[`y${oi}_${ni}`] as { Primal?: number } | undefined
        if ((col?.Primal ?? 0) > 0.5) {
          k++
          bestDistance += distanceKm(o.destination, nodes[ni].location)
          bestShipments++
        }
      }
      if (k > 1) bestSplits++
    })
    const lower = lpRelax.Status === "Optimal" ? lpRelax.ObjectiveValue + constant : best
    return {
      status: "solved",
      message: mip.Status === "Optimal" ? "optimal" : "time limit reached: best plan found, the LP relaxation bounds it",
      orders: sample.length,
      liveCostCents: liveCost,
      bestCostCents: best,
      lowerBoundCents: lower,
      gapPercent: liveCost > 0 ? ((liveCost - best) / liveCost) * 100 : 0,
      solverStatus: mip.Status,
      liveSplits,
      bestSplits,
      liveAvgDistanceKm: liveShipments > 0 ? liveDistance / liveShipments : 0,
      bestAvgDistanceKm: bestShipments > 0 ? bestDistance / bestShipments : 0,
      variables: ints.length + bins.length,
      constraints: rows.length,
      solveMs
    }
  } catch (e) {
    return { ...empty("failed", `HiGHS: ${(e as Error).message}`), orders: sample.length, liveCostCents: liveCost, solveMs: performance.now() - t0 }
  }
}
