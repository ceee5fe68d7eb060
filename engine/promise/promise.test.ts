/**
 * Delivery promise dates on a fixed engine clock: pickup cut-offs in the
 * node's local time, weekends, capacity used up today, transit by distance
 * band, and properties that hold for any clock reading and configuration.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Carrier, FulfillmentNode, Weekday } from "../domain/network.ts"
import { dateOf, dayOf, endOfDay, localClock, parseClock, parseDate, utcOffsetMinutes, weekdayOf } from "./calendar.ts"
import { cheapestMeeting, deliveryDay, deliveryOptions, earliest, pickupDay, promiseOf } from "./promise.ts"

const node = (over: Partial<FulfillmentNode> = {}): FulfillmentNode => ({
  nodeId: "WH-DAL", name: "Dallas DC", kind: "warehouse", location: { lat: 32.78, lon: -96.8 }, status: "online",
  capacityPerDay: 100, priority: 1, services: ["ship"], groups: [], pickupCutoff: "17:00", timeZone: "America/Chicago", ...over
})

const acme: Carrier = {
  carrier: "acme", name: "Acme Parcel", pickupDays: [1, 2, 3, 4, 5], deliveryDays: [1, 2, 3, 4, 5],
  services: [
    { service: "ground", name: "Ground", bands: [{ upToKm: 500, days: 2, baseCents: 600, perKgCents: 40 }, { upToKm: 5000, days: 5, baseCents: 900, perKgCents: 60 }] },
    { service: "two_day", name: "Two-day", bands: [{ upToKm: 5000, days: 2, baseCents: 1400, perKgCents: 90 }] },
    { service: "overnight", name: "Overnight", bands: [{ upToKm: 2000, days: 1, baseCents: 2900, perKgCents: 150 }] }
  ]
}

/** Wednesday 2026-11-25 at a UTC hour and minute. */
const wed = (h: number, m = 0) => Date.UTC(2026, 10, 25, h, m)
const day = (date: string) => parseDate(date)!

describe("calendar", () => {
  it("reads dates, weekdays and clock times", () => {
    expect(dateOf(day("2026-11-25"))).toBe("2026-11-25")
    expect(weekdayOf(day("2026-11-25"))).toBe(3)
    expect(weekdayOf(day("2026-11-29"))).toBe(0)
    expect(parseDate("2026-02-30")).toBeUndefined()
    expect(parseDate("2026-2-3")).toBeUndefined()
    expect(parseDate(20261125)).toBeUndefined()
    expect(parseClock("17:30")).toBe(17 * 60 + 30)
    expect(parseClock("24:00")).toBeUndefined()
    expect(endOfDay(day("2026-11-25"))).toBe(Date.UTC(2026, 10, 25, 23, 59, 59, 999))
  })

  it("knows local time in a node's zone, daylight saving included", () => {
    expect(utcOffsetMinutes("America/Chicago", wed(12))).toBe(-360) // CST in November
    expect(utcOffsetMinutes("America/Chicago", Date.UTC(2026, 6, 1, 12))).toBe(-300) // CDT in July
    expect(localClock("America/Chicago", wed(2))).toEqual({ day: day("2026-11-24"), minute: 20 * 60 })
    expect(utcOffsetMinutes("UTC", wed(2))).toBe(0)
  })
})

describe("pickup day", () => {
  it("is today before the node's local cut-off and the next pickup day at or after it", () => {
    expect(dateOf(pickupDay(node(), acme, wed(22, 59), true)!)).toBe("2026-11-25") // 16:59 in Dallas
    expect(dateOf(pickupDay(node(), acme, wed(23, 0), true)!)).toBe("2026-11-26") // 17:00 in Dallas
    expect(dateOf(pickupDay(node({ timeZone: "UTC" }), acme, wed(17, 0), true)!)).toBe("2026-11-26")
  })

  it("skips the weekend unless the carrier picks up then", () => {
    const friday = Date.UTC(2026, 10, 27, 23, 30) // 17:30 Friday in Dallas
    expect(dateOf(pickupDay(node(), acme, friday, true)!)).toBe("2026-11-30") // Monday
    const saturday = Date.UTC(2026, 10, 28, 15) // 09:00 Saturday
    expect(dateOf(pickupDay(node(), acme, saturday, true)!)).toBe("2026-11-30")
    const weekends: Carrier = { ...acme, pickupDays: [0, 1, 2, 3, 4, 5, 6] }
    expect(dateOf(pickupDay(node(), weekends, saturday, true)!)).toBe("2026-11-28")
  })

  it("is the next pickup day when the node's capacity of today is used up", () => {
    expect(dateOf(pickupDay(node(), acme, wed(15), false)!)).toBe("2026-11-26")
  })
})

