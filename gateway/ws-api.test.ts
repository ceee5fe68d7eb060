/**
 * The storefront WS API with a real `ws` client against a started gateway:
 * every operation's round trip, availability push coalescing, bad frames and
 * their limits, oversized frames, and authentication at upgrade.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { places } from "../engine/testing/fixture.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway

beforeAll(async () => {
  t = await startTestGateway({
    config: { coalesceMs: 200, frameBytesMax: 4096, badFramesBeforeClose: 5, subscriptionsPerConnectionMax: 3, skusPerRequestMax: 3 },
    stock: [["TV-55", "WH-DAL", 50], ["HDMI", "WH-DAL", 100], ["TV-55", "WH-COL", 20], ["SOUNDBAR", "WH-COL", 10]]
  })
})
afterAll(() => t.close())

const open = (key: string = keys.web) => FrameClient.open(`${t.wsUrl}?key=${key}`)

describe("WS round trip", () => {
  it("answers availability, holds, orders, cancel, status and order subscriptions, echoing ids", async () => {
    const c = await open()
    const avail = await c.request("a1", "availability", { skus: ["TV-55", "NOPE"], location: places.houston })
    expect(avail).toMatchObject({ id: "a1", ok: true })
    const items = (avail.result as { items: Array<any> }).items
    expect(items[0]).toMatchObject({ sku: "TV-55", atp: 70 })
    expect(items[0].nodes[0].nodeId).toBe("WH-DAL")
    expect(items[1].error.code).toBe("unknown_sku")

    const hold = await c.request(2, "hold.create", { sku: "TV-55", qty: 2, nodeId: "WH-DAL", ttlMs: 60_000 })
    expect(hold).toMatchObject({ id: 2, ok: true, result: { hold: { sku: "TV-55", qty: 2, channel: "web" } } })
    const holdId = (hold.result as any).hold.holdId as string
    expect(await c.request(3, "hold.extend", { holdId, ttlMs: 120_000 })).toMatchObject({ ok: true })
    expect(await c.request("get", "hold.get", { holdId })).toMatchObject({ ok: true, result: { hold: { holdId } } })

    const placed = await c.request(4, "order.place", {
      externalId: "WS-1", lines: [{ sku: "TV-55", qty: 2 }, { sku: "HDMI", qty: 1 }], customer: { location: places.dallas },
      holdIds: [holdId], payment: "authorised"
    })
    expect(placed).toMatchObject({ ok: true, result: { order: { externalId: "WS-1", channel: "web", status: "routed" } } })
    const orderId = (placed.result as any).order.orderId as string

    const sub = await c.request(5, "order.subscribe", { orderId })
    expect(sub).toMatchObject({ ok: true, result: { order: { orderId }, subscriptions: 1 } })
    const cancel = await c.request(6, "order.cancel", { orderId, lines: [{ lineNo: 2, qty: 1 }], reason: "changed mind" })
    expect(cancel).toMatchObject({ ok: true })
    const pushed = await c.waitFor((f) => f.push === "order" && (f.event as any).type === "OrderCancelled")
    expect(pushed.orderId).toBe(orderId)

    const status = await c.request(7, "order.get", { externalId: "WS-1" })
    expect(status).toMatchObject({ ok: true, result: { order: { orderId } } })
    const history = await c.request(8, "order.history", { orderId })
    expect((history.result as any).history.map((h: any) => h.event.type)).toContain("OrderCancelled")
    expect(await c.request(9, "hold.release", { holdId })).toMatchObject({ ok: false, error: { code: "hold_used" } })
    expect(await c.request(10, "ping")).toMatchObject({ ok: true })
    c.close()
  })

  it("passes engine refusals through with their codes", async () => {
    const c = await open()
    expect(await c.request(1, "hold.create", { sku: "TV-55", qty: 1_000, nodeId: "WH-DAL" })).toMatchObject({ ok: false, error: { code: "insufficient_stock" } })
    expect(await c.request(2, "hold.create", { sku: "TV-55", qty: -1 })).toMatchObject({ ok: false, error: { code: "quantity_must_be_positive" } })
    expect(await c.request(3, "order.get", { orderId: "o0-zzz" })).toMatchObject({ ok: false, error: { code: "order_not_found" } })
    c.close()
  })
})

describe("availability subscriptions", () => {
  it("pushes changes coalesced per SKU per connection", async () => {
    const watcher = await open()
    const sub = await watcher.request("s", "availability.subscribe", { skus: ["HDMI"] })
    expect(sub).toMatchObject({ ok: true, result: { items: [{ sku: "HDMI", atp: 100 }], subscriptions: 1 } })
    const buyer = await open()
    // 20 holds in quick succession: at most one push per coalesceMs (200), and the last one has the final ATP.
    const started = Date.now()
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => buyer.request(`h${i}`, "hold.create", { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })))
    expect(replies.every((r) => r.ok === true)).toBe(true)
    const last = await watcher.waitFor((f) => f.push === "availability" && (f.items as any)[0].atp === 80, 3_000)
    expect(last).toBeDefined()
    const elapsed = Date.now() - started
    await new Promise((r) => setTimeout(r, 400))
    const pushes = watcher.frames.filter((f) => f.push === "availability")
    expect(pushes.length).toBeGreaterThanOrEqual(1)
    expect(pushes.length).toBeLessThanOrEqual(Math.min(10, Math.ceil(elapsed / 200) + 1))
    expect(pushes[pushes.length - 1]).toBe(last)
    // unsubscribed: no more pushes
    expect(await watcher.request("u", "availability.unsubscribe", { skus: ["HDMI"] })).toMatchObject({ ok: true, result: { subscriptions: 0 } })
    const before = watcher.frames.length
    await buyer.request("after", "hold.create", { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })
    await new Promise((r) => setTimeout(r, 400))
    expect(watcher.frames.length).toBe(before)
    watcher.close()
    buyer.close()
  })

  it("refuses more than subscriptionsPerConnectionMax subscriptions and keeps the connection", async () => {
    const c = await open()
    expect(await c.request(1, "availability.subscribe", { skus: ["TV-55", "HDMI"] })).toMatchObject({ ok: true })
    expect(await c.request(2, "availability.subscribe", { skus: ["SOUNDBAR", "X1"] })).toMatchObject({ ok: false, error: { code: "too_many_subscriptions" } })
    expect(await c.request(3, "availability.subscribe", { skus: ["A", "B", "C", "D"] })).toMatchObject({ ok: false, error: { code: "too_many_skus" } })
    expect(await c.request(4, "ping")).toMatchObject({ ok: true })
    c.close()
  })
})

describe("bad frames", () => {
  it("answers malformed JSON, unknown ops, wrong fields and oversized frames with named codes", async () => {
    const c = await open()
    c.sendRaw("{not json")
    expect((await c.waitFor((f) => f.id === null && (f.error as any)?.code === "malformed_json")).ok).toBe(false)
    expect(await c.request("u", "launch.rockets")).toMatchObject({ ok: false, error: { code: "unknown_op" } })
    const wrong = await c.request("w", "hold.create", { sku: "TV-55", qty: "two" })
    expect(wrong).toMatchObject({ ok: false, error: { code: "invalid_frame" } })
    expect((wrong.error as any).message).toContain("qty")
    expect(await c.request("x", "ping", { extra: 1 })).toMatchObject({ ok: false, error: { code: "invalid_frame" } })
    c.sendRaw(JSON.stringify({ id: "big", op: "ping", pad: "x".repeat(5000) }))
    expect(await c.waitFor((f) => (f.error as any)?.code === "frame_too_large")).toMatchObject({ id: null, ok: false })
    // five bad frames so far (the limit): the connection is still open and serves
    expect(await c.request("ok", "ping")).toMatchObject({ ok: true })
    // one more bad frame closes it with 4000
    c.sendRaw("[]")
    expect(await c.waitClosed()).toBe(4000)
  })

  it("closes with 1009 a frame above frameBytesHardMax", async () => {
    const c = await open()
    c.sendRaw(Buffer.alloc(1024 * 1024 + 10, 32))
    // uWebSockets.js closes with 1009; a client still writing the frame may only see the abrupt close (1006)
    expect([1006, 1009]).toContain(await c.waitClosed())
  })
})

describe("WS authentication", () => {
  it("refuses a missing or unknown key with 401 and a node key with 403", async () => {
    await expect(FrameClient.open(t.wsUrl)).rejects.toMatchObject({ status: 401 })
    await expect(open("nope-nope-nope")).rejects.toMatchObject({ status: 401 })
    await expect(open(keys.dallas)).rejects.toMatchObject({ status: 403 })
    const res = await call(t.url, "GET", "/v1/ws")
    expect(res.status).toBeGreaterThanOrEqual(400)
  })

  it("keeps a storefront to its channel", async () => {
    const web = await open(keys.web)
    const placed = await web.request(1, "order.place", { externalId: "SCOPE-1", lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })
    const orderId = (placed.result as any).order.orderId
    const market = await open(keys.marketplace)
    expect(await market.request(1, "order.get", { orderId })).toMatchObject({ ok: false, error: { code: "order_not_found" } })
    expect(await market.request(2, "order.subscribe", { orderId })).toMatchObject({ ok: false, error: { code: "order_not_found" } })
    expect(await market.request(3, "order.cancel", { orderId })).toMatchObject({ ok: false, error: { code: "order_not_found" } })
    expect(await web.request(2, "order.get", { orderId })).toMatchObject({ ok: true })
    web.close()
    market.close()
  })
})
