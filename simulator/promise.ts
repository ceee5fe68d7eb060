/**
 * What a simulated customer makes of a delivery promise answer: the
 * `deliverBy` date to order with (or one day too early, to see the engine
 * refuse it), the service level to ask for, and calendar helpers. Dates are
 * "YYYY-MM-DD" on the engine's calendar (UTC), which runs on the wall clock,
 * not on the simulated day: a compressed day does not move promise dates.
 */
import type { AvailabilityItem } from "../gateway/client.ts"

const dayMs = 86_400_000

/** Today's date on the engine calendar (UTC). */
export const todayOf = (nowMs: number): string => new Date(nowMs).toISOString().slice(0, 10)

/** A date `days` later (or earlier, negative). */
export const addDays = (date: string, days: number): string => new Date(Date.parse(`${date}T00:00:00Z`) + days * dayMs).toISOString().slice(0, 10)

/** The service level a draw in [0, 1) picks from the gateway's list (undefined when there is none). */
export const serviceOf = (draw: number, services: ReadonlyArray<string>): string | undefined =>
  services.length === 0 ? undefined : services[Math.min(services.length - 1, Math.floor(draw * services.length))]

export interface CartLine {
  readonly sku: string
  readonly qty: number
}

/**
 * The last delivery day a customer can be promised for the whole cart, from
 * the promise answer: per line, the date of its cart hold's node when the
 * line is held (the order ships held units from there), else the first
 * option whose running total covers the quantity; the latest of these. With
 * `tooEarly`, the day before the earliest date any node offers (never before
 * today), which no plan can meet. Undefined when a line has no such option:
 * the storefront then promises nothing.
 */
export const deliverByFor = (
  items: ReadonlyArray<AvailabilityItem>,
  lines: ReadonlyArray<CartLine>,
  heldAt: ReadonlyMap<string, string>,
  tooEarly: boolean,
  today: string
): string | undefined => {
  let latest: string | undefined
  let earliest: string | undefined
  for (const line of lines) {
    const item = items.find((i) => i.sku === line.sku)
    const options = item && "promise" in item ? item.promise ?? [] : []
    if (options.length === 0) return undefined
    const node = heldAt.get(line.sku)
    const option = node !== undefined ? options.find((o) => o.nodeId === node) : options.find((o) => o.qty >= line.qty)
    if (!option) return undefined
    if (latest === undefined || option.arrivesBy > latest) latest = option.arrivesBy
    if (earliest === undefined || options[0].arrivesBy < earliest) earliest = options[0].arrivesBy
  }
  if (!tooEarly || earliest === undefined) return latest
  const before = addDays(earliest, -1)
  return before < today ? today : before
}

/** The service levels of the gateway's carriers (GET /v1/admin/carriers), sorted, each once. */
export const serviceLevels = (carriers: ReadonlyArray<{ readonly services: ReadonlyArray<{ readonly service: string }> }>): Array<string> =>
  [...new Set(carriers.flatMap((c) => c.services.map((s) => s.service)))].sort()
