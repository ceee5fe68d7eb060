/**
 * The StockPool actors' command table: the handler of each command the
 * ownership table (domain/ownership.ts) gives to the pools. Hold rules are in
 * hold-commands.ts, inventory rules in inventory-commands.ts; the decisions
 * they call and the pools' state in pool-actor.ts.
 */
import type { CommandOf, CommandsOwnedBy } from "../domain/ownership.ts"
import type { Reply } from "../domain/replies.ts"
import { createHold, extendHold, releaseHold } from "./hold-commands.ts"
import { adjustStock, loadInventory, receiveStock, setSafetyStock } from "./inventory-commands.ts"
import type { PoolContext } from "./pool-context.ts"

export type PoolCommandType = CommandsOwnedBy<"pool">
export type PoolCommand = CommandOf<PoolCommandType>

export const poolCommands: { readonly [T in PoolCommandType]: (c: CommandOf<T>, ctx: PoolContext) => Reply } = {
  "inventory.receive": receiveStock,
  "inventory.adjust": adjustStock,
  "inventory.setSafetyStock": setSafetyStock,
  "inventory.load": loadInventory,
  "hold.create": createHold,
  "hold.extend": extendHold,
  "hold.release": releaseHold
}

/** Runs the pool's handler of a command the pools own. */
export const executePoolCommand = (c: PoolCommand, ctx: PoolContext): Reply =>
  (poolCommands[c.type] as (c: PoolCommand, ctx: PoolContext) => Reply)(c, ctx)
