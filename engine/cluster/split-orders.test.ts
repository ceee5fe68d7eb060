/**
 * The placement of legs, all or nothing, against a fake cluster that answers
 * each leg as told: which legs are compensated when one is refused, answers
 * with a retryable code, or exists with other lines (and that what an earlier
 * attempt placed is never taken back on an uncertain outcome); the claim
 * of the external id made first and released with the legs; and which
 * commands the cluster client's entry (submitAcrossPartitions) takes across
 * partitions and which it leaves to the caller.
 */
import { describe, expect, it } from "vitest"
import type { ClaimSplit, Command, PlaceOrder } from "../domain/commands.ts"
import type { OrderView } from "../order/order-state.ts"
import { placeLegs, placeSplit, submitAcrossPartitions, type LegAccess, type LegReply } from "./split-orders.ts"

const leg = (partition: number): PlaceOrder => ({
  type: "order.place", channel: "web", externalId: "S-1", customer: {}, lines: [{ sku: `SKU-${partition}`, qty: 1 }], leg: { partition, lineNos: [partition + 1] }
})

const view = (partition: number): OrderView => ({ orderId: `o${partition}-1`, status: "routed", payment: "authorised", lines: [], shipments: [], returns: [], leg: { partition, lineNos: [partition + 1], compensated: false } }) as unknown as OrderView

/** A cluster whose partition k answers `answers[k]` to a placement, and records every command. */
const fakeCluster = (answers: Record<number, LegReply>) => {
  const sent: Array<Command> = []
  const access: LegAccess = {
    submitOne: async (c) => {
      sent.push(c)
      return c.type === "order.place" ? answers[c.leg!.partition] : { ok: true }
    },
    order: async () => null,
    orderHistory: async () => null,
    orderTimeline: async () => null
  }
  return {
    access, sent,
    compensated: () => sent.flatMap((c) => (c.type === "order.cancel" && c.compensation === true ? [c.orderId] : [])),
    released: () => sent.filter((c) => c.type === "order.releaseSplit")
  }
}

const placed = (p: number, existing = false): LegReply => ({ ok: true, order: view(p), ...(existing ? { existing: true } : {}) })

describe("placing the legs of an order", () => {
  it("answers the group view when every leg is accepted, and compensates nothing", async () => {
    const c = fakeCluster({ 0: placed(0), 2: placed(2, true) })
    const r = await placeLegs(c.access, [leg(0), leg(2)])
    expect(r).toMatchObject({ ok: true, order: { orderId: "o0-1_o2-1", legs: [{ partition: 0 }, { partition: 2 }] } })
    expect(r).not.toHaveProperty("existing")
    expect(c.compensated()).toEqual([])
  })

  it("compensates every accepted leg, also one left by an earlier attempt, and answers the refusal", async () => {
    const c = fakeCluster({ 0: placed(0), 1: { ok: false, code: "unknown_sku", message: "x" }, 2: placed(2, true) })
    expect(await placeLegs(c.access, [leg(0), leg(1), leg(2)])).toMatchObject({ ok: false, code: "unknown_sku" })
    expect(c.compensated().sort()).toEqual(["o0-1", "o2-1"])
  })

  it("compensates the same way on a retryable or unknown outcome, and answers it", async () => {
    for (const code of ["partition_moved", "outcome_unknown"]) {
      const c = fakeCluster({ 0: placed(0), 1: { ok: false, code, message: "x" } })
      expect(await placeLegs(c.access, [leg(0), leg(1)])).toMatchObject({ ok: false, code })
      expect(c.compensated()).toEqual(["o0-1"])
    }
  })

  it("never takes back legs an earlier attempt placed when a leg's outcome is uncertain: that order may have been acknowledged", async () => {
    for (const code of ["partition_moved", "store_unavailable", "outcome_unknown"]) {
      // a retry of an order placed whole before (its answer lost): two legs answer existing, the third cannot answer now
      const c = fakeCluster({ 0: placed(0, true), 1: { ok: false, code, message: "x" }, 2: placed(2, true) })
      expect(await placeLegs(c.access, [leg(0), leg(1), leg(2)])).toMatchObject({ ok: false, code })
      expect(c.compensated()).toEqual([])
      // a leg this attempt placed is still undone (the earlier attempt was then not whole)
      const mixed = fakeCluster({ 0: placed(0, true), 1: { ok: false, code, message: "x" }, 2: placed(2) })
      await placeLegs(mixed.access, [leg(0), leg(1), leg(2)])
      expect(mixed.compensated()).toEqual(["o2-1"])
    }
  })

  it("leaves legs that existed alone when the external id was used with other lines", async () => {
    const c = fakeCluster({ 0: placed(0, true), 1: { ok: false, code: "exists_with_different_lines", message: "x" }, 2: placed(2) })
    expect(await placeLegs(c.access, [leg(0), leg(1), leg(2)])).toMatchObject({ ok: false, code: "exists_with_different_lines" })
    expect(c.compensated()).toEqual(["o2-1"])
  })

  it("reports a leg whose compensation failed", async () => {
    const failed: Array<string> = []
    const c = fakeCluster({ 0: placed(0), 1: { ok: false, code: "unknown_sku", message: "x" } })
    c.access.submitOne = async (cmd) => (cmd.type === "order.place" ? (cmd.leg!.partition === 0 ? placed(0) : { ok: false, code: "unknown_sku", message: "x" }) : { ok: false, code: "partition_moved", message: "moving" })
    await placeLegs(c.access, [leg(0), leg(1)], (u) => failed.push("legId" in u ? u.legId : "claim"))
    expect(failed).toEqual(["o0-1"])
  })
})

