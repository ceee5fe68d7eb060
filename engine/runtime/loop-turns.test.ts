/**
 * The loop's work in short turns: committed answers handed back a slice at a
 * time, in order, after their events were published (deliveries.ts); an
 * eviction pass resumed over several turns that never lets an order leave
 * that became dirty or pinned meanwhile (order/residency.ts, EvictionSweep);
 * a snapshot's pinned orders found from the live-work indexes equal to a pass
 * over every resident order; one partition snapshot started per batch.
 */
import { describe, expect, it } from "vitest"
import type { Command } from "../domain/commands.ts"
import type { Reply } from "../domain/replies.ts"
import { EvictionSweep, isPinned } from "../order/residency.ts"
import { MemoryJournal } from "../store/memory-journal.ts"
import { fixtureCommands, ManualClock, openEngine, places, run } from "../testing/fixture.ts"
import { Deliveries } from "./deliveries.ts"
import type { Engine } from "./engine.ts"
import * as Q from "./queries.ts"

const order = (i: number, payment: "authorised" | "pending" = "authorised"): Command => ({
  type: "order.place", channel: "web", externalId: `T-${i}`, payment,
  lines: [{ sku: "HDMI", qty: 1, unitPriceCents: 1_500 }], customer: { location: i % 2 === 0 ? places.dallas : places.columbus }
})

const all = (engine: Engine, commands: ReadonlyArray<Command>): Promise<Array<Reply>> => Promise.all(commands.map((c) => engine.submit(c)))

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("answers handed back a slice at a time", () => {
  it("resolves queued answers in order, over several turns of the loop, and idle() waits for the last", async () => {
    const deliveries = new Deliveries(4)
    const got: Array<number> = []
    const recipients = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ resolve: (r: Reply) => got.push(from + i + (r.ok ? 0 : 1e9)) }))
    const ok: Reply = { ok: true }
    deliveries.push(recipients(0, 3_000), Array.from({ length: 3_000 }, () => ok))
    deliveries.push(recipients(3_000, 2_000), Array.from({ length: 2_000 }, () => ok))
    expect(deliveries.pending).toBe(5_000)
    expect(got).toEqual([])
    await turn()
    // the first turn hands back a slice, not everything
    expect(got.length).toBeGreaterThan(0)
    expect(got.length).toBeLessThan(5_000)
    await deliveries.idle()
    expect(deliveries.pending).toBe(0)
    expect(got).toEqual(Array.from({ length: 5_000 }, (_, i) => i))
  })

  it("gives fewer answers a turn when the callers' reactions are slow", async () => {
    const deliveries = new Deliveries(4)
    const perTurn: Array<number> = []
    let thisTurn = 0
    const slow = { resolve: () => {
      thisTurn++
      const until = performance.now() + 0.2 // a caller that works 0.2 ms per answer
      while (performance.now() < until) { /* busy */ }
    } }
    const ticker = setInterval(() => {
      if (thisTurn > 0) perTurn.push(thisTurn)
      thisTurn = 0
    }, 0)
    deliveries.push(Array.from({ length: 2_000 }, () => slow), Array.from({ length: 2_000 }, (): Reply => ({ ok: true })))
    await deliveries.idle()
    clearInterval(ticker)
    // 0.2 ms an answer: past the first turns, a turn hands back far fewer than the first one did (256)
    expect(Math.min(...perTurn.slice(2))).toBeLessThan(256)
  })

  it("publishes a batch's events before any caller sees its answer", async () => {
    const engine = await openEngine(new MemoryJournal(), new ManualClock(), { partitions: 2 })
    await run(engine, [...fixtureCommands, { type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 10_000 }])
    const published = new Set<string>()
    engine.subscribe((batch) => {
      for (const { event } of batch.events) if (event.type === "OrderPlaced") published.add(event.orderId)
    })
    const seenBeforePublished: Array<string> = []
    await Promise.all(Array.from({ length: 3_000 }, (_, i) => engine.submit(order(i)).then((r) => {
      if (r.ok && !published.has(r.order!.orderId)) seenBeforePublished.push(r.order!.orderId)
    })))
    expect(published.size).toBe(3_000)
    expect(seenBeforePublished).toEqual([])
    await engine.close()
  }, 60_000)
})

