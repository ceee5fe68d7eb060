import { describe, expect, it } from "vitest"
import { commandTypes } from "../domain/commands.ts"
import { distanceKm, isLatLon } from "../domain/network.ts"
import { demoCommands, demoNetwork, regionOf, seededRandom } from "./network.ts"

describe("demo network", () => {
  const demo = demoNetwork()

  it("has the default counts: 5 warehouses, 40 stores, 200 SKUs, 5 doorbusters, 4 channels", () => {
    expect(demo.nodes.filter((n) => n.kind === "warehouse").length).toBe(5)
    expect(demo.nodes.filter((n) => n.kind === "store").length).toBe(40)
    expect(demo.skus.length).toBe(200)
    expect(demo.catalog.filter((c) => c.doorbuster).length).toBe(5)
    expect(demo.channels.map((c) => c.channel)).toEqual(["web", "marketplace", "store", "b2b"])
    expect(demo.carriers.map((c) => [c.carrier, c.services.map((s) => s.service)])).toEqual([
      ["parcelco", ["ground", "two_day", "overnight"]], ["swiftship", ["ground", "two_day", "overnight"]]
    ])
  })

  it("is deterministic, and the seed changes it", () => {
    expect(demoNetwork()).toEqual(demo)
    expect(demoCommands()).toEqual(demoCommands())
    const other = demoNetwork({ seed: 99 })
    expect(other.inventory).not.toEqual(demo.inventory)
    const small = demoNetwork({ warehouses: 2, stores: 5, skus: 10, doorbusters: 1 })
    expect(small.nodes.length).toBe(7)
    expect(small.skus.length).toBe(10)
  })

  it("puts nodes at valid, distinct US coordinates with realistic capacities and services", () => {
    const ids = new Set(demo.nodes.map((n) => n.nodeId))
    expect(ids.size).toBe(demo.nodes.length)
    for (const n of demo.nodes) {
      expect(isLatLon(n.location)).toBe(true)
      expect(n.location.lat).toBeGreaterThan(24)
      expect(n.location.lat).toBeLessThan(50)
      expect(n.location.lon).toBeGreaterThan(-125)
      expect(n.location.lon).toBeLessThan(-66)
      expect(n.groups ?? []).toContain(regionOf(n.location))
      if (n.kind === "warehouse") {
        expect(n.nodeId).toMatch(/^WH-/)
        expect(n.capacityPerDay).toBeGreaterThanOrEqual(5_000)
        expect(n.capacityPerDay).toBeLessThanOrEqual(20_000)
        expect(n.services).toEqual(["ship"])
        expect(n.groups).toContain("warehouses")
      } else {
        expect(n.nodeId).toMatch(/^ST-/)
        expect(n.capacityPerDay).toBeGreaterThanOrEqual(100)
        expect(n.capacityPerDay).toBeLessThanOrEqual(400)
        expect(n.services).toEqual(["ship", "pickup"])
        expect(n.groups).toContain("stores")
      }
    }
    // Stores are spread out: no two nodes in the same spot.
    for (const a of demo.nodes) {
      for (const b of demo.nodes) if (a !== b) expect(distanceKm(a.location, b.location)).toBeGreaterThan(1)
    }
    expect(new Set(demo.nodes.map((n) => n.groups?.[0]))).toEqual(new Set(["west", "central", "east"]))
    expect(demo.nodes.find((n) => n.nodeId === "WH-Dallas")?.groups).toEqual(["central", "warehouses"])
  })

  it("has a catalog with unique SKUs and names, positive weights and prices", () => {
    expect(new Set(demo.skus.map((s) => s.sku)).size).toBe(200)
    expect(new Set(demo.skus.map((s) => s.name)).size).toBe(200)
    for (const c of demo.catalog) {
      expect(c.weightGrams).toBeGreaterThan(0)
      expect(c.priceCents).toBeGreaterThan(0)
    }
  })

  it("stocks every SKU somewhere, warehouses more than stores, only known SKUs and nodes", () => {
    const skus = new Set(demo.skus.map((s) => s.sku))
    const kindOf = new Map(demo.nodes.map((n) => [n.nodeId, n.kind]))
    const stocked = new Set<string>()
    let wh = 0
    let st = 0
    for (const r of demo.inventory) {
      expect(skus.has(r.sku)).toBe(true)
      expect(kindOf.has(r.nodeId)).toBe(true)
      expect(Number.isInteger(r.onHand) && r.onHand > 0).toBe(true)
      stocked.add(r.sku)
      if (kindOf.get(r.nodeId) === "warehouse") wh += r.onHand
      else st += r.onHand
    }
    expect(stocked.size).toBe(200)
    expect(wh).toBeGreaterThan(10 * st)
    // Some SKU x node pairs have no stock at all.
    expect(demo.inventory.length).toBeLessThan(200 * demo.nodes.length)
    expect(new Set(demo.inventory.map((r) => `${r.sku}@${r.nodeId}`)).size).toBe(demo.inventory.length)
  })

  it("gives commands in load order: nodes, SKUs, channels, carriers, then inventory loads", () => {
    const cmds = demoCommands()
    const types = cmds.map((c) => c.type)
    for (const t of types) expect(commandTypes).toContain(t)
    const order = ["node.upsert", "sku.upsert", "channel.upsert", "carrier.upsert", "inventory.load"]
    const ranks = types.map((t) => order.indexOf(t))
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
    const rows = cmds.flatMap((c) => (c.type === "inventory.load" ? c.rows : []))
    expect(rows).toEqual(demo.inventory)
  })

  it("uses a seeded PRNG with values in [0, 1)", () => {
    const a = seededRandom(1)
    const b = seededRandom(1)
    const xs = Array.from({ length: 1000 }, () => a())
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()))
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    expect(new Set(xs).size).toBeGreaterThan(990)
  })
})
