/**
 * Cluster mode at the level of one engine per stream, on the in-memory store:
 * a stale owner cannot append once another claimed its stream (it steps down
 * and answers partition_moved, never success), a partition engine refuses
 * what is not its own (takes the leg of a split order that is), it uses only
 * its share of each node's daily capacity, and it follows the network
 * owner's stream.
 */
import { describe, expect, it } from "vitest"
import type { Command, PlaceOrder } from "../domain/commands.ts"
import { route } from "../routing/index.ts"
import { capacityShare } from "../runtime/dispatch.ts"
import { Engine } from "../runtime/engine.ts"
import { networkStream, partitionOf, partitionStream } from "../runtime/partition.ts"
import * as Queries from "../runtime/queries.ts"
import { MemoryJournal } from "../store/memory-journal.ts"
import { fixtureCommands, ManualClock, testConfig } from "../testing/fixture.ts"
import { splitOrder } from "./legs.ts"
import { streamOf } from "./scope.ts"

const config = testConfig()
const clock = new ManualClock()
const open = (store: MemoryJournal, stream: string, owner: string) =>
  Engine.open({ store, config, router: route, clock: clock.now, timerPollMs: 5, log: () => {}, ownership: { stream, owner } })

const hdmi = partitionStream(partitionOf("HDMI", config.partitions))
const tv = partitionStream(partitionOf("TV-55", config.partitions))

const networkReady = async (store: MemoryJournal) => {
  const net = await open(store, networkStream, "runner-a")
  for (const c of fixtureCommands) expect((await net.submit(c)).ok, c.type).toBe(true)
  return net
}

