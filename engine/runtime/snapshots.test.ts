/**
 * Snapshots that never stop the loop for long (runtime/snapshots.ts) and
 * batches bounded in time (engine.ts): a partition's long lists (live holds,
 * ended holds, reservations) are encoded in chunks between batches and
 * restore exactly; the lists a snapshot took do not change while batches go
 * on; a batch out of time leaves the rest of the mailbox, in order, to the
 * next one.
 */
import { describe, expect, it } from "vitest"
import type { Command } from "../domain/commands.ts"
import type { Reply } from "../domain/replies.ts"
import { route } from "../routing/index.ts"
import { MemoryJournal } from "../store/memory-journal.ts"
import { fixtureCommands, ManualClock, openEngine, places, run, testConfig } from "../testing/fixture.ts"
import { decodeValue } from "./codec.ts"
import { Engine } from "./engine.ts"
import * as Q from "./queries.ts"

const stock: ReadonlyArray<Command> = ["WH-DAL", "WH-COL"].flatMap((nodeId) =>
  ["HDMI", "SOUNDBAR", "TV-55"].map((sku): Command => ({ type: "inventory.receive", sku, nodeId, qty: 100_000 }))
)

const hold = (i: number, key?: string): Command => ({
  type: "hold.create", channel: "web", sku: ["HDMI", "SOUNDBAR", "TV-55"][i % 3], nodeId: i % 2 === 0 ? "WH-DAL" : "WH-COL", qty: 1, ttlMs: 3_600_000,
  ...(key !== undefined ? { key } : {})
})

const order = (i: number): Command => ({
  type: "order.place", channel: "web", externalId: `S-${i}`, payment: "authorised",
  lines: [{ sku: "HDMI", qty: 1, unitPriceCents: 1_500 }], customer: { location: i % 2 === 0 ? places.dallas : places.columbus }
})

const all = (engine: Engine, commands: ReadonlyArray<Command>): Promise<Array<Reply>> => Promise.all(commands.map((c) => engine.submit(c)))

