/**
 * Cluster mode: the saga that serves orders whose lines lie in several
 * partitions as legs (one ordinary order per partition; legs.ts holds the
 * pure parts: the split, the composite id, the group view). The cluster
 * client (the gateway's ClusterEngine) calls it with a `LegAccess`: how to
 * send one single-partition command and read one leg.
 *
 * - Placement: the order's external id is first claimed in its home
 *   partition (`order.claimSplit`, naming the legs' partitions); a refusal
 *   (an ordinary order, or a split order over other partitions, holds the
 *   external id: exists_with_different_lines) is the answer and nothing is
 *   placed. Then the legs are placed in parallel. All accepted: the answer is
 *   the group view. Any refused (or answered with a retryable or unknown
 *   outcome): the legs that were accepted are compensated (cancelled whole
 *   with `compensation`, which frees their idempotency keys and notifies no
 *   one), the claim is released, and the refusal is the answer, so stock is
 *   as before and a retry with the same external id, split or not, places the
 *   order afresh.
 * - Commands on a composite id go to the legs: payment and feedback to each,
 *   cancel whole to each, cancel and return by lines to the legs holding the
 *   lines (group line numbers mapped to the legs'), shipment and return-receipt
 *   events to the leg whose id prefixes the shipment or return id.
 * - Reads of a composite id read every leg and aggregate.
 */
import { legRouteOf } from "../domain/ownership.ts"
import type { ClaimSplit, Command, LineQty, PlaceOrder, ReleaseSplit } from "../domain/commands.ts"
import { retryableCodes, type ErrorCode } from "../domain/errors.ts"
import type { Accepted } from "../domain/replies.ts"
import { partitionOfOrder } from "../order/order-book.ts"
import type { HistoryEntry, OrderView } from "../order/order-state.ts"
import type { OrderTimeline } from "../runtime/queries.ts"
import { groupView, legIdsOf, legLinesOf, linesByLeg, mergeHistories, releaseOf, splitClaimOf, splitOrder, type GroupView } from "./legs.ts"

/**
 * A refusal as the cluster client answers it: the engine's codes, and
 * `outcome_unknown` when a message may have been applied but got no answer
 * (partition-client.ts).
 */
export interface Refusal {
  readonly ok: false
  readonly code: string
  readonly message: string
}

export type LegReply = Accepted | Refusal

/** What the split-order logic needs of the cluster: single-partition commands and reads. */
export interface LegAccess {
  submitOne(command: Command): Promise<LegReply>
  order(legId: string): Promise<OrderView | null>
  orderHistory(legId: string): Promise<ReadonlyArray<HistoryEntry> | null>
  orderTimeline(legId: string): Promise<OrderTimeline | null>
}

const refusal = (code: string, message: string): Refusal => ({ ok: false, code, message })

/** One view for the legs: the leg itself when the order has one leg, else the group. */
export const viewOfLegs = (legs: ReadonlyArray<OrderView>): OrderView | GroupView => (legs.length === 1 ? legs[0] : groupView(legs))

/** What a failed placement undoes: a leg it placed (cancelled as a compensation), or the claim of the external id (released). */
export type Undo = { readonly legId: string } | { readonly release: ReleaseSplit }

/**
 * A command as the cluster client sends it when it may concern several
 * partitions: an order whose lines or cart holds lie in several partitions
 * is placed as legs (placeSplit); a command on a composite order id goes to
 * its legs (submitToLegs); delivered notifications of orders in several
 * partitions are reported to each partition (the counts summed). Undefined:
 * the command concerns one partition, and the caller sends it there as is.
 * `onUndoFailed`: see placeLegs.
 */
export const submitAcrossPartitions = (
  access: LegAccess,
  command: Command,
  partitions: number,
  onUndoFailed: (undo: Undo, reply: LegReply) => void = () => {}
): Promise<LegReply> | undefined => {
  if (command.type === "order.place") {
    const split = splitOrder(command, partitions)
    if ("ok" in split) return Promise.resolve(split)
    return split.kind === "legs" ? placeSplit(access, splitClaimOf(command, split.legs), split.legs, onUndoFailed) : undefined
  }
  if (command.type === "notifications.delivered") return notificationsDelivered(access, command)
  const legIds = legIdsOf((command as { orderId?: unknown }).orderId)
  return legIds ? submitToLegs(access, command as Command & { orderId: string }, legIds) : undefined
}