describe("cluster mode, one engine per stream", () => {
  it("fences a stale owner: once another runner claimed the stream its appends are refused and it steps down", async () => {
    const store = new MemoryJournal()
    await networkReady(store)
    const a = await open(store, hdmi, "runner-a")
    await a.syncNetwork()
    expect(await a.submit({ type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 10 })).toMatchObject({ ok: true })
    const b = await open(store, hdmi, "runner-b")
    await b.syncNetwork()
    expect(b.stats().owns).toEqual({ stream: hdmi, epoch: 2 })
    // a has not noticed: its next append is refused before b even wrote
    const stale = await a.submit({ type: "hold.create", channel: "web", sku: "HDMI", nodeId: "WH-DAL", qty: 3, key: "k1" })
    expect(stale).toMatchObject({ ok: false, code: "partition_moved" })
    expect(a.lifecycle).toBe("moved")
    expect(await a.submit({ type: "hold.create", channel: "web", sku: "HDMI", nodeId: "WH-DAL", qty: 3, key: "k2" })).toMatchObject({ ok: false, code: "partition_moved" })
    const fresh = await b.submit({ type: "hold.create", channel: "web", sku: "HDMI", nodeId: "WH-DAL", qty: 3, key: "k1" })
    expect(fresh).toMatchObject({ ok: true })
    expect(Queries.pool(b.view, "HDMI", "WH-DAL")).toMatchObject({ onHand: 10, held: 3 })
    // what survives is exactly b's view
    const c = await open(store, hdmi, "runner-c")
    expect(Queries.pool(c.view, "HDMI", "WH-DAL")).toMatchObject({ onHand: 10, held: 3 })
  })

  it("moves a partition with most of its orders out of memory: the new owner loads only what it needs and serves them", async () => {
    const store = new MemoryJournal()
    await networkReady(store)
    const tiny = testConfig({ ordersResidentMax: config.partitions, snapshotDirtyOrdersMax: 2 })
    const openTiny = (owner: string) =>
      Engine.open({ store, config: tiny, router: route, clock: clock.now, timerPollMs: 5, log: () => {}, ownership: { stream: hdmi, owner } })
    const a = await openTiny("runner-a")
    await a.syncNetwork()
    expect(await a.submit({ type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 100 })).toMatchObject({ ok: true })
    // orders that live in the HDMI partition (their channel + external id hash there)
    const ids: Array<string> = []
    for (let i = 0; ids.length < 12; i++) if (partitionStream(partitionOf(`web\u0000M-${i}`, config.partitions)) === hdmi) ids.push(`M-${i}`)
    const placed = []
    for (const externalId of ids) {
      const r = await a.submit({
        type: "order.place", channel: "web", externalId, lines: [{ sku: "HDMI", qty: 1, unitPriceCents: 900 }], customer: { location: { lat: 32.78, lon: -96.8 } }, payment: "authorised"
      })
      expect(r.ok, externalId).toBe(true)
      placed.push((r as { order: { orderId: string; shipments: ReadonlyArray<{ shipmentId: string }> } }).order)
    }
    expect(await a.submit({ type: "notifications.delivered", ids: Queries.outbox(a.view).map((n) => n.id) })).toMatchObject({ ok: true })
    await a.snapshotNow()
    await a.flush()
    expect(a.stats().orders, "most orders left memory").toBeLessThanOrEqual(2)
    // another runner takes the partition over: it restores without the orders that left memory
    const b = await openTiny("runner-b")
    await b.syncNetwork()
    expect(b.stats().orders).toBeLessThanOrEqual(2)
    for (const o of placed) {
      const r = await b.submit({ type: "shipment.accept", orderId: o.orderId, shipmentId: o.shipments[0].shipmentId, nodeId: "WH-DAL" })
      expect(r).toMatchObject({ ok: true })
    }
    expect(b.stats().ordersLoaded).toBeGreaterThanOrEqual(placed.length - 2)
    // the old owner cannot write; a repeat of a placement on the new one finds the original order
    expect(await a.submit({ type: "order.cancel", orderId: placed[0].orderId, reason: "stale" })).toMatchObject({ ok: false, code: "partition_moved" })
    const again = await b.submit({
      type: "order.place", channel: "web", externalId: ids[0], lines: [{ sku: "HDMI", qty: 1, unitPriceCents: 900 }], customer: { location: { lat: 32.78, lon: -96.8 } }, payment: "authorised"
    })
    expect(again).toMatchObject({ ok: true, existing: true, order: { orderId: placed[0].orderId } })
    await b.close()
  })

  it("refuses commands of other streams, and orders whose SKUs lie in other partitions, with named errors", async () => {
    const store = new MemoryJournal()
    const net = await networkReady(store)
    expect(await net.submit({ type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 1 })).toMatchObject({ ok: false, code: "spans_partitions" })
    const p = await open(store, hdmi, "runner-a")
    await p.syncNetwork()
    expect(await p.submit({ type: "node.setStatus", nodeId: "WH-DAL", status: "paused" } as Command)).toMatchObject({ ok: false, code: "spans_partitions" })
    if (tv !== hdmi) {
      expect(await p.submit({ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 1 })).toMatchObject({ ok: false, code: "spans_partitions" })
    }
    // an order whose lines are in two partitions has no single owner: sent whole it is refused; the cluster gateway
    // places it as legs, each addressed to its own partition, and a leg with a line of another partition is refused
    const skus = ["TV-55", "HDMI", "SOUNDBAR"]
    const split = skus.some((s) => partitionOf(s, config.partitions) !== partitionOf("HDMI", config.partitions))
    const order = {
      type: "order.place", channel: "web", externalId: "x-1", payment: "authorised",
      lines: skus.map((sku) => ({ sku, qty: 1 })), customer: { name: "A", location: { lat: 32.8, lon: -96.8 } }
    } as PlaceOrder
    expect(split).toBe(true)
    {
      expect(streamOf(order, config.partitions)).toMatchObject({ ok: false, code: "spans_partitions" })
      const plan = splitOrder(order, config.partitions)
      if (!("kind" in plan) || plan.kind !== "legs") throw new Error("expected legs")
      for (const leg of plan.legs) expect(streamOf(leg, config.partitions)).toEqual({ stream: partitionStream(leg.leg.partition) })
      const other = plan.legs[1].leg.partition
      expect(streamOf({ ...plan.legs[0], leg: { ...plan.legs[0].leg, partition: other } }, config.partitions)).toMatchObject({ ok: false, code: "spans_partitions" })
      // the leg's own engine takes it, once (its key is channel, external id and partition)
      const leg = plan.legs[0]
      const owner = await open(store, partitionStream(leg.leg.partition), "runner-a")
      await owner.syncNetwork()
      for (const l of leg.lines) expect(await owner.submit({ type: "inventory.receive", sku: l.sku, nodeId: "WH-DAL", qty: 5 })).toMatchObject({ ok: true })
      const placed = await owner.submit(leg)
      expect(placed).toMatchObject({ ok: true, order: { orderId: expect.stringMatching(new RegExp(`^o${leg.leg.partition}-`)), leg: { partition: leg.leg.partition, lineNos: leg.leg.lineNos, compensated: false } } })
      expect(await owner.submit(leg)).toMatchObject({ ok: true, existing: true })
    }
    expect(streamOf({ type: "order.exchange", orderId: "o1-1", returnLines: [], newLines: [], reason: "x" } as Command, config.partitions)).toMatchObject({ code: "spans_partitions" })
    // the claim of a split order's external id, and its release, go to the order's home partition whatever partitions they name
    const home = { stream: partitionStream(partitionOf(`web\u0000${order.externalId}`, config.partitions)) }
    for (const type of ["order.claimSplit", "order.releaseSplit"] as const) {
      expect(streamOf({ type, channel: "web", externalId: order.externalId, partitions: [0, 1, 2, 3] }, config.partitions)).toEqual(home)
    }
  })

  it("shares a node's daily capacity between the partitions: together they never route it past its capacity", async () => {
    for (const capacity of [1, 6, 11]) {
      expect(Array.from({ length: 4 }, (_, k) => capacityShare(capacity, 0, k, 4)).reduce((a, b) => a + b)).toBe(capacity)
      expect(Array.from({ length: 4 }, (_, k) => capacityShare(capacity, 3, k, 4)).reduce((a, b) => a + b)).toBe(capacity)
    }
    const store = new MemoryJournal()
    const net = await open(store, networkStream, "runner-a")
    // one node of capacity 6 a day, and a SKU in each partition
    const skus: Array<string> = []
    for (let i = 0; skus.length < config.partitions; i++) if (partitionOf(`CAP-${i}`, config.partitions) === skus.length) skus.push(`CAP-${i}`)
    for (const c of [
      { type: "node.upsert", nodeId: "WH-ONE", name: "The one DC", kind: "warehouse", location: { lat: 32.8, lon: -96.8 }, capacityPerDay: 6 },
      { type: "channel.upsert", channel: "web" },
      ...skus.map((sku) => ({ type: "sku.upsert", sku, name: sku, weightGrams: 500 }))
    ] as ReadonlyArray<Command>) expect((await net.submit(c)).ok, c.type).toBe(true)
    let routed = 0
    for (const [k, sku] of skus.entries()) {
      const p = await open(store, partitionStream(k), "runner-a")
      await p.syncNetwork()
      expect(await p.submit({ type: "inventory.receive", sku, nodeId: "WH-ONE", qty: 100 })).toMatchObject({ ok: true })
      // more orders than the whole node's capacity, each in this partition (an external id whose order lands here)
      for (let i = 0, placed = 0; placed < 8; i++) {
        const externalId = `cap-${k}-${i}`
        if (partitionOf(`web\u0000${externalId}`, config.partitions) !== k) continue
        placed++
        const r = await p.submit({ type: "order.place", channel: "web", externalId, payment: "authorised", lines: [{ sku, qty: 1 }], customer: { name: "A", location: { lat: 32.8, lon: -96.8 } } } as Command)
        expect(r).toMatchObject({ ok: true })
        const status = (r as { order: { status: string } }).order.status
        if (status === "routed") routed++
        else expect(status).toBe("backordered")
      }
      expect(Queries.nodes(p.view).find((n) => n.nodeId === "WH-ONE")).toMatchObject({ shipmentsToday: capacityShare(6, 0, k, config.partitions) })
    }
    expect(routed).toBe(6)
  })

  it("serves an order whose lines lie in its own partition, and follows the network owner's changes", async () => {
    const store = new MemoryJournal()
    const net = await networkReady(store)
    // an external id whose order lands in the HDMI partition
    let externalId = ""
    for (let i = 0; externalId === ""; i++) if (partitionStream(partitionOf(`web\u0000ord-${i}`, config.partitions)) === hdmi) externalId = `ord-${i}`
    const p = await open(store, hdmi, "runner-a")
    await p.syncNetwork()
    expect(await p.submit({ type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 5 })).toMatchObject({ ok: true })
    const placed = await p.submit({
      type: "order.place", channel: "web", externalId, payment: "authorised",
      lines: [{ sku: "HDMI", qty: 2 }], customer: { name: "A", location: { lat: 32.8, lon: -96.8 } }
    } as Command)
    expect(placed).toMatchObject({ ok: true })
    const orderId = (placed as { order: { orderId: string } }).order.orderId
    // the network owner takes Dallas offline: the partition re-routes its order when it reads the change
    expect(await net.submit({ type: "inventory.receive", sku: "HDMI", nodeId: "WH-COL", qty: 1 })).toMatchObject({ code: "spans_partitions" })
    expect(await p.submit({ type: "inventory.receive", sku: "HDMI", nodeId: "WH-COL", qty: 5 })).toMatchObject({ ok: true })
    expect(await net.submit({ type: "node.setStatus", nodeId: "WH-DAL", status: "offline" } as Command)).toMatchObject({ ok: true })
    await p.syncNetwork()
    await p.flush()
    const order = (await Queries.order(p, orderId))!
    expect(order.shipments.filter((s) => s.status !== "withdrawn").map((s) => s.nodeId)).not.toContain("WH-DAL")
    expect(Queries.pool(p.view, "HDMI", "WH-DAL")).toMatchObject({ allocated: 0 })
    // a new owner loading the same partition sees the same state, and re-routes nothing twice
    const q = await open(store, hdmi, "runner-b")
    await q.flush()
    expect((await Queries.order(q, orderId))).toEqual(order)
  })
})