describe("snapshots and batches that never stop the loop for long", () => {
  it("stores a partition's thousands of live and ended holds and reservations in chunks, and a reopen restores them exactly", async () => {
    const store = new MemoryJournal()
    const clock = new ManualClock()
    const config = { partitions: 1 }
    let engine = await openEngine(store, clock, config)
    await run(engine, [...fixtureCommands, ...stock])
    const holds = await all(engine, Array.from({ length: 3_700 }, (_, i) => hold(i, `cart-${i}`)))
    const orders = await all(engine, Array.from({ length: 1_200 }, (_, i) => order(i)))
    expect([...holds, ...orders].every((r) => r.ok)).toBe(true)
    const holdIds = holds.map((r) => (r.ok ? r.hold!.holdId : ""))
    // 1,200 of them end before the snapshot (released): their final state is remembered
    const released = await all(engine, holdIds.slice(0, 1_200).map((holdId): Command => ({ type: "hold.release", holdId, channel: "web" })))
    expect(released.every((r) => r.ok)).toBe(true)
    await engine.snapshotNow()
    const before = { pools: Q.pools(engine.view), holds: holdIds.map((holdId) => Q.hold(engine.view, holdId)) }
    expect(before.holds[0]).toMatchObject({ holdId: holdIds[0], status: "released", endedAt: clock.t })
    expect(before.holds[1_200]).toMatchObject({ status: "active", endedAt: null })

    const stored = await store.loadSnapshot("p0")
    const header = decodeValue<{ version: number; lists: Record<string, ReadonlyArray<Uint8Array>> }>(stored!.payload)
    expect(header.version).toBe(3)
    expect(header.lists.holds.length).toBe(3) // 2,500 live holds, 1,000 a chunk
    expect(header.lists.ended.length).toBe(2) // 1,200 ended holds
    expect(header.lists.reservations.length).toBe(2) // one reservation per order line

    await engine.close()
    engine = await openEngine(store, clock, config)
    expect(Q.pools(engine.view)).toEqual(before.pools)
    expect(holdIds.map((holdId) => Q.hold(engine.view, holdId))).toEqual(before.holds)
    // an ended hold answers its final state, is not released again, and keeps its key
    expect(Q.hold(engine.view, holdIds[7])).toMatchObject({ holdId: holdIds[7], status: "released", endedAt: clock.t, qty: 1 })
    expect(await engine.submit({ type: "hold.release", holdId: holdIds[7], channel: "web" })).toMatchObject({ ok: false, code: "hold_used" })
    expect(await engine.submit(hold(7, "cart-7"))).toMatchObject({ ok: true, existing: true, hold: { holdId: holdIds[7], status: "released" } })
    expect(await engine.submit({ ...(hold(7, "cart-7") as Extract<Command, { type: "hold.create" }>), qty: 2 })).toMatchObject({ ok: false, code: "hold_key_conflict" })
    // what the reopen restored came from the snapshot, not from replaying the journal after it
    expect(await store.readBatches("p0", stored!.seq + 1, 10)).toEqual([])
    await engine.close()
  }, 60_000)

  it("keeps the lists a snapshot took as they were while later batches change holds and reservations", async () => {
    const engine = await openEngine(new MemoryJournal(), new ManualClock(), { partitions: 1 })
    await run(engine, [...fixtureCommands, ...stock])
    const holds = await all(engine, Array.from({ length: 20 }, (_, i) => hold(i)))
    const orders = await all(engine, Array.from({ length: 20 }, (_, i) => order(i)))
    const { lists } = engine.view.partitions[0].snapshotParts()
    const taken = JSON.stringify(lists)
    // later batches: holds released, orders' reservations allocated, shipped and released
    for (const r of holds.slice(0, 10)) if (r.ok) await engine.submit({ type: "hold.release", holdId: r.hold!.holdId, channel: "web" })
    for (const r of orders.slice(0, 10)) {
      if (!r.ok) continue
      const { orderId, shipments } = r.order!
      const s = shipments[0]
      await run(engine, [
        { type: "shipment.accept", orderId, shipmentId: s.shipmentId, nodeId: s.nodeId },
        { type: "shipment.pick", orderId, shipmentId: s.shipmentId, nodeId: s.nodeId },
        { type: "shipment.ship", orderId, shipmentId: s.shipmentId, nodeId: s.nodeId, carrier: "ups", trackingId: `1Z${orderId}` }
      ])
    }
    for (const r of orders.slice(10)) if (r.ok) await run(engine, [{ type: "order.cancel", orderId: r.order!.orderId, reason: "test" }])
    expect(JSON.stringify(engine.view.partitions[0].snapshotParts().lists)).not.toEqual(taken)
    expect(JSON.stringify(lists)).toEqual(taken)
    await engine.close()
  }, 60_000)

  it("runs timers due for longer than batchTimeMaxMs over several batches, all of them before the commands that came after", async () => {
    const clock = new ManualClock()
    const engine = await Engine.open({
      store: new MemoryJournal(), config: testConfig({ partitions: 1, batchTimeMaxMs: 1, holdChannelSharePercentMax: 100 }), router: route,
      clock: clock.now, timerPollMs: 60_000, log: () => {}
    })
    await run(engine, [...fixtureCommands, { type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 20_000 }])
    const holds = await all(engine, Array.from({ length: 20_000 }, (): Command => ({ type: "hold.create", channel: "web", sku: "HDMI", nodeId: "WH-DAL", qty: 1, ttlMs: 60_000 })))
    expect(holds.every((r) => r.ok)).toBe(true)
    expect(Q.pool(engine.view, "HDMI", "WH-DAL")!.atp).toBe(0)
    // the clock jumps past every hold's expiry: 20,000 expiries take well over a millisecond
    clock.advance(120_000)
    const after = await engine.submit({ type: "hold.create", channel: "web", sku: "HDMI", nodeId: "WH-DAL", qty: 1 })
    expect(after.ok).toBe(true)
    // the command ran after every expiry: the pool holds its unit alone
    expect(Q.pool(engine.view, "HDMI", "WH-DAL")!.held).toBe(1)
    expect(engine.stats().timersDeferred).toBeGreaterThan(0)
    await engine.close()
  }, 60_000)

  it("ends a batch at batchTimeMaxMs: the rest of the mailbox runs in the next batches, in order, each answered once", async () => {
    const batches: Array<number> = []
    const engine = await Engine.open({
      store: new MemoryJournal(), config: testConfig({ partitions: 1, batchTimeMaxMs: 1, batchCommandsMax: 10_000 }), router: route,
      clock: new ManualClock().now, timerPollMs: 5, log: () => {}, onBatch: (_ms, commands) => commands > 0 && batches.push(commands)
    })
    await run(engine, [...fixtureCommands, ...stock])
    batches.length = 0
    const replies = await all(engine, Array.from({ length: 3_000 }, (_, i) => hold(i)))
    expect(replies.every((r) => r.ok)).toBe(true)
    // answered in the order sent: hold numbers follow the submissions
    const numbers = replies.map((r) => (r.ok ? parseInt(r.hold!.holdId.split("-")[1], 36) : -1))
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b))
    expect(new Set(numbers).size).toBe(3_000)
    // 3,000 commands take well over a millisecond: more than one batch ran them, none took all (one batch could take 10,000)
    expect(batches.reduce((a, b) => a + b, 0)).toBe(3_000)
    expect(Math.max(...batches)).toBeLessThan(3_000)
    await engine.close()
  }, 60_000)
})
