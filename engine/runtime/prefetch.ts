/**
 * The prefetch step: which orders a batch will touch that are not in memory.
 *
 * The batch loop stays synchronous (every actor settled before the next
 * command, as the reference model expects), so an order that left memory
 * (order/residency.ts) must be back before the command that needs it runs.
 * Before a batch, the engine asks `collect` for each command it is about to
 * run (and `collectTimers` for the timers due), loads everything missing in
 * one store round trip (ids and placement keys), then runs the batch. A
 * command whose needs are still missing when its turn comes (an earlier
 * command of the batch changed them) ends the batch there; the rest waits
 * for the next load. TigerBeetle prefetches a batch's accounts the same way
 * before running its state machine over them.
 *
 * What a command needs:
 * - a command naming an order (`orderId`): that order;
 * - `order.place`: the order with its placement key, if there is one (a
 *   repeated placement is answered with the original order), and the same
 *   for the claims of split orders (`order.claimSplit`, `order.releaseSplit`);
 * - `notifications.delivered`: the orders of the notifications;
 * - `node.setStatus` offline: every order with a shipment open at the node
 *   (it is withdrawn and routed again);
 * - timers: the orders of the promise deadlines due.
 * Orders with live work that the engine reaches through its own indexes
 * (pending payments, backorders, undelivered notifications) never leave.
 *
 * A key or id the store was asked about and does not have is remembered as
 * absent until the batch that asked for it has run (`settle`): it is then
 * known to be new.
 */
import type { Command } from "../domain/commands.ts"
import { externalKey, legKey, partitionOfOrder, promiseTimerTarget, touchOrder } from "../order/order-book.ts"
import type { OrderKey } from "../store/journal.ts"
import { partitionOf, type Partition } from "./partition.ts"

/** What a batch needs loaded: order ids, and placement keys (by their book key). */
export interface Missing {
  readonly ids: Set<string>
  readonly keys: Map<string, OrderKey>
}

export const noneMissing = (): Missing => ({ ids: new Set(), keys: new Map() })

export const isEmpty = (m: Missing): boolean => m.ids.size === 0 && m.keys.size === 0

export class Prefetch {
  /** Asked of the store by the last load and not found, good until the batch after it has run. */
  readonly absentIds = new Set<string>()
  readonly absentKeys = new Set<string>()

  constructor(private readonly partitions: () => ReadonlyArray<Partition>) {}

  /** Adds to `into` what command `c` needs that is not in memory; true when it needs nothing more. */
  collect(c: Command, into: Missing): boolean {
    if (typeof c !== "object" || c === null) return true
    switch (c.type) {
      case "order.place": {
        if (typeof c.channel !== "string" || typeof c.externalId !== "string") return true
        const leg = (c.leg as { partition?: unknown } | undefined)?.partition
        if (c.leg !== undefined) {
          if (typeof leg !== "number" || !this.partitions()[leg]) return true
          return this.needKey(leg, legKey(c.channel, c.externalId, leg), { channel: c.channel, externalId: c.externalId, leg }, into)
        }
        const key = externalKey(c.channel, c.externalId)
        return this.needKey(partitionOf(key, this.partitions().length), key, { channel: c.channel, externalId: c.externalId, leg: -1 }, into)
      }
      case "order.claimSplit":
      case "order.releaseSplit": {
        if (typeof c.channel !== "string" || typeof c.externalId !== "string") return true
        const key = externalKey(c.channel, c.externalId)
        return this.needKey(partitionOf(key, this.partitions().length), key, { channel: c.channel, externalId: c.externalId, leg: -1 }, into)
      }
      case "notifications.delivered": {
        if (!Array.isArray(c.ids)) return true
        let ready = true
        for (const id of c.ids) if (typeof id === "string") ready = this.needOrder(id.split("/")[0], into) && ready
        return ready
      }
      case "node.setStatus":
        return c.status !== "offline" || typeof c.nodeId !== "string" || this.needOpenAt([c.nodeId], into)
      default: {
        const orderId = (c as { orderId?: unknown }).orderId
        return typeof orderId !== "string" || this.needOrder(orderId, into)
      }
    }
  }

  /** Adds the orders of the promise deadlines due by `now`. */
  collectTimers(now: number, into: Missing): boolean {
    let ready = true
    for (const p of this.partitions()) {
      p.orders.promiseDeadlines.forEachDue(now, (_due, id) => {
        ready = this.needOrder(promiseTimerTarget(id).orderId, into) && ready
      })
    }
    return ready
  }

  /** Adds every order with a shipment open at one of these nodes. */
  needOpenAt(nodeIds: Iterable<string>, into: Missing): boolean {
    let ready = true
    for (const nodeId of nodeIds) {
      for (const p of this.partitions()) {
        for (const id of p.orders.openAtNode.get(nodeId) ?? []) ready = this.needOrder(id, into) && ready
      }
    }
    return ready
  }

  /** The batch that the last load was for has run: what was absent may exist now. */
  settle(): void {
    this.absentIds.clear()
    this.absentKeys.clear()
  }

  private needOrder(orderId: string, into: Missing): boolean {
    const p = this.partitions()[partitionOfOrder(orderId)]
    if (p === undefined) return true
    const o = p.orders.orders.get(orderId)
    if (o !== undefined) {
      touchOrder(p.orders, o)
      return true
    }
    if (this.absentIds.has(orderId)) return true
    into.ids.add(orderId)
    return false
  }

  private needKey(partition: number, key: string, orderKey: OrderKey, into: Missing): boolean {
    const book = this.partitions()[partition].orders
    const resident = book.byExternal.get(key)
    if (resident !== undefined) {
      const o = book.orders.get(resident)
      if (o !== undefined) touchOrder(book, o)
      return true
    }
    // never placed within the idempotency window: a new order, nothing to load
    if (!book.keys.mayHave(key) || this.absentKeys.has(key)) return true
    into.keys.set(key, orderKey)
    return false
  }
}
