/**
 * A deterministic demo network on real US places: distribution centers in a
 * few large cities, stores in others (picked with a probability proportional
 * to population), a catalog with weights and prices (a few doorbusters), four
 * sales channels with their routing policies, and the initial stock of every
 * SKU at every node. Everything is plain command data for the engine; the
 * same options always give the same data (seeded PRNG, no Math.random).
 */
import { defaults } from "../config.ts"
import type { Command, LoadInventory, LoadRow, UpsertCarrier, UpsertChannel, UpsertNode, UpsertSku } from "../domain/commands.ts"
import type { LatLon } from "../domain/network.ts"
import { distanceKm } from "../domain/network.ts"
import { citiesByPopulation, findCity, type City } from "../network/places.ts"

export interface DemoOptions {
  /** PRNG seed (default 7). */
  readonly seed?: number
  /** Distribution centers, 1..10 (default 5). */
  readonly warehouses?: number
  /** Stores (default 40). */
  readonly stores?: number
  /** Catalog size (default 200). */
  readonly skus?: number
  /** How many SKUs are doorbusters: deep discounts, thin stock, heavy demand (default 5). */
  readonly doorbusters?: number
}

export interface DemoCatalogItem {
  readonly sku: string
  readonly name: string
  readonly category: string
  readonly weightGrams: number
  readonly priceCents: number
  readonly doorbuster: boolean
}

export interface DemoNetwork {
  readonly nodes: ReadonlyArray<UpsertNode>
  readonly skus: ReadonlyArray<UpsertSku>
  /** The catalog with what the engine does not need but a simulator does (prices, doorbusters). */
  readonly catalog: ReadonlyArray<DemoCatalogItem>
  readonly channels: ReadonlyArray<UpsertChannel>
  /** Two parcel carriers, each with ground, two-day and overnight service. */
  readonly carriers: ReadonlyArray<UpsertCarrier>
  /** On-hand rows; SKU x node pairs without stock are left out. */
  readonly inventory: ReadonlyArray<LoadRow>
}

// ---- seeded randomness ----------------------------------------------------------

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const between = (rnd: () => number, min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1))
const roundTo = (x: number, step: number): number => Math.round(x / step) * step

// ---- places -------------------------------------------------------------------------

/** Distribution center cities, the first five spread over the country. */
const hubCities = [
  "Dallas, TX", "Los Angeles, CA", "Chicago, IL", "Atlanta, GA", "Philadelphia, PA",
  "Seattle, WA", "Denver, CO", "Columbus, OH", "Kansas City, MO", "Jacksonville, FL"
]

/** Region groups by longitude (channel policies can allow them by name). */
export const regionOf = (location: LatLon): "west" | "central" | "east" =>
  location.lon < -104 ? "west" : location.lon < -87 ? "central" : "east"

const contiguousUs = (c: City): boolean =>
  c.location.lat > 24 && c.location.lat < 50 && c.location.lon > -125 && c.location.lon < -66

/**
 * The node's time zone, by longitude: Pacific, Mountain, Central, Eastern
 * (an approximation: Arizona, which keeps standard time, reads as Mountain).
 */
export const timeZoneOf = (location: LatLon): string =>
  location.lon < -114.5 ? "America/Los_Angeles" : location.lon < -102 ? "America/Denver" : location.lon < -87.5 ? "America/Chicago" : "America/New_York"

/** Stores are at least this far from any other node, so a metro area gets one. */
const storeSpacingKm = 20

const slug = (name: string): string =>
  name.normalize("NFD").replace(/\p{M}/gu, "").replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")

