/**
 * Scopes, for every key type: no key or an unknown key is 401, a key of the
 * wrong kind is 403, on every HTTP route; storefront keys stay within their
 * channel (other channels' holds and orders read as not found); publishable
 * keys (public, in browsers) read availability and hold stock, nothing else;
 * node keys stay within their node; only the ops token opens the socket.io
 * ops feed.
 */
import { io as connectIo } from "socket.io-client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { places } from "../engine/testing/fixture.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway

beforeAll(async () => {
  t = await startTestGateway({ stock: [["TV-55", "WH-DAL", 20], ["HDMI", "WH-DAL", 50]] })
})
afterAll(() => t.close())

const http = (method: string, path: string, key?: string, body?: unknown) => call(t.url, method, path, key, body)

type Kind = "storefront" | "publishable" | "node" | "ops" | "internal"
const keyOf: Record<Kind, string> = { storefront: keys.web, publishable: keys.webPublishable, node: keys.dallas, ops: keys.ops, internal: keys.internal }

/** Every authenticated route with the key kinds it admits. */
const routes: ReadonlyArray<[string, string, ReadonlyArray<Kind>, unknown?]> = [
  ["GET", "/v1/availability?skus=TV-55", ["storefront", "publishable", "ops"]],
  ["GET", "/v1/channel", ["storefront", "publishable"]],
  ["POST", "/v1/holds", ["storefront", "publishable"], { sku: "HDMI", qty: 1 }],
  ["GET", "/v1/holds/h0-1", ["storefront", "publishable", "ops"]],
  ["POST", "/v1/holds/h0-1/extend", ["storefront", "publishable"], { ttlMs: 60_000 }],
  ["POST", "/v1/holds/h0-1/release", ["storefront", "publishable"]],
  ["DELETE", "/v1/holds/h0-1", ["storefront", "publishable"]],
  ["POST", "/v1/orders", ["storefront"], { externalId: "S-0", lines: [{ sku: "HDMI", qty: 1 }], customer: { location: places.dallas } }],
  ["GET", "/v1/orders?externalId=S-0", ["storefront"]],
  ["GET", "/v1/orders/o0-1", ["storefront", "ops"]],
  ["GET", "/v1/orders/o0-1/history", ["storefront", "ops"]],
  ["POST", "/v1/orders/o0-1/cancel", ["storefront"], { reason: "x" }],
  ["POST", "/v1/orders/o0-1/payment", ["storefront"], { outcome: "authorised" }],
  ["POST", "/v1/orders/o0-1/returns", ["storefront"], { lines: [{ lineNo: 1, qty: 1 }], reason: "x" }],
  ["POST", "/v1/orders/o0-1/exchange", ["storefront"], { returnLines: [{ lineNo: 1, qty: 1 }], newLines: [{ sku: "HDMI", qty: 1 }], reason: "x" }],
  ["POST", "/v1/nodes/WH-DAL/events", ["node", "ops"], { type: "shipment.accept", orderId: "o0-1", shipmentId: "o0-1-s1" }],
  ["POST", "/v1/nodes/WH-DAL/status", ["node", "ops"], { status: "online" }],
  ["GET", "/v1/nodes", ["ops"]],
  ["POST", "/v1/inventory/receive", ["node", "ops"], { sku: "HDMI", nodeId: "WH-DAL", qty: 1 }],
  ["POST", "/v1/inventory/adjust", ["node", "ops"], { sku: "HDMI", nodeId: "WH-DAL", delta: 1, reason: "found" }],
  ["POST", "/v1/inventory/safety-stock", ["node", "ops"], { sku: "HDMI", nodeId: "WH-DAL", qty: 0 }],
  ["POST", "/v1/inventory/load", ["node", "ops"], { rows: [{ sku: "HDMI", nodeId: "WH-DAL", onHand: 60 }] }],
  ["GET", "/v1/pools/WH-DAL/HDMI", ["node", "ops"]],
  ["GET", "/v1/pools/WH-DAL/HDMI/history", ["node", "ops"]],
  ["POST", "/v1/admin/skus", ["ops"], { sku: "X-1", name: "X", weightGrams: 10 }],
  ["POST", "/v1/admin/nodes", ["ops"], { nodeId: "ST-X", name: "X", kind: "store", location: places.austin, capacityPerDay: 10 }],
  ["POST", "/v1/admin/channels", ["ops"], { channel: "kiosk" }],
  ["GET", "/v1/admin/stats", ["ops"]],
  ["POST", "/internal/v1/engine", ["internal"], { method: "stats", args: [] }]
]

