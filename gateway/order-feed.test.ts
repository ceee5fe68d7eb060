/**
 * The order feed pushes every committed event of a subscribed order to each
 * subscriber once: events committed while a subscription's order is read, and
 * events missed while this process was cut off (a resync), including when new
 * events arrive live while the resync is reading histories.
 */
import { describe, expect, it } from "vitest"
import type { HistoryEntry, OrderEvent } from "../engine/index.ts"
import type { Changes } from "./changes.ts"
import type { EngineAccess } from "./engine-access.ts"
import { OrderFeed } from "./order-feed.ts"
import type { WsSession } from "./ws-session.ts"

const orderId = "o1-a"
const event = (seq: number): HistoryEntry => ({ seq, event: { type: "ShipmentPacked", orderId, shipmentId: `s${seq}`, at: seq } as unknown as OrderEvent })
const live = (...seqs: Array<number>): Changes => ({
  skus: [], allSkus: false, notifications: [], orders: seqs.map((seq) => ({ orderId, stream: "p1", seq, event: event(seq).event }))
})
const resync: Changes = { skus: [], allSkus: true, orders: [], notifications: [], resync: true }

const session = () => {
  const pushed: Array<number> = []
  const s = { orders: new Set<string>(), closed: false, pushOrder: (text: string) => pushed.push((JSON.parse(text) as { seq: number }).seq) }
  return { s: s as unknown as WsSession, pushed }
}

/** An engine whose order history answers when the test says so. */
const slowHistory = () => {
  let release: (h: ReadonlyArray<HistoryEntry>) => void = () => undefined
  const engine = { orderHistory: () => new Promise<ReadonlyArray<HistoryEntry>>((r) => (release = r)) } as unknown as EngineAccess
  return { engine, release: (h: ReadonlyArray<HistoryEntry>) => release(h) }
}

describe("order feed", () => {
  it("pushes the events a resync finds missing, and not again those that arrived live while it read", async () => {
    const { engine, release } = slowHistory()
    const feed = new OrderFeed(engine)
    const a = session()
    feed.confirm(feed.begin(a.s, orderId), 2)
    feed.onChanges(resync)
    // 3 and 4 were lost; 5 arrives live before the history does
    feed.onChanges(live(5))
    release([1, 2, 3, 4, 5].map(event))
    await feed.settled()
    expect(a.pushed).toEqual([5, 3, 4])
    // after the resync, the live path carries on from the newest
    feed.onChanges(live(5, 6))
    expect(a.pushed).toEqual([5, 3, 4, 6])
  })

  it("pushes events committed while a subscription's order was read, after what the read saw", () => {
    const feed = new OrderFeed({} as EngineAccess)
    const a = session()
    const b = session()
    const pa = feed.begin(a.s, orderId)
    const pb = feed.begin(b.s, orderId)
    feed.onChanges(live(7, 8))
    feed.confirm(pa, 7)
    feed.confirm(pb, 8)
    expect(a.pushed).toEqual([8])
    expect(b.pushed).toEqual([])
    feed.onChanges(live(8, 9))
    expect(a.pushed).toEqual([8, 9])
    expect(b.pushed).toEqual([9])
  })

  it("keeps nothing for a subscription that was refused", () => {
    const feed = new OrderFeed({} as EngineAccess)
    const a = session()
    const p = feed.begin(a.s, orderId)
    feed.cancel(p)
    feed.onChanges(live(1))
    expect(a.pushed).toEqual([])
    expect(feed.subscribedOrders).toBe(0)
    expect(a.s.orders.size).toBe(0)
  })
})
