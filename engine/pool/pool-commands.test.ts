/**
 * The StockPool actors' command handlers in isolation: a hand-built
 * PoolContext around one partition's pools (engine/testing/actors.ts), no
 * runtime, no journal. Holds (place, idempotent key, node choice, extend,
 * release, expiry) and inventory (receive, adjust by delta and count, safety
 * stock, bulk load), each checked by the events it makes and the pool it leaves.
 */
import { beforeEach, describe, expect, it } from "vitest"
import type { Reply } from "../domain/replies.ts"
import { evolveNetwork } from "../network/network-actor.ts"
import { poolHarness, type PoolHarness } from "../testing/actors.ts"
import { createHold, extendHold, releaseHold } from "./hold-commands.ts"
import { adjustStock, loadInventory, receiveStock, setSafetyStock } from "./inventory-commands.ts"
import { decidePlaceHold, dueHoldExpiries } from "./pool-actor.ts"
import { executePoolCommand } from "./pool-commands.ts"
import { holdViewAt, poolView } from "./pool-views.ts"
import type { EngineConfig } from "../config.ts"
import type { CreateHold } from "../domain/commands.ts"
import { places, testConfig } from "../testing/fixture.ts"

let h: PoolHarness
const code = (r: Reply) => (r.ok ? "ok" : r.code)
const pool = (sku: string, nodeId: string) => poolView(h.stock, h.ctx.net, sku, nodeId)
const receive = (sku: string, nodeId: string, qty: number) => receiveStock({ type: "inventory.receive", sku, nodeId, qty }, h.ctx)

beforeEach(() => {
  h = poolHarness()
})

