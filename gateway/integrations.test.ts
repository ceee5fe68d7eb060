/**
 * Integrations over a started gateway: Shopify orders/create webhooks built
 * from Shopify's published example order (valid, forged and missing
 * signatures; the same webhook twice is one order; unknown SKUs and voided
 * payments are named errors), inventory CSV import with bad rows and export,
 * customer feedback over HTTP and WS, and reports as JSON and CSV.
 */
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { places } from "../engine/testing/fixture.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"
import { shopifySignature } from "./shopify.ts"

const secret = "shpss-test-secret-0123456789"
const shopDomain = "oms-test.myshopify.com"
const example = JSON.parse(readFileSync(new URL("./testing/fixtures/shopify-orders-create.json", import.meta.url), "utf8")) as Record<string, any>

let t: TestGateway

beforeAll(async () => {
  t = await startTestGateway({
    stock: [["TV-55", "WH-DAL", 20], ["HDMI", "WH-DAL", 50], ["TV-55", "WH-COL", 10]],
    shopify: { byDomain: { [shopDomain]: { channel: "web", secret } } }
  })
})
afterAll(() => t.close())

const http = (method: string, path: string, key?: string, body?: unknown) => call(t.url, method, path, key, body)

/** Posts a webhook the way Shopify does: the raw JSON, its base64 HMAC, the shop and topic headers. */
const shopify = async (raw: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${t.url}/v1/integrations/shopify/orders`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": "orders/create",
      "x-shopify-shop-domain": shopDomain,
      "x-shopify-hmac-sha256": shopifySignature(secret, raw),
      ...headers
    },
    body: raw
  })
  return { status: res.status, body: (await res.json()) as any }
}

/** Shopify's example order, paid, with SKUs of this catalog, shipped to Dallas. */
const paidOrder = (id: number, changes: Record<string, unknown> = {}) => JSON.stringify({
  ...example,
  id,
  admin_graphql_api_id: `gid://shopify/Order/${id}`,
  financial_status: "paid",
  cancelled_at: null,
  line_items: [
    { ...example.line_items[0], sku: "HDMI", price: "9.99" },
    { ...example.line_items[1], sku: "HDMI", price: "9.99" },
    { ...example.line_items[1], id: 3, sku: "TV-55", price: "499.00", quantity: 1 }
  ],
  shipping_address: { ...example.shipping_address, latitude: places.dallas.lat, longitude: places.dallas.lon },
  ...changes
})