const placeNodes = (rnd: () => number, warehouses: number, stores: number): Array<UpsertNode> => {
  const nodes: Array<UpsertNode> = []
  const ids = new Set<string>()
  const uniqueId = (prefix: string, c: City) => {
    let id = `${prefix}-${slug(c.name)}`
    if (ids.has(id)) id = `${id}-${c.admin}`
    for (let n = 2; ids.has(id); n++) id = `${prefix}-${slug(c.name)}-${c.admin}-${n}`
    ids.add(id)
    return id
  }

  for (const hub of hubCities.slice(0, warehouses)) {
    const c = findCity(hub)
    if (c === undefined) throw new Error(`demo network: unknown hub city ${hub}`)
    nodes.push({
      type: "node.upsert",
      nodeId: uniqueId("WH", c),
      name: `${c.name} Distribution Center`,
      kind: "warehouse",
      location: c.location,
      capacityPerDay: roundTo(between(rnd, 5_000, 20_000), 500),
      priority: 1,
      services: ["ship"],
      groups: [regionOf(c.location), "warehouses"],
      status: "online",
      pickupCutoff: "18:00",
      timeZone: timeZoneOf(c.location)
    })
  }

  // Stores: weighted by population, without replacement, away from other nodes.
  const pool = citiesByPopulation("US", Math.max(300, stores * 8)).filter(contiguousUs)
  let weightLeft = pool.reduce((n, c) => n + c.population, 0)
  const taken = new Uint8Array(pool.length)
  while (nodes.length < warehouses + stores && weightLeft > 0) {
    let x = rnd() * weightLeft
    let pick = -1
    for (let i = 0; i < pool.length; i++) {
      if (taken[i] === 1) continue
      x -= pool[i].population
      pick = i
      if (x < 0) break
    }
    if (pick < 0) break
    taken[pick] = 1
    weightLeft -= pool[pick].population
    const c = pool[pick]
    if (nodes.some((nd) => distanceKm(nd.location, c.location) < storeSpacingKm)) continue
    const large = c.population >= 500_000
    nodes.push({
      type: "node.upsert",
      nodeId: uniqueId("ST", c),
      name: `${c.name}, ${c.admin} store`,
      kind: "store",
      location: c.location,
      capacityPerDay: roundTo(between(rnd, large ? 200 : 100, large ? 400 : 300), 10),
      priority: large || rnd() < 0.7 ? 2 : 3,
      services: ["ship", "pickup"],
      groups: [regionOf(c.location), "stores"],
      status: "online",
      pickupCutoff: "15:00",
      timeZone: timeZoneOf(c.location)
    })
  }
  return nodes
}

// ---- catalog ------------------------------------------------------------------------

/** [item, grams, price in cents] per category. */
const items: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, number, number]>]> = [
  ["electronics", [
    ["Wireless Earbuds", 180, 7999], ["Bluetooth Speaker", 650, 5999], ["Streaming Stick", 120, 3999],
    ["Smart Watch", 150, 19999], ["Noise-Cancelling Headphones", 320, 24999], ["Power Bank", 300, 2999],
    ["Action Camera", 400, 29999], ["E-Reader", 250, 12999], ["Game Controller", 450, 5999], ["55-inch 4K TV", 17_000, 44999]
  ]],
  ["home", [
    ["Cast Iron Skillet", 2_400, 3499], ["Chef's Knife", 350, 8999], ["Drip Coffee Maker", 2_800, 4999],
    ["Air Fryer", 5_200, 8999], ["Blender", 3_900, 6999], ["Stand Mixer", 10_500, 29999], ["Dutch Oven", 5_600, 7999],
    ["Toaster", 1_900, 3999], ["Electric Kettle", 1_200, 2999], ["Bath Towel Set", 2_000, 4499]
  ]],
  ["apparel", [
    ["Rain Jacket", 450, 8999], ["Running Shoes", 700, 11999], ["Hoodie", 650, 4999], ["Denim Jeans", 700, 5999],
    ["Wool Socks", 120, 1799], ["Fleece Vest", 400, 4499], ["Hiking Boots", 1_300, 14999], ["Baseball Cap", 110, 2499],
    ["Down Parka", 1_100, 22999], ["Leggings", 250, 3999]
  ]],
  ["outdoor", [
    ["Two-Person Tent", 2_300, 17999], ["Sleeping Bag", 1_400, 9999], ["Daypack", 800, 6999], ["Trekking Poles", 550, 7999],
    ["Camp Stove", 1_600, 4999], ["Hard Cooler", 7_500, 19999], ["Headlamp", 90, 2999], ["Insulated Bottle", 400, 3499],
    ["Hammock", 600, 5999], ["Folding Chair", 2_900, 3999]
  ]],
  ["toys", [
    ["Building Blocks Set", 1_200, 4999], ["Strategy Board Game", 1_500, 3999], ["1000-Piece Puzzle", 700, 1999],
    ["RC Car", 1_800, 5999], ["Plush Bear", 300, 1999], ["Art Kit", 1_100, 2999], ["Mini Drone", 450, 8999],
    ["Science Kit", 1_300, 3499], ["Dollhouse", 6_500, 12999], ["Card Game", 200, 1299]
  ]],
  ["tools", [
    ["Cordless Drill", 1_700, 9999], ["Socket Set", 4_200, 7999], ["Tape Measure", 300, 1499], ["Work Light", 900, 3999],
    ["Tool Bag", 1_200, 3499], ["Stud Finder", 250, 2999], ["Level", 600, 1999], ["Shop Vacuum", 6_800, 11999],
    ["Ladder", 9_500, 14999], ["Extension Cord", 1_500, 2499]
  ]]
]