describe("placing a split order with the claim of its external id", () => {
  const claim: ClaimSplit = { type: "order.claimSplit", channel: "web", externalId: "S-1", partitions: [0, 1] }
  const release = { type: "order.releaseSplit", channel: "web", externalId: "S-1", partitions: [0, 1] }

  it("claims before any leg is placed, and places nothing when the claim is refused", async () => {
    const c = fakeCluster({ 0: placed(0), 1: placed(1) })
    const ok = await placeSplit(c.access, claim, [leg(0), leg(1)])
    expect(ok).toMatchObject({ ok: true, order: { orderId: "o0-1_o1-1" } })
    expect(c.sent.map((x) => x.type)).toEqual(["order.claimSplit", "order.place", "order.place"])
    const refusing = fakeCluster({ 0: placed(0), 1: placed(1) })
    const inner = refusing.access.submitOne
    refusing.access.submitOne = async (x) => (x.type === "order.claimSplit" ? (refusing.sent.push(x), { ok: false, code: "exists_with_different_lines", message: "x" }) : inner(x))
    expect(await placeSplit(refusing.access, claim, [leg(0), leg(1)])).toMatchObject({ ok: false, code: "exists_with_different_lines" })
    expect(refusing.sent.map((x) => x.type)).toEqual(["order.claimSplit"])
  })

  it("releases the claim with the compensated legs, but not when the order exists with other lines", async () => {
    const refused = fakeCluster({ 0: placed(0), 1: { ok: false, code: "unknown_sku", message: "x" } })
    expect(await placeSplit(refused.access, claim, [leg(0), leg(1)])).toMatchObject({ ok: false, code: "unknown_sku" })
    expect(refused.compensated()).toEqual(["o0-1"])
    expect(refused.released()).toEqual([release])
    const other = fakeCluster({ 0: placed(0, true), 1: { ok: false, code: "exists_with_different_lines", message: "x" } })
    expect(await placeSplit(other.access, claim, [leg(0), leg(1)])).toMatchObject({ ok: false, code: "exists_with_different_lines" })
    expect(other.compensated()).toEqual([])
    expect(other.released()).toEqual([])
  })

  it("keeps the claim on an uncertain outcome when an earlier attempt made it or placed legs, releases it otherwise", async () => {
    const moved = { ok: false, code: "partition_moved", message: "x" } as const
    const retry = fakeCluster({ 0: placed(0, true), 1: moved })
    const claimedBefore = retry.access.submitOne
    retry.access.submitOne = async (x) => (x.type === "order.claimSplit" ? (retry.sent.push(x), { ok: true, existing: true }) : claimedBefore(x))
    expect(await placeSplit(retry.access, claim, [leg(0), leg(1)])).toMatchObject({ ok: false, code: "partition_moved" })
    expect(retry.compensated()).toEqual([])
    expect(retry.released()).toEqual([])
    const fresh = fakeCluster({ 0: placed(0), 1: moved })
    await placeSplit(fresh.access, claim, [leg(0), leg(1)])
    expect(fresh.compensated()).toEqual(["o0-1"])
    expect(fresh.released()).toEqual([release])
  })

  it("reports a claim that could not be released", async () => {
    const failed: Array<unknown> = []
    const c = fakeCluster({ 0: placed(0), 1: { ok: false, code: "partition_moved", message: "x" } })
    const inner = c.access.submitOne
    c.access.submitOne = async (x) => (x.type === "order.releaseSplit" ? { ok: false, code: "outcome_unknown", message: "x" } : inner(x))
    await placeSplit(c.access, claim, [leg(0), leg(1)], (u, r) => failed.push([u, r.ok ? "ok" : r.code]))
    expect(failed).toEqual([[{ release }, "outcome_unknown"]])
  })
})

