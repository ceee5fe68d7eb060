/**
 * Which actor owns each command, and how a command finds it: one table, read
 * by everything that sends a command somewhere.
 *
 * - The dispatcher (runtime/dispatch.ts) runs the owning actor's handler
 *   (network/network-actor.ts, pool/pool-commands.ts, order/order-actor.ts,
 *   order/split-claim.ts) in the partition the address names.
 * - Cluster scope (cluster/scope.ts) turns the address into the journal
 *   stream, and so the runner, that executes the command.
 * - The cluster gateway's split orders ask `legRouteOf` how a command on an
 *   order split over partitions reaches the legs it concerns.
 *
 * A new command is a row here and a handler in its actor's command table; the
 * compiler keeps the two together (CommandsOwnedBy, CommandsAddressedBy).
 */
import type { Command, CommandType } from "./commands.ts"

/** The actors that own commands. `split`: the claim of a split order's external id, kept where an ordinary order with that id would live. */
export type Actor = "network" | "pool" | "order" | "split"

/**
 * How the owner's partition (cluster mode: its stream) is found from the
 * command's fields:
 * - `network`: the Network actor, stream "net"
 * - `sku`: the partition of the SKU (hash of `sku`)
 * - `holdId`: the partition a hold id names (h<k>-...)
 * - `rows`: the partition of each row's SKU (cluster mode: all rows in one partition)
 * - `placement`: `leg.partition` for a leg of a split order, else the hash of
 *   (channel, externalId) (cluster mode: every line's SKU and cart hold must lie there too)
 * - `externalId`: the hash of (channel, externalId), the order's home partition
 * - `orderId`: the partition an order id names (o<k>-...)
 * - `notificationIds`: the partition of each notification's order (cluster mode: all in one partition)
 */
export type Address = "network" | "sku" | "holdId" | "rows" | "placement" | "externalId" | "orderId" | "notificationIds"

/**
 * How a command on an order split into legs (cluster mode) reaches the legs:
 * - `each`: sent to every leg
 * - `lines`: to the legs holding the lines named (group line numbers mapped to
 *   each leg's own), to every leg when the command names none
 * - `shipment`: to the leg whose id prefixes the shipment id (o3-1a-s1 is o3-1a's)
 * - `return`: to the leg whose id prefixes the return id
 * - `refused`: not served for a split order
 */
export type LegRoute = "each" | "lines" | "shipment" | "return" | "refused"

export interface Ownership {
  readonly actor: Actor
  readonly address: Address
  /** Cluster mode: the command reaches beyond its owner's partition, so it is refused (spans_partitions) with this reason. */
  readonly spansPartitions?: string
  /** Commands on an existing order: how they reach the legs of a split order. */
  readonly legs?: LegRoute
}

const network = { actor: "network", address: "network" } as const
const pool = (address: "sku" | "holdId" | "rows") => ({ actor: "pool", address }) as const
const onOrder = <L extends LegRoute>(legs: L) => ({ actor: "order", address: "orderId", legs }) as const

/** Every command type, its owner and its address. */
export const owners = {
  "node.upsert": network,
  "node.setStatus": network,
  "sku.upsert": network,
  "channel.upsert": network,
  "carrier.upsert": network,
  "inventory.receive": pool("sku"),
  "inventory.adjust": pool("sku"),
  "inventory.setSafetyStock": pool("sku"),
  "inventory.load": pool("rows"),
  "hold.create": pool("sku"),
  "hold.extend": pool("holdId"),
  "hold.release": pool("holdId"),
  "order.place": { actor: "order", address: "placement" },
  "order.payment": onOrder("each"),
  "order.cancel": onOrder("lines"),
  "order.exchange": {
    ...onOrder("refused"),
    spansPartitions: "an exchange places a new order in another partition; not served in cluster mode"
  },
  "order.feedback": onOrder("each"),
  "shipment.accept": onOrder("shipment"),
  "shipment.reject": onOrder("shipment"),
  "shipment.pick": onOrder("shipment"),
  "shipment.pack": onOrder("shipment"),
  "shipment.ship": onOrder("shipment"),
  "shipment.deliver": onOrder("shipment"),
  "shipment.track": onOrder("shipment"),
  "return.request": onOrder("lines"),
  "return.receive": onOrder("return"),
  "notifications.delivered": { actor: "order", address: "notificationIds" },
  "order.claimSplit": { actor: "split", address: "externalId" },
  "order.releaseSplit": { actor: "split", address: "externalId" }
} as const satisfies { readonly [T in CommandType]: Ownership }

type Owners = typeof owners

/** The command of a type. */
export type CommandOf<T extends CommandType> = Extract<Command, { readonly type: T }>

/** The command types an actor owns. */
export type CommandsOwnedBy<A extends Actor> = { [T in CommandType]: Owners[T]["actor"] extends A ? T : never }[CommandType]

/** The command types that find their owner by an address. */
export type CommandsAddressedBy<D extends Address> = { [T in CommandType]: Owners[T]["address"] extends D ? T : never }[CommandType]

const table: ReadonlyMap<string, Ownership> = new Map(Object.entries(owners))

/** The owner and address of a command type; undefined for a type no command has. */
export const ownerOf = (type: unknown): Ownership | undefined => (typeof type === "string" ? table.get(type) : undefined)

/** Whether an actor owns commands of this type. */
export const isOwnedBy = <A extends Actor>(type: unknown, actor: A): type is CommandsOwnedBy<A> => ownerOf(type)?.actor === actor

/**
 * For the cluster gateway's split orders: how a command on an order split
 * over partitions reaches its legs; undefined for commands that do not act on
 * an existing order (placement, holds, inventory, network...).
 */
export const legRouteOf = (type: unknown): LegRoute | undefined => ownerOf(type)?.legs