const variants = ["Classic", "Pro", "Lite", "Max", "Mini", "Plus", "Eco", "Ultra"]

const buildCatalog = (rnd: () => number, count: number, doorbusters: number): Array<DemoCatalogItem> => {
  const catalog: Array<DemoCatalogItem> = []
  const perVariant = items.length * items[0][1].length
  for (let i = 0; i < count; i++) {
    const [category, list] = items[i % items.length]
    const [item, grams, price] = list[Math.floor(i / items.length) % list.length]
    const round = Math.floor(i / perVariant)
    const variant = variants[round % variants.length]
    const suffix = round >= variants.length ? ` ${Math.floor(round / variants.length) + 1}` : ""
    const scale = 0.8 + rnd() * 0.4
    catalog.push({
      sku: `SKU-${String(i + 1).padStart(4, "0")}`,
      name: `${variant} ${item}${suffix}`,
      category,
      weightGrams: Math.max(50, roundTo(grams * scale, 10)),
      priceCents: roundTo(price * scale, 100) - 1,
      doorbuster: false
    })
  }
  // Doorbusters: distinct SKUs, at 40% off.
  const chosen = new Set<number>()
  while (chosen.size < Math.min(doorbusters, count)) chosen.add(Math.floor(rnd() * count))
  for (const i of [...chosen].sort((a, b) => a - b)) {
    const c = catalog[i]
    catalog[i] = { ...c, name: `${c.name} (Doorbuster)`, priceCents: roundTo(c.priceCents * 0.6, 100) - 1, doorbuster: true }
  }
  return catalog
}

// ---- carriers -------------------------------------------------------------------------

const carriers: ReadonlyArray<UpsertCarrier> = [
  {
    type: "carrier.upsert", carrier: "parcelco", name: "ParcelCo",
    services: [
      {
        service: "ground", name: "ParcelCo Ground",
        bands: [
          { upToKm: 300, days: 1, baseCents: 650, perKgCents: 35 }, { upToKm: 800, days: 2, baseCents: 750, perKgCents: 45 },
          { upToKm: 1_600, days: 3, baseCents: 850, perKgCents: 55 }, { upToKm: 3_000, days: 4, baseCents: 950, perKgCents: 65 },
          { upToKm: 5_000, days: 5, baseCents: 1_050, perKgCents: 75 }
        ]
      },
      { service: "two_day", name: "ParcelCo 2Day", bands: [{ upToKm: 5_000, days: 2, baseCents: 1_600, perKgCents: 110 }] },
      { service: "overnight", name: "ParcelCo Next Day", bands: [{ upToKm: 5_000, days: 1, baseCents: 3_200, perKgCents: 220 }] }
    ]
  },
  {
    // delivers on Saturdays too
    type: "carrier.upsert", carrier: "swiftship", name: "SwiftShip", deliveryDays: [1, 2, 3, 4, 5, 6],
    services: [
      {
        service: "ground", name: "SwiftShip Ground",
        bands: [{ upToKm: 500, days: 1, baseCents: 700, perKgCents: 30 }, { upToKm: 1_500, days: 3, baseCents: 800, perKgCents: 50 }, { upToKm: 5_000, days: 5, baseCents: 900, perKgCents: 60 }]
      },
      { service: "two_day", name: "SwiftShip Two-Day", bands: [{ upToKm: 2_000, days: 2, baseCents: 1_450, perKgCents: 100 }, { upToKm: 5_000, days: 2, baseCents: 1_900, perKgCents: 120 }] },
      { service: "overnight", name: "SwiftShip Overnight", bands: [{ upToKm: 1_500, days: 1, baseCents: 2_600, perKgCents: 200 }, { upToKm: 5_000, days: 1, baseCents: 3_500, perKgCents: 250 }] }
    ]
  }
]

