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
import { places } from "../testing/fixture.ts"
import { poolHarness, type PoolHarness } from "../testing/actors.ts"
import { createHold, extendHold, releaseHold } from "./hold-commands.ts"
import { adjustStock, loadInventory, receiveStock, setSafetyStock } from "./inventory-commands.ts"
import { decidePlaceHold, dueHoldExpiries } from "./pool-actor.ts"
import { executePoolCommand } from "./pool-commands.ts"
import { poolView } from "./pool-views.ts"

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
    expect(code(createHold({ type: "hold.create", channel: "web", sku: "TV-55", qty: 3, key: "cart-1" }, h.ctx))).toBe("exists_with_different_lines")
    expect(h.events.filter((e) => e.type === "HoldPlaced")).toHaveLength(1)
  })

  it("extends and releases a live hold of the same channel only", () => {
    const placed = createHold({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, nodeId: "WH-DAL" }, h.ctx)
    const holdId = placed.ok ? placed.hold!.holdId : ""
    h.now += 1_000
    expect(code(extendHold({ type: "hold.extend", channel: "marketplace", holdId, ttlMs: 60_000 }, h.ctx))).toBe("hold_foreign")
    expect(extendHold({ type: "hold.extend", channel: "web", holdId, ttlMs: 60_000 }, h.ctx)).toMatchObject({ hold: { holdId, expiresAt: h.now + 60_000 } })
    expect(releaseHold({ type: "hold.release", channel: "web", holdId }, h.ctx)).toMatchObject({ hold: { holdId, qty: 2 } })
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
