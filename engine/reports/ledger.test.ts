/**
 * The report ledger (ledger.ts) against the fold over a range (report.ts),
 * on generated event streams: the hours of a range add up to the report of
 * the range, a ledger restored from a checkpoint goes on exactly as one that
 * never stopped; and on an engine's journal, the report read from the ledger
 * equals the one read from the journal, across snapshots, a reopen and the
 * compaction of the journal (which only the ledger still covers).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Command } from "../domain/commands.ts"
import type { EngineEvent } from "../domain/events.ts"
import { MemoryJournal } from "../store/memory-journal.ts"
import * as Q from "../runtime/queries.ts"
import { fixtureCommands, ManualClock, openEngine, places } from "../testing/fixture.ts"
import { hourMs, ReportLedger, type LedgerRow } from "./ledger.ts"
import { journalReport, ledgerReport } from "./reader.ts"
import { addCounts, addSummaries, emptyCounts, emptySummary, reportFrom, reportOf, type Report } from "./report.ts"

const t0 = Date.UTC(2026, 10, 27, 0, 0, 0)
const nodes = ["A", "B", "C"]

/** A generated stream of report events: orders routed (some with promises, some backordered), worked, late, cancelled, returned; holds; feedback. */
const eventStream = (seed: number, length: number): Array<EngineEvent> => {
  let s = seed >>> 0 || 1
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
  const pick = <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(rnd() * xs.length)]
  const events: Array<EngineEvent> = []
  const open: Array<{ orderId: string; shipmentId: string }> = []
  const backordered: Array<string> = []
  let at = t0
  for (let i = 0; events.length < length; i++) {
    at += Math.floor(rnd() * 40 * 60_000) // up to 40 minutes between events: hours with none, hours with many
    const r = rnd()
    const orderId = `o${i}`
    if (r < 0.3) {
      const promised = rnd() < 0.5 ? { carrier: "UPS", service: "ground", promisedBy: at + Math.floor(rnd() * 6 * hourMs) } : undefined
      const n = rnd() < 0.2 ? 2 : 1
      const shipments = Array.from({ length: n }, (_, k) => ({
        shipmentId: `${orderId}-s${k}`, nodeId: pick(nodes), lines: [{ lineNo: k + 1, qty: 1 + Math.floor(rnd() * 3) }], fromHolds: [],
        distanceKm: Math.round(rnd() * 2_000), costCents: 500 + Math.floor(rnd() * 2_000), ...(promised ? { promise: promised } : {})
      }))
      const back = rnd() < 0.15 ? [{ lineNo: 9, qty: 1 + Math.floor(rnd() * 2) }] : []
      events.push({ type: "OrderPlaced", orderId, channel: pick(["web", "store"]), externalId: orderId, lines: [{ lineNo: 1, sku: "X", qty: 2, unitPriceCents: 1_000 }], at } as unknown as EngineEvent)
      events.push({ type: "OrderRouted", orderId, reason: "placed", at, shipments, backordered: back, explanation: { summary: "" } } as unknown as EngineEvent)
      for (const sh of shipments) open.push({ orderId, shipmentId: sh.shipmentId })
      if (back.length > 0) backordered.push(orderId)
    } else if (r < 0.55 && open.length > 0) {
      const k = Math.floor(rnd() * open.length)
      const sh = open[k]
      const step = rnd()
      if (step < 0.2) events.push({ type: "ShipmentLate", ...sh, at, promisedBy: at - 1, cause: rnd() < 0.5 ? "estimate" : "not_delivered" } as unknown as EngineEvent)
      else if (step < 0.35) events.push({ type: "ShipmentShipped", ...sh, at, carrier: "UPS", trackingId: "1Z" } as unknown as EngineEvent)
      else if (step < 0.45) events.push({ type: "ShipmentPicked", ...sh, at, picked: [{ lineNo: 1, qty: Math.floor(rnd() * 2) }] } as unknown as EngineEvent)
      else if (step < 0.55) {
        events.push({ type: "ShipmentWithdrawn", ...sh, at, reason: "rejected", detail: "" } as unknown as EngineEvent)
        open.splice(k, 1)
      } else {
        events.push({ type: "ShipmentDelivered", ...sh, at } as unknown as EngineEvent)
        open.splice(k, 1)
      }
    } else if (r < 0.62 && backordered.length > 0) {
      const id = backordered.splice(Math.floor(rnd() * backordered.length), 1)[0]
      events.push({ type: "OrderRouted", orderId: id, reason: "backorder_retry", at, shipments: [], backordered: [], explanation: { summary: "" } } as unknown as EngineEvent)
    } else if (r < 0.68 && open.length > 0) {
      const sh = open.splice(Math.floor(rnd() * open.length), 1)[0]
      events.push({
        type: "OrderCancelled", orderId: sh.orderId, at, reason: pick(["fraud", "changed mind", ""]), complete: rnd() < 0.5,
        lines: [{ lineNo: 1, qty: 1 }], fromShipments: [{ shipmentId: sh.shipmentId, lineNo: 1, qty: 1 }], fromBackorder: []
      } as unknown as EngineEvent)
    } else if (r < 0.74) {
      events.push({ type: "ReturnRequested", orderId, returnId: `${orderId}-r1`, lines: [{ lineNo: 1, qty: 1 }], reason: pick(["damaged", "size"]), exchangeOrderId: null, at } as unknown as EngineEvent)
      if (rnd() < 0.5) events.push({ type: "RefundIssued", orderId, returnId: `${orderId}-r1`, amountCents: 1_000, at } as unknown as EngineEvent)
    } else if (r < 0.86) {
      events.push({ type: "HoldPlaced", sku: "X", nodeId: pick(nodes), at } as unknown as EngineEvent)
      if (rnd() < 0.7) events.push({ type: "HoldEnded", sku: "X", nodeId: pick(nodes), at, reason: pick(["converted", "expired", "released"]) } as unknown as EngineEvent)
    } else if (r < 0.9) {
      events.push({ type: "FeedbackRecorded", orderId, rating: 1 + Math.floor(rnd() * 5), comment: "", at } as unknown as EngineEvent)
    } else {
      // an event without a time (a stock movement): no report figure, no hour
      events.push({ type: "StockReceived", sku: "X", nodeId: pick(nodes), qty: 1 } as unknown as EngineEvent)
    }
  }
  return events
}

