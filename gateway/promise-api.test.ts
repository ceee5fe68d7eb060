/**
 * Delivery promises over the gateway: carriers configured through the admin
 * route, availability with promise dates (HTTP and WS), an order asking for a
 * service level, carrier tracking updates on POST /v1/shipments/:id/tracking
 * with their scopes, the customer notifications they cause, and a late
 * shipment raising an alert on the socket.io ops feed.
 */
import { io as connectIo, type Socket } from "socket.io-client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { places } from "../engine/testing/fixture.ts"
import type { OpsTick } from "./ops-feed-types.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway
let socket: Socket
const ticks: Array<OpsTick> = []

const http = (method: string, path: string, key?: string, body?: unknown) => call(t.url, method, path, key, body)

const carrier = {
  carrier: "acme", name: "Acme Parcel", deliveryDays: [0, 1, 2, 3, 4, 5, 6], pickupDays: [0, 1, 2, 3, 4, 5, 6],
  services: [
    { service: "ground", name: "Ground", bands: [{ upToKm: 5000, days: 3, baseCents: 600, perKgCents: 40 }] },
    { service: "overnight", name: "Overnight", bands: [{ upToKm: 5000, days: 1, baseCents: 2500, perKgCents: 100 }] }
  ]
}

beforeAll(async () => {
  t = await startTestGateway({ config: { opsTickMs: 200 }, stock: [["TV-55", "WH-DAL", 20], ["TV-55", "WH-COL", 10]] })
  socket = connectIo(`${t.url}/ops`, { transports: ["websocket"], auth: { token: keys.ops } })
  socket.on("tick", (tick: OpsTick) => ticks.push(tick))
  await new Promise<void>((resolve, reject) => {
    socket.on("connect", () => resolve())
    socket.on("connect_error", reject)
  })
})
afterAll(async () => {
  socket.disconnect()
  await t.close()
})

describe("carriers", () => {
  it("are configured and read by ops, refused to other keys, shape- and meaning-checked", async () => {
    expect((await http("POST", "/v1/admin/carriers", keys.ops, carrier)).status).toBe(200)
    expect((await http("GET", "/v1/admin/carriers", keys.ops)).body.carriers[0]).toMatchObject({ carrier: "acme", services: [{ service: "ground" }, { service: "overnight" }] })
    expect((await http("POST", "/v1/admin/carriers", keys.web, carrier)).status).toBe(403)
    expect((await http("POST", "/v1/admin/carriers", keys.ops, { ...carrier, pickupDays: [8] })).body.error.code).toBe("invalid_frame")
    expect((await http("POST", "/v1/admin/carriers", keys.ops, { ...carrier, services: [] })).body.error.code).toBe("malformed_command")
    const node = await http("POST", "/v1/admin/nodes", keys.ops, {
      nodeId: "WH-DAL", name: "Dallas DC", kind: "warehouse", location: places.dallas, capacityPerDay: 1000, groups: ["south"], pickupCutoff: "23:59", timeZone: "America/Chicago"
    })
    expect(node.body.node).toMatchObject({ pickupCutoff: "23:59", timeZone: "America/Chicago" })
  })
})

describe("availability with a promise", () => {
  it("answers promise dates per quantity over HTTP and WS, and only when asked", async () => {
    const plain = await http("GET", `/v1/availability?skus=TV-55&lat=${places.dallas.lat}&lon=${places.dallas.lon}`, keys.web)
    expect(plain.body.items[0].promise).toBeUndefined()
    const a = await http("GET", `/v1/availability?skus=TV-55&lat=${places.dallas.lat}&lon=${places.dallas.lon}&promise=true`, keys.web)
    expect(a.status).toBe(200)
    const options = a.body.items[0].promise
    // each node's earliest service (overnight), earliest first, with the running total of units
    expect(options.map((o: { service: string }) => o.service)).toEqual(["overnight", "overnight"])
    expect(options.map((o: { nodeId: string; units: number }) => [o.nodeId, o.units]).sort()).toEqual([["WH-COL", 10], ["WH-DAL", 20]])
    expect(options[1].qty).toBe(30)
    expect(options[0].arrivesBy <= options[1].arrivesBy).toBe(true)
    expect(options[0]).toMatchObject({ carrier: "acme", arrivesBy: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) })
    expect((await http("GET", "/v1/availability?skus=TV-55&promise=true", keys.web)).body.error.code).toBe("invalid_frame")

    const ws = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
    const r = await ws.request(1, "availability", { skus: ["TV-55"], location: places.cleveland, promise: true }) as { result: { items: Array<{ promise: Array<unknown> }> } }
    expect(r.result.items[0].promise).toContainEqual(expect.objectContaining({ nodeId: "WH-COL", units: 10, service: "overnight" }))
    ws.close()
  })
})

