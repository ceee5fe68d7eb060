/**
 * Cluster mode: the claim of a split order's external id. An ordinary order
 * lives in its home partition (the hash of channel and external id) under
 * externalKey; the legs of a split order live in the partitions of their
 * lines, each under its own legKey, so nothing there stops an ordinary order
 * and a split order from sharing an external id. The cluster gateway
 * therefore claims the external id in the home partition before it places
 * the legs: the home sees every use of the external id, in one place, in
 * journal order.
 *
 * Pure decisions: the dispatcher journals the event and applies it
 * (order-book.ts applySplitEvent).
 */
import type { EngineConfig } from "../config.ts"
import type { ClaimSplit, ReleaseSplit } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { SplitEvent } from "../domain/events.ts"
import type { Reply } from "../domain/replies.ts"
import { checkId, isCount } from "../domain/validate.ts"
import type { NetworkState } from "../network/network-actor.ts"
import { externalKey, type OrderBook } from "./order-book.ts"

/** What a claim or release decides: the reply, and the event to journal when something changes. */
export interface SplitDecision {
  readonly reply: Reply
  readonly event?: SplitEvent
}

const refused = (r: Rejection): SplitDecision => ({ reply: r })

/** The partitions of a split's legs, ascending, or why they are not: each once, in range. */
export const checkSplitPartitions = (partitions: unknown, config: EngineConfig): ReadonlyArray<number> | Rejection => {
  if (!Array.isArray(partitions) || partitions.length === 0) return reject("invalid_leg", "partitions must be a non-empty list")
  if (partitions.some((p) => !isCount(p) || p >= config.partitions)) return reject("invalid_leg", `partitions must be 0..${config.partitions - 1}`)
  const sorted = [...new Set(partitions as ReadonlyArray<number>)].sort((a, b) => a - b)
  if (sorted.length !== partitions.length) return reject("invalid_leg", "partitions must name each partition once")
  return sorted
}

const samePartitions = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => a.length === b.length && a.every((p, i) => p === b[i])

/** Channel, external id and partitions of a claim or release, checked. */
const checkClaim = (c: ClaimSplit | ReleaseSplit, net: NetworkState, config: EngineConfig): ReadonlyArray<number> | Rejection => {
  const bad = checkId(c.channel, config) ?? checkId(c.externalId, config)
  if (bad) return bad
  if (!net.channels.has(c.channel)) return reject("unknown_channel")
  return checkSplitPartitions(c.partitions, config)
}

const otherLines = (what: string): Rejection => reject("exists_with_different_lines", what)

/**
 * Claims (channel, externalId) for a split order whose legs lie in
 * `partitions`: refused when an ordinary order holds the external id or a
 * claim names other partitions (the order was placed before with other
 * lines); a repeated claim is accepted as existing (a retry of the order).
 */
export const claimSplit = (book: OrderBook, c: ClaimSplit, net: NetworkState, config: EngineConfig, now: number): SplitDecision => {
  const partitions = checkClaim(c, net, config)
  if (!Array.isArray(partitions)) return refused(partitions as Rejection)
  const key = externalKey(c.channel, c.externalId)
  if (book.byExternal.has(key)) return refused(otherLines("an order with this channel and external id exists, not split, with other lines"))
  const claimed = book.splits.get(key)
  if (claimed !== undefined) {
    return samePartitions(claimed, partitions)
      ? { reply: { ok: true, split: { partitions: claimed }, existing: true } }
      : refused(otherLines(`an order with this channel and external id exists, split over partitions ${claimed.join(", ")}, with other lines`))
  }
  return {
    reply: { ok: true, split: { partitions } },
    event: { type: "SplitClaimed", channel: c.channel, externalId: c.externalId, partitions, at: now }
  }
}

/**
 * Gives up the claim of a split placement that was compensated. Only a claim
 * naming the same partitions is released (another is some other placement's);
 * no claim at all is a repeated release, accepted as existing.
 */
export const releaseSplit = (book: OrderBook, c: ReleaseSplit, net: NetworkState, config: EngineConfig, now: number): SplitDecision => {
  const partitions = checkClaim(c, net, config)
  if (!Array.isArray(partitions)) return refused(partitions as Rejection)
  const claimed = book.splits.get(externalKey(c.channel, c.externalId))
  if (claimed === undefined) return { reply: { ok: true, existing: true } }
  if (!samePartitions(claimed, partitions)) return refused(otherLines(`the external id is claimed by a split order over partitions ${claimed.join(", ")}`))
  return { reply: { ok: true }, event: { type: "SplitReleased", channel: c.channel, externalId: c.externalId, at: now } }
}
