/**
 * Orders that leave memory (order/residency.ts) and come back (runtime/prefetch.ts),
 * on the embedded PGlite store and on PostgreSQL: commands and reads of an order
 * that left memory give the answers they gave before it left, a burst of such
 * commands is loaded in one round trip per batch, a repeated placement finds the
 * original order, reports do not change, and a reopen restores exactly.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { Command } from "../domain/commands.ts"
import type { Reply } from "../domain/replies.ts"
import { journalReport } from "../reports/reader.ts"
import type { JournalStore } from "../store/journal.ts"
import { openJournalStore } from "../store/layer.ts"
import { fixtureCommands, ManualClock, openEngine, places, run } from "../testing/fixture.ts"
import { freshDatabase, postgresUnreachable } from "../testing/postgres.ts"
import type { Engine } from "./engine.ts"
import * as Q from "./queries.ts"
import { externalKey } from "../order/order-book.ts"
import { partitionOf } from "./partition.ts"

const residency = { ordersResidentMax: 4, partitions: 4, paymentTimeoutMs: 600_000 }

const ok = (r: Reply) => {
  if (!r.ok) throw new Error(`refused: ${r.code} ${r.message ?? ""}`)
  return r
}

const place = (externalId: string, qty = 1, payment: "authorised" | "pending" = "authorised"): Command => ({
  type: "order.place", channel: "web", externalId, lines: [{ sku: "HDMI", qty, unitPriceCents: 1_500 }],
  customer: { location: places.dallas }, payment
})

/** External ids of orders that live in the same partition as `externalId` (so they push it out of memory). */
const neighbours = (externalId: string, n: number): Array<string> => {
  const home = partitionOf(externalKey("web", externalId), residency.partitions)
  const out: Array<string> = []
  for (let i = 0; out.length < n; i++) if (partitionOf(externalKey("web", `${externalId}-n${i}`), residency.partitions) === home) out.push(`${externalId}-n${i}`)
  return out
}

/** Places orders after `externalId` in its partition, so that it is no longer among the most recently used. */
const pushOut = async (engine: Engine, externalId: string) => {
  for (const id of neighbours(externalId, 2)) ok(await engine.submit(place(id)))
  await settle(engine)
}

/** Delivers every pending notification (the outbox pump's part), then stores and lets orders leave memory. */
const settle = async (engine: Engine) => {
  const ids = Q.outbox(engine.view).map((n) => n.id)
  if (ids.length > 0) ok(await engine.submit({ type: "notifications.delivered", ids }))
  await engine.snapshotNow()
  await engine.flush()
}

interface Opened {
  readonly store: JournalStore
  close(): Promise<void>
}