describe("an order with a service level, tracked by its carrier", () => {
  it("routes with the promise, takes tracking updates from the shipment's node or ops, notifies, and alerts ops when late", async () => {
    const bad = await http("POST", "/v1/orders", keys.web, { externalId: "G-0", lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.dallas }, deliverBy: "2020-01-01" })
    expect(bad).toMatchObject({ status: 422, body: { error: { code: "invalid_date" } } })
    const o = await http("POST", "/v1/orders", keys.web, {
      externalId: "G-1", lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.dallas }, payment: "authorised",
      service: "ground", purchaseOrder: "PO-1", shipComplete: true
    })
    expect(o.status).toBe(201)
    const order = o.body.order
    expect(order).toMatchObject({ service: "ground", purchaseOrder: "PO-1", shipComplete: true })
    const s = order.shipments[0]
    expect(s).toMatchObject({ nodeId: "WH-DAL", promise: { carrier: "acme", service: "ground", promisedBy: expect.any(Number) } })

    const track = (key: string, body: unknown) => http("POST", `/v1/shipments/${s.shipmentId}/tracking`, key, body)
    expect((await track(keys.dallas, { status: "in_transit" })).body.error.code).toBe("invalid_state") // not shipped yet
    for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"]) {
      expect((await http("POST", "/v1/nodes/WH-DAL/events", keys.dallas, { type, orderId: order.orderId, shipmentId: s.shipmentId })).status).toBe(200)
    }
    await http("POST", "/v1/nodes/WH-DAL/events", keys.dallas, { type: "shipment.ship", orderId: order.orderId, shipmentId: s.shipmentId, carrier: "acme", trackingId: "AC-1" })
    expect((await track(keys.columbus, { status: "in_transit" })).body.error.code).toBe("wrong_node")
    expect((await track(keys.web, { status: "in_transit" })).status).toBe(403)
    expect((await track(keys.dallas, { status: "teleported" })).body.error.code).toBe("invalid_frame")
    expect((await track(keys.dallas, { status: "in_transit", detail: "Dallas hub" })).status).toBe(200)
    const late = await track(keys.ops, { status: "exception", detail: "weather", estimatedDelivery: "2099-01-01" })
    expect(late.body.order.shipments[0]).toMatchObject({ late: true, tracking: "exception" })
    expect((await http("POST", "/v1/shipments/o9-zz-s1/tracking", keys.ops, { status: "in_transit" })).body.error.code).toBe("order_not_found")

    const history = await http("GET", `/v1/orders/${order.orderId}/history`, keys.web)
    const types = history.body.history.map((h: { event: { type: string } }) => h.event.type)
    expect(types).toEqual(expect.arrayContaining(["ShipmentTracked", "ShipmentLate"]))
    const routed = history.body.history.find((h: { event: { type: string } }) => h.event.type === "OrderRouted").event
    expect(routed.shipments[0].promise).toMatchObject({ carrier: "acme", service: "ground" })

    expect((await track(keys.dallas, { status: "delivered" })).body.order.status).toBe("delivered")

    await new Promise((r) => setTimeout(r, 500))
    const alerts = ticks.flatMap((k) => k.alerts)
    expect(alerts).toContainEqual(expect.objectContaining({ kind: "shipment_late", shipmentId: s.shipmentId, orderId: order.orderId }))
    expect(alerts).toContainEqual(expect.objectContaining({ kind: "shipment_exception", shipmentId: s.shipmentId }))
  })
})