describe("holds", () => {
  beforeEach(() => {
    receive("TV-55", "WH-DAL", 5)
    receive("TV-55", "WH-COL", 8)
    h.events.length = 0
  })

  it("places a hold at the node named, for its TTL, and holds the units", () => {
    const r = createHold({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, nodeId: "WH-DAL", ttlMs: 60_000 }, h.ctx)
    expect(r).toMatchObject({ ok: true, hold: { channel: "web", sku: "TV-55", nodeId: "WH-DAL", qty: 2, expiresAt: h.now + 60_000 } })
    expect(h.events).toEqual([expect.objectContaining({ type: "HoldPlaced", holdId: r.ok ? r.hold!.holdId : "", qty: 2, key: null })])
    expect(pool("TV-55", "WH-DAL")).toMatchObject({ onHand: 5, held: 2, atp: 3 })
  })

  it("chooses the node with most stock, or the one routing would ship from for a location", () => {
    expect(createHold({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1 }, h.ctx)).toMatchObject({ hold: { nodeId: "WH-COL" } })
    expect(createHold({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, location: places.austin }, h.ctx)).toMatchObject({ hold: { nodeId: "WH-DAL" } })
    expect(code(createHold({ type: "hold.create", channel: "web", sku: "TV-55", qty: 9 }, h.ctx))).toBe("insufficient_stock")
  })

  it("refuses what it may not hold, and changes nothing", () => {
    const refused = [
      [{ channel: "web", sku: "TV-55", qty: 6, nodeId: "WH-DAL" }, "insufficient_stock"],
      [{ channel: "web", sku: "TV-55", qty: 0, nodeId: "WH-DAL" }, "quantity_must_be_positive"],
      [{ channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL", ttlMs: 10 }, "ttl_out_of_range"],
      [{ channel: "nope", sku: "TV-55", qty: 1 }, "unknown_channel"],
      [{ channel: "web", sku: "NOPE", qty: 1 }, "unknown_sku"],
      [{ channel: "web", sku: "TV-55", qty: 1, nodeId: "NOPE" }, "unknown_node"],
      [{ channel: "web", sku: "TV-55", qty: 1, nodeId: "ST-HOU" }, "node_not_available"]
    ] as const
    evolveNetwork(h.ctx.net, { type: "NodeStatusChanged", nodeId: "ST-HOU", status: "paused", reason: "", at: h.now })
    for (const [c, expected] of refused) expect(code(createHold({ type: "hold.create", ...c }, h.ctx)), expected).toBe(expected)
    expect(h.events).toEqual([])
  })

  it("answers a repeated key with the same hold, and another request under the key with a conflict", () => {
    const first = createHold({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, key: "cart-1" }, h.ctx)
    const again = createHold({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, key: "cart-1" }, h.ctx)
    expect(again).toEqual({ ...first, existing: true })
    expect(code(createHold({ type: "hold.create", channel: "web", sku: "TV-55", qty: 3, key: "cart-1" }, h.ctx))).toBe("hold_key_conflict")
    expect(h.events.filter((e) => e.type === "HoldPlaced")).toHaveLength(1)
  })

  it("extends and releases a live hold of the same channel only", () => {
    const placed = createHold({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, nodeId: "WH-DAL" }, h.ctx)
    const holdId = placed.ok ? placed.hold!.holdId : ""
    h.now += 1_000
    expect(code(extendHold({ type: "hold.extend", channel: "marketplace", holdId, ttlMs: 60_000 }, h.ctx))).toBe("hold_foreign")
    expect(extendHold({ type: "hold.extend", channel: "web", holdId, ttlMs: 20 * 60_000 }, h.ctx)).toMatchObject({ hold: { holdId, expiresAt: h.now + 20 * 60_000, extensions: 1, status: "active" } })
    expect(releaseHold({ type: "hold.release", channel: "web", holdId }, h.ctx)).toMatchObject({ hold: { holdId, qty: 2, status: "released", endedAt: h.now } })
    expect(h.events.map((e) => e.type)).toEqual(["HoldPlaced", "HoldExtended", "HoldEnded"])
    expect(pool("TV-55", "WH-DAL")).toMatchObject({ held: 0, atp: 5 })
    expect(code(releaseHold({ type: "hold.release", channel: "web", holdId }, h.ctx))).toBe("hold_used")
    expect(code(releaseHold({ type: "hold.release", channel: "web", holdId: "h7-1" }, h.ctx))).toBe("hold_not_found")
  })

  it("expires a hold when its TTL has run out, and a late extension hears so", () => {
    const placed = decidePlaceHold(h.stock, h.ctx.net, "web", "TV-55", "WH-DAL", 2, 5_000, null, h.now)
    if ("ok" in placed) throw new Error(placed.code)
    h.ctx.emit(placed)
    expect(dueHoldExpiries(h.stock, h.now + 4_999)).toEqual([])
    const due = dueHoldExpiries(h.stock, h.now + 5_000)
    expect(due).toEqual([expect.objectContaining({ type: "HoldEnded", holdId: placed.holdId, reason: "expired" })])
    for (const e of due) h.ctx.emit(e)
    h.now += 5_000
    expect(code(extendHold({ type: "hold.extend", channel: "web", holdId: placed.holdId, ttlMs: 60_000 }, h.ctx))).toBe("hold_expired")
  })
})

describe("hold limits", () => {
  const limited = (overrides: Partial<EngineConfig>) => {
    h = poolHarness(undefined, testConfig({ partitions: 1, ...overrides }))
    receive("TV-55", "WH-DAL", 5)
    receive("TV-55", "WH-COL", 8)
    h.events.length = 0
  }
  const hold = (c: Partial<CreateHold> & { qty: number }, channel = "web") => createHold({ type: "hold.create", channel, sku: "TV-55", ...c }, h.ctx)
  const holdIdOf = (r: Reply) => (r.ok ? r.hold!.holdId : `refused: ${r.code}`)

  it("never shortens a hold: an extension to before its expiry answers it unchanged and journals nothing", () => {
    limited({})
    const placed = hold({ qty: 1, nodeId: "WH-DAL", ttlMs: 30 * 60_000 })
    h.now += 1_000
    const r = extendHold({ type: "hold.extend", channel: "web", holdId: holdIdOf(placed), ttlMs: 60_000 }, h.ctx)
    expect(r).toMatchObject({ ok: true, hold: { expiresAt: h.now - 1_000 + 30 * 60_000, extensions: 0 } })
    expect(h.events.map((e) => e.type)).toEqual(["HoldPlaced"])
  })

  it("keeps one cart, one customer, and one hold without either within holdUnitsPerCartMax units of a SKU", () => {
    limited({ holdUnitsPerCartMax: 3, holdChannelSharePercentMax: 100 })
    receive("TV-55", "WH-COL", 10)
    expect(code(hold({ qty: 2, cartId: "c1" }))).toBe("ok")
    expect(code(hold({ qty: 2, cartId: "c1" }))).toBe("hold_cart_limit")
    expect(code(hold({ qty: 1, cartId: "c1", nodeId: "WH-DAL" }))).toBe("ok")
    // another cart, the same customer as a cart above is not: customers are counted on their own
    expect(code(hold({ qty: 3, cartId: "c2", customerId: "u1" }))).toBe("ok")
    expect(code(hold({ qty: 1, cartId: "c3", customerId: "u1" }))).toBe("hold_cart_limit")
    // the same cart id in another channel is another cart
    expect(code(hold({ qty: 3, cartId: "c1" }, "marketplace"))).toBe("ok")
    // a hold naming no cart and no customer counts alone
    expect(code(hold({ qty: 4 }))).toBe("hold_cart_limit")
    expect(code(hold({ qty: 3 }))).toBe("ok")
    // a refusal changes nothing; a release gives the cart its room back
    expect(h.events.filter((e) => e.type === "HoldPlaced")).toHaveLength(5)
    const first = h.events.find((e) => e.type === "HoldPlaced")! as { holdId: string }
    releaseHold({ type: "hold.release", channel: "web", holdId: first.holdId }, h.ctx)
    expect(code(hold({ qty: 2, cartId: "c1" }))).toBe("ok")
  })

  it("keeps one channel's holds within holdChannelSharePercentMax of the SKU's ATP", () => {
    limited({ holdUnitsPerCartMax: 100, holdChannelSharePercentMax: 50 })
    // 13 units: web's holds may take ceil(13 / 2) = 7
    expect(code(hold({ qty: 3 }))).toBe("ok")
    expect(code(hold({ qty: 3 }))).toBe("ok")
    expect(code(hold({ qty: 2 }))).toBe("hold_channel_share")
    expect(code(hold({ qty: 1 }))).toBe("ok")
    expect(code(hold({ qty: 1 }))).toBe("hold_channel_share")
    expect(pool("TV-55", "WH-DAL").held + pool("TV-55", "WH-COL").held).toBe(7)
    // another channel sees the 6 left: it may hold 3
    expect(code(hold({ qty: 3 }, "marketplace"))).toBe("ok")
    expect(code(hold({ qty: 1 }, "marketplace"))).toBe("hold_channel_share")
    // a last unit may always be held (the share rounds up)
    limited({ holdChannelSharePercentMax: 1 })
    expect(code(hold({ qty: 1 }))).toBe("ok")
    expect(code(hold({ qty: 1 }))).toBe("hold_channel_share")
  })

  it("ends extensions at holdLifetimeMsMax from creation and after holdExtendsMax extensions", () => {
    limited({ holdTtlMsMin: 1_000, holdTtlMsDefault: 30_000, holdTtlMsMax: 60_000, holdLifetimeMsMax: 100_000, holdExtendsMax: 2 })
    const placedAt = h.now
    const holdId = holdIdOf(hold({ qty: 1, ttlMs: 60_000 }))
    const extend = (ttlMs: number) => extendHold({ type: "hold.extend", channel: "web", holdId, ttlMs }, h.ctx)
    h.now += 30_000
    expect(extend(60_000)).toMatchObject({ hold: { expiresAt: placedAt + 90_000, extensions: 1 } })
    h.now += 20_000
    expect(code(extend(60_000))).toBe("hold_lifetime_exceeded")
    expect(extend(50_000)).toMatchObject({ hold: { expiresAt: placedAt + 100_000, extensions: 2 } })
    h.now += 10_000
    // a shorter ask is not an extension: no count, no refusal
    expect(extend(5_000)).toMatchObject({ ok: true, hold: { expiresAt: placedAt + 100_000, extensions: 2 } })
    const other = holdIdOf(hold({ qty: 1, ttlMs: 2_000 }))
    for (const ttlMs of [3_000, 4_000]) expect(code(extendHold({ type: "hold.extend", channel: "web", holdId: other, ttlMs }, h.ctx))).toBe("ok")
    expect(code(extendHold({ type: "hold.extend", channel: "web", holdId: other, ttlMs: 5_000 }, h.ctx))).toBe("hold_extends_exceeded")
    expect(h.events.filter((e) => e.type === "HoldExtended")).toHaveLength(4)
  })

  it("keeps a key naming its hold after the hold ended, within the retention, and answers the hold's final state", () => {
    limited({ holdsEndedRetainedMax: 2, holdEndedRetentionMs: 60_000 })
    const first = hold({ qty: 2, key: "k1" })
    const holdId = holdIdOf(first)
    releaseHold({ type: "hold.release", channel: "web", holdId }, h.ctx)
    h.now += 1_000
    const again = hold({ qty: 2, key: "k1" })
    expect(again).toMatchObject({ ok: true, existing: true, hold: { holdId, status: "released", endedAt: h.now - 1_000 } })
    expect(code(hold({ qty: 3, key: "k1" }))).toBe("hold_key_conflict")
    expect(h.events.filter((e) => e.type === "HoldPlaced")).toHaveLength(1)
    expect(holdViewAt(h.stock, holdId, h.now)).toMatchObject({ holdId, status: "released", qty: 2 })
    // past the retention time the key is free and the hold unknown
    h.now += 60_000
    expect(holdViewAt(h.stock, holdId, h.now)).toBeUndefined()
    expect(code(releaseHold({ type: "hold.release", channel: "web", holdId }, h.ctx))).toBe("hold_not_found")
    const renewed = hold({ qty: 3, key: "k1" })
    expect(renewed).toMatchObject({ ok: true, hold: { status: "active", qty: 3 } })
    expect(holdIdOf(renewed)).not.toBe(holdId)
    // past the count, the oldest ended go first
    const ids = [1, 2, 3].map((i) => holdIdOf(hold({ qty: 1, key: `n${i}` })))
    for (const id of ids) releaseHold({ type: "hold.release", channel: "web", holdId: id }, h.ctx)
    expect(ids.map((id) => holdViewAt(h.stock, id, h.now)?.status)).toEqual([undefined, "released", "released"])
    expect(h.stock.ended.size).toBe(2)
  })
})

describe("inventory", () => {
  it("receives stock, never above onHandMax", () => {
    expect(receive("HDMI", "WH-DAL", 10)).toMatchObject({ ok: true, pool: { onHand: 10, atp: 10 } })
    expect(code(receive("HDMI", "WH-DAL", 0))).toBe("quantity_must_be_positive")
    expect(code(receive("HDMI", "NOPE", 1))).toBe("unknown_node")
    expect(h.events.map((e) => e.type)).toEqual(["StockReceived"])
  })

  it("adjusts by a delta or to a count, never below what is held", () => {
    receive("HDMI", "WH-DAL", 10)
    createHold({ type: "hold.create", channel: "web", sku: "HDMI", qty: 4, nodeId: "WH-DAL" }, h.ctx)
    expect(adjustStock({ type: "inventory.adjust", sku: "HDMI", nodeId: "WH-DAL", delta: -3, reason: "damaged" }, h.ctx)).toMatchObject({ pool: { onHand: 7, held: 4 } })
    expect(code(adjustStock({ type: "inventory.adjust", sku: "HDMI", nodeId: "WH-DAL", delta: -4, reason: "lost" }, h.ctx))).toBe("below_reserved")
    expect(adjustStock({ type: "inventory.adjust", sku: "HDMI", nodeId: "WH-DAL", count: 9, reason: "cycle count" }, h.ctx)).toMatchObject({ pool: { onHand: 9 } })
    const before = h.events.length
    expect(adjustStock({ type: "inventory.adjust", sku: "HDMI", nodeId: "WH-DAL", count: 9, reason: "cycle count" }, h.ctx)).toMatchObject({ pool: { onHand: 9 } })
    expect(h.events.length).toBe(before)
    expect(code(adjustStock({ type: "inventory.adjust", sku: "HDMI", nodeId: "WH-DAL", delta: 1, count: 1, reason: "both" }, h.ctx))).toBe("malformed_command")
    expect(h.events.filter((e) => e.type === "StockAdjusted").map((e) => (e.type === "StockAdjusted" ? e.delta : 0))).toEqual([-3, 2])
  })

  it("sets safety stock, which takes units out of ATP", () => {
    receive("HDMI", "WH-DAL", 10)
    expect(setSafetyStock({ type: "inventory.setSafetyStock", sku: "HDMI", nodeId: "WH-DAL", qty: 3 }, h.ctx)).toMatchObject({ pool: { safetyStock: 3, atp: 7 } })
  })

  it("loads absolute counts: every row checked first, then all applied", () => {
    receive("HDMI", "WH-DAL", 10)
    h.events.length = 0
    const bad = loadInventory({ type: "inventory.load", rows: [{ sku: "HDMI", nodeId: "WH-DAL", onHand: 4 }, { sku: "HDMI", nodeId: "NOPE", onHand: 1 }] }, h.ctx)
    expect(bad).toMatchObject({ ok: false, code: "unknown_node", message: expect.stringContaining("row 2: ") })
    expect(h.events).toEqual([])
    const r = loadInventory({ type: "inventory.load", reference: "erp", rows: [{ sku: "HDMI", nodeId: "WH-DAL", onHand: 4, safetyStock: 1 }, { sku: "TV-55", nodeId: "WH-COL", onHand: 2 }] }, h.ctx)
    expect(r).toEqual({ ok: true })
    expect(h.events).toEqual([
      expect.objectContaining({ type: "StockAdjusted", sku: "HDMI", delta: -6, reason: "load:erp" }),
      expect.objectContaining({ type: "SafetyStockSet", sku: "HDMI", qty: 1 }),
      expect.objectContaining({ type: "StockAdjusted", sku: "TV-55", nodeId: "WH-COL", delta: 2 })
    ])
  })

  it("runs each command through the pools' command table", () => {
    expect(executePoolCommand({ type: "inventory.receive", sku: "SOUNDBAR", nodeId: "ST-AUS", qty: 2 }, h.ctx)).toMatchObject({ pool: { onHand: 2 } })
  })
})