describe("what the cluster client sends across partitions", () => {
  const partitions = 4
  const delivered = (counts: Record<number, number>) => {
    const sent: Array<Command> = []
    const access: LegAccess = {
      submitOne: async (c) => {
        sent.push(c)
        return c.type === "notifications.delivered" ? { ok: true, delivered: counts[Number(c.ids[0].slice(1, 2))] } : { ok: true }
      },
      order: async () => null,
      orderHistory: async () => null,
      orderTimeline: async () => null
    }
    return { access, sent }
  }

  it("reports delivered notifications to each partition of their orders and sums the counts", async () => {
    const c = delivered({ 0: 2, 3: 1 })
    const r = await submitAcrossPartitions(c.access, { type: "notifications.delivered", ids: ["o0-1/confirmed", "o3-2/confirmed", "o0-1/shipped/o0-1-s1"] }, partitions)
    expect(r).toEqual({ ok: true, delivered: 3 })
    expect(c.sent).toEqual([
      { type: "notifications.delivered", ids: ["o0-1/confirmed", "o0-1/shipped/o0-1-s1"] },
      { type: "notifications.delivered", ids: ["o3-2/confirmed"] }
    ])
  })

  it("leaves commands of one partition to the caller: an order whose lines share its partition, notifications of one partition, an ordinary id", () => {
    const c = delivered({})
    expect(submitAcrossPartitions(c.access, { type: "notifications.delivered", ids: ["o1-1/confirmed", "o1-2/confirmed"] }, partitions)).toBeUndefined()
    expect(submitAcrossPartitions(c.access, { type: "order.payment", orderId: "o1-1", outcome: "authorised" }, partitions)).toBeUndefined()
    const whole: PlaceOrder = { type: "order.place", channel: "web", externalId: "W-1", customer: {}, lines: [] }
    expect(submitAcrossPartitions(c.access, whole, partitions)).toBeUndefined()
    expect(c.sent).toEqual([])
  })

  it("sends a command on a composite id to its legs", async () => {
    const c = fakeCluster({})
    c.access.order = async (id) => view(Number(id.slice(1, 2)))
    const r = await submitAcrossPartitions(c.access, { type: "order.payment", orderId: "o0-1_o2-1", outcome: "authorised" }, partitions)
    expect(r).toMatchObject({ ok: true, order: { orderId: "o0-1_o2-1" } })
    expect(c.sent).toEqual([
      { type: "order.payment", orderId: "o0-1", outcome: "authorised" },
      { type: "order.payment", orderId: "o2-1", outcome: "authorised" }
    ])
  })
})
