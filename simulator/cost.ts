/**
 * Shipping cost as the simulator prices routing plans: the engine's cost
 * model (engine/routing/cost.ts) with each channel's policy as provisioned,
 * per package, per km, per kg per 100 km, priority steps, and the split
 * penalty. The load penalty (which depends on the node's load at the moment)
 * is left out, so that live plans, what-if plans and the hindsight bound are
 * priced alike. (The engine's own `costCents` on a shipment cannot be used for
 * this: a shipment made of cart holds reports 0, since the hold chose its node.)
 */
import {
  defaultPolicy,
  distanceKm,
  perKgCostCents,
  splitPenaltyCents,
  type LatLon,
  type RoutingPolicy,
  type UpsertChannel,
  type UpsertNode
} from "../engine/index.ts"

/** A channel's policy after the upserts in order, merged as the engine merges them (engine/network/network-actor.ts). */
export const effectivePolicy = (upserts: ReadonlyArray<UpsertChannel>, channel: string): RoutingPolicy => {
  let p = defaultPolicy
  for (const u of upserts) {
    if (u.channel !== channel) continue
    const x = u.policy ?? {}
    p = {
      allowedNodeIds: [...(x.allowedNodeIds ?? p.allowedNodeIds)],
      allowedGroups: [...(x.allowedGroups ?? p.allowedGroups)],
      maxSplits: x.maxSplits ?? p.maxSplits,
      maxDistanceKm: x.maxDistanceKm ?? p.maxDistanceKm,
      shipFromStore: x.shipFromStore ?? p.shipFromStore,
      weights: { ...p.weights, ...Object.fromEntries(Object.entries(x.weights ?? {}).filter(([, v]) => v !== undefined)) }
    }
  }
  return p
}

export interface PlanShipment {
  readonly nodeId: string
  /** Weight carried, kg. */
  readonly kg: number
}

export class ShippingCost {
  private readonly policies = new Map<string, RoutingPolicy>()
  private readonly nodes: Map<string, UpsertNode>
  private readonly kg: Map<string, number>

  constructor(nodes: ReadonlyArray<UpsertNode>, skus: ReadonlyArray<{ readonly sku: string; readonly weightGrams: number }>, private readonly upserts: ReadonlyArray<UpsertChannel>) {
    this.nodes = new Map(nodes.map((n) => [n.nodeId, n]))
    this.kg = new Map(skus.map((s) => [s.sku, s.weightGrams / 1000]))
  }

  policy(channel: string): RoutingPolicy {
    let p = this.policies.get(channel)
    if (!p) this.policies.set(channel, (p = effectivePolicy(this.upserts, channel)))
    return p
  }

  node(nodeId: string): UpsertNode {
    const n = this.nodes.get(nodeId)
    if (!n) throw new Error(`unknown node ${nodeId}`)
    return n
  }

  weightKg(sku: string): number {
    return this.kg.get(sku) ?? 0
  }

  /** The part of a package's cost that does not depend on what it carries (no load term). */
  fixed(channel: string, to: LatLon, nodeId: string): number {
    const w = this.policy(channel).weights
    const n = this.node(nodeId)
    return w.perPackageCents + w.perKmCents * distanceKm(to, n.location) + w.priorityStepCents * Math.max(0, (n.priority ?? 1) - 1)
  }

  perKg(channel: string, to: LatLon, nodeId: string): number {
    return perKgCostCents(this.policy(channel).weights, distanceKm(to, this.node(nodeId).location), "ship")
  }

  shipment(channel: string, to: LatLon, s: PlanShipment): number {
    return this.fixed(channel, to, s.nodeId) + this.perKg(channel, to, s.nodeId) * s.kg
  }

  /** A plan: its packages plus the split penalty. */
  plan(channel: string, to: LatLon, shipments: ReadonlyArray<PlanShipment>): number {
    let total = 0
    for (const s of shipments) total += this.shipment(channel, to, s)
    return total + splitPenaltyCents(this.policy(channel).weights, shipments.length)
  }

  /** Shipments of an order view or ledger placement, with their weights. */
  shipmentsOf(lines: ReadonlyArray<{ readonly lineNo: number; readonly sku: string }>, shipments: ReadonlyArray<{ readonly nodeId: string; readonly lines: ReadonlyArray<{ readonly lineNo: number; readonly qty: number }> }>): Array<PlanShipment> {
    return shipments.map((s) => ({
      nodeId: s.nodeId,
      kg: s.lines.reduce((n, l) => n + this.weightKg(lines.find((x) => x.lineNo === l.lineNo)?.sku ?? "") * l.qty, 0)
    }))
  }
}