describe("Shopify orders/create webhook", () => {
  it("places an order from a signed webhook, and the same webhook twice is one order", async () => {
    const raw = paidOrder(450789469)
    const first = await shopify(raw)
    expect(first.status).toBe(201)
    expect(first.body.order).toMatchObject({
      channel: "web", externalId: "shopify:450789469", payment: "authorised", status: "routed",
      lines: [{ lineNo: 1, sku: "HDMI", qty: 2, unitPriceCents: 999 }, { lineNo: 2, sku: "TV-55", qty: 1, unitPriceCents: 49_900 }]
    })
    const again = await shopify(raw)
    expect(again).toMatchObject({ status: 200, body: { existing: true, order: { orderId: first.body.order.orderId } } })
    expect((await http("GET", "/v1/orders?externalId=shopify:450789469", keys.web)).body.order.orderId).toBe(first.body.order.orderId)
    expect(t.engine.stats().orders).toBe(1)
  })

  it("keeps Shopify's 64-bit order id exact, and places a pending order from a city name", async () => {
    const r = await shopify(paidOrder(1, {
      id: 820982911946154508, admin_graphql_api_id: "gid://shopify/Order/820982911946154508", financial_status: "pending",
      shipping_address: { ...example.shipping_address, city: "Austin", latitude: null, longitude: null }
    }))
    expect(r.status).toBe(201)
    expect(r.body.order).toMatchObject({ externalId: "shopify:820982911946154508", payment: "pending", status: "awaiting_payment" })
  })

  it("records the payment of a pending order from orders/paid, once, and places an order paid before it was created", async () => {
    const pending = await shopify(paidOrder(77, { financial_status: "pending" }))
    expect(pending).toMatchObject({ status: 201, body: { order: { payment: "pending" } } })
    const paid = await shopify(paidOrder(77), { "x-shopify-topic": "orders/paid" })
    expect(paid.status).toBe(200)
    expect((await http("GET", `/v1/orders/${pending.body.order.orderId}`, keys.web)).body.order).toMatchObject({ payment: "authorised" })
    expect(await shopify(paidOrder(77), { "x-shopify-topic": "orders/paid" })).toMatchObject({ status: 200, body: { existing: true, order: { payment: "authorised" } } })
    // paid first: placed as paid; the late orders/create is the same order
    const early = await shopify(paidOrder(78), { "x-shopify-topic": "orders/paid" })
    expect(early).toMatchObject({ status: 201, body: { order: { payment: "authorised" } } })
    expect(await shopify(paidOrder(78, { financial_status: "pending" }))).toMatchObject({ status: 200, body: { existing: true } })
  })

  it("refuses a forged or missing signature with 401 invalid_signature and places nothing", async () => {
    const before = t.engine.stats().orders
    const raw = paidOrder(1001)
    const forged = await shopify(raw, { "x-shopify-hmac-sha256": shopifySignature("not-the-shop-secret-xx", raw) })
    expect(forged).toMatchObject({ status: 401, body: { error: { code: "invalid_signature" } } })
    const tampered = await shopify(raw.replace('"quantity":1', '"quantity":9'), { "x-shopify-hmac-sha256": shopifySignature(secret, raw) })
    expect(tampered.status).toBe(401)
    const missing = await shopify(raw, { "x-shopify-hmac-sha256": "" })
    expect(missing).toMatchObject({ status: 401, body: { error: { code: "invalid_signature" } } })
    const otherShop = await shopify(raw, { "x-shopify-shop-domain": "someone-else.myshopify.com" })
    expect(otherShop).toMatchObject({ status: 404, body: { error: { code: "integration_not_configured" } } })
    expect(t.engine.stats().orders).toBe(before)
  })

  it("answers Shopify's published example as it is with named errors", async () => {
    // voided, as published
    expect(await shopify(JSON.stringify(example))).toMatchObject({ status: 422, body: { error: { code: "unpayable_order" } } })
    // paid, but its SKU is not in this catalog
    expect(await shopify(JSON.stringify({ ...example, financial_status: "paid" }))).toMatchObject({ status: 422, body: { error: { code: "unknown_sku" } } })
    // Shippington is no place the engine knows
    const known = { ...example, financial_status: "paid", line_items: example.line_items.map((l: object) => ({ ...l, sku: "HDMI" })) }
    // (its id is the one placed in an earlier test with other lines: the engine keeps the first)
    expect(await shopify(JSON.stringify(known))).toMatchObject({ status: 409, body: { error: { code: "exists_with_different_lines" } } })
    const fresh = { ...known, id: 777, admin_graphql_api_id: "gid://shopify/Order/777" }
    expect(await shopify(JSON.stringify(fresh))).toMatchObject({ status: 422, body: { error: { code: "invalid_location" } } })
    const noSku = { ...fresh, line_items: [{ ...example.line_items[0], sku: null }] }
    expect(await shopify(JSON.stringify(noSku))).toMatchObject({ status: 422, body: { error: { code: "line_without_sku" } } })
    expect(await shopify(paidOrder(5), { "x-shopify-topic": "orders/updated" })).toMatchObject({ status: 422, body: { error: { code: "unsupported_topic" } } })
    expect(await shopify("{not json")).toMatchObject({ status: 400, body: { error: { code: "malformed_json" } } })
    expect(await shopify(JSON.stringify({ id: 7 }))).toMatchObject({ status: 400, body: { error: { code: "invalid_frame" } } })
  })
})

const csvImport = async (text: string, key: string = keys.ops) => {
  const res = await fetch(`${t.url}/v1/inventory/import`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "text/csv" }, body: text })
  return { status: res.status, body: (await res.json()) as any }
}

