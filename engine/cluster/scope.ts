/**
 * Cluster mode: which journal stream (and so which cluster entity) a command
 * belongs to. Network commands belong to the network stream ("net"); every
 * other command to exactly one partition ("p<k>"), or it is refused with
 * `spans_partitions`: in cluster mode a command must not touch the actors of
 * two partitions, because each partition commits on its own runner.
 *
 * - holds and inventory: the partition of the SKU (a hold id names it: h<k>-...)
 * - an inventory load: every row's SKU in one partition
 * - order placement: the order's partition (hash of channel and external id)
 *   must also hold every line's SKU and every cart hold; a leg of a split
 *   order (`leg`, see cluster/legs.ts) goes to the partition it names, which
 *   must hold every line's SKU and every cart hold of the leg
 * - commands on an order: the partition named by the order id (o<k>-...)
 * - the claim of a split order's external id, and its release: the order's
 *   home partition (hash of channel and external id)
 * - an exchange: refused (its new order lives in another partition)
 * - notifications.delivered: every id in one partition
 *
 * The gateway's cluster client and the partition entity use the same rules:
 * the client to address the entity, the entity to refuse what is not its own.
 */
import type { Command } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import { partitionOfOrder } from "../order/order-book.ts"
import { partitionOfHold } from "../pool/pool-actor.ts"
import { networkStream, partitionOf, partitionStream } from "../runtime/partition.ts"

export type StreamOf = { readonly stream: string } | Rejection

const spans = (message: string): Rejection => reject("spans_partitions", message)

const onePartition = (ids: ReadonlyArray<number>, what: string, partitions: number): StreamOf => {
  if (ids.length === 0) return reject("malformed_command", `${what}: nothing to address`)
  const first = ids[0]
  if (!Number.isInteger(first) || first < 0 || first >= partitions) return { stream: partitionStream(0) }
  for (const id of ids) if (id !== first) return spans(`${what} lie in more than one partition`)
  return { stream: partitionStream(first) }
}

/** The stream whose owner executes `c`, or why no single owner can. Malformed commands go to partition 0, which answers them. */
export const streamOf = (c: Command, partitions: number): StreamOf => {
  if (typeof c !== "object" || c === null) return { stream: partitionStream(0) }
  const text = (x: unknown): string => (typeof x === "string" ? x : "")
  switch (c.type) {
    case "node.upsert":
    case "node.setStatus":
    case "sku.upsert":
    case "channel.upsert":
    case "carrier.upsert":
      return { stream: networkStream }
    case "inventory.receive":
    case "inventory.adjust":
    case "inventory.setSafetyStock":
    case "hold.create":
      return { stream: partitionStream(partitionOf(text(c.sku), partitions)) }
    case "hold.extend":
    case "hold.release": {
      const p = partitionOfHold(text(c.holdId))
      return { stream: partitionStream(p >= 0 && p < partitions ? p : 0) }
    }
    case "inventory.load":
      if (!Array.isArray(c.rows) || c.rows.length === 0) return { stream: partitionStream(0) }
      return onePartition(c.rows.map((r) => partitionOf(text(r?.sku), partitions)), "the rows' SKUs", partitions)
    case "order.place": {
      const leg = typeof c.leg === "object" && c.leg !== null ? (c.leg as { partition?: unknown }).partition : undefined
      // a malformed leg goes to partition 0, whose engine answers invalid_leg
      if (c.leg !== undefined && !(Number.isInteger(leg) && (leg as number) >= 0 && (leg as number) < partitions)) return { stream: partitionStream(0) }
      const home = c.leg !== undefined ? (leg as number) : partitionOf(`${text(c.channel)}\u0000${text(c.externalId)}`, partitions)
      const what = c.leg !== undefined ? `leg ${home} of order ${text(c.externalId)}` : `order ${text(c.externalId)}`
      const lines = Array.isArray(c.lines) ? c.lines : []
      for (const l of lines) {
        if (partitionOf(text(l?.sku), partitions) !== home) {
          return spans(`SKU ${text(l?.sku)} lies in another partition than ${what}; the cluster gateway places such an order as legs`)
        }
      }
      for (const h of Array.isArray(c.holdIds) ? c.holdIds : []) {
        if (partitionOfHold(text(h)) !== home) return spans(`hold ${text(h)} lies in another partition than ${what}`)
      }
      return { stream: partitionStream(home) }
    }
    case "order.claimSplit":
    case "order.releaseSplit":
      // the claim of a split order's external id lives where an ordinary order with that external id would
      return { stream: partitionStream(partitionOf(`${text(c.channel)}\u0000${text(c.externalId)}`, partitions)) }
    case "order.exchange":
      return spans("an exchange places a new order in another partition; not served in cluster mode")
    case "notifications.delivered":
      if (!Array.isArray(c.ids) || c.ids.length === 0) return { stream: partitionStream(0) }
      return onePartition(c.ids.map((id) => partitionOfOrder(text(id))), "the notifications' orders", partitions)
    default: {
      const p = partitionOfOrder(text((c as { orderId?: unknown }).orderId))
      return { stream: partitionStream(p >= 0 && p < partitions ? p : 0) }
    }
  }
}
