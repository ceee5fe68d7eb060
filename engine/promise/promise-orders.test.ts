/**
 * Delivery promises through the engine, on a clock moved by hand: service
 * level and deliver-by routing (a farther node when only it meets the date),
 * unreachable promises, availability with promise dates, carrier tracking and
 * late shipments, B2B ship-complete orders, validation, and recovery of all of
 * it from the journal and from snapshots.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { Command, PlaceOrder } from "../domain/commands.ts"
import type { Accepted, Reply } from "../domain/replies.ts"
import * as Q from "../runtime/queries.ts"
import type { Engine } from "../runtime/engine.ts"
import { MemoryJournal } from "../store/memory-journal.ts"
import { fixtureCommands, ManualClock, openEngine, places, run } from "../testing/fixture.ts"

let store: MemoryJournal
let clock: ManualClock
let engine: Engine

const ok = (r: Reply): Accepted => {
  if (!r.ok) throw new Error(`refused: ${r.code} ${r.message}`)
  return r
}
const code = (r: Reply) => (r.ok ? "ok" : r.code)
const submit = (c: Command) => engine.submit(c)
const endOf = (date: string) => Date.parse(`${date}T23:59:59.999Z`)

/** Wednesday 2026-11-25, 14:00 in Dallas and Houston (CST). */
const wednesday2pm = Date.UTC(2026, 10, 25, 20, 0)

const carriers: ReadonlyArray<Command> = [
  {
    type: "carrier.upsert", carrier: "acme", name: "Acme Parcel",
    services: [
      { service: "ground", name: "Ground", bands: [{ upToKm: 400, days: 1, baseCents: 500, perKgCents: 20 }, { upToKm: 3000, days: 3, baseCents: 800, perKgCents: 40 }] },
      { service: "overnight", name: "Overnight", bands: [{ upToKm: 3000, days: 1, baseCents: 2500, perKgCents: 100 }] }
    ]
  },
  // Houston store: past its noon cut-off at 14:00; Dallas DC: open until 18:00
  { type: "node.upsert", nodeId: "ST-HOU", name: "Houston store", kind: "store", location: places.houston, capacityPerDay: 50, groups: ["south"], pickupCutoff: "12:00", timeZone: "America/Chicago" },
  { type: "node.upsert", nodeId: "WH-DAL", name: "Dallas DC", kind: "warehouse", location: places.dallas, capacityPerDay: 1000, groups: ["south"], pickupCutoff: "18:00", timeZone: "America/Chicago" }
]

const stock = (rows: Array<[string, string, number]>) =>
  run(engine, [{ type: "inventory.load", rows: rows.map(([sku, nodeId, onHand]) => ({ sku, nodeId, onHand })) }])

const place = (externalId: string, lines: Array<[string, number]>, extra: Partial<PlaceOrder> = {}) =>
  submit({
    type: "order.place", channel: "web", externalId, lines: lines.map(([sku, qty]) => ({ sku, qty, unitPriceCents: 1000 })),
    customer: { location: places.houston }, payment: "authorised", ...extra
  })

const shipAll = async (orderId: string, shipmentId: string, nodeId: string) => {
  for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"] as const) ok(await submit({ type, orderId, shipmentId, nodeId }))
  ok(await submit({ type: "shipment.ship", orderId, shipmentId, nodeId, carrier: "acme", trackingId: "1Z-1" }))
}

beforeEach(async () => {
  store = new MemoryJournal()
  clock = new ManualClock(wednesday2pm)
  engine = await openEngine(store, clock)
  await run(engine, [...fixtureCommands, ...carriers])
  await stock([["TV-55", "ST-HOU", 5], ["TV-55", "WH-DAL", 5]])
})
afterEach(() => engine.close())