// ---- channels -------------------------------------------------------------------------

const channels: ReadonlyArray<UpsertChannel> = [
  // Direct web orders: every node, ship from store on, up to three packages.
  { type: "channel.upsert", channel: "web", policy: { maxSplits: 2, shipFromStore: true } },
  // Marketplace orders: distribution centers only, at most two packages.
  { type: "channel.upsert", channel: "marketplace", policy: { allowedGroups: ["warehouses"], shipFromStore: false, maxSplits: 1 } },
  // Orders taken in a store (endless aisle, pickup): stores and DCs on equal terms (no priority cost), within 1,500 km.
  {
    type: "channel.upsert",
    channel: "store",
    policy: { maxSplits: 1, shipFromStore: true, maxDistanceKm: 1_500, weights: { priorityStepCents: 0 } }
  },
  // Business orders: one freight shipment from a distribution center, never split.
  {
    type: "channel.upsert",
    channel: "b2b",
    policy: {
      allowedGroups: ["warehouses"],
      shipFromStore: false,
      maxSplits: 0,
      weights: { perPackageCents: 1_500, perKgPer100KmCents: 4, splitPenaltyCents: 2_500 }
    }
  }
]

// ---- stock ----------------------------------------------------------------------------------

const buildInventory = (rnd: () => number, nodes: ReadonlyArray<UpsertNode>, catalog: ReadonlyArray<DemoCatalogItem>): Array<LoadRow> => {
  const rows: Array<LoadRow> = []
  const warehouses = nodes.filter((n) => n.kind === "warehouse")
  catalog.forEach((item, k) => {
    let any = false
    for (const n of nodes) {
      let onHand = 0
      if (n.kind === "warehouse") {
        if (rnd() < (item.doorbuster ? 0.6 : 0.85)) onHand = item.doorbuster ? between(rnd, 20, 120) : roundTo(between(rnd, 100, 2_000), 10)
      } else if (rnd() < (item.doorbuster ? 0.3 : 0.45)) {
        onHand = item.doorbuster ? between(rnd, 1, 4) : between(rnd, 1, 12)
      }
      if (onHand > 0) {
        rows.push({ sku: item.sku, nodeId: n.nodeId, onHand })
        any = true
      }
    }
    if (!any) {
      const n = warehouses.length > 0 ? warehouses[k % warehouses.length] : nodes[k % nodes.length]
      rows.push({ sku: item.sku, nodeId: n.nodeId, onHand: item.doorbuster ? 50 : 200 })
    }
  })
  return rows
}

// ---- entry points ----------------------------------------------------------------------------

export const demoNetwork = (options: DemoOptions = {}): DemoNetwork => {
  const warehouses = Math.max(1, Math.min(hubCities.length, options.warehouses ?? 5))
  const stores = Math.max(0, options.stores ?? 40)
  const skuCount = Math.max(1, options.skus ?? 200)
  const rnd = seededRandom(options.seed ?? 7)
  const nodes = placeNodes(rnd, warehouses, stores)
  const catalog = buildCatalog(rnd, skuCount, Math.max(0, options.doorbusters ?? 5))
  const skus = catalog.map((c): UpsertSku => ({ type: "sku.upsert", sku: c.sku, name: c.name, weightGrams: c.weightGrams }))
  const inventory = buildInventory(rnd, nodes, catalog)
  return { nodes, skus, catalog, channels, carriers, inventory }
}

/** The demo as engine commands: nodes, SKUs, channels, carriers, then the stock in bulk loads of at most bulkRowsMax rows. */
export const demoCommands = (options: DemoOptions = {}): Array<Command> => {
  const demo = demoNetwork(options)
  const loads: Array<LoadInventory> = []
  const size = defaults.bulkRowsMax
  for (let i = 0; i < demo.inventory.length; i += size) {
    loads.push({ type: "inventory.load", rows: demo.inventory.slice(i, i + size), reference: `demo-load-${loads.length + 1}` })
  }
  return [...demo.nodes, ...demo.skus, ...demo.channels, ...demo.carriers, ...loads]
}