describe("delivery day", () => {
  it("counts only the carrier's delivery days", () => {
    expect(dateOf(deliveryDay(acme, day("2026-11-27"), 1))).toBe("2026-11-30") // Friday + 1 -> Monday
    expect(dateOf(deliveryDay(acme, day("2026-11-26"), 2))).toBe("2026-11-30") // Thursday + 2 -> Monday
    expect(dateOf(deliveryDay(acme, day("2026-11-25"), 0))).toBe("2026-11-25")
    expect(dateOf(deliveryDay({ ...acme, deliveryDays: [1, 2, 3, 4, 5, 6] }, day("2026-11-27"), 1))).toBe("2026-11-28")
  })

  it("lists each service that reaches the customer, with the band for the distance", () => {
    const near = deliveryOptions(node(), [acme], 300, wed(15), true)
    expect(near.map((o) => [o.service, dateOf(o.deliveryDay), o.baseCents])).toEqual([
      ["ground", "2026-11-27", 600], ["two_day", "2026-11-27", 1400], ["overnight", "2026-11-26", 2900]
    ])
    const far = deliveryOptions(node(), [acme], 2500, wed(15), true)
    expect(far.map((o) => o.service)).toEqual(["ground", "two_day"]) // overnight does not reach 2,500 km
    expect(dateOf(far[0].deliveryDay)).toBe("2026-12-02")
  })

  it("picks the cheapest option that meets a service or a date, and the earliest", () => {
    const options = deliveryOptions(node(), [acme], 300, wed(15), true)
    expect(cheapestMeeting(options, {}, 2)!.service).toBe("ground")
    expect(cheapestMeeting(options, { deliverByDay: day("2026-11-26") }, 2)!.service).toBe("overnight")
    expect(cheapestMeeting(options, { service: "two_day" }, 2)!.service).toBe("two_day")
    expect(cheapestMeeting(options, { service: "ground", deliverByDay: day("2026-11-26") }, 2)).toBeUndefined()
    expect(earliest(options, 2)!.service).toBe("overnight")
    expect(promiseOf(options[2])).toEqual({ carrier: "acme", service: "overnight", promisedBy: Date.UTC(2026, 10, 26, 23, 59, 59, 999) })
  })
})

describe("properties", () => {
  const weekdays = fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }).map((xs) => xs as Array<Weekday>)
  const zones = fc.constantFrom("UTC", "America/Chicago", "America/Los_Angeles", "America/New_York", "Asia/Kolkata", "Pacific/Auckland")
  const clock = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`)

  it("a promised day is never before now plus the transit days, and is always a delivery day", () => {
    fc.assert(fc.property(
      fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2028, 0, 1) }), weekdays, weekdays, zones, clock,
      fc.integer({ min: 0, max: 10 }), fc.boolean(), fc.integer({ min: 1, max: 6000 }),
      (now, pickupDays, deliveryDays, timeZone, pickupCutoff, days, capacityLeft, km) => {
        const carrier: Carrier = { ...acme, pickupDays, deliveryDays, services: [{ service: "s", name: "s", bands: [{ upToKm: 6000, days, baseCents: 1, perKgCents: 1 }] }] }
        const n = node({ timeZone, pickupCutoff })
        const [o] = deliveryOptions(n, [carrier], km, now, capacityLeft)
        const local = localClock(timeZone, now)
        expect(pickupDays).toContain(weekdayOf(o.pickupDay))
        expect(o.pickupDay).toBeGreaterThanOrEqual(local.day)
        expect(deliveryDays).toContain(weekdayOf(o.deliveryDay))
        expect(o.deliveryDay - o.pickupDay).toBeGreaterThanOrEqual(days)
        expect(o.deliveryDay).toBeGreaterThanOrEqual(dayOf(now))
        expect(endOfDay(o.deliveryDay)).toBeGreaterThan(now)
        // transit days later than the local day now, not earlier
        expect(o.deliveryDay - local.day).toBeGreaterThanOrEqual(days)
      }
    ), {
      numRuns: 500,
      // found by a longer run: the last millisecond of a UTC day, a same-day service picked up before a 19:00 cut-off
      // in New York (still the same day there) used to promise delivery by that very millisecond
      examples: [[Date.UTC(2027, 11, 31, 23, 59, 59, 999), [5], [5, 0], "America/New_York", "19:00", 0, true, 1]]
    })
  })

  it("a later clock reading never promises an earlier day", () => {
    fc.assert(fc.property(
      fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) }), fc.integer({ min: 0, max: 3 * 86_400_000 }), zones, clock,
      (now, later, timeZone, pickupCutoff) => {
        const n = node({ timeZone, pickupCutoff })
        const a = deliveryOptions(n, [acme], 300, now, true)
        const b = deliveryOptions(n, [acme], 300, now + later, true)
        a.forEach((o, i) => expect(b[i].deliveryDay).toBeGreaterThanOrEqual(o.deliveryDay))
      }
    ), { numRuns: 300 })
  })
})