/** Numbers rounded (sums in another order differ in the last bits), the rest as it is. */
const rounded = (r: Report): unknown => JSON.parse(JSON.stringify(r), (_k, v) => (typeof v === "number" ? Number(v.toPrecision(12)) : v))

/** The report of [from, to) from a ledger's rows, as the reader puts it together (whole hours of the range, and what was open at its end). */
const fromRows = (rows: ReadonlyArray<LedgerRow>, from: number, to: number): Report => {
  const counts = emptyCounts()
  for (const r of rows) if (r.hour >= from && r.hour < to) addCounts(counts, r.counts)
  const last = rows.filter((r) => r.hour < to).at(-1)
  return reportFrom({ from, to }, counts, last?.open ?? emptySummary, [])
}

describe("the report ledger's hours", () => {
  it("add up to the report of any range of whole hours", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 40 }), (seed, a, span) => {
      const events = eventStream(seed, 400)
      const ledger = new ReportLedger()
      events.forEach((e, i) => ledger.add(e, i + 1))
      // one event far later finishes every hour of the stream
      ledger.add({ type: "FeedbackRecorded", orderId: "z", rating: 1, comment: "", at: t0 + 1_000 * hourMs } as unknown as EngineEvent, events.length + 1)
      const from = t0 + a * hourMs
      const to = from + span * hourMs
      expect(rounded(fromRows(ledger.unstored(), from, to))).toEqual(rounded(reportOf(events, { from, to })))
    }), { numRuns: 60 })
  })

  it("go on from a checkpoint exactly as a ledger that never stopped", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 299 }), (seed, cut) => {
      const events = eventStream(seed, 300)
      const whole = new ReportLedger()
      events.forEach((e, i) => whole.add(e, i + 1))
      const first = new ReportLedger()
      events.slice(0, cut).forEach((e, i) => first.add(e, i + 1))
      const rows = [...first.unstored()]
      // the checkpoint goes through the codec as it does to the store
      const restored = new ReportLedger(structuredClone(first.checkpoint()))
      // replay from before the checkpoint: what it already folded is ignored
      events.forEach((e, i) => restored.add(e, i + 1))
      expect([...rows, ...restored.unstored()]).toEqual(whole.unstored())
      expect(restored.checkpoint()).toEqual(whole.checkpoint())
    }), { numRuns: 60 })
  })

  it("sum over partitions: counts and what is open add up", () => {
    const a = eventStream(7, 200)
    const b = eventStream(8, 200).map((e) => ("orderId" in e ? { ...e, orderId: `b${(e as { orderId: string }).orderId}` } : e)) as Array<EngineEvent>
    const range = { from: t0, to: t0 + 30 * hourMs }
    const ra = reportOf(a, range)
    const rb = reportOf(b, range)
    const la = new ReportLedger()
    const lb = new ReportLedger()
    a.forEach((e, i) => la.add(e, i + 1))
    b.forEach((e, i) => lb.add(e, i + 1))
    la.add({ type: "FeedbackRecorded", orderId: "z", rating: 1, comment: "", at: t0 + 100 * hourMs } as unknown as EngineEvent, 1_000)
    lb.add({ type: "FeedbackRecorded", orderId: "z", rating: 1, comment: "", at: t0 + 100 * hourMs } as unknown as EngineEvent, 1_000)
    const counts = emptyCounts()
    for (const r of [...la.unstored(), ...lb.unstored()]) if (r.hour >= range.from && r.hour < range.to) addCounts(counts, r.counts)
    const last = (rows: ReadonlyArray<LedgerRow>) => rows.filter((r) => r.hour < range.to).at(-1)?.open ?? emptySummary
    const both = reportFrom(range, counts, addSummaries(last(la.unstored()), last(lb.unstored())), [])
    expect(both.orders.placed).toBe(ra.orders.placed + rb.orders.placed)
    expect(both.backorders.open).toBe(ra.backorders.open + rb.backorders.open)
    expect(both.promise.atRisk).toBe(ra.promise.atRisk + rb.promise.atRisk)
    expect(both.promise.late).toBe(ra.promise.late + rb.promise.late)
    expect(both.holds.placed).toBe(ra.holds.placed + rb.holds.placed)
  })
})

