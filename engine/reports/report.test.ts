/**
 * Reports: the fold on hand-made events (promises, ranges, backorder age,
 * reason caps), and the journal reader against a run whose outcome is known
 * event by event (orders, split, backorder, cancellation, return, holds,
 * feedback), checked figure by figure.
 */
import { afterEach, describe, expect, it } from "vitest"
import type { Command } from "../domain/commands.ts"
import type { EngineEvent, OrderRouted } from "../domain/events.ts"
import type { Accepted, Reply } from "../domain/replies.ts"
import type { Engine } from "../runtime/engine.ts"
import * as Q from "../runtime/queries.ts"
import { MemoryJournal } from "../store/memory-journal.ts"
import { fixtureCommands, ManualClock, openEngine, places, run } from "../testing/fixture.ts"
import { journalReport } from "./reader.ts"
import { otherReason, reasonsMax, reportOf } from "./report.ts"

const hour = 3_600_000
const t0 = Date.UTC(2026, 10, 27, 0, 0, 0)

const routed = (orderId: string, at: number, shipments: Array<{ id: string; nodeId: string; qty: number; promisedBy?: number }>, backordered: Array<[number, number]> = []): OrderRouted => ({
  type: "OrderRouted", orderId, reason: "placed", at,
  shipments: shipments.map((s) => ({
    shipmentId: s.id, nodeId: s.nodeId, lines: [{ lineNo: 1, qty: s.qty }], fromHolds: [], distanceKm: 100, costCents: 500,
    ...(s.promisedBy !== undefined ? { promise: { carrier: "UPS", service: "ground", promisedBy: s.promisedBy } } : {})
  })),
  backordered: backordered.map(([lineNo, qty]) => ({ lineNo, qty })),
  explanation: { summary: "", candidates: [] }
})
const delivered = (orderId: string, shipmentId: string, at: number): EngineEvent => ({ type: "ShipmentDelivered", orderId, shipmentId, at })