const suite = (name: string, openStore: () => Promise<Opened>) => {
  describe(`orders that left memory (${name})`, () => {
    let opened: Opened | undefined
    const clock = new ManualClock()
    let engine: Engine
    const start = clock.t

    afterAll(async () => {
      await engine?.close()
      await opened?.close()
    })

    it("a command for an order that left memory waits for its load; a burst of them is loaded in one round trip per batch", async () => {
      opened = await openStore()
      engine = await openEngine(opened.store, clock, residency)
      await run(engine, [...fixtureCommands, { type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 10_000 }])
      const placed = await Promise.all(Array.from({ length: 40 }, (_, i) => engine.submit(place(`B-${i}`))))
      const orders = placed.map((r) => ok(r).order!)
      await settle(engine)
      expect(engine.stats().orders, "orders left memory").toBeLessThanOrEqual(residency.ordersResidentMax)
      const before = engine.stats()
      const accepted = await Promise.all(orders.map((o) => engine.submit({
        type: "shipment.accept", orderId: o.orderId, shipmentId: o.shipments[0].shipmentId, nodeId: "WH-DAL"
      })))
      for (const r of accepted) expect(ok(r).order!.shipments[0].status).toBe("accepted")
      const after = engine.stats()
      expect(after.ordersLoaded - before.ordersLoaded).toBeGreaterThanOrEqual(40 - residency.ordersResidentMax)
      // the 40 commands arrived together: one load per batch, not one per order
      expect(after.orderLoads - before.orderLoads).toBeLessThanOrEqual(3)
      // a command for an order that was never placed is answered as before
      expect((await engine.submit({ type: "order.payment", orderId: "o1-zzz", outcome: "authorised" })).ok).toBe(false)
    }, 60_000)

    it("a repeated placement of an order that left memory returns the original order", async () => {
      const first = ok(await engine.submit(place("R-1", 2))).order!
      await pushOut(engine, "R-1")
      expect(engine.view.orderById(first.orderId), "R-1 left memory").toBeUndefined()
      const again = ok(await engine.submit(place("R-1", 2)))
      expect(again.existing).toBe(true)
      expect(again.order!.orderId).toBe(first.orderId)
      await pushOut(engine, "R-1")
      const other = await engine.submit(place("R-1", 3))
      expect(other.ok ? "ok" : other.code).toBe("exists_with_different_lines")
    })

    it("reads of an order that left memory equal the reads made while it was in memory", async () => {
      const o = ok(await engine.submit(place("C-1", 1))).order!
      ok(await engine.submit({ type: "shipment.accept", orderId: o.orderId, shipmentId: o.shipments[0].shipmentId, nodeId: "WH-DAL" }))
      const reads = async () => ({
        view: await Q.order(engine, o.orderId),
        byExternal: await Q.orderByExternal(engine, "web", "C-1"),
        history: await Q.orderHistory(engine, o.orderId),
        timeline: await Q.orderTimeline(engine, o.orderId)
      })
      ok(await engine.submit({ type: "notifications.delivered", ids: Q.outbox(engine.view).map((n) => n.id) }))
      const warm = await reads()
      expect(engine.view.orderById(o.orderId), "C-1 is in memory").toBeDefined()
      expect(warm.history!.map((h) => h.event.type)).toEqual(["OrderPlaced", "OrderRouted", "ShipmentAccepted", "NotificationsDelivered"])
      await pushOut(engine, "C-1")
      expect(engine.view.orderById(o.orderId), "C-1 left memory").toBeUndefined()
      const cold = await reads()
      expect(cold.view).toEqual(warm.view)
      expect(cold.byExternal).toEqual(warm.byExternal)
      expect(cold.history).toEqual(warm.history)
      expect(cold.timeline).toEqual(warm.timeline)
      expect(engine.view.orderById(o.orderId), "a read does not bring the order back").toBeUndefined()
    })

    it("a report over a range whose orders all left memory equals the report taken before", async () => {
      clock.advance(60_000)
      const range = { from: start, to: clock.t }
      const taken = await journalReport(engine, range)
      await settle(engine)
      expect(await journalReport(engine, range)).toEqual(taken)
    })

    it("a reopen restores exactly: stored orders, pinned ones, and a pending payment's deadline", async () => {
      const pending = ok(await engine.submit(place("P-1", 1, "pending"))).order!
      await settle(engine)
      const ids = [pending.orderId, ...["B-0", "B-7", "R-1", "C-1"].map((x) => x)]
      const views = async () => Promise.all(ids.map((id) => (id.startsWith("o") ? Q.order(engine, id) : Q.orderByExternal(engine, "web", id))))
      const before = await views()
      const hdmi = Q.pool(engine.view, "HDMI", "WH-DAL")
      await engine.close()
      engine = await openEngine(opened!.store, clock, residency)
      expect(await views()).toEqual(before)
      expect(Q.pool(engine.view, "HDMI", "WH-DAL")).toEqual(hdmi)
      expect(engine.view.orderById(pending.orderId), "a pending order is back in memory at once").toBeDefined()
      clock.advance(600_001)
      await engine.flush()
      expect((await Q.order(engine, pending.orderId))!.payment).toBe("timeout")
    })
  })
}

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

suite("embedded PGlite", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "oms-residency-"))
  dirs.push(dataDir)
  return openJournalStore({ backend: "embedded", dataDir })
})

const unreachable = await postgresUnreachable()
if (unreachable === undefined) {
  suite("PostgreSQL", async () => {
    const db = await freshDatabase()
    const { store, close } = await openJournalStore({ backend: "postgres", url: db.url })
    return { store, close: async () => { await close(); await db.drop() } }
  })
} else if (process.env.CI) {
  describe("orders that left memory (PostgreSQL)", () => {
    it("needs a reachable PostgreSQL under CI", () => {
      throw new Error(`${unreachable}. CI must provide PostgreSQL (set DATABASE_URL).`)
    })
  })
} else {
  console.warn(`Skipping the PostgreSQL residency tests: ${unreachable}`)
}