describe("inventory CSV", () => {
  it("applies the good rows and reports every bad one by row with a named error", async () => {
    const text = [
      "sku,node,on_hand,safety_stock",
      "SOUNDBAR,WH-DAL,12,2",
      "SOUNDBAR,WH-COL,7,",
      "NOPE,WH-DAL,5,0",
      "SOUNDBAR,WH-NOWHERE,5,0",
      "SOUNDBAR,ST-HOU,-3,0",
      "SOUNDBAR,ST-AUS,abc,0",
      "SOUNDBAR,WH-DAL,1,0",
      "\"SOUNDBAR\",\"ST-AUS\",\"4\",\"1\"",
      "SOUNDBAR,ST-HOU,1,0,extra"
    ].join("\n")
    const r = await csvImport(text)
    expect(r.status).toBe(200)
    expect(r.body.applied).toBe(3)
    expect(r.body.rejected).toBe(6)
    const byRow = Object.fromEntries(r.body.rows.map((x: any) => [x.row, x.status === "applied" ? "applied" : x.error.code]))
    expect(byRow).toEqual({ 2: "applied", 3: "applied", 4: "unknown_sku", 5: "unknown_node", 6: "invalid_row", 7: "invalid_row", 8: "duplicate_row", 9: "applied", 10: "invalid_row" })
    expect((await http("GET", "/v1/pools/WH-DAL/SOUNDBAR", keys.ops)).body.pool).toMatchObject({ onHand: 12, safetyStock: 2, atp: 10 })
    expect((await http("GET", "/v1/pools/ST-AUS/SOUNDBAR", keys.ops)).body.pool).toMatchObject({ onHand: 4, safetyStock: 1 })
  })

  it("rejects a file without the right header, limits a node key to its node, and refuses a count below what is promised", async () => {
    expect(await csvImport("sku,where,on_hand\nHDMI,WH-DAL,1")).toMatchObject({ status: 400, body: { error: { code: "invalid_csv" } } })
    expect(await csvImport("")).toMatchObject({ status: 400, body: { error: { code: "invalid_csv" } } })
    expect(await csvImport("sku,node,on_hand\n\"HDMI,WH-DAL,1")).toMatchObject({ status: 400, body: { error: { code: "invalid_csv" } } })
    const node = await csvImport("node,sku,on_hand\nWH-DAL,HDMI,40\nWH-COL,HDMI,3", keys.dallas)
    expect(node.body.rows.map((x: any) => x.status === "applied" ? "applied" : x.error.code)).toEqual(["applied", "forbidden"])
    const o = await http("POST", "/v1/orders", keys.web, { externalId: "CSV-1", lines: [{ sku: "TV-55", qty: 2 }], customer: { location: places.dallas }, payment: "authorised" })
    expect(o.status).toBe(201)
    const below = await csvImport("sku,node,on_hand\nTV-55,WH-DAL,0")
    expect(below.body.rows[0]).toMatchObject({ row: 2, status: "rejected", error: { code: "below_reserved" } })
  })

  it("exports on hand, safety stock, held, allocated and ATP per pool", async () => {
    const res = await fetch(`${t.url}/v1/inventory/export`, { headers: { authorization: `Bearer ${keys.ops}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toContain("text/csv")
    const lines = (await res.text()).trim().split("\n")
    expect(lines[0]).toBe("sku,node,on_hand,safety_stock,held,allocated,atp")
    expect(lines).toContain("SOUNDBAR,WH-DAL,12,2,0,0,10")
    const mine = await fetch(`${t.url}/v1/inventory/export`, { headers: { authorization: `Bearer ${keys.dallas}` } })
    const rows = (await mine.text()).trim().split("\n").slice(1)
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => r.split(",")[1] === "WH-DAL")).toBe(true)
    expect((await fetch(`${t.url}/v1/inventory/export?node=WH-COL`, { headers: { authorization: `Bearer ${keys.dallas}` } })).status).toBe(403)
    // the export reads back in as it is
    const back = await csvImport("sku,node,on_hand,safety_stock\n" + rows.map((r) => r.split(",").slice(0, 4).join(",")).join("\n"), keys.dallas)
    expect(back.body.rejected).toBe(0)
  })
})

describe("feedback and reports", () => {
  it("takes feedback after delivery over HTTP and WS, and counts it in the report, as JSON and CSV", async () => {
    const from = Date.now() - 1
    const o = await http("POST", "/v1/orders", keys.web, { externalId: "FB-1", lines: [{ sku: "HDMI", qty: 1, unitPriceCents: 999 }], customer: { location: places.dallas }, payment: "authorised" })
    const orderId = o.body.order.orderId
    const shipmentId = o.body.order.shipments[0].shipmentId
    const nodeId = o.body.order.shipments[0].nodeId
    expect(await http("POST", `/v1/orders/${orderId}/feedback`, keys.web, { rating: 5 })).toMatchObject({ status: 409, body: { error: { code: "not_delivered" } } })
    for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"]) {
      expect((await http("POST", `/v1/nodes/${nodeId}/events`, keys.ops, { type, orderId, shipmentId })).status).toBe(200)
    }
    expect((await http("POST", `/v1/nodes/${nodeId}/events`, keys.ops, { type: "shipment.ship", orderId, shipmentId, carrier: "UPS", trackingId: "1Z" })).status).toBe(200)
    expect((await http("POST", `/v1/nodes/${nodeId}/events`, keys.ops, { type: "shipment.deliver", orderId, shipmentId })).status).toBe(200)
    expect(await http("POST", `/v1/orders/${orderId}/feedback`, keys.marketplace, { rating: 5 })).toMatchObject({ status: 404 })
    expect(await http("POST", `/v1/orders/${orderId}/feedback`, keys.ops, { rating: 5 })).toMatchObject({ status: 403 })
    expect(await http("POST", `/v1/orders/${orderId}/feedback`, keys.web, { rating: "5" })).toMatchObject({ status: 400, body: { error: { code: "invalid_frame" } } })

    const ws = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
    ws.sendRaw(JSON.stringify({ id: 1, op: "order.feedback", orderId, rating: 4, comment: "quick" }))
    const reply = await ws.waitFor((f) => f.id === 1)
    expect(reply).toMatchObject({ ok: true, result: { order: { feedback: { rating: 4, comment: "quick" } } } })
    ws.ws.close()
    expect(await http("POST", `/v1/orders/${orderId}/feedback`, keys.web, { rating: 1 })).toMatchObject({ status: 409, body: { error: { code: "feedback_exists" } } })
    const history = (await http("GET", `/v1/orders/${orderId}/history`, keys.web)).body.history
    expect(history.at(-1).event).toMatchObject({ type: "FeedbackRecorded", rating: 4, comment: "quick" })

    const to = Date.now() + 1
    const r = await http("GET", `/v1/reports?from=${new Date(from).toISOString()}&to=${to}`, keys.ops)
    expect(r.status).toBe(200)
    expect(r.body.report.feedback).toEqual({ count: 1, averageRating: 4, distribution: { "1": 0, "2": 0, "3": 0, "4": 1, "5": 0 } })
    expect(r.body.report.orders.byChannel.web.orders).toBeGreaterThanOrEqual(1)
    expect(r.body.report.coverage.complete).toBe(true)
    const c = await fetch(`${t.url}/v1/reports.csv?from=${from}&to=${to}`, { headers: { authorization: `Bearer ${keys.ops}` } })
    expect(c.headers.get("content-type")).toContain("text/csv")
    const text = await c.text()
    expect(text.split("\n")[0]).toBe("metric,value")
    expect(text).toContain("feedback.averageRating,4\n")
    expect(text).toContain("promise.keptRate,\n")
    expect(text).toContain("nodes.WH-DAL.capacity,")
    const same = await fetch(`${t.url}/v1/reports?from=${from}&to=${to}&format=csv`, { headers: { authorization: `Bearer ${keys.ops}` } })
    // the same report either way; only how much journal was read may differ (the outbox pump keeps journaling deliveries)
    const figures = (csv: string) => csv.split("\n").filter((l) => !l.startsWith("read."))
    expect(figures(await same.text())).toEqual(figures(text))
    expect(await http("GET", `/v1/reports?from=${to}&to=${from}`, keys.ops)).toMatchObject({ status: 400, body: { error: { code: "invalid_range" } } })
    expect(await http("GET", "/v1/reports?from=yesterday", keys.ops)).toMatchObject({ status: 400, body: { error: { code: "invalid_range" } } })
    expect((await http("GET", `/v1/reports?from=${from}`, keys.web)).status).toBe(403)
  })
})