/** A day of an engine's traffic over the fixture network, with snapshots now and then. */
const drive = async (engine: Awaited<ReturnType<typeof openEngine>>, clock: ManualClock, seed: number, steps: number): Promise<void> => {
  let s = seed
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
  const submit = (c: Command) => engine.submit(c)
  for (const c of fixtureCommands) await submit(c)
  await submit({ type: "inventory.load", rows: [{ sku: "TV-55", nodeId: "WH-DAL", onHand: 20 }, { sku: "HDMI", nodeId: "WH-COL", onHand: 40 }, { sku: "SOUNDBAR", nodeId: "ST-HOU", onHand: 10 }] })
  const orders: Array<string> = []
  for (let i = 0; i < steps; i++) {
    const r = rnd()
    if (r < 0.35) {
      const reply = await submit({
        type: "order.place", channel: rnd() < 0.7 ? "web" : "marketplace", externalId: `L-${seed}-${i}`, payment: "authorised",
        lines: [{ sku: ["TV-55", "HDMI", "SOUNDBAR"][Math.floor(rnd() * 3)], qty: 1 + Math.floor(rnd() * 2), unitPriceCents: 1_000 }],
        customer: { location: [places.columbus, places.dallas, places.austin][Math.floor(rnd() * 3)] }
      })
      if (reply.ok) orders.push(reply.order!.orderId)
    } else if (r < 0.6 && orders.length > 0) {
      const orderId = orders[Math.floor(rnd() * orders.length)]
      const o = await Q.order(engine, orderId)
      for (const sh of o?.shipments ?? []) {
        const ref = { orderId, shipmentId: sh.shipmentId, nodeId: sh.nodeId }
        const next = ({ routed: "shipment.accept", accepted: "shipment.pick", picked: "shipment.pack", packed: "shipment.ship", shipped: "shipment.deliver" } as Record<string, string>)[sh.status]
        if (next === "shipment.ship") await submit({ type: "shipment.ship", ...ref, carrier: "UPS", trackingId: `1Z${sh.shipmentId}` })
        else if (next !== undefined) await submit({ type: next, ...ref } as Command)
      }
    } else if (r < 0.65 && orders.length > 0) {
      await submit({ type: "order.cancel", orderId: orders[Math.floor(rnd() * orders.length)], reason: rnd() < 0.5 ? "changed mind" : "fraud" })
    } else if (r < 0.7 && orders.length > 0) {
      await submit({ type: "return.request", orderId: orders[Math.floor(rnd() * orders.length)], lines: [{ lineNo: 1, qty: 1 }], reason: "damaged" })
    } else if (r < 0.78) {
      await submit({ type: "hold.create", channel: "web", sku: "HDMI", qty: 1, nodeId: "WH-COL", ttlMs: 30 * 60_000 })
    } else if (r < 0.82) {
      await submit({ type: "inventory.receive", sku: ["TV-55", "HDMI", "SOUNDBAR"][Math.floor(rnd() * 3)], nodeId: "WH-DAL", qty: 5 })
    } else if (r < 0.86 && orders.length > 0) {
      await submit({ type: "order.feedback", orderId: orders[Math.floor(rnd() * orders.length)], rating: 1 + Math.floor(rnd() * 5) })
    } else if (r < 0.97) {
      clock.advance(Math.floor(rnd() * 50 * 60_000))
    } else {
      await engine.snapshotNow()
    }
  }
  await engine.flush()
}