describe("routing to a promise", () => {
  it("without a promise ships from the nearest node, as before, with no promise on the shipment", async () => {
    const o = ok(await place("P-0", [["TV-55", 1]])).order!
    expect(o.shipments.map((s) => [s.nodeId, s.promise])).toEqual([["ST-HOU", null]])
  })

  it("picks a farther node when only it meets the deliver-by date, with the carrier service and date on the shipment", async () => {
    const o = ok(await place("P-1", [["TV-55", 2]], { deliverBy: "2026-11-26" })).order!
    expect(o.shipments).toHaveLength(1)
    expect(o.shipments[0].nodeId).toBe("WH-DAL")
    expect(o.shipments[0].promise).toEqual({ carrier: "acme", service: "ground", promisedBy: endOf("2026-11-26") })
    expect(o.explanation).toContain("WH-DAL by acme ground, delivered by 2026-11-26")
    expect(o.deliverBy).toBe("2026-11-26")
    const routed = (await Q.orderHistory(engine, o.orderId))!.map((h) => h.event).find((e) => e.type === "OrderRouted")!
    expect(routed.type === "OrderRouted" && routed.shipments[0].promise).toEqual({ carrier: "acme", service: "ground", promisedBy: endOf("2026-11-26") })
  })

  it("with a service level picks the cheapest node and carrier offering it", async () => {
    const o = ok(await place("P-2", [["TV-55", 1]], { service: "overnight" })).order!
    expect(o.shipments[0].nodeId).toBe("ST-HOU") // picked up Thursday, delivered Friday
    expect(o.shipments[0].promise).toEqual({ carrier: "acme", service: "overnight", promisedBy: endOf("2026-11-27") })
  })

  it("counts weekends: after Friday's cut-off the parcel leaves on Monday", async () => {
    clock.t = Date.UTC(2026, 10, 27, 23, 30) // Friday 17:30 in Dallas: the DC still ships today, the store on Monday
    const o = ok(await place("P-3", [["TV-55", 1]], { deliverBy: "2026-11-30" })).order!
    expect(o.shipments[0]).toMatchObject({ nodeId: "WH-DAL", promise: { service: "ground", promisedBy: endOf("2026-11-30") } })
    const later = ok(await place("P-4", [["TV-55", 1]], { service: "ground" })).order!
    expect(later.shipments[0]).toMatchObject({ nodeId: "ST-HOU", promise: { promisedBy: endOf("2026-12-01") } }) // Monday + 1
  })

  it("refuses an order whose date no node and service can meet, naming the earliest achievable date, and changes nothing", async () => {
    const before = JSON.stringify([Q.pool(engine.view, "TV-55", "WH-DAL"), engine.stats().orders])
    const r = await place("P-5", [["TV-55", 1]], { deliverBy: "2026-11-25" })
    expect(code(r)).toBe("promise_unreachable")
    expect(!r.ok && r.message).toContain("earliest achievable delivery 2026-11-26")
    expect(JSON.stringify([Q.pool(engine.view, "TV-55", "WH-DAL"), engine.stats().orders])).toBe(before)
    expect((await Q.orderByExternal(engine, "web", "P-5"))).toBeUndefined()
  })

  it("backorders as usual what no node has, even with a promise", async () => {
    const o = ok(await place("P-6", [["TV-55", 2], ["HDMI", 1]], { deliverBy: "2026-11-26" })).order!
    expect(o.lines.map((l) => l.backordered)).toEqual([0, 1])
    expect(o.shipments[0].nodeId).toBe("WH-DAL")
  })

  it("releases a cart hold whose node cannot deliver by the date and ships those units from a node that can", async () => {
    const held = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", nodeId: "ST-HOU", qty: 2 }))
    const holdId = held.hold!.holdId
    const o = ok(await place("P-7", [["TV-55", 2]], { deliverBy: "2026-11-26", holdIds: [holdId] })).order!
    // Houston is past its cut-off: only Dallas delivers by Thursday
    expect(o.shipments.map((s) => [s.nodeId, s.promise?.promisedBy])).toEqual([["WH-DAL", endOf("2026-11-26")]])
    expect(o.explanation).toContain("1 cart hold(s) released: their node cannot deliver")
    expect(Q.pool(engine.view, "TV-55", "ST-HOU")).toMatchObject({ held: 0, allocated: 0 })
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ allocated: 2 })
    // a hold whose node can keep the promise is used where it is
    const near = ok(await submit({ type: "hold.create", channel: "web", sku: "TV-55", nodeId: "ST-HOU", qty: 1 }))
    const kept = ok(await place("P-8", [["TV-55", 1]], { deliverBy: "2026-11-28", holdIds: [near.hold!.holdId] })).order!
    expect(kept.shipments.map((s) => s.nodeId)).toEqual(["ST-HOU"])
    expect(kept.explanation).toContain("1 cart hold(s) used at their nodes")
    expect(Q.pool(engine.view, "TV-55", "ST-HOU")).toMatchObject({ held: 0, allocated: 1 })
  })

  it("a node whose capacity of today is used up is not chosen for a date only today's pickup meets", async () => {
    ok(await submit({ type: "node.upsert", nodeId: "WH-DAL", name: "Dallas DC", kind: "warehouse", location: places.dallas, capacityPerDay: 1, groups: ["south"], pickupCutoff: "18:00", timeZone: "America/Chicago" }))
    ok(await place("C-1", [["TV-55", 1]], { deliverBy: "2026-11-26" }))
    expect(code(await place("C-2", [["TV-55", 1]], { deliverBy: "2026-11-26" }))).toBe("promise_unreachable")
  })
})

