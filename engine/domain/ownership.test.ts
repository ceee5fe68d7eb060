/**
 * The ownership table: every command has exactly one owner, each actor's
 * command table serves exactly the commands the table gives it, and cluster
 * scope finds each command's stream by the address the table names.
 */
import { describe, expect, it } from "vitest"
import { streamOf } from "../cluster/scope.ts"
import { orderCommands } from "../order/order-actor.ts"
import { poolCommands } from "../pool/pool-commands.ts"
import { networkStream, partitionOf, partitionStream } from "../runtime/partition.ts"
import { commandTypes, type Command, type CommandType } from "./commands.ts"
import { isOwnedBy, legRouteOf, ownerOf, owners } from "./ownership.ts"

const typesOf = (pick: (type: CommandType) => boolean) => commandTypes.filter(pick).sort()

describe("ownership table", () => {
  it("names one owner and one address for every command type, and nothing else", () => {
    expect(Object.keys(owners).sort()).toEqual([...commandTypes].sort())
    for (const type of commandTypes) expect(ownerOf(type), type).toBeDefined()
    expect(ownerOf("order.teleport")).toBeUndefined()
    expect(ownerOf("__proto__")).toBeUndefined()
    expect(ownerOf(42)).toBeUndefined()
  })

  it("gives each actor's command table exactly the commands the table gives the actor", () => {
    expect(Object.keys(poolCommands).sort()).toEqual(typesOf((t) => isOwnedBy(t, "pool")))
    expect(Object.keys(orderCommands).sort()).toEqual(typesOf((t) => isOwnedBy(t, "order") && owners[t].address === "orderId"))
    expect(typesOf((t) => isOwnedBy(t, "network"))).toEqual(["carrier.upsert", "channel.upsert", "node.setStatus", "node.upsert", "sku.upsert"])
    expect(typesOf((t) => isOwnedBy(t, "split"))).toEqual(["order.claimSplit", "order.releaseSplit"])
  })

  it("tells split orders how a command reaches the legs", () => {
    expect(legRouteOf("order.payment")).toBe("each")
    expect(legRouteOf("order.cancel")).toBe("lines")
    expect(legRouteOf("return.request")).toBe("lines")
    expect(legRouteOf("shipment.pick")).toBe("shipment")
    expect(legRouteOf("shipment.track")).toBe("shipment")
    expect(legRouteOf("return.receive")).toBe("return")
    expect(legRouteOf("order.exchange")).toBe("refused")
    expect(legRouteOf("hold.create")).toBeUndefined()
    expect(legRouteOf("order.place")).toBeUndefined()
    for (const type of commandTypes) {
      expect(legRouteOf(type) !== undefined, type).toBe(isOwnedBy(type, "order") && owners[type].address === "orderId")
    }
  })

  it("addresses each command's stream by its row's address", () => {
    const n = 8
    const cases: Array<[Command, string]> = [
      [{ type: "node.setStatus", nodeId: "WH-DAL", status: "paused" }, networkStream],
      [{ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 1 }, partitionStream(partitionOf("TV-55", n))],
      [{ type: "hold.release", channel: "web", holdId: "h5-1" }, partitionStream(5)],
      [{ type: "inventory.load", rows: [{ sku: "TV-55", nodeId: "WH-DAL", onHand: 1 }] }, partitionStream(partitionOf("TV-55", n))],
      [{ type: "order.payment", orderId: "o3-1a", outcome: "authorised" }, partitionStream(3)],
      [{ type: "shipment.track", orderId: "o6-2", shipmentId: "o6-2-s1", status: "in_transit" }, partitionStream(6)],
      [{ type: "order.claimSplit", channel: "web", externalId: "x", partitions: [1, 2] }, partitionStream(partitionOf("web\u0000x", n))],
      [{ type: "notifications.delivered", ids: ["o2-1/confirmed", "o2-4/shipped/o2-4-s1"] }, partitionStream(2)]
    ]
    for (const [c, stream] of cases) expect(streamOf(c, n), c.type).toEqual({ stream })
    expect(streamOf({ type: "order.exchange", orderId: "o1-1", returnLines: [], newLines: [], reason: "" }, n)).toMatchObject({ code: "spans_partitions", message: owners["order.exchange"].spansPartitions })
  })
})