const withoutRead = (r: Awaited<ReturnType<typeof journalReport>>): unknown => {
  const { read: _read, coverage: _coverage, ...rest } = r
  return rounded(rest)
}

describe("a report read from the ledger", () => {
  it("equals the report read from the journal, for ranges before and after the snapshots, and after a reopen", async () => {
    const store = new MemoryJournal()
    const clock = new ManualClock(t0)
    let engine = await openEngine(store, clock, { partitions: 3 })
    await drive(engine, clock, 11, 600)
    await engine.snapshotNow()
    await drive(engine, clock, 12, 200)
    const end = clock.t
    const ranges = [
      { from: t0, to: end + 1 },
      { from: t0 + 2 * hourMs, to: t0 + 5 * hourMs },
      { from: t0 + hourMs, to: t0 + 10 * hourMs },
      { from: t0 + 3 * hourMs, to: end + 7 * 60_000 }
    ]
    const check = async () => {
      for (const range of ranges) {
        const fromLedger = await ledgerReport(engine, range)
        expect(fromLedger, `${JSON.stringify(range)} from the ledger`).toBeDefined()
        expect(fromLedger!.read.source).toBe("ledger")
        expect(withoutRead(fromLedger!)).toEqual(withoutRead(await journalReport(engine, range)))
      }
    }
    await check()
    const stored = await store.reportRows(t0, end)
    expect(stored.length).toBeGreaterThan(5)
    // a range cut inside an hour the ledger stored whole is read from the journal
    expect(await ledgerReport(engine, { from: t0 + 30 * 60_000, to: end })).toBeUndefined()
    await engine.close()
    engine = await openEngine(store, clock, { partitions: 3 })
    await check()
    await drive(engine, clock, 13, 100)
    await engine.close()
  }, 120_000)

  it("still covers the history compaction took from the journal", async () => {
    // the same traffic twice: into a journal kept whole, and into one compacted behind frequent snapshots
    const wholeClock = new ManualClock(t0)
    const whole = await openEngine(new MemoryJournal(), wholeClock, { partitions: 2 })
    const clock = new ManualClock(t0)
    const engine = await openEngine(new MemoryJournal(), clock, { partitions: 2, snapshotEveryEvents: 50, journalRetainEvents: 50 })
    await drive(whole, wholeClock, 21, 500)
    await drive(engine, clock, 21, 500)
    await engine.snapshotNow()
    // a range of whole hours (one that ends inside an hour the ledger stored whole is read from the journal)
    const range = { from: t0, to: clock.t - (clock.t % hourMs) + hourMs }
    const reference = await journalReport(whole, range)
    expect(reference.coverage.complete).toBe(true)
    const fromJournal = await journalReport(engine, range)
    expect(fromJournal.coverage.complete).toBe(false)
    expect(fromJournal.orders.placed).toBeLessThan(reference.orders.placed)
    const fromLedger = await ledgerReport(engine, range)
    expect(fromLedger?.coverage.complete).toBe(true)
    expect(withoutRead(fromLedger!)).toEqual(withoutRead(reference))
    await whole.close()
    await engine.close()
  }, 120_000)
})
