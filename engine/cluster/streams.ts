/**
 * Cluster mode: which partition entity (journal stream) holds a piece of
 * data, for a cluster client's reads: a SKU's pools, an order, a hold, the
 * home of an external id. Ids carry their partition (o3-1a, h5-9z), so none
 * of these needs a lookup. Commands find their stream with scope.ts.
 */
import { partitionOfOrder } from "../order/order-book.ts"
import { partitionOfHold } from "../pool/pool-actor.ts"
import { partitionOf, partitionStream } from "../runtime/partition.ts"
import { homePartitionOf } from "./legs.ts"

const streamIn = (p: number, partitions: number): string | undefined => (p >= 0 && p < partitions ? partitionStream(p) : undefined)

/** The stream holding a SKU's pools. */
export const skuStream = (sku: string, partitions: number): string => partitionStream(partitionOf(sku, partitions))

/** The stream an order id names, or undefined when the id names no partition of the cluster. */
export const orderStream = (orderId: string, partitions: number): string | undefined => streamIn(partitionOfOrder(orderId), partitions)

/** The stream a hold id names, or undefined when the id names no partition of the cluster. */
export const holdStream = (holdId: string, partitions: number): string | undefined => streamIn(partitionOfHold(holdId), partitions)

/** The home stream of an external id: its ordinary order, or the claim of the split order that uses it. */
export const externalIdStream = (channel: string, externalId: string, partitions: number): string =>
  partitionStream(homePartitionOf(channel, externalId, partitions))