/** Delivered notifications reported for orders of several partitions: one command per partition, counts summed. */
const notificationsDelivered = (access: LegAccess, c: Command & { type: "notifications.delivered" }): Promise<LegReply> | undefined => {
  if (!Array.isArray(c.ids)) return undefined
  const byPartition = new Map<number, Array<string>>()
  for (const id of c.ids) {
    const p = typeof id === "string" ? partitionOfOrder(id) : 0
    let list = byPartition.get(p)
    if (!list) byPartition.set(p, (list = []))
    list.push(id)
  }
  if (byPartition.size <= 1) return undefined
  return Promise.all([...byPartition.values()].map((ids) => access.submitOne({ type: "notifications.delivered", ids }))).then((replies) => {
    const refused = replies.find((r) => !r.ok)
    return refused ?? { ok: true, delivered: replies.reduce((n, r) => n + (r.ok ? r.delivered ?? 0 : 0), 0) }
  })
}

/**
 * Places an order split into `legs`: claims its external id in its home
 * partition (`claim`), then places the legs (placeLegs). A refused claim is
 * the answer, with nothing placed.
 */
export const placeSplit = async (
  access: LegAccess,
  claim: ClaimSplit,
  legs: ReadonlyArray<PlaceOrder>,
  onUndoFailed: (undo: Undo, reply: LegReply) => void = () => {}
): Promise<LegReply> => {
  const claimed = await access.submitOne(claim)
  if (!claimed.ok) return claimed
  return placeLegs(access, legs, onUndoFailed, { claim, existed: claimed.existing === true })
}

/**
 * Places the legs of one order, all or nothing as the client sees it; when
 * the legs are compensated, `claim` (the external id's claim, if one was
 * made) is released with them. `onUndoFailed` hears of a leg that could not
 * be undone (it stays until the client retries the order, or lapses at its
 * payment deadline) or a claim that could not be released (it stays until
 * the client retries the order with the same lines).
 */
export const placeLegs = async (
  access: LegAccess,
  legs: ReadonlyArray<PlaceOrder>,
  onUndoFailed: (undo: Undo, reply: LegReply) => void = () => {},
  /** The external id's claim, and whether it was there before this attempt. */
  claimed?: { readonly claim: ClaimSplit; readonly existed: boolean }
): Promise<LegReply> => {
  const replies = await Promise.all(legs.map((leg) => access.submitOne(leg)))
  const refusedAt = replies.findIndex((r) => !r.ok)
  if (refusedAt < 0) {
    const views = replies.map((r) => (r.ok ? r.order! : undefined)!)
    return { ok: true, order: viewOfLegs(views), ...(replies.every((r) => r.ok && r.existing === true) ? { existing: true } : {}) }
  }
  const refused = replies[refusedAt] as Refusal
  // What an earlier attempt placed (legs answering `existing`, a claim that was there) is undone only when this
  // attempt proves that attempt never made the order whole: a leg refused for what it is (unknown SKU, bad hold...)
  // was not placed before with these lines, so the legs found are what an interrupted placement left. It is kept
  // when a leg exists with other lines (that order was placed before, with its own claim), and when a leg's outcome
  // is uncertain (a retryable refusal, no answer): the order may have been placed whole and acknowledged by an
  // earlier attempt whose answer the client lost, so it must not be taken back; the client's retry completes it.
  const keepEarlier = replies.some((r) => !r.ok && (r.code === "exists_with_different_lines" || r.code === "outcome_unknown" || retryableCodes.has(r.code as ErrorCode)))
  const undo: Array<Undo> = replies.flatMap((r) => (r.ok && r.order && !(keepEarlier && r.existing === true) ? [{ legId: r.order.orderId }] : []))
  const earlierLegs = replies.some((r) => r.ok && r.existing === true)
  if (claimed && !(keepEarlier && (claimed.existed || earlierLegs))) undo.push({ release: releaseOf(claimed.claim) })
  const partition = legs[refusedAt].leg?.partition
  const reason = `compensation: leg ${partition} of the order was refused (${refused.code})`
  await Promise.all(undo.map(async (u) => {
    const r = await access.submitOne("legId" in u ? { type: "order.cancel", orderId: u.legId, reason, compensation: true } : u.release)
    if (!r.ok) onUndoFailed(u, r)
  }))
  return refused
}

/** The views of every leg, or null when any is missing. */
export const readLegs = async (access: LegAccess, legIds: ReadonlyArray<string>): Promise<Array<OrderView> | null> => {
  const views = await Promise.all(legIds.map((id) => access.order(id)))
  return views.every((v): v is OrderView => v !== null) ? views : null
}

export const readGroup = async (access: LegAccess, legIds: ReadonlyArray<string>): Promise<OrderView | null> => {
  const views = await readLegs(access, legIds)
  return views ? viewOfLegs(views) : null
}

export const readGroupHistory = async (access: LegAccess, legIds: ReadonlyArray<string>): Promise<Array<HistoryEntry> | null> => {
  const histories = await Promise.all(legIds.map((id) => access.orderHistory(id)))
  return histories.every((h) => h !== null) ? mergeHistories(histories as Array<ReadonlyArray<HistoryEntry>>) : null
}