describe("the report fold", () => {
  it("counts a promise kept when delivered at or before promisedBy, and is n/a without promises", () => {
    const events: Array<EngineEvent> = [
      routed("o1", t0, [{ id: "o1-s1", nodeId: "A", qty: 1, promisedBy: t0 + 48 * hour }, { id: "o1-s2", nodeId: "B", qty: 1, promisedBy: t0 + 24 * hour }]),
      routed("o2", t0, [{ id: "o2-s1", nodeId: "A", qty: 1, promisedBy: t0 + 24 * hour }, { id: "o2-s2", nodeId: "A", qty: 1 }]),
      delivered("o1", "o1-s1", t0 + 48 * hour), // exactly on time
      delivered("o1", "o1-s2", t0 + 30 * hour), // late
      delivered("o2", "o2-s1", t0 + 10 * hour), // early
      delivered("o2", "o2-s2", t0 + 10 * hour) // no promise
    ]
    const r = reportOf(events, { from: t0, to: t0 + 72 * hour }, [{ nodeId: "A", capacityPerDay: 10 }])
    expect(r.promise).toEqual({ promised: 3, delivered: 3, kept: 2, late: 1, atRisk: 0, keptRate: 2 / 3 })
    expect(r.nodes.find((n) => n.nodeId === "A")).toEqual({ nodeId: "A", routed: 3, shipped: 0, delivered: 3, capacity: 30, utilisation: 0.1 })
    expect(r.nodes.find((n) => n.nodeId === "B")).toMatchObject({ routed: 1, capacity: null, utilisation: null })
    const none = reportOf([routed("o3", t0, [{ id: "o3-s1", nodeId: "A", qty: 1 }]), delivered("o3", "o3-s1", t0 + hour)], { from: t0, to: t0 + 2 * hour })
    expect(none.promise).toEqual({ promised: 0, delivered: 0, kept: 0, late: 0, atRisk: 0, keptRate: null })
  })

  it("counts a promise broken when its day ends undelivered, once, and one the carrier estimates late as at risk until it is kept or broken", () => {
    const late = (shipmentId: string, at: number, cause: "not_delivered" | "estimate"): EngineEvent =>
      ({ type: "ShipmentLate", orderId: shipmentId.slice(0, 2), shipmentId, at, promisedBy: t0 + 24 * hour, cause })
    const events: Array<EngineEvent> = [
      routed("o1", t0, [{ id: "o1-s1", nodeId: "A", qty: 1, promisedBy: t0 + 24 * hour }]),
      routed("o2", t0, [{ id: "o2-s1", nodeId: "A", qty: 1, promisedBy: t0 + 24 * hour }]),
      routed("o3", t0, [{ id: "o3-s1", nodeId: "A", qty: 1, promisedBy: t0 + 24 * hour }]),
      routed("o4", t0, [{ id: "o4-s1", nodeId: "A", qty: 1, promisedBy: t0 + 24 * hour }]),
      late("o1-s1", t0 + 25 * hour, "not_delivered"), // broken, still undelivered at the end
      late("o2-s1", t0 + 25 * hour, "not_delivered"),
      delivered("o2", "o2-s1", t0 + 30 * hour), // the same broken promise: not counted twice
      late("o3-s1", t0 + 5 * hour, "estimate"),
      delivered("o3", "o3-s1", t0 + 20 * hour), // at risk, then kept
      late("o4-s1", t0 + 5 * hour, "estimate") // at risk at the end
    ]
    const r = reportOf(events, { from: t0, to: t0 + 72 * hour })
    expect(r.promise).toEqual({ promised: 4, delivered: 2, kept: 1, late: 2, atRisk: 1, keptRate: 1 / 3 })
  })

  it("counts the packages of placements once: re-routed and withdrawn shipments apart, not in the cost and distance", () => {
    const rerouted: OrderRouted = { ...routed("o1", t0 + hour, [{ id: "o1-s2", nodeId: "B", qty: 1 }]), reason: "rejected" }
    const events: Array<EngineEvent> = [
      routed("o1", t0, [{ id: "o1-s1", nodeId: "A", qty: 1 }]),
      { type: "ShipmentWithdrawn", orderId: "o1", shipmentId: "o1-s1", at: t0 + hour, reason: "rejected", detail: "damaged" },
      { ...rerouted, shipments: rerouted.shipments.map((s) => ({ ...s, distanceKm: 900, costCents: 5_000 })) }
    ]
    const r = reportOf(events, { from: t0, to: t0 + 2 * hour })
    expect(r.shipping).toEqual({ shipments: 1, averageCostCents: 500, averageDistanceKm: 100, rerouted: 1, withdrawn: 1 })
  })

  it("uses events before the range as context only, and ignores events at or after its end", () => {
    const events: Array<EngineEvent> = [
      routed("o1", t0 - hour, [{ id: "o1-s1", nodeId: "A", qty: 1, promisedBy: t0 + hour }]),
      delivered("o1", "o1-s1", t0 + hour / 2),
      { type: "FeedbackRecorded", orderId: "o1", rating: 5, comment: "", at: t0 + 2 * hour }
    ]
    const r = reportOf(events, { from: t0, to: t0 + 2 * hour })
    expect(r.shipping.shipments).toBe(0)
    expect(r.promise).toMatchObject({ promised: 0, delivered: 1, kept: 1 })
    expect(r.feedback.count).toBe(0)
  })

  it("ages backorders: filled ones by how long they waited, open ones at the end of the range", () => {
    const events: Array<EngineEvent> = [
      routed("o1", t0, [], [[1, 2]]),
      routed("o2", t0 + hour, [], [[1, 1]]),
      { ...routed("o1", t0 + 3 * hour, [{ id: "o1-s1", nodeId: "A", qty: 2 }]), reason: "backorder_retry" }
    ]
    const r = reportOf(events, { from: t0, to: t0 + 5 * hour })
    expect(r.backorders).toEqual({
      opened: 2, filled: 1, averageFilledAgeMs: 3 * hour, maxFilledAgeMs: 3 * hour,
      open: 1, openUnits: 1, averageOpenAgeMs: 4 * hour, oldestOpenAgeMs: 4 * hour
    })
    expect(r.fillRate).toBe(0)
    expect(r.orders.placed).toBe(0)
  })

  it("lists at most reasonsMax reasons and sums the rest", () => {
    const events: Array<EngineEvent> = Array.from({ length: reasonsMax + 5 }, (_, i) => ({
      type: "ReturnRequested", orderId: `o${i}`, returnId: `o${i}-r1`, lines: [{ lineNo: 1, qty: 1 }], reason: `reason ${i}`, exchangeOrderId: null, at: t0
    }))
    const r = reportOf(events, { from: t0, to: t0 + 1 })
    expect(Object.keys(r.returns.byReason)).toHaveLength(reasonsMax + 1)
    expect(r.returns.byReason[otherReason]).toEqual({ count: 5, units: 5 })
  })
})

