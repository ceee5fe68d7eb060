/**
 * Calendar arithmetic for delivery promises: days as whole numbers (days since
 * 1970-01-01, UTC), weekdays, calendar dates ("YYYY-MM-DD"), local times of
 * nodes in their IANA time zone, and pickup cut-offs ("HH:MM").
 *
 * A node's local date and time decide whether a parcel still leaves today
 * (before the node's cut-off) and which weekday it is there; transit and
 * delivery are counted in calendar days, and a promised day ends at
 * 23:59:59.999 UTC (`endOfDay`).
 */
import type { Weekday } from "../domain/network.ts"

export const dayMs = 86_400_000
const hourMs = 3_600_000

/** The day (days since 1970-01-01) of an instant read in UTC. */
export const dayOf = (ms: number): number => Math.floor(ms / dayMs)

/** 1970-01-01 was a Thursday. */
export const weekdayOf = (day: number): Weekday => ((((day + 4) % 7) + 7) % 7) as Weekday

/** The last millisecond of a day, UTC: what `promisedBy` holds. */
export const endOfDay = (day: number): number => (day + 1) * dayMs - 1

/** "2026-11-27" */
export const dateOf = (day: number): string => new Date(day * dayMs).toISOString().slice(0, 10)

/** The day of a calendar date "YYYY-MM-DD", or undefined when it is not one (2026-02-30 is not). */
export const parseDate = (text: unknown): number | undefined => {
  if (typeof text !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined
  const ms = Date.parse(`${text}T00:00:00Z`)
  if (!Number.isFinite(ms)) return undefined
  const day = dayOf(ms)
  return dateOf(day) === text ? day : undefined
}

/** Minutes after midnight of "HH:MM" (00:00..23:59), or undefined. */
export const parseClock = (text: unknown): number | undefined => {
  if (typeof text !== "string") return undefined
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text)
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined
}

const formatters = new Map<string, Intl.DateTimeFormat>()
const offsets = new Map<string, number>()
/** Cached offsets (zone x hour) kept at most; the cache is simply emptied past it. */
const offsetsCachedMax = 10_000

const formatterOf = (zone: string): Intl.DateTimeFormat => {
  let f = formatters.get(zone)
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric"
    })
    formatters.set(zone, f)
  }
  return f
}

/** Whether `zone` is an IANA time zone this runtime knows. */
export const isTimeZone = (zone: unknown): zone is string => {
  if (typeof zone !== "string" || zone.length === 0 || zone.length > 64) return false
  try {
    formatterOf(zone)
    return true
  } catch {
    return false
  }
}

/**
 * Minutes to add to UTC to get the local time of `zone` at `ms`. Read once per
 * zone and hour (offsets change on the hour in every zone the nodes use).
 */
export const utcOffsetMinutes = (zone: string, ms: number): number => {
  if (zone === "UTC") return 0
  const hour = Math.floor(ms / hourMs)
  const key = `${zone}\u0000${hour}`
  const cached = offsets.get(key)
  if (cached !== undefined) return cached
  const at = hour * hourMs
  const parts = formatterOf(zone).formatToParts(at)
  const field = (type: string) => Number(parts.find((p) => p.type === type)!.value)
  const local = Date.UTC(field("year"), field("month") - 1, field("day"), field("hour"), field("minute"))
  const offset = Math.round((local - at) / 60_000)
  if (offsets.size >= offsetsCachedMax) offsets.clear()
  offsets.set(key, offset)
  return offset
}

/** The local day and minute of the day at `ms` in `zone`. */
export const localClock = (zone: string, ms: number): { readonly day: number; readonly minute: number } => {
  const local = ms + utcOffsetMinutes(zone, ms) * 60_000
  const day = dayOf(local)
  return { day, minute: Math.floor((local - day * dayMs) / 60_000) }
}
