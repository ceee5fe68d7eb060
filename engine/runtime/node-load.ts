/**
 * Node capacity as routing reads it: the shipments routed to each node
 * today, summed over the partitions (derived from OrderRouted), and in
 * cluster mode the share of each node's daily capacity the one partition an
 * engine owns may use (capacityShare), so the cluster never routes a node
 * past its capacity.
 */
import type { NetworkState } from "../network/network-actor.ts"
import { dayOf } from "../order/order-book.ts"
import type { CapacityLookup } from "../routing/types.ts"
import type { Partition } from "./partition.ts"

/**
 * Partition `partition`'s share of a node's daily capacity in cluster mode:
 * an equal part, the remainder going one unit each to `capacity mod
 * partitions` partitions, chosen by node number so that no partition is
 * always the one left short. The shares of all partitions add up to the
 * capacity.
 */
export const capacityShare = (capacity: number, nodeNo: number, partition: number, partitions: number): number =>
  Math.floor(capacity / partitions) + ((partition + nodeNo) % partitions < capacity % partitions ? 1 : 0)

export class NodeLoad {
  /** Shipments routed to each node today, summed over partitions. */
  private readonly today = new Map<string, { day: number; shipments: number }>()

  constructor(
    private readonly net: NetworkState,
    private readonly partitions: number,
    /** Cluster mode: the one partition this engine owns, which sees only its own routings. */
    private readonly owned: number | undefined,
    /** The batch's clock reading. */
    private readonly now: () => number
  ) {}

  /** A routing's shipments count against their nodes' day. */
  add(shipments: ReadonlyArray<{ readonly nodeId: string }>, at: number): void {
    const day = dayOf(at)
    for (const s of shipments) {
      const load = this.today.get(s.nodeId)
      if (!load || load.day !== day) this.today.set(s.nodeId, { day, shipments: 1 })
      else load.shipments++
    }
  }

  /** Rebuilds the sums from the partitions' own counts (after recovery). */
  rebuild(partitions: ReadonlyArray<Partition>): void {
    this.today.clear()
    for (const p of partitions) {
      for (const [nodeId, load] of p.orders.nodeLoad) {
        const total = this.today.get(nodeId)
        if (!total || total.day < load.day) this.today.set(nodeId, { ...load })
        else if (total.day === load.day) total.shipments += load.shipments
      }
    }
  }

  /** Shipments routed to the node today, by every partition this engine holds. */
  usedToday(nodeId: string): number {
    const load = this.today.get(nodeId)
    return load && load.day === dayOf(this.now()) ? load.shipments : 0
  }

  /** Today's capacity of a node counted as used: its shipments routed today, plus (cluster mode) the other partitions' shares. */
  readonly capacity: CapacityLookup = {
    usedAt: (nodeNo) => this.takenToday(this.net.nodes[nodeNo], nodeNo),
    remaining: (nodeId) => {
      const nodeNo = this.net.nodeIndex.get(nodeId)
      return nodeNo === undefined ? 0 : Math.max(0, this.net.nodes[nodeNo].capacityPerDay - this.takenToday(this.net.nodes[nodeNo], nodeNo))
    },
    usedShare: (nodeId) => {
      const nodeNo = this.net.nodeIndex.get(nodeId)
      return nodeNo === undefined ? 1 : Math.min(1, this.takenToday(this.net.nodes[nodeNo], nodeNo) / this.net.nodes[nodeNo].capacityPerDay)
    }
  }

  private takenToday(node: { readonly nodeId: string; readonly capacityPerDay: number }, nodeNo: number): number {
    const used = this.usedToday(node.nodeId)
    return this.owned === undefined ? used : used + node.capacityPerDay - capacityShare(node.capacityPerDay, nodeNo, this.owned, this.partitions)
  }
}