describe("HTTP scopes", () => {
  it.each(routes)("%s %s: 401 without a key or with an unknown one, 403 for other key kinds", async (method, path, allowed, body) => {
    expect(await http(method, path, undefined, body)).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } })
    expect(await http(method, path, "not-a-real-key", body)).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } })
    for (const kind of Object.keys(keyOf) as Array<Kind>) {
      const r = await http(method, path, keyOf[kind], body)
      if (allowed.includes(kind)) expect([401, 403]).not.toContain(r.status)
      else expect(r, `${kind} on ${method} ${path}`).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } })
    }
  })

  it("accepts X-Api-Key as well as a bearer token", async () => {
    const res = await fetch(`${t.url}/v1/availability?skus=HDMI`, { headers: { "x-api-key": keys.web } })
    expect(res.status).toBe(200)
  })
})

describe("channel and node scope", () => {
  it("hides one channel's holds and orders from another channel's key", async () => {
    const h = await http("POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 1, nodeId: "WH-DAL" })
    const holdId = h.body.hold.holdId
    expect(await http("GET", `/v1/holds/${holdId}`, keys.marketplace)).toMatchObject({ status: 404, body: { error: { code: "hold_not_found" } } })
    expect(await http("POST", `/v1/holds/${holdId}/release`, keys.marketplace)).toMatchObject({ status: 403, body: { error: { code: "hold_foreign" } } })
    const o = await http("POST", "/v1/orders", keys.web, { externalId: "SC-1", lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })
    const orderId = o.body.order.orderId
    expect(await http("GET", `/v1/orders/${orderId}`, keys.marketplace)).toMatchObject({ status: 404 })
    expect(await http("GET", `/v1/orders/${orderId}/history`, keys.marketplace)).toMatchObject({ status: 404 })
    expect(await http("POST", `/v1/orders/${orderId}/cancel`, keys.marketplace, { reason: "mine now" })).toMatchObject({ status: 404, body: { error: { code: "order_not_found" } } })
    expect(await http("GET", "/v1/orders?externalId=SC-1", keys.marketplace)).toMatchObject({ status: 404 })
    expect((await http("GET", `/v1/orders/${orderId}`, keys.ops)).status).toBe(200)
    expect((await http("GET", `/v1/orders/${orderId}`, keys.web)).body.order.channel).toBe("web")
  })

  it("lets a node key read and report only its own node", async () => {
    expect(await http("GET", "/v1/pools/WH-COL/TV-55", keys.dallas)).toMatchObject({ status: 403 })
    expect(await http("POST", "/v1/nodes/WH-COL/status", keys.dallas, { status: "paused" })).toMatchObject({ status: 403 })
    expect(await http("POST", "/v1/nodes/WH-COL/events", keys.dallas, { type: "shipment.accept", orderId: "o0-1", shipmentId: "o0-1-s1" })).toMatchObject({ status: 403 })
  })
})

describe("publishable keys", () => {
  it("hold stock and read availability over WS, and may do nothing else; a secret key's order takes their hold", async () => {
    const c = await FrameClient.open(`${t.wsUrl}?key=${keys.webPublishable}`)
    expect(await c.request(1, "availability", { skus: ["HDMI"] })).toMatchObject({ ok: true, result: { items: [{ sku: "HDMI" }] } })
    expect(await c.request(2, "availability.subscribe", { skus: ["HDMI"] })).toMatchObject({ ok: true, result: { subscriptions: 1 } })
    const hold = await c.request(3, "hold.create", { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })
    expect(hold).toMatchObject({ ok: true, result: { hold: { channel: "web", qty: 1 } } })
    const holdId = (hold.result as { hold: { holdId: string } }).hold.holdId
    expect(holdId).toContain(".") // sealed (gateway/hold-tokens.ts)
    expect(await c.request(4, "hold.get", { holdId })).toMatchObject({ ok: true, result: { hold: { holdId } } })
    expect(await c.request(5, "hold.extend", { holdId, ttlMs: 120_000 })).toMatchObject({ ok: true })

    const o = await http("POST", "/v1/orders", keys.web, { externalId: "PK-0", lines: [{ sku: "HDMI", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })
    const orderId = o.body.order.orderId as string
    const refused: ReadonlyArray<[string, Record<string, unknown>]> = [
      ["order.place", { externalId: "PK-1", lines: [{ sku: "HDMI", qty: 1 }], customer: { location: places.dallas } }],
      ["order.cancel", { orderId }],
      ["order.payment", { orderId, outcome: "authorised" }],
      ["order.get", { orderId }],
      ["order.get", { externalId: "PK-0" }],
      ["order.history", { orderId }],
      ["order.subscribe", { orderId }],
      ["order.unsubscribe", { orderId }],
      ["return.request", { orderId, lines: [{ lineNo: 1, qty: 1 }], reason: "x" }],
      ["order.exchange", { orderId, returnLines: [{ lineNo: 1, qty: 1 }], newLines: [{ sku: "HDMI", qty: 1 }], reason: "x" }],
      ["order.feedback", { orderId, rating: 5 }]
    ]
    for (const [op, fields] of refused) {
      expect(await c.request(`no-${op}`, op, fields), op).toMatchObject({ ok: false, error: { code: "forbidden" } })
    }
    // nothing changed: no PK-1 order, PK-0 not cancelled
    expect((await http("GET", "/v1/orders?externalId=PK-1", keys.web)).status).toBe(404)
    expect((await http("GET", `/v1/orders/${orderId}`, keys.web)).body.order.status).not.toBe("cancelled")
    // the connection serves on (refusals are answers, not bad frames)
    expect(await c.request("ping", "ping")).toMatchObject({ ok: true })

    // the storefront's server places the order with the hold the browser made, its id as the browser has it
    const placed = await http("POST", "/v1/orders", keys.web, {
      externalId: "PK-2", lines: [{ sku: "HDMI", qty: 1 }], customer: { location: places.dallas }, holdIds: [holdId], payment: "authorised"
    })
    expect(placed.status).toBe(201)
    // the converted hold answers its final state, still by its sealed id, and cannot be used again
    expect(await c.request(6, "hold.get", { holdId })).toMatchObject({ ok: true, result: { hold: { holdId, status: "converted" } } })
    expect(await c.request(7, "hold.release", { holdId })).toMatchObject({ ok: false, error: { code: "hold_used" } })
    c.close()
  })

  it("read their channel's nodes, and see ended holds and key repeats by sealed ids only", async () => {
    const c = await FrameClient.open(`${t.wsUrl}?key=${keys.webPublishable}`)
    expect(await c.request(1, "channel.get")).toMatchObject({ ok: true, result: { channel: "web", policy: { shipFromStore: true } } })
    expect(await http("GET", "/v1/channel", keys.marketplacePublishable)).toMatchObject({ status: 200, body: { channel: "marketplace" } })

    const first = await c.request(2, "hold.create", { sku: "HDMI", qty: 1, nodeId: "WH-DAL", key: "pk-cart-9" })
    const sealed = (first.result as { hold: { holdId: string } }).hold.holdId
    const bare = sealed.slice(0, sealed.indexOf("."))
    expect(bare).toMatch(/^h\d+-[0-9a-z]+$/)
    // a repeat of the key while the hold lives, over both transports: the same sealed id
    expect(await c.request(3, "hold.create", { sku: "HDMI", qty: 1, nodeId: "WH-DAL", key: "pk-cart-9" }))
      .toMatchObject({ ok: true, result: { existing: true, hold: { holdId: sealed, status: "active" } } })
    expect(await http("POST", "/v1/holds", keys.webPublishable, { sku: "HDMI", qty: 1, nodeId: "WH-DAL", key: "pk-cart-9" }))
      .toMatchObject({ body: { existing: true, hold: { holdId: sealed } } })

    expect(await http("DELETE", `/v1/holds/${sealed}`, keys.webPublishable)).toMatchObject({ status: 200, body: { hold: { holdId: sealed, status: "released" } } })
    // ended: its final state by the sealed id (the bare id is still not found), and the key's repeat answers it sealed
    expect(await c.request(4, "hold.get", { holdId: sealed })).toMatchObject({ ok: true, result: { hold: { holdId: sealed, status: "released" } } })
    expect(await http("GET", `/v1/holds/${sealed}`, keys.webPublishable)).toMatchObject({ status: 200, body: { hold: { holdId: sealed, status: "released" } } })
    expect(await http("GET", `/v1/holds/${bare}`, keys.webPublishable)).toMatchObject({ status: 404, body: { error: { code: "hold_not_found" } } })
    expect(await http("GET", `/v1/holds/${sealed}`, keys.marketplacePublishable)).toMatchObject({ status: 404 })
    expect(await c.request(5, "hold.create", { sku: "HDMI", qty: 1, nodeId: "WH-DAL", key: "pk-cart-9" }))
      .toMatchObject({ ok: true, result: { existing: true, hold: { holdId: sealed, status: "released" } } })
    expect(await c.request(6, "hold.release", { holdId: sealed })).toMatchObject({ ok: false, error: { code: "hold_used" } })
    // the key with other lines: refused, naming the hold by its sealed id, never the bare one
    const conflict = await c.request(7, "hold.create", { sku: "HDMI", qty: 2, nodeId: "WH-DAL", key: "pk-cart-9" })
    expect(conflict).toMatchObject({ ok: false, error: { code: "hold_key_conflict" } })
    const message = (conflict.error as { message: string }).message
    expect(message).toContain(sealed)
    expect(message.replace(sealed, "")).not.toContain(bare)
    // the secret key sees the bare id in the same refusal
    const secret = await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 2, nodeId: "WH-DAL", key: "pk-cart-9" })
    expect(secret).toMatchObject({ status: 409, body: { error: { code: "hold_key_conflict" } } })
    expect(secret.body.error.message).toContain(`hold ${bare},`)
    c.close()
  })

  it("name holds only by the sealed ids they were given: not another shopper's, not another channel's", async () => {
    // the browser's hold: its id sealed (the engine's id and an HMAC), usable by the browser and by the channel's server
    const mine = await http("POST", "/v1/holds", keys.webPublishable, { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })
    expect(mine).toMatchObject({ status: 201, body: { hold: { channel: "web" } } })
    const sealed = mine.body.hold.holdId as string
    const bare = sealed.slice(0, sealed.indexOf("."))
    expect(bare).toMatch(/^h\d+-/)
    expect(await http("GET", `/v1/holds/${sealed}`, keys.webPublishable)).toMatchObject({ status: 200, body: { hold: { holdId: sealed } } })
    expect(await http("POST", `/v1/holds/${sealed}/extend`, keys.webPublishable, { ttlMs: 120_000 })).toMatchObject({ status: 200, body: { hold: { holdId: sealed } } })
    // guessed or altered ids, and another channel's publishable key: not found, and the hold stays
    const tampered = sealed.slice(0, -1) + (sealed.endsWith("A") ? "B" : "A")
    for (const [key, id] of [[keys.webPublishable, bare], [keys.webPublishable, tampered], [keys.marketplacePublishable, sealed]] as const) {
      expect(await http("GET", `/v1/holds/${id}`, key)).toMatchObject({ status: 404, body: { error: { code: "hold_not_found" } } })
      expect(await http("POST", `/v1/holds/${id}/release`, key)).toMatchObject({ status: 404, body: { error: { code: "hold_not_found" } } })
      expect(await http("DELETE", `/v1/holds/${id}`, key)).toMatchObject({ status: 404 })
      expect(await http("POST", `/v1/holds/${id}/extend`, key, { ttlMs: 60_000 })).toMatchObject({ status: 404 })
    }
    // the secret key takes the sealed id or the bare one
    expect(await http("GET", `/v1/holds/${sealed}`, keys.web)).toMatchObject({ status: 200, body: { hold: { holdId: bare } } })
    expect(await http("GET", `/v1/holds/${bare}`, keys.web)).toMatchObject({ status: 200 })

    // a hold another client (here the server) made: its bare id means nothing to a publishable key
    const theirs = await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })
    const theirId = theirs.body.hold.holdId as string
    expect(await http("GET", `/v1/holds/${theirId}`, keys.webPublishable)).toMatchObject({ status: 404, body: { error: { code: "hold_not_found" } } })
    expect(await http("POST", `/v1/holds/${theirId}/release`, keys.webPublishable)).toMatchObject({ status: 404 })
    expect(await http("GET", `/v1/holds/${theirId}`, keys.web)).toMatchObject({ status: 200, body: { hold: { holdId: theirId } } })

    // the browser releases its own
    expect(await http("POST", `/v1/holds/${sealed}/release`, keys.webPublishable)).toMatchObject({ status: 200, body: { hold: { holdId: sealed } } })
    const own = await http("POST", "/v1/holds", keys.marketplacePublishable, { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })
    expect(own).toMatchObject({ status: 201, body: { hold: { channel: "marketplace" } } })
  })
})

describe("ops feed scope", () => {
  const tryConnect = (token?: string) =>
    new Promise<{ ok: boolean; code?: string }>((resolve) => {
      const socket = connectIo(`${t.url}/ops`, { transports: ["websocket"], auth: token === undefined ? {} : { token }, reconnection: false })
      socket.on("connect", () => {
        socket.disconnect()
        resolve({ ok: true })
      })
      socket.on("connect_error", (e: Error & { data?: { code?: string } }) => {
        socket.disconnect()
        resolve({ ok: false, code: e.data?.code })
      })
    })

  it("admits the ops token only", async () => {
    expect(await tryConnect()).toEqual({ ok: false, code: "unauthorized" })
    expect(await tryConnect("bogus-token")).toEqual({ ok: false, code: "unauthorized" })
    expect(await tryConnect(keys.web)).toEqual({ ok: false, code: "forbidden" })
    expect(await tryConnect(keys.webPublishable)).toEqual({ ok: false, code: "forbidden" })
    expect(await tryConnect(keys.dallas)).toEqual({ ok: false, code: "forbidden" })
    expect(await tryConnect(keys.ops)).toEqual({ ok: true })
  })
})