describe("availability with a promise", () => {
  it("gives the earliest arrival of each quantity, by node and service, and nothing extra without it", async () => {
    const plain = Q.availability(engine.view, "TV-55", { channel: "web", location: places.houston })!
    expect(plain.promise).toBeUndefined()
    const a = Q.availability(engine.view, "TV-55", { channel: "web", location: places.houston, promise: true, now: clock.t })!
    expect(a.promise).toEqual([
      { qty: 5, units: 5, arrivesBy: "2026-11-26", promisedBy: endOf("2026-11-26"), nodeId: "WH-DAL", carrier: "acme", service: "ground" },
      { qty: 10, units: 5, arrivesBy: "2026-11-27", promisedBy: endOf("2026-11-27"), nodeId: "ST-HOU", carrier: "acme", service: "ground" }
    ])
  })
})

describe("tracking", () => {
  it("records updates, notifies out for delivery, delivers, and marks a shipment late once its promised day ends", async () => {
    const o = ok(await place("T-1", [["TV-55", 1]], { deliverBy: "2026-11-26" })).order!
    const s = o.shipments[0]
    await shipAll(o.orderId, s.shipmentId, s.nodeId)
    ok(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: s.shipmentId, status: "in_transit", detail: "Dallas hub" }))
    ok(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: s.shipmentId, status: "out_for_delivery" }))
    const kinds = Q.outbox(engine.view).filter((n) => n.orderId === o.orderId).map((n) => n.kind)
    expect(kinds).toEqual(["confirmed", "shipped", "out_for_delivery"])
    expect(Q.outbox(engine.view).find((n) => n.kind === "shipped")!.data).toMatchObject({ service: "ground", promisedBy: endOf("2026-11-26") })
    clock.t = endOf("2026-11-26") + 60_000
    await engine.flush()
    const events = async () => (await Q.orderHistory(engine, o.orderId))!.map((h) => h.event.type)
    expect(await events()).toContain("ShipmentLate")
    ok(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: s.shipmentId, status: "delivered" }))
    const view = (await Q.order(engine, o.orderId))!
    expect(view.status).toBe("delivered")
    expect(view.shipments[0]).toMatchObject({ late: true, tracking: "delivered" })
    expect((await events()).filter((t) => t === "ShipmentLate")).toHaveLength(1)
    expect(Q.outbox(engine.view).find((n) => n.kind === "delivered")!.data).toMatchObject({ onTime: 0 })
    expect(ok(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: s.shipmentId, status: "delivered" })).existing).toBe(true)
  })

  it("a carrier estimate past the promised day makes the shipment late at once; a delivery in time is not late", async () => {
    const o = ok(await place("T-2", [["TV-55", 2]], { deliverBy: "2026-11-26" })).order!
    const s = o.shipments[0]
    await shipAll(o.orderId, s.shipmentId, s.nodeId)
    ok(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: s.shipmentId, status: "exception", detail: "weather", estimatedDelivery: "2026-11-27" }))
    expect((await Q.order(engine, o.orderId))!.shipments[0]).toMatchObject({ late: true, tracking: "exception", estimatedDelivery: "2026-11-27" })
    expect(Q.outbox(engine.view).some((n) => n.kind === "delivery_exception")).toBe(true)

    const p = ok(await place("T-3", [["TV-55", 1]], { deliverBy: "2026-11-26" })).order!
    await shipAll(p.orderId, p.shipments[0].shipmentId, p.shipments[0].nodeId)
    clock.t = Date.UTC(2026, 10, 26, 18)
    ok(await submit({ type: "shipment.track", orderId: p.orderId, shipmentId: p.shipments[0].shipmentId, status: "delivered" }))
    clock.t = endOf("2026-11-27")
    await engine.flush()
    expect((await Q.orderHistory(engine, p.orderId))!.some((h) => h.event.type === "ShipmentLate")).toBe(false)
  })

  it("refuses updates before shipment, for another node, or with a bad estimate", async () => {
    const o = ok(await place("T-4", [["TV-55", 1]])).order!
    const s = o.shipments[0]
    expect(code(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: s.shipmentId, status: "in_transit" }))).toBe("invalid_state")
    await shipAll(o.orderId, s.shipmentId, s.nodeId)
    expect(code(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: s.shipmentId, nodeId: "WH-COL", status: "in_transit" }))).toBe("wrong_node")
    expect(code(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: s.shipmentId, status: "in_transit", estimatedDelivery: "soon" }))).toBe("invalid_date")
    expect(code(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: s.shipmentId, status: "lost" as never }))).toBe("malformed_command")
    expect(code(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: "nope", status: "in_transit" }))).toBe("shipment_not_found")
  })
})