export const readGroupTimeline = async (access: LegAccess, legIds: ReadonlyArray<string>): Promise<OrderTimeline | null> => {
  const timelines = await Promise.all(legIds.map((id) => access.orderTimeline(id)))
  if (!timelines.every((t): t is OrderTimeline => t !== null)) return null
  return {
    order: viewOfLegs(timelines.map((t) => t.order)),
    history: mergeHistories(timelines.map((t) => t.history)),
    notifications: timelines.flatMap((t) => t.notifications)
  }
}

/** Sends one command per leg (in parallel) and answers the group view, or the first refusal. */
const fanOut = async (
  access: LegAccess,
  legIds: ReadonlyArray<string>,
  commands: ReadonlyArray<Command>,
  /** Refusals that mean "nothing to do on this leg" (an already cancelled leg), as long as some leg did something. */
  benign: ReadonlySet<string> = new Set()
): Promise<LegReply> => {
  const replies = await Promise.all(commands.map((c) => access.submitOne(c)))
  const refusals = replies.filter((r): r is Refusal => !r.ok)
  const someApplied = refusals.length < replies.length
  const blocking = refusals.find((r) => !(someApplied && benign.has(r.code)))
  if (blocking) return blocking
  const order = await readGroup(access, legIds)
  if (!order) return refusal("order_not_found", "no order has this id (in this channel)")
  return { ok: true, order, ...(replies.every((r) => r.ok && r.existing === true) ? { existing: true } : {}) }
}

/** The leg of `legIds` whose id prefixes a shipment or return id (o3-1a-s1 belongs to o3-1a). */
const legOwning = (legIds: ReadonlyArray<string>, id: unknown): string | undefined =>
  typeof id === "string" ? legIds.find((leg) => id.startsWith(`${leg}-`)) : undefined

/** A command on a split order (its orderId names the legs `legIds`). */
export const submitToLegs = async (access: LegAccess, command: Command & { readonly orderId: string }, legIds: ReadonlyArray<string>): Promise<LegReply> => {
  const toEach = () => legIds.map((orderId) => ({ ...command, orderId }) as Command)
  // how the command reaches the legs is the ownership table's (engine/domain/ownership.ts)
  switch (legRouteOf(command.type)) {
    case "each":
      return fanOut(access, legIds, toEach())
    case "lines": {
      const c = command as Command & { readonly orderId: string; readonly lines?: ReadonlyArray<LineQty>; readonly compensation?: boolean }
      if (c.compensation !== undefined) return refusal("invalid_leg", "a compensation names one leg")
      // a whole cancel goes to every leg; a leg with nothing left to cancel does not fail it
      if (c.lines === undefined) return fanOut(access, legIds, toEach(), new Set(["invalid_state"]))
      return byLines(access, legIds, c.lines, (orderId, lines) => ({ ...command, orderId, lines }) as Command)
    }
    case "refused":
      return refusal("spans_partitions", `${command.type} of an order split over partitions is not served in cluster mode`)
    case "shipment": {
      const leg = legOwning(legIds, (command as { readonly shipmentId?: unknown }).shipmentId)
      // picked lines are the leg's own line numbers: a node works on the leg's shipment as routed
      return leg ? access.submitOne({ ...command, orderId: leg } as Command) : refusal("shipment_not_found", errorText.shipment)
    }
    case "return": {
      const leg = legOwning(legIds, (command as { readonly returnId?: unknown }).returnId)
      return leg ? access.submitOne({ ...command, orderId: leg } as Command) : refusal("return_not_found", errorText.return)
    }
    default:
      return refusal("unknown_command", `${(command as { type: string }).type} does not act on an order`)
  }
}

const errorText = { shipment: "the order has no shipment with this id", return: "the order has no return with this id" }

/** A command by group line numbers: each leg holding a line asked gets it with the leg's own numbers. */
const byLines = async (
  access: LegAccess,
  legIds: ReadonlyArray<string>,
  lines: ReadonlyArray<LineQty>,
  make: (orderId: string, lines: ReadonlyArray<LineQty>) => Command
): Promise<LegReply> => {
  if (!Array.isArray(lines) || lines.some((l) => typeof l !== "object" || l === null || typeof l.lineNo !== "number")) {
    return refusal("malformed_command", "each line needs a lineNo")
  }
  const views = await readLegs(access, legIds)
  if (!views) return refusal("order_not_found", "no order has this id (in this channel)")
  const mapped = linesByLeg(views.map(legLinesOf), lines)
  if ("ok" in mapped) return mapped
  return fanOut(access, legIds, [...mapped].map(([orderId, ls]) => make(orderId, ls)))
}