describe("an eviction pass over several turns", () => {
  it("lets orders leave down to the limit, settled first, and keeps the ones that became dirty or pinned between slices", async () => {
    const engine = await openEngine(new MemoryJournal(), new ManualClock(), { partitions: 1, paymentTimeoutMs: 600_000 })
    await run(engine, [...fixtureCommands, { type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 10_000 }])
    const placed = await all(engine, Array.from({ length: 1_200 }, (_, i) => order(i)))
    const ids = placed.map((r) => (r.ok ? r.order!.orderId : ""))
    // the first 100 are cancelled: settled, they leave first
    await all(engine, ids.slice(0, 100).map((orderId): Command => ({ type: "order.cancel", orderId, reason: "test" })))
    const delivered = Q.outbox(engine.view, 100_000).map((n) => n.id)
    await engine.submit({ type: "notifications.delivered", ids: delivered })
    await engine.snapshotNow()
    const book = engine.view.partitions[0].orders
    expect(book.dirty.size).toBe(0)
    expect(book.orders.size).toBe(1_200)

    const sweep = new EvictionSweep(book, 900)
    // a deadline already past: each step does at most a slice, so the pass takes several
    let steps = 0
    let changed = false
    while (!sweep.step(0)) {
      steps++
      if (!changed) {
        // between two slices, an order that was about to leave changes: it is dirty now, and stays
        await engine.submit({ type: "order.cancel", orderId: ids[150], reason: "changed meanwhile" })
        changed = true
      }
    }
    expect(steps).toBeGreaterThan(1)
    expect(book.orders.size).toBe(900)
    expect(sweep.left).toBe(300)
    expect(book.orders.has(ids[150])).toBe(true)
    // the settled ones left first
    for (const id of ids.slice(0, 100)) expect(book.orders.has(id)).toBe(false)
    await engine.close()
  }, 60_000)
})

describe("a partition snapshot's pinned orders", () => {
  it("are the same found from the live-work indexes as from a pass over every resident order", async () => {
    const clock = new ManualClock()
    const engine = await openEngine(new MemoryJournal(), clock, { partitions: 4, paymentTimeoutMs: 600_000 })
    await run(engine, [...fixtureCommands, { type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 300 }])
    // paid and pending orders, more than the stock (backorders), half of the notifications delivered
    const placed = await all(engine, Array.from({ length: 600 }, (_, i) => order(i, i % 3 === 0 ? "pending" : "authorised")))
    expect(placed.every((r) => r.ok)).toBe(true)
    const pending = Q.outbox(engine.view, 100_000).map((n) => n.id)
    await engine.submit({ type: "notifications.delivered", ids: pending.filter((_, i) => i % 2 === 0) })
    await all(engine, placed.slice(0, 90).filter((_, i) => i % 3 === 0).map((r): Command => ({ type: "order.payment", orderId: r.ok ? r.order!.orderId : "", outcome: "authorised" })))
    await engine.flush()
    const d = engine.view
    let pinned = 0
    for (const p of d.partitions) {
      const scanned = p.snapshotParts().base.resident ?? []
      const indexed = p.snapshotParts(d.pinnedCandidates(p)).base.resident ?? []
      expect(new Set(indexed)).toEqual(new Set(scanned))
      expect(indexed.length).toBe(new Set(indexed).size)
      pinned += scanned.length
      for (const id of scanned) expect(isPinned(p.orders.orders.get(id)!)).toBe(true)
    }
    expect(pinned).toBeGreaterThan(0)
    await engine.close()
  }, 60_000)
})