describe("B2B orders", () => {
  it("ship complete: waits whole while any unit is missing, then ships all of it (split across nodes as the policy allows)", async () => {
    const o = ok(await place("B-1", [["TV-55", 8], ["HDMI", 3]], { shipComplete: true, purchaseOrder: "PO-7781" })).order!
    expect(o.status).toBe("backordered")
    expect(o.shipments).toHaveLength(0)
    expect(o.lines.map((l) => l.backordered)).toEqual([8, 3])
    expect(o).toMatchObject({ shipComplete: true, purchaseOrder: "PO-7781" })
    expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ allocated: 0, atp: 5 })
    ok(await submit({ type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 3 }))
    const routed = (await Q.order(engine, o.orderId))!
    expect(routed.lines.map((l) => l.backordered)).toEqual([0, 0])
    expect(routed.shipments.reduce((n, s) => n + s.lines.reduce((m, l) => m + l.qty, 0), 0)).toBe(11)
  })

  it("ship as available (the default) ships what it can now", async () => {
    const o = ok(await place("B-2", [["TV-55", 8], ["HDMI", 3]], { purchaseOrder: "PO-7782" })).order!
    expect(o.lines.map((l) => l.backordered)).toEqual([0, 3])
    expect(o.shipComplete).toBe(false)
  })

  it("ship complete with no split allowed waits until one node has everything", async () => {
    ok(await submit({ type: "channel.upsert", channel: "b2b", policy: { maxSplits: 0 } }))
    const o = ok(await submit({
      type: "order.place", channel: "b2b", externalId: "B-3", lines: [{ sku: "TV-55", qty: 8 }], customer: { location: places.houston },
      payment: "authorised", shipComplete: true, requestedDeliveryDate: "2026-12-10"
    })).order!
    expect(o.status).toBe("backordered")
    ok(await submit({ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 3 }))
    const routed = (await Q.order(engine, o.orderId))!
    expect(routed.shipments.map((s) => [s.nodeId, s.lines[0].qty])).toEqual([["WH-DAL", 8]])
    expect(routed.shipments[0].promise).toMatchObject({ carrier: "acme", service: "ground" })
    expect(routed.requestedDeliveryDate).toBe("2026-12-10")
  })
})

