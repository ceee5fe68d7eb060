export { dateOf, dayOf, endOfDay, isTimeZone, localClock, parseClock, parseDate, utcOffsetMinutes, weekdayOf } from "./calendar.ts"
export {
  bandFor, cheapestMeeting, defaultCutoffMinute, deliveryDay, deliveryOptions, describeOption, earliest, meets, pickupDay,
  promiseOf, rateCents
} from "./promise.ts"
export type { DeliveryOption, PromiseConstraint, ShipmentPromise } from "./promise.ts"
export { describeConstraint, optionTable, routeWithPromise } from "./promise-route.ts"
export type { PromiseRouting } from "./promise-route.ts"
