/**
 * The HTTP API with fetch against a started gateway: health, readiness and
 * metrics; the storefront routes; a shipment's whole life through node events
 * (accept, short pick, pack, ship, deliver, return receive); inventory
 * movements; node status; order and pool history; admin upserts; bodies that
 * are not JSON, too large, or of the wrong shape; unknown routes and methods;
 * and 503 with Retry-After while the store is down.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { places } from "../engine/testing/fixture.ts"
import { call, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway

beforeAll(async () => {
  t = await startTestGateway({
    config: { bodyBytesMax: 8 * 1024 },
    stock: [["TV-55", "WH-DAL", 20], ["HDMI", "WH-DAL", 50], ["TV-55", "WH-COL", 10], ["SOUNDBAR", "WH-COL", 5]]
  })
})
afterAll(() => t.close())

const http = (method: string, path: string, key?: string, body?: unknown) => call(t.url, method, path, key, body)

describe("health, readiness and metrics", () => {
  it("reports healthy and ready, and renders Prometheus text", async () => {
    expect(await http("GET", "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } })
    expect(await http("GET", "/readyz")).toMatchObject({ status: 200, body: { ready: true, engine: "running", store: true } })
    await http("GET", "/v1/availability?skus=TV-55", keys.web)
    const m = await http("GET", "/metrics")
    expect(m.status).toBe(200)
    expect(m.headers.get("content-type")).toContain("text/plain")
    expect(m.body).toContain("gateway_requests_total{transport=\"http\",op=\"GET /v1/availability\"}")
    expect(m.body).toContain("gateway_request_seconds_bucket{le=\"+Inf\",transport=\"http\"}")
    expect(m.body).toContain("engine_pools ")
  })
})

describe("storefront routes", () => {
  it("reads availability near a location, holds, places an order from the hold, cancels a line", async () => {
    const a = await http("GET", `/v1/availability?skus=TV-55,HDMI&lat=${places.cleveland.lat}&lon=${places.cleveland.lon}&nodesMax=1`, keys.web)
    expect(a.status).toBe(200)
    expect(a.body.items[0]).toMatchObject({ sku: "TV-55", atp: 30, nodes: [{ nodeId: "WH-COL", atp: 10 }] })

    const h = await http("POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 1, nodeId: "WH-DAL", ttlMs: 60_000, key: "cart-1" })
    expect(h.status).toBe(201)
    const holdId = h.body.hold.holdId
    expect((await http("GET", `/v1/holds/${holdId}`, keys.web)).body.hold.qty).toBe(1)
    expect((await http("POST", `/v1/holds/${holdId}/extend`, keys.web, { ttlMs: 90_000 })).status).toBe(200)

    const o = await http("POST", "/v1/orders", keys.web, {
      externalId: "H-1", lines: [{ sku: "TV-55", qty: 1 }, { sku: "HDMI", qty: 2 }], customer: { location: places.dallas }, holdIds: [holdId], payment: "authorised"
    })
    expect(o.status).toBe(201)
    const orderId = o.body.order.orderId
    const again = await http("POST", "/v1/orders", keys.web, {
      externalId: "H-1", lines: [{ sku: "TV-55", qty: 1 }, { sku: "HDMI", qty: 2 }], customer: { location: places.dallas }, holdIds: [holdId], payment: "authorised"
    })
    expect(again).toMatchObject({ status: 200, body: { existing: true, order: { orderId } } })
    expect((await http("GET", "/v1/orders?externalId=H-1", keys.web)).body.order.orderId).toBe(orderId)
    const cancel = await http("POST", `/v1/orders/${orderId}/cancel`, keys.web, { lines: [{ lineNo: 2, qty: 1 }], reason: "too many" })
    expect(cancel.status).toBe(200)
    expect(cancel.body.order.lines[1].cancelled).toBe(1)
    const history = await http("GET", `/v1/orders/${orderId}/history`, keys.web)
    expect(history.body.history.map((e: any) => e.event.type)).toEqual(expect.arrayContaining(["OrderPlaced", "OrderRouted", "OrderCancelled"]))
  })

  it("maps engine refusals to statuses", async () => {
    expect(await http("POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 999, nodeId: "WH-DAL" })).toMatchObject({ status: 409, body: { error: { code: "insufficient_stock" } } })
    expect(await http("POST", "/v1/holds", keys.web, { sku: "NOPE", qty: 1 })).toMatchObject({ status: 422, body: { error: { code: "unknown_sku" } } })
    expect(await http("GET", "/v1/orders/o1-zzzz", keys.web)).toMatchObject({ status: 404, body: { error: { code: "order_not_found" } } })
    expect(await http("POST", "/v1/holds/h0-zz/release", keys.web)).toMatchObject({ status: 404, body: { error: { code: "hold_not_found" } } })
  })

  it("answers malformed, wrongly shaped and oversized bodies, unknown routes and methods", async () => {
    expect(await http("POST", "/v1/holds", keys.web, "{oops")).toMatchObject({ status: 400, body: { error: { code: "malformed_json" } } })
    expect(await http("POST", "/v1/holds", keys.web, "[1]")).toMatchObject({ status: 400, body: { error: { code: "malformed_json" } } })
    const shape = await http("POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 1, colour: "red" })
    expect(shape).toMatchObject({ status: 400, body: { error: { code: "invalid_frame" } } })
    expect(shape.body.error.message).toContain("colour")
    expect(await http("POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 1, pad: "x".repeat(10_000) })).toMatchObject({ status: 413, body: { error: { code: "body_too_large" } } })
    expect(await http("GET", "/v1/nothing-here", keys.web)).toMatchObject({ status: 404, body: { error: { code: "not_found" } } })
    expect(await http("PUT", "/v1/holds", keys.web, {})).toMatchObject({ status: 405, body: { error: { code: "method_not_allowed" } } })
  })
})

describe("fulfillment nodes and inventory", () => {
  it("carries a shipment through accept, short pick (re-routed), pack, ship, deliver and a return", async () => {
    const o = await http("POST", "/v1/orders", keys.web, { externalId: "N-1", lines: [{ sku: "TV-55", qty: 3 }], customer: { location: places.dallas }, payment: "authorised" })
    const orderId = o.body.order.orderId
    const s = o.body.order.shipments[0]
    expect(s.nodeId).toBe("WH-DAL")
    const ev = (body: Record<string, unknown>, key: string = keys.dallas, node = "WH-DAL") => http("POST", `/v1/nodes/${node}/events`, key, { orderId, shipmentId: s.shipmentId, ...body })
    expect((await ev({ type: "shipment.accept" })).status).toBe(200)
    const pick = await ev({ type: "shipment.pick", lines: [{ lineNo: 1, qty: 2 }] })
    expect(pick.status).toBe(200)
    expect(pick.body.order.shipments.length).toBe(2)
    expect((await ev({ type: "shipment.pack" })).status).toBe(200)
    expect((await ev({ type: "shipment.ship", carrier: "UPS", trackingId: "1Z999" })).body.order.shipments[0]).toMatchObject({ status: "shipped", carrier: "UPS", trackingId: "1Z999" })
    expect((await ev({ type: "shipment.deliver" })).status).toBe(200)
    const ret = await http("POST", `/v1/orders/${orderId}/returns`, keys.web, { lines: [{ lineNo: 1, qty: 1 }], reason: "broken" })
    expect(ret.status).toBe(201)
    const returnId = ret.body.order.returns[0].returnId
    const received = await http("POST", "/v1/nodes/WH-DAL/events", keys.dallas, { type: "return.receive", orderId, returnId, lines: [{ lineNo: 1, qty: 1, disposition: "restock" }] })
    expect(received.status).toBe(200)
    // a node key cannot report for another node, and a wrong event shape is refused
    expect(await ev({ type: "shipment.pack" }, keys.columbus, "WH-DAL")).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } })
    expect(await ev({ type: "shipment.teleport" })).toMatchObject({ status: 400, body: { error: { code: "invalid_frame" } } })
  })

  it("receives, adjusts, sets safety stock and loads inventory; reads pools and their history", async () => {
    expect((await http("POST", "/v1/inventory/receive", keys.dallas, { sku: "SOUNDBAR", nodeId: "WH-DAL", qty: 7, reference: "PO-9" })).body.pool).toMatchObject({ onHand: 7 })
    expect((await http("POST", "/v1/inventory/adjust", keys.dallas, { sku: "SOUNDBAR", nodeId: "WH-DAL", delta: -2, reason: "damaged" })).body.pool).toMatchObject({ onHand: 5 })
    expect((await http("POST", "/v1/inventory/safety-stock", keys.ops, { sku: "SOUNDBAR", nodeId: "WH-DAL", qty: 1 })).body.pool).toMatchObject({ atp: 4 })
    expect((await http("POST", "/v1/inventory/load", keys.ops, { rows: [{ sku: "SOUNDBAR", nodeId: "ST-AUS", onHand: 3 }] })).status).toBe(200)
    expect(await http("POST", "/v1/inventory/receive", keys.dallas, { sku: "SOUNDBAR", nodeId: "WH-COL", qty: 1 })).toMatchObject({ status: 403 })
    expect(await http("POST", "/v1/inventory/load", keys.dallas, { rows: [{ sku: "SOUNDBAR", nodeId: "ST-AUS", onHand: 3 }] })).toMatchObject({ status: 403 })
    expect((await http("GET", "/v1/pools/WH-DAL/SOUNDBAR", keys.dallas)).body.pool).toMatchObject({ onHand: 5, safetyStock: 1 })
    const h = await http("GET", "/v1/pools/WH-DAL/SOUNDBAR/history", keys.ops)
    expect(h.body.history.map((e: any) => e.event.type)).toEqual(["StockReceived", "StockAdjusted", "SafetyStockSet"])
  })

  it("sets node status (node for itself, ops for any) and lists nodes for ops", async () => {
    expect((await http("POST", "/v1/nodes/ST-AUS/status", keys.ops, { status: "paused", reason: "inventory count" })).body.node).toMatchObject({ status: "paused" })
    expect((await http("POST", "/v1/nodes/WH-DAL/status", keys.dallas, { status: "online" })).status).toBe(200)
    expect(await http("POST", "/v1/nodes/WH-DAL/status", keys.dallas, { status: "sleeping" })).toMatchObject({ status: 400 })
    const nodes = await http("GET", "/v1/nodes", keys.ops)
    expect(nodes.body.nodes.find((n: any) => n.nodeId === "ST-AUS").status).toBe("paused")
    await http("POST", "/v1/nodes/ST-AUS/status", keys.ops, { status: "online" })
  })

  it("upserts SKUs, nodes and channels for ops", async () => {
    expect((await http("POST", "/v1/admin/skus", keys.ops, { sku: "CABLE-2", name: "Cable", weightGrams: 80 })).status).toBe(200)
    expect((await http("POST", "/v1/admin/channels", keys.ops, { channel: "outlet", policy: { maxSplits: 0, shipFromStore: false } })).status).toBe(200)
    expect((await http("POST", "/v1/admin/nodes", keys.ops, { nodeId: "ST-DAL", name: "Dallas store", kind: "store", location: places.dallas, capacityPerDay: 40 })).status).toBe(200)
  })
})

describe("a store outage", () => {
  it("answers store_unavailable as 503 with Retry-After, never success, and recovers", async () => {
    t.store.down = true
    try {
      const r = await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })
      expect(r.status).toBe(503)
      expect(r.headers.get("retry-after")).toBe("1")
      expect(r.body.error).toMatchObject({ code: "store_unavailable", retryable: true })
      expect((await http("GET", "/readyz")).status).toBe(503)
    } finally {
      t.store.down = false
    }
    for (let i = 0; i < 100 && t.engine.stats().state !== "running"; i++) await new Promise((r) => setTimeout(r, 100))
    expect((await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })).status).toBe(201)
  })
})
