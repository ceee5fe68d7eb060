/**
 * Cart holds and checkout as a storefront sees them, over WS frames and HTTP
 * (both decode the same command schema), against a started gateway with the
 * engine's default limits and a manual engine clock: one key cannot hold a
 * whole product (per-cart limit, channel share), holds live at most a
 * lifetime and a number of extensions and are never shortened, an ended hold
 * answers its final state and keeps its key, order.place can refuse rather
 * than backorder, and a key reads which nodes its channel sells from.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaults } from "../engine/index.ts"
import { ManualClock, places } from "../engine/testing/fixture.ts"
import { RemoteEngine } from "./engine-access.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway
const clock = new ManualClock()

beforeAll(async () => {
  t = await startTestGateway({
    clock: clock.now,
    // TV-55: 100 units; HDMI: 300; SOUNDBAR: 8
    stock: [["TV-55", "WH-DAL", 60], ["TV-55", "WH-COL", 40], ["HDMI", "WH-DAL", 300], ["SOUNDBAR", "WH-COL", 8]]
  })
})
afterAll(() => t.close())

const http = (method: string, path: string, key?: string, body?: unknown) => call(t.url, method, path, key, body)
const open = (key: string = keys.web) => FrameClient.open(`${t.wsUrl}?key=${key}`)
const errorOf = (f: Record<string, unknown>) => (f.error as { code: string } | undefined)?.code
const holdOf = (f: Record<string, unknown>) => (f.result as { hold: Record<string, any> }).hold

describe("one key cannot hold a whole product", () => {
  it("keeps one channel's holds within holdChannelSharePercentMax of the SKU, over HTTP and WS", async () => {
    expect(defaults.holdChannelSharePercentMax).toBe(50)
    for (const cartId of ["s1", "s2"]) {
      expect(await http("POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 20, cartId })).toMatchObject({ status: 201, body: { hold: { qty: 20, cartId } } })
    }
    // 40 held, 60 left: at most 50 of the 100
    expect(await http("POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 20, cartId: "s3" }))
      .toMatchObject({ status: 409, body: { error: { code: "hold_channel_share" } } })
    const c = await open()
    expect(errorOf(await c.request(1, "hold.create", { sku: "TV-55", qty: 11, cartId: "s3" }))).toBe("hold_channel_share")
    expect(await c.request(2, "hold.create", { sku: "TV-55", qty: 10, cartId: "s3" })).toMatchObject({ ok: true })
    expect(errorOf(await c.request(3, "hold.create", { sku: "TV-55", qty: 1, cartId: "s4" }))).toBe("hold_channel_share")
    // the refusals changed nothing: 50 held by web, and another channel may hold half of what is left
    expect((await http("GET", "/v1/availability?skus=TV-55", keys.web)).body.items[0].atp).toBe(50)
    expect(await http("POST", "/v1/holds", keys.marketplace, { sku: "TV-55", qty: 25 })).toMatchObject({ status: 201 })
    expect(await http("POST", "/v1/holds", keys.marketplace, { sku: "TV-55", qty: 1 })).toMatchObject({ status: 409, body: { error: { code: "hold_channel_share" } } })
    c.close()
  })

  it("keeps one cart, one customer, and one hold naming neither within holdUnitsPerCartMax units of a SKU", async () => {
    expect(defaults.holdUnitsPerCartMax).toBe(50)
    const c = await open()
    expect(await c.request(1, "hold.create", { sku: "HDMI", qty: 30, cartId: "cart-1", customerId: "cust-1" })).toMatchObject({ ok: true })
    expect(errorOf(await c.request(2, "hold.create", { sku: "HDMI", qty: 21, cartId: "cart-1" }))).toBe("hold_cart_limit")
    expect(await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 21, cartId: "cart-2", customerId: "cust-1" }))
      .toMatchObject({ status: 409, body: { error: { code: "hold_cart_limit" } } })
    expect(await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 20, cartId: "cart-1" })).toMatchObject({ status: 201 })
    expect(await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 51 })).toMatchObject({ status: 409, body: { error: { code: "hold_cart_limit" } } })
    // a field of the wrong shape is the gateway's refusal, on both transports
    expect(errorOf(await c.request(3, "hold.create", { sku: "HDMI", qty: 1, cartId: 7 }))).toBe("invalid_frame")
    expect(await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 1, customerId: ["x"] })).toMatchObject({ status: 400, body: { error: { code: "invalid_frame" } } })
    c.close()
  })
})

describe("hold lifetime and extensions", () => {
  it("never shortens a hold, and stops extending at holdExtendsMax and at holdLifetimeMsMax from creation", async () => {
    const created = await http("POST", "/v1/holds", keys.web, { sku: "SOUNDBAR", qty: 1, ttlMs: 600_000 })
    const { holdId, expiresAt, placedAt } = created.body.hold
    clock.advance(1_000)
    // shorter than what is left: the hold as it was
    expect(await http("POST", `/v1/holds/${holdId}/extend`, keys.web, { ttlMs: 60_000 })).toMatchObject({ status: 200, body: { hold: { expiresAt, extensions: 0 } } })
    const c = await open()
    for (let i = 1; i <= defaults.holdExtendsMax; i++) {
      clock.advance(1_000)
      expect(await c.request(i, "hold.extend", { holdId, ttlMs: 600_000 })).toMatchObject({ ok: true, result: { hold: { expiresAt: clock.t + 600_000, extensions: i } } })
    }
    clock.advance(1_000)
    expect(errorOf(await c.request("over", "hold.extend", { holdId, ttlMs: 600_000 }))).toBe("hold_extends_exceeded")
    expect(await http("POST", `/v1/holds/${holdId}/extend`, keys.web, { ttlMs: 600_000 })).toMatchObject({ status: 409, body: { error: { code: "hold_extends_exceeded" } } })

    const day = await http("POST", "/v1/holds", keys.web, { sku: "SOUNDBAR", qty: 1, ttlMs: defaults.holdTtlMsMax })
    clock.advance(1_000)
    const long = await c.request("life", "hold.extend", { holdId: day.body.hold.holdId, ttlMs: defaults.holdTtlMsMax })
    expect(errorOf(long)).toBe("hold_lifetime_exceeded")
    expect(placedAt).toBeLessThan(clock.t)
    c.close()
  })
})

describe("ended holds and their keys", () => {
  it("answers hold.get of a released, expired or converted hold with its final state, and unknown ids with hold_not_found", async () => {
    const c = await open()
    const released = holdOf(await c.request(1, "hold.create", { sku: "HDMI", qty: 1, ttlMs: 60_000 }))
    const releasedAt = clock.t
    expect(await http("DELETE", `/v1/holds/${released.holdId}`, keys.web)).toMatchObject({ status: 200, body: { hold: { status: "released", endedAt: releasedAt } } })
    expect(await c.request(2, "hold.get", { holdId: released.holdId })).toMatchObject({ ok: true, result: { hold: { status: "released", endedAt: releasedAt, qty: 1 } } })

    const expiring = holdOf(await c.request(3, "hold.create", { sku: "HDMI", qty: 1, ttlMs: 5_000 }))
    clock.advance(5_000)
    await t.engine.flush()
    expect(await http("GET", `/v1/holds/${expiring.holdId}`, keys.web)).toMatchObject({ status: 200, body: { hold: { status: "expired", endedAt: expiring.expiresAt } } })
    expect(errorOf(await c.request(4, "hold.extend", { holdId: expiring.holdId, ttlMs: 60_000 }))).toBe("hold_expired")

    const converted = holdOf(await c.request(5, "hold.create", { sku: "HDMI", qty: 2 }))
    const placed = await http("POST", "/v1/orders", keys.web, {
      externalId: "HOLD-CONV-1", lines: [{ sku: "HDMI", qty: 2 }], customer: { location: places.dallas }, holdIds: [converted.holdId], payment: "authorised"
    })
    expect(placed.status).toBe(201)
    expect(await c.request(6, "hold.get", { holdId: converted.holdId })).toMatchObject({ ok: true, result: { hold: { status: "converted", endedAt: clock.t } } })

    // another channel still cannot see it; an id never issued is not found
    expect(await http("GET", `/v1/holds/${converted.holdId}`, keys.marketplace)).toMatchObject({ status: 404, body: { error: { code: "hold_not_found" } } })
    expect(errorOf(await c.request(7, "hold.get", { holdId: "h0-zzzz" }))).toBe("hold_not_found")
    c.close()
  })

  it("keeps a hold's key after the hold ended: a retry answers the ended hold, other lines are hold_key_conflict", async () => {
    const first = await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 3, key: "cart-77-hdmi" })
    const holdId = first.body.hold.holdId
    expect(await http("POST", `/v1/holds/${holdId}/release`, keys.web)).toMatchObject({ status: 200 })
    const c = await open()
    expect(await c.request(1, "hold.create", { sku: "HDMI", qty: 3, key: "cart-77-hdmi" }))
      .toMatchObject({ ok: true, result: { existing: true, hold: { holdId, status: "released" } } })
    expect(errorOf(await c.request(2, "hold.create", { sku: "HDMI", qty: 4, key: "cart-77-hdmi" }))).toBe("hold_key_conflict")
    expect(await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 4, key: "cart-77-hdmi" })).toMatchObject({ status: 409, body: { error: { code: "hold_key_conflict" } } })
    // a live hold's key too
    const live = await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 1, key: "cart-78-hdmi" })
    expect(await http("POST", "/v1/holds", keys.web, { sku: "SOUNDBAR", qty: 1, key: "cart-78-hdmi" })).toMatchObject({ status: 201 })
    expect(await http("POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 2, key: "cart-78-hdmi" })).toMatchObject({ status: 409, body: { error: { code: "hold_key_conflict" } } })
    expect(live.status).toBe(201)
    c.close()
  })
})

describe("order.place onShortage", () => {
  it("refuses with insufficient_stock and places nothing when asked to reject; backorders by default", async () => {
    const order = (externalId: string, extra: Record<string, unknown> = {}) =>
      ({ externalId, lines: [{ sku: "SOUNDBAR", qty: 50 }], customer: { location: places.dallas }, payment: "authorised", ...extra })
    const before = (await http("GET", "/v1/availability?skus=SOUNDBAR", keys.web)).body.items[0].atp
    expect(await http("POST", "/v1/orders", keys.web, order("SHORT-1", { onShortage: "reject" })))
      .toMatchObject({ status: 409, body: { error: { code: "insufficient_stock" } } })
    const c = await open()
    expect(errorOf(await c.request(1, "order.place", order("SHORT-2", { onShortage: "reject" })))).toBe("insufficient_stock")
    expect(errorOf(await c.request(2, "order.place", order("SHORT-3", { onShortage: "never" })))).toBe("invalid_frame")
    expect(await http("GET", "/v1/orders?externalId=SHORT-1", keys.web)).toMatchObject({ status: 404 })
    expect((await http("GET", "/v1/availability?skus=SOUNDBAR", keys.web)).body.items[0].atp).toBe(before)
    const backordered = await c.request(3, "order.place", order("SHORT-4"))
    expect(backordered).toMatchObject({ ok: true })
    expect((backordered.result as any).order.lines[0].backordered).toBeGreaterThan(0)
    c.close()
  })
})

describe("which nodes a channel sells from", () => {
  it("answers channel.get and GET /v1/channel with the key's policy and nodes", async () => {
    const market = await http("GET", "/v1/channel", keys.marketplace)
    expect(market).toMatchObject({ status: 200, body: { channel: "marketplace", policy: { shipFromStore: false, maxSplits: 1 } } })
    const byId = Object.fromEntries(market.body.nodes.map((n: any) => [n.nodeId, n]))
    expect(byId["WH-DAL"]).toMatchObject({ kind: "warehouse", status: "online", ships: true })
    expect(byId["ST-HOU"]).toMatchObject({ kind: "store", ships: false })
    const c = await open()
    const web = await c.request(1, "channel.get")
    expect(web).toMatchObject({ ok: true, result: { channel: "web", policy: { shipFromStore: true } } })
    expect((web.result as any).nodes.find((n: any) => n.nodeId === "ST-HOU")).toMatchObject({ ships: true })
    expect(errorOf(await c.request(2, "channel.get", { channel: "marketplace" }))).toBe("invalid_frame")
    expect(await http("GET", "/v1/channel", keys.ops)).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } })
    c.close()
  })

  it("serves the channels to edge gateways through the internal route", async () => {
    const remote = new RemoteEngine(t.url, keys.internal, 5_000)
    expect((await remote.channels()).map((c) => c.channel)).toEqual(["web", "marketplace"])
  })

  it("names the ops token's kind in good English when it may not write", async () => {
    const refused = await http("POST", "/v1/holds", keys.ops, { sku: "HDMI", qty: 1 })
    expect(refused).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } })
    expect(refused.body.error.message).toContain("not an ops key")
    const ops = await open(keys.ops)
    const write = await ops.request(1, "hold.create", { sku: "HDMI", qty: 1 })
    expect(write).toMatchObject({ ok: false, error: { code: "forbidden" } })
    expect((write.error as { message: string }).message).toContain("an ops key cannot act for a sales channel")
    ops.close()
  })
})