describe("validation", () => {
  it.each([
    [{ service: "teleport" }, "unknown_service"],
    [{ deliverBy: "2026-13-01" }, "invalid_date"],
    [{ deliverBy: "2026-11-24" }, "invalid_date"],
    [{ requestedDeliveryDate: "tomorrow" }, "invalid_date"],
    [{ purchaseOrder: "" }, "invalid_reference"],
    [{ purchaseOrder: "PO\u0000" }, "invalid_reference"],
    [{ shipComplete: "yes" as never }, "malformed_command"],
    [{ service: "ground", fulfillment: "pickup" as const, pickupNodeId: "ST-HOU" }, "malformed_command"]
  ])("refuses %j with %s and changes nothing", async (extra, expected) => {
    expect(code(await place("V-1", [["TV-55", 1]], extra))).toBe(expected)
    expect(engine.stats().orders).toBe(0)
  })

  it.each([
    [{ type: "carrier.upsert", carrier: "x", name: "X", services: [] }],
    [{ type: "carrier.upsert", carrier: "x", name: "X", services: [{ service: "g", name: "G", bands: [{ upToKm: 100, days: 1, baseCents: -1, perKgCents: 0 }] }] }],
    [{ type: "carrier.upsert", carrier: "x", name: "X", services: [{ service: "g", name: "G", bands: [{ upToKm: 500, days: 1, baseCents: 1, perKgCents: 0 }, { upToKm: 100, days: 2, baseCents: 1, perKgCents: 0 }] }] }],
    [{ type: "carrier.upsert", carrier: "x", name: "X", pickupDays: [7], services: [{ service: "g", name: "G", bands: [{ upToKm: 100, days: 1, baseCents: 1, perKgCents: 0 }] }] }],
    [{ type: "node.upsert", nodeId: "WH-DAL", name: "Dallas DC", kind: "warehouse", location: places.dallas, capacityPerDay: 10, timeZone: "Mars/Olympus" }],
    [{ type: "node.upsert", nodeId: "WH-DAL", name: "Dallas DC", kind: "warehouse", location: places.dallas, capacityPerDay: 10, pickupCutoff: "5pm" }]
  ])("refuses bad carrier and node configuration %#", async (command) => {
    expect(code(await submit(command as Command))).toBe("malformed_command")
  })
})

describe("recovery", () => {
  it("rebuilds carriers, promises, tracking, lateness and B2B terms from the journal and from a snapshot", async () => {
    const o = ok(await place("R-1", [["TV-55", 1]], { deliverBy: "2026-11-26", purchaseOrder: "PO-1" })).order!
    await shipAll(o.orderId, o.shipments[0].shipmentId, o.shipments[0].nodeId)
    ok(await submit({ type: "shipment.track", orderId: o.orderId, shipmentId: o.shipments[0].shipmentId, status: "in_transit", estimatedDelivery: "2026-11-26" }))
    ok(await place("R-2", [["TV-55", 9], ["HDMI", 1]], { shipComplete: true }))
    const p = ok(await place("R-3", [["TV-55", 1]], { service: "overnight" })).order!
    const state = async () => ({
      orders: await Promise.all(["R-1", "R-2", "R-3"].map((x) => Q.orderByExternal(engine, "web", x))),
      carriers: Q.carriers(engine.view),
      nodes: Q.nodes(engine.view)
    })
    const before = await state()
    await engine.close()
    engine = await openEngine(store, clock)
    expect(await state()).toEqual(before)
    await engine.snapshotNow()
    await engine.close()
    engine = await openEngine(store, clock)
    expect(await state()).toEqual(before)
    // the promise timers come back too: R-3's promised day ends undelivered
    await shipAll(p.orderId, p.shipments[0].shipmentId, p.shipments[0].nodeId)
    clock.t = endOf("2026-11-28")
    await engine.flush()
    expect((await Q.order(engine, p.orderId))!.shipments[0].late).toBe(true)
    expect((await Q.order(engine, o.orderId))!.shipments[0].late).toBe(true)
  })
})