describe("a report read from the journal of a known run", () => {
  let engine: Engine | undefined
  afterEach(() => engine?.close())

  it("gives the exact figures of what happened", async () => {
    const store = new MemoryJournal()
    const clock = new ManualClock(t0)
    engine = await openEngine(store, clock)
    const e = engine
    const ok = (r: Reply): Accepted => {
      if (!r.ok) throw new Error(`refused: ${r.code} ${r.message}`)
      return r
    }
    const submit = (c: Command) => e.submit(c)
    await run(e, fixtureCommands)
    await run(e, [{ type: "inventory.load", rows: [{ sku: "TV-55", nodeId: "WH-DAL", onHand: 5 }, { sku: "HDMI", nodeId: "WH-COL", onHand: 10 }] }])
    clock.advance(hour)
    const start = clock.t
    const place = (channel: string, externalId: string, lines: Array<[string, number, number]>, extra: Record<string, unknown> = {}) =>
      submit({
        type: "order.place", channel, externalId, lines: lines.map(([sku, qty, unitPriceCents]) => ({ sku, qty, unitPriceCents })),
        customer: { location: places.columbus }, payment: "authorised", ...extra
      } as Command)
    const fulfil = async (orderId: string) => {
      for (const s of (await Q.order(e, orderId))!.shipments) {
        const ref = { orderId, shipmentId: s.shipmentId, nodeId: s.nodeId }
        for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"] as const) ok(await submit({ type, ...ref }))
        ok(await submit({ type: "shipment.ship", ...ref, carrier: "UPS", trackingId: `1Z-${s.shipmentId}` }))
        ok(await submit({ type: "shipment.deliver", ...ref }))
      }
    }

    // holds: one converted into an order, one released, one left to expire
    const kept = ok(await submit({ type: "hold.create", channel: "marketplace", sku: "HDMI", qty: 1, nodeId: "WH-COL" })).hold!
    const dropped = ok(await submit({ type: "hold.create", channel: "web", sku: "HDMI", qty: 1, nodeId: "WH-COL" })).hold!
    ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL", ttlMs: 60_000 }))
    ok(await submit({ type: "hold.release", channel: "web", holdId: dropped.holdId }))

    // A: split over two nodes (TV only at Dallas, HDMI only at Columbus); B: backordered; C: from the hold; E: cancelled
    const a = ok(await place("web", "A", [["TV-55", 1, 50_000], ["HDMI", 2, 1_000]])).order!
    const b = ok(await place("web", "B", [["SOUNDBAR", 1, 20_000]])).order!
    const c = ok(await place("marketplace", "C", [["HDMI", 1, 1_200]], { holdIds: [kept.holdId] })).order!
    const x = ok(await place("web", "E", [["TV-55", 1, 50_000]])).order!
    expect(a.shipments).toHaveLength(2)
    expect(b.status).toBe("backordered")
    ok(await submit({ type: "order.cancel", channel: "web", orderId: x.orderId, reason: "customer changed mind" }))

    clock.advance(2 * hour) // the TV hold expires
    await e.flush()
    ok(await submit({ type: "inventory.receive", sku: "SOUNDBAR", nodeId: "WH-DAL", qty: 1 }))
    expect((await Q.order(e, b.orderId))!.status).toBe("routed")

    await fulfil(a.orderId)
    await fulfil(c.orderId)
    ok(await submit({ type: "return.request", channel: "web", orderId: a.orderId, lines: [{ lineNo: 2, qty: 1 }], reason: "damaged" }))
    const ret = (await Q.order(e, a.orderId))!.returns[0]
    ok(await submit({ type: "return.receive", orderId: a.orderId, returnId: ret.returnId, nodeId: "WH-COL", lines: [{ lineNo: 2, qty: 1, disposition: "restock" }] }))
    ok(await submit({ type: "order.feedback", channel: "web", orderId: a.orderId, rating: 3, comment: "one cable was damaged" }))
    ok(await submit({ type: "order.feedback", channel: "marketplace", orderId: c.orderId, rating: 5 }))
    const end = clock.t + 1

    const shipments = (await Promise.all([a, b, c, x].map((o) => Q.order(e, o.orderId)))).flatMap((v) => v!.shipments)
    expect(shipments).toHaveLength(5)
    const r = await journalReport(e, { from: start, to: end }, 3)
    expect(r.coverage).toEqual({ complete: true, retainedFrom: null, compactedStreams: [] })
    expect(r.orders).toEqual({
      placed: 4, units: 6, valueCents: 50_000 + 2_000 + 20_000 + 1_200 + 50_000,
      byChannel: { marketplace: { orders: 1, units: 1, valueCents: 1_200 }, web: { orders: 3, units: 5, valueCents: 122_000 } }
    })
    expect(r.fillRate).toBe(5 / 6)
    expect(r.splitRate).toBe(1 / 4)
    // the packages of the placements (A's two, C's, E's); B's, routed later from its backorder, counted apart
    const atPlacement = (await Promise.all([a, c, x].map((o) => Q.order(e, o.orderId)))).flatMap((v) => v!.shipments)
    expect(atPlacement).toHaveLength(4)
    expect(r.shipping).toMatchObject({ shipments: 4, rerouted: 1, withdrawn: 0 })
    expect(r.shipping.averageCostCents).toBeCloseTo(atPlacement.reduce((n, s) => n + s.costCents, 0) / 4, 9)
    expect(r.shipping.averageDistanceKm).toBeCloseTo(atPlacement.reduce((n, s) => n + s.distanceKm, 0) / 4, 9)
    expect(r.promise.keptRate).toBeNull()
    expect(r.cancellations).toEqual({ count: 1, units: 1, ordersCancelled: 1, byReason: { "customer changed mind": { count: 1, units: 1 } } })
    expect(r.returns).toEqual({ requested: 1, units: 1, byReason: { damaged: { count: 1, units: 1 } }, received: 1, refunds: 1, refundCents: 1_000 })
    expect(r.backorders).toEqual({
      opened: 1, filled: 1, averageFilledAgeMs: 2 * hour, maxFilledAgeMs: 2 * hour, open: 0, openUnits: 0, averageOpenAgeMs: null, oldestOpenAgeMs: null
    })
    expect(r.holds).toEqual({ placed: 3, ended: 3, converted: 1, expired: 1, released: 1, conversionRate: 1 / 3, expiryRate: 1 / 3 })
    expect(r.feedback).toEqual({ count: 2, averageRating: 4, distribution: { "1": 0, "2": 0, "3": 1, "4": 0, "5": 1 } })
    const days = (end - start) / 86_400_000
    expect(r.nodes.find((n) => n.nodeId === "WH-DAL")).toEqual({ nodeId: "WH-DAL", routed: 3, shipped: 1, delivered: 1, capacity: 1000 * days, utilisation: 3 / (1000 * days) })
    expect(r.nodes.find((n) => n.nodeId === "WH-COL")).toMatchObject({ routed: 2, shipped: 2, delivered: 2 })
    expect(r.nodes.find((n) => n.nodeId === "ST-HOU")).toMatchObject({ routed: 0, shipped: 0, delivered: 0, capacity: 50 * days })

    // a range that ends before the backorder was filled sees it open, aged at the end of the range
    const early = await journalReport(e, { from: start, to: start + hour })
    expect(early.backorders).toMatchObject({ opened: 1, filled: 0, open: 1, openUnits: 1, oldestOpenAgeMs: hour })
    expect(early.feedback.count).toBe(0)
    // a range before the run counts nothing
    const before = await journalReport(e, { from: t0 - 10 * hour, to: t0 })
    expect(before.orders.placed).toBe(0)
    expect(before.fillRate).toBeNull()
  })
})

describe("a report after compaction", () => {
  it("says which streams lost their oldest events and from when it is complete", async () => {
    const store = new MemoryJournal()
    const clock = new ManualClock(t0)
    const engine = await openEngine(store, clock, { snapshotEveryEvents: 5, journalRetainEvents: 5 })
    try {
      await run(engine, fixtureCommands)
      for (let i = 0; i < 30; i++) {
        clock.advance(60_000)
        await run(engine, [{ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 1 }])
      }
      await engine.snapshotNow()
      const r = await journalReport(engine, { from: t0, to: clock.t + 1 })
      expect(r.coverage.complete).toBe(false)
      expect(r.coverage.compactedStreams.length).toBeGreaterThan(0)
      expect(r.coverage.retainedFrom).toBeGreaterThan(t0)
      const recent = await journalReport(engine, { from: r.coverage.retainedFrom!, to: clock.t + 1 })
      expect(recent.coverage.complete).toBe(true)
    } finally {
      await engine.close()
    }
  })
})
