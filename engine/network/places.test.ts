import { describe, expect, it } from "vitest"
import { distanceKm } from "../domain/network.ts"
import { citiesByPopulation, findCity, normalisePlaceName, placesLoadStats, resolvePlace } from "./places.ts"

describe("places", () => {
  it("loads the cities once, lazily, and reports the cost", () => {
    const stats = placesLoadStats()
    expect(stats.cities).toBeGreaterThan(130_000)
    expect(stats.loadMs).toBeGreaterThanOrEqual(0)
    expect(placesLoadStats()).toBe(stats)
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
