/**
 * Cluster mode: which journal stream (and so which cluster entity) a command
 * belongs to. Network commands belong to the network stream ("net"); every
 * other command to exactly one partition ("p<k>"), or it is refused with
 * `spans_partitions`: in cluster mode a command must not touch the actors of
 * two partitions, because each partition commits on its own runner.
 *
 * Who owns a command and by which of its fields it is found is the ownership
 * table (domain/ownership.ts); this module turns that address into a stream:
 *
 * - `sku`: the partition of the SKU; `holdId`: the one a hold id names (h<k>-...)
 * - `rows` (an inventory load): every row's SKU in one partition
 * - `placement`: the order's partition (hash of channel and external id)
 *   must also hold every line's SKU and every cart hold; a leg of a split
 *   order (`leg`, see cluster/legs.ts) goes to the partition it names, which
 *   must hold every line's SKU and every cart hold of the leg
 * - `orderId`: the partition named by the order id (o<k>-...)
 * - `externalId` (the claim of a split order's external id, and its release):
 *   the order's home partition (hash of channel and external id)
 * - `notificationIds`: every id in one partition
 * - a command whose row says `spansPartitions` (an exchange: its new order
 *   lives in another partition) is refused
 *
 * The gateway's cluster client and the partition entity use the same rules:
 * the client to address the entity, the entity to refuse what is not its own.
 */
import type { Command } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import { ownerOf, type Ownership } from "../domain/ownership.ts"
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

/** A partition a command's id names, or partition 0 (whose engine answers the bad id) when it names none in range. */
const named = (p: number, partitions: number): StreamOf => ({ stream: partitionStream(p >= 0 && p < partitions ? p : 0) })

/** An unknown command type goes where its order id points, as a command on an order would; that engine answers unknown_command. */
const unknownType: Ownership = { actor: "order", address: "orderId" }

/** The stream whose owner executes `c`, or why no single owner can. Malformed commands go to partition 0, which answers them. */
export const streamOf = (c: Command, partitions: number): StreamOf => {
  if (typeof c !== "object" || c === null) return { stream: partitionStream(0) }
  const field = (name: string): unknown => (c as unknown as Record<string, unknown>)[name]
  const text = (x: unknown): string => (typeof x === "string" ? x : "")
  const owner = ownerOf(c.type) ?? unknownType
  if (owner.spansPartitions !== undefined) return spans(owner.spansPartitions)
  switch (owner.address) {
    case "network":
      return { stream: networkStream }
    case "sku":
      return { stream: partitionStream(partitionOf(text(field("sku")), partitions)) }
    case "holdId":
      return named(partitionOfHold(text(field("holdId"))), partitions)
    case "rows": {
      const rows = field("rows")
      if (!Array.isArray(rows) || rows.length === 0) return { stream: partitionStream(0) }
      return onePartition(rows.map((r) => partitionOf(text(r?.sku), partitions)), "the rows' SKUs", partitions)
    }
    case "placement":
      return placementStream(c as Command & { type: "order.place" }, partitions)
    case "externalId":
      // the claim of a split order's external id lives where an ordinary order with that external id would
      return { stream: partitionStream(partitionOf(`${text(field("channel"))}\u0000${text(field("externalId"))}`, partitions)) }
    case "notificationIds": {
      const ids = field("ids")
      if (!Array.isArray(ids) || ids.length === 0) return { stream: partitionStream(0) }
      return onePartition(ids.map((id) => partitionOfOrder(text(id))), "the notifications' orders", partitions)
    }
    case "orderId":
      return named(partitionOfOrder(text(field("orderId"))), partitions)
  }
}

/** An order's placement: its home partition (or its leg's), which must hold every line's SKU and every cart hold. */
const placementStream = (c: Command & { type: "order.place" }, partitions: number): StreamOf => {
  const text = (x: unknown): string => (typeof x === "string" ? x : "")
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
