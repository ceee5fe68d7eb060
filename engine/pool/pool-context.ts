/**
 * What the StockPool actors' command handlers get from the runtime: the
 * batch's clock reading, the limits, the network, the pools of the partition
 * that owns a SKU (or a hold), a way to journal their events, and what
 * choosing a hold's node reads (stock across nodes, node capacity, the
 * router). Tests build one by hand around a StockState.
 */
import type { EngineConfig } from "../config.ts"
import type { PoolEvent } from "../domain/events.ts"
import type { NetworkState } from "../network/network-actor.ts"
import type { CapacityLookup, Router, StockLookup } from "../routing/types.ts"
import type { StockState } from "./pool-actor.ts"

export interface PoolContext {
  readonly now: number
  readonly config: EngineConfig
  readonly net: NetworkState
  /** The pools of the partition that owns the SKU. */
  stockOf(sku: string): StockState
  /** The pools of the partition a hold id names; undefined when it names none. */
  stockOfHold(holdId: string): StockState | undefined
  /** Journals a pool event in the partition that owns its pool, and applies it. */
  emit(e: PoolEvent): void
  /** ATP of a SKU at a node (any partition), for the node choice of a hold. */
  readonly stock: Required<StockLookup>
  readonly capacity: CapacityLookup
  readonly route: Router
}
