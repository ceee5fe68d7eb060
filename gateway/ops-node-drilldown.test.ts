/**
 * The ops routes behind the dashboard's node table and order search, over
 * real HTTP: a node's open shipments (oldest first, bounded by `limit`,
 * counted in full), and order search that ignores case and matches the start
 * of an order id or external id.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { places } from "../engine/testing/fixture.ts"
import { call, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway
const placed: Array<{ orderId: string; externalId: string }> = []

beforeAll(async () => {
  t = await startTestGateway({ stock: [["HDMI", "WH-DAL", 50]] })
  for (const externalId of ["Shop-ABC-1", "shop-abc-2", "SHOP-XYZ-3"]) {
    const r = await call(t.url, "POST", "/v1/orders", keys.web, { externalId, lines: [{ sku: "HDMI", qty: 2 }], customer: { location: places.dallas }, payment: "authorised" })
    expect(r.status).toBe(201)
    placed.push({ orderId: r.body.order.orderId, externalId })
  }
})
afterAll(async () => {
  await t.close()
})

describe("ops order search", () => {
  it("ignores case and finds every order whose external id starts with the term", async () => {
    const r = await call(t.url, "GET", "/v1/ops/orders?q=sHoP-aBc", keys.ops)
    expect(r.status).toBe(200)
    expect(r.body.orders.map((o: { externalId: string }) => o.externalId).sort()).toEqual(["Shop-ABC-1", "shop-abc-2"])
  })

  it("finds an order by the start of its order id, ignoring case", async () => {
    const { orderId } = placed[2]
    const r = await call(t.url, "GET", `/v1/ops/orders?q=${encodeURIComponent(orderId.toUpperCase())}`, keys.ops)
    expect(r.body.orders.map((o: { orderId: string }) => o.orderId)).toContain(orderId)
    expect((await call(t.url, "GET", "/v1/ops/orders?q=nothing-like-this", keys.ops)).body).toEqual({ orders: [] })
  })
})

describe("a node's open shipments", () => {
  it("lists the shipments open at the node, oldest first, with their count, capacity and load", async () => {
    const r = await call(t.url, "GET", "/v1/ops/nodes/WH-DAL/shipments", keys.ops)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ nodeId: "WH-DAL", status: "online", open: 3, complete: true, capacityPerDay: expect.any(Number), shipmentsToday: 3 })
    expect(r.body.shipments.map((s: { orderId: string }) => s.orderId)).toEqual(placed.map((p) => p.orderId))
    expect(r.body.shipments[0]).toMatchObject({ status: "routed", units: 2, routedAt: expect.any(Number), late: false })
    const one = await call(t.url, "GET", "/v1/ops/nodes/WH-DAL/shipments?limit=1", keys.ops)
    expect(one.body.open).toBe(3)
    expect(one.body.shipments).toHaveLength(1)
  })

  it("drops a shipment once it left the node (shipped)", async () => {
    const orderId = placed[0].orderId
    const shipmentId = (await call(t.url, "GET", `/v1/orders/${orderId}`, keys.web)).body.order.shipments[0].shipmentId
    for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"]) {
      expect((await call(t.url, "POST", "/v1/nodes/WH-DAL/events", keys.dallas, { type, orderId, shipmentId })).status, type).toBeLessThan(300)
    }
    const accepted = await call(t.url, "GET", "/v1/ops/nodes/WH-DAL/shipments", keys.ops)
    expect(accepted.body.shipments[0]).toMatchObject({ shipmentId, status: "packed" })
    const shipped = await call(t.url, "POST", "/v1/nodes/WH-DAL/events", keys.dallas, { type: "shipment.ship", orderId, shipmentId, carrier: "ups", trackingId: "1Z-DRILL" })
    expect(shipped.status).toBeLessThan(300)
    const r = await call(t.url, "GET", "/v1/ops/nodes/WH-DAL/shipments", keys.ops)
    expect(r.body.open).toBe(2)
    expect(r.body.shipments.map((s: { shipmentId: string }) => s.shipmentId)).not.toContain(shipmentId)
  })

  it("refuses a bad limit, an unknown node, and keys other than ops", async () => {
    for (const limit of ["0", "501", "x", "1.5"]) {
      const r = await call(t.url, "GET", `/v1/ops/nodes/WH-DAL/shipments?limit=${limit}`, keys.ops)
      expect(r.status, limit).toBe(400)
      expect(r.body.error.code).toBe("invalid_frame")
    }
    const unknown = await call(t.url, "GET", "/v1/ops/nodes/NOPE/shipments", keys.ops)
    expect(unknown.status).toBe(422)
    expect(unknown.body.error.code).toBe("unknown_node")
    expect((await call(t.url, "GET", "/v1/ops/nodes/WH-DAL/shipments", keys.web)).status).toBe(403)
    expect((await call(t.url, "GET", "/v1/ops/nodes/WH-DAL/shipments", keys.dallas)).status).toBe(403)
    expect((await call(t.url, "GET", "/v1/ops/nodes/WH-DAL/shipments")).status).toBe(401)
  })
})
