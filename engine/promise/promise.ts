/**
 * Delivery promises: when a parcel can reach a customer from a node, with
 * which carrier and service, at what rate. Pure functions of the node, the
 * carriers, the distance, the engine clock and whether the node has capacity
 * left today.
 *
 *   pickup day   = the node's local day now, or the next one when its local
 *                  time is at or past its pickup cut-off or its capacity of
 *                  today is used up; then moved to the carrier's next pickup day
 *   delivery day = pickup day + the band's transit days, counting only the
 *                  carrier's delivery days (a 0-day band delivers on the pickup
 *                  day, or the next delivery day)
 *   promisedBy   = the last millisecond of the delivery day, UTC
 *   rate         = band.baseCents + band.perKgCents * kg
 *
 * A delivery day is never before today (UTC).
 *
 * The band is the first of the service's bands whose upToKm covers the
 * distance; beyond the last one the service does not reach the customer.
 */
import type { Carrier, FulfillmentNode, ServiceBand } from "../domain/network.ts"
import { dateOf, dayOf, endOfDay, localClock, parseClock, weekdayOf } from "./calendar.ts"

/** Local cut-off of a node without one: 17:00. */
export const defaultCutoffMinute = 17 * 60

/** What the order asks of its delivery: a service level, a last day, both, or neither (the cheapest option). */
export interface PromiseConstraint {
  readonly service?: string
  /** Last acceptable delivery day (days since 1970-01-01). */
  readonly deliverByDay?: number
}

export interface DeliveryOption {
  readonly carrier: string
  readonly service: string
  readonly pickupDay: number
  readonly deliveryDay: number
  readonly baseCents: number
  readonly perKgCents: number
}

/** The promise recorded on a shipment (journaled with OrderRouted). */
export interface ShipmentPromise {
  readonly carrier: string
  readonly service: string
  /** End of the promised delivery day, epoch ms (23:59:59.999 UTC). */
  readonly promisedBy: number
}

const delivers = (carrier: Carrier, day: number): boolean => carrier.deliveryDays.includes(weekdayOf(day))

/** The day a parcel handed to `carrier` at `node` now leaves it; undefined when the carrier never picks up. */
export const pickupDay = (node: FulfillmentNode, carrier: Carrier, now: number, capacityLeft: boolean): number | undefined => {
  if (carrier.pickupDays.length === 0) return undefined
  const local = localClock(node.timeZone ?? "UTC", now)
  const cutoff = parseClock(node.pickupCutoff) ?? defaultCutoffMinute
  let day = local.day
  if (local.minute >= cutoff || !capacityLeft) day++
  while (!carrier.pickupDays.includes(weekdayOf(day))) day++
  return day
}

/** The day a parcel picked up on `fromDay` arrives after `transitDays` delivery days of `carrier`. */
export const deliveryDay = (carrier: Carrier, fromDay: number, transitDays: number): number => {
  let day = fromDay
  let left = transitDays
  // at most 7 steps per transit day: delivery days are validated non-empty
  while (left > 0) {
    day++
    if (delivers(carrier, day)) left--
  }
  while (!delivers(carrier, day)) day++
  return day
}

export const bandFor = (bands: ReadonlyArray<ServiceBand>, km: number): ServiceBand | undefined => {
  for (const b of bands) if (km <= b.upToKm) return b
  return undefined
}

/** Every carrier service that reaches a customer `km` away from `node`, with its pickup and delivery days. */
export const deliveryOptions = (
  node: FulfillmentNode,
  carriers: ReadonlyArray<Carrier>,
  km: number,
  now: number,
  capacityLeft: boolean
): Array<DeliveryOption> => {
  const out: Array<DeliveryOption> = []
  // a node west of UTC may still be on the previous day: nothing is promised for a day already over in UTC,
  // nor for one ending at this very millisecond (a promise is always due after now)
  const today = endOfDay(dayOf(now)) > now ? dayOf(now) : dayOf(now) + 1
  for (const carrier of carriers) {
    if (carrier.deliveryDays.length === 0) continue
    const pickup = pickupDay(node, carrier, now, capacityLeft)
    if (pickup === undefined) continue
    for (const s of carrier.services) {
      const band = bandFor(s.bands, km)
      if (!band) continue
      const arrives = deliveryDay(carrier, pickup, band.days)
      out.push({
        carrier: carrier.carrier, service: s.service, pickupDay: pickup,
        deliveryDay: arrives >= today ? arrives : deliveryDay(carrier, today, 0),
        baseCents: band.baseCents, perKgCents: band.perKgCents
      })
    }
  }
  return out
}

export const rateCents = (o: DeliveryOption, kg: number): number => o.baseCents + o.perKgCents * kg

export const meets = (o: DeliveryOption, c: PromiseConstraint): boolean =>
  (c.service === undefined || o.service === c.service) && (c.deliverByDay === undefined || o.deliveryDay <= c.deliverByDay)

/** The cheapest option for `kg` that meets the constraint (ties: earlier delivery, then the first listed); undefined when none does. */
export const cheapestMeeting = (options: ReadonlyArray<DeliveryOption>, c: PromiseConstraint, kg: number): DeliveryOption | undefined => {
  let best: DeliveryOption | undefined
  let bestRate = Infinity
  for (const o of options) {
    if (!meets(o, c)) continue
    const r = rateCents(o, kg)
    if (r < bestRate - 1e-9 || (Math.abs(r - bestRate) <= 1e-9 && best !== undefined && o.deliveryDay < best.deliveryDay)) {
      best = o
      bestRate = r
    }
  }
  return best
}

/** The earliest option (ties: cheaper for `kg`). */
export const earliest = (options: ReadonlyArray<DeliveryOption>, kg: number): DeliveryOption | undefined => {
  let best: DeliveryOption | undefined
  for (const o of options) {
    if (best === undefined || o.deliveryDay < best.deliveryDay || (o.deliveryDay === best.deliveryDay && rateCents(o, kg) < rateCents(best, kg))) best = o
  }
  return best
}

export const promiseOf = (o: DeliveryOption): ShipmentPromise => ({ carrier: o.carrier, service: o.service, promisedBy: endOfDay(o.deliveryDay) })

/** "acme two_day, delivered by 2026-11-30" */
export const describeOption = (o: DeliveryOption): string => `${o.carrier} ${o.service}, delivered by ${dateOf(o.deliveryDay)}`
