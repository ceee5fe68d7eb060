/**
 * The day's demand: every storefront session of the simulated day, drawn in
 * advance from the scenario and the seed (seeded PRNG, never Math.random), so
 * that the same seed gives the same customers, carts and decisions on every
 * run and under every routing policy.
 *
 * Arrival times follow the scenario's 24 hourly weights plus the spike (a
 * share of the day's sessions packed into a few minutes). Customers live in
 * real US cities drawn with probability proportional to population
 * (engine/network/places.ts). Cart items are doorbusters with the scenario's
 * share (higher during the spike), else regular SKUs by Zipf rank.
 *
 * Decisions that depend on what happens later (a node's answer to a shipment
 * it gets at some point) are drawn with `chance(seed, key)`: a hash of the
 * seed and a stable key, so they do not depend on the order things happen in.
 * So are the optional features' draws (promise terms, B2B orders, feedback):
 * keyed by session, they leave the PRNG stream, and so every other draw of
 * the day, unchanged when a scenario switches them on.
 */
import { prng, zipf } from "../bench/workload.ts"
import { citiesByPopulation, type LatLon } from "../engine/index.ts"
import type { SimNetwork } from "./network.ts"
import type { Scenario } from "./scenario.ts"

export type Channel = "web" | "marketplace" | "store" | "b2b"
export const channels: ReadonlyArray<Channel> = ["web", "marketplace", "store", "b2b"]
export type SessionKind = "browse" | "abandon" | "checkout"

export interface CartItem {
  readonly sku: string
  readonly qty: number
  readonly unitPriceCents: number
  readonly doorbuster: boolean
}

export interface Customer {
  readonly name: string
  readonly place: string
  readonly location: LatLon
}

/** What a session does about delivery promises. */
export interface SessionPromise {
  /** Ask availability with promise dates. */
  readonly ask: boolean
  /** Order with a service level, or a deliverBy date from the answer (checkouts only). */
  readonly terms: "service" | "deliverBy" | undefined
  /** Which of the gateway's service levels (a draw in [0, 1), mapped onto the list at run time). */
  readonly serviceDraw: number
  /** Ask a day earlier than the earliest promised (promise_unreachable). */
  readonly tooEarly: boolean
}

export interface SessionB2b {
  readonly purchaseOrder: string
  readonly shipComplete: boolean
  /** requestedDeliveryDate: this many days after the engine's today. */
  readonly requestedInDays: number
}

export interface SessionFeedback {
  /** 1..5; the customer gives two stars less when a shipment of the order was late. */
  readonly rating: number
  readonly comment: string | undefined
}

export interface Session {
  readonly index: number
  /** Simulated ms since midnight. */
  readonly at: number
  readonly channel: Channel
  readonly kind: SessionKind
  /** Which of the channel's connections carries it. */
  readonly connection: number
  readonly customer: Customer
  readonly items: ReadonlyArray<CartItem>
  readonly inSpike: boolean
  /** Simulated ms between adding to cart and checking out. */
  readonly thinkMs: number
  readonly declinePayment: boolean
  /** Cancel the order this many simulated ms after payment (undefined: keep it). */
  readonly cancelAfterMs: number | undefined
  readonly returnAfterDelivery: boolean
  /** Still order the items that could not be held (they are backordered). */
  readonly keepSoldOut: boolean
  readonly watchDoorbusters: boolean
  /** The storefront's order number (external id without the run prefix). */
  readonly orderNo: string
  readonly promise: SessionPromise | undefined
  /** Set on sessions that are B2B orders (channel b2b). */
  readonly b2b: SessionB2b | undefined
  /** Set when the customer rates the order once it is delivered. */
  readonly feedback: SessionFeedback | undefined
}

export const dayMs = 24 * 60 * 60_000

const contiguousUs = (l: LatLon): boolean => l.lat > 24 && l.lat < 50 && l.lon > -125 && l.lon < -66

/** Customers' cities: the most populous US cities, drawn with probability proportional to population. */
const customerCities = () => {
  const cities = citiesByPopulation("US", 3_000).filter((c) => contiguousUs(c.location))
  const cdf = new Float64Array(cities.length)
  let sum = 0
  cities.forEach((c, i) => (cdf[i] = sum += c.population))
  return (u: number) => {
    const x = u * sum
    let lo = 0
    let hi = cities.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid] < x) lo = mid + 1
      else hi = mid
    }
    return cities[lo]
  }
}

const weighted = <K extends string>(weights: Readonly<Record<K, number>>, u: number): K => {
  const entries = Object.entries(weights) as Array<[K, number]>
  const total = entries.reduce((n, [, w]) => n + w, 0)
  let x = u * total
  for (const [k, w] of entries) {
    x -= w
    if (x < 0 && w > 0) return k
  }
  return entries.filter(([, w]) => w > 0).at(-1)![0]
}

const between = (rnd: () => number, r: { readonly min: number; readonly max: number }): number => r.min + rnd() * (r.max - r.min)

/** Every session of the day, in arrival order. `scale` multiplies the scenario's session count. */
export const generateDemand = (s: Scenario, network: SimNetwork, seed: number, scale = 1): Array<Session> => {
  const rnd = prng(seed)
  const total = Math.max(1, Math.round(s.day.sessions * scale))
  const spikeCount = Math.round(total * s.day.spike.sessionsShare)
  const spikeStart = s.day.spike.startHour * 3_600_000
  const spikeMs = s.day.spike.minutes * 60_000
  const hourCdf: Array<number> = []
  let acc = 0
  for (const w of s.day.hourWeights) hourCdf.push(acc += w)

  const times: Array<{ at: number; spike: boolean }> = []
  for (let i = 0; i < total; i++) {
    if (i < spikeCount) {
      times.push({ at: Math.floor(spikeStart + rnd() * spikeMs), spike: true })
    } else {
      const x = rnd() * acc
      const hour = hourCdf.findIndex((c) => c > x)
      times.push({ at: Math.floor((hour + rnd()) * 3_600_000), spike: false })
    }
  }
  times.sort((a, b) => a.at - b.at)

  const city = customerCities()
  const priceOf = new Map(network.catalog.map((c) => [c.sku, c.priceCents]))
  const regularRank = zipf(network.regular.length, s.catalog.zipfSkew, rnd)
  const ss = s.sessions
  const connections: Record<Channel, number> = { web: ss.connections.web, marketplace: ss.connections.marketplace, store: ss.connections.store, b2b: ss.b2b?.connections ?? 0 }
  const nextConnection: Record<Channel, number> = { web: 0, marketplace: 0, store: 0, b2b: 0 }

  return times.map(({ at, spike }, index): Session => withFeatures(s, network, seed, drawSession(index, at, spike)))

  function drawSession(index: number, at: number, spike: boolean): Session {
    const channel: Channel = weighted(ss.channels, rnd())
    let kind = weighted<SessionKind>({ browse: ss.browse, abandon: ss.abandonCart, checkout: ss.checkout }, rnd())
    // Marketplace orders arrive paid, without carts: a marketplace "abandoned cart" is a look.
    if (channel === "marketplace" && kind === "abandon") kind = "browse"
    const c = city(rnd())
    const itemCount = Math.round(between(rnd, ss.itemsPerCart))
    const doorbusterShare = spike ? s.doorbusters.spikeDemandShare : s.doorbusters.demandShare
    const items: Array<CartItem> = []
    for (let k = 0; k < itemCount * 3 && items.length < itemCount; k++) {
      const doorbuster = network.doorbusters.length > 0 && rnd() < doorbusterShare
      const sku = doorbuster
        ? network.doorbusters[Math.floor(rnd() * network.doorbusters.length)]
        : network.regular[regularRank()]
      if (items.some((it) => it.sku === sku)) continue
      const qty = doorbuster ? 1 : 1 + Math.floor(rnd() * ss.qtyMax)
      items.push({ sku, qty, unitPriceCents: priceOf.get(sku) ?? 0, doorbuster })
    }
    const think = between(rnd, ss.thinkMinutes) * 60_000
    const decline = rnd() < ss.paymentDeclineRate
    const cancel = rnd() < ss.cancelRate
    const cancelAfter = between(rnd, { min: 5, max: 60 }) * 60_000
    const ret = rnd() < ss.returnRate
    const keep = rnd() < ss.keepSoldOutRate
    const watch = rnd() < ss.watchDoorbustersRate
    const connection = nextConnection[channel]++ % Math.max(1, connections[channel])
    return {
      index,
      at,
      channel,
      kind,
      connection,
      customer: { name: `Customer ${index + 1}`, place: `${c.name}, ${c.admin}`, location: c.location },
      items,
      inSpike: spike,
      thinkMs: think,
      declinePayment: decline,
      cancelAfterMs: cancel ? cancelAfter : undefined,
      returnAfterDelivery: ret,
      keepSoldOut: keep,
      watchDoorbusters: watch,
      orderNo: String(index + 1).padStart(6, "0"),
      promise: undefined,
      b2b: undefined,
      feedback: undefined
    }
  }
}

const comments = ["Arrived on time, well packed.", "Great price.", "Box was a bit damaged.", "Took longer than I hoped.", "Exactly as described."]

/** A rating skewed to the good side, as store ratings are. */
export const ratingOf = (u: number): number => (u < 0.05 ? 1 : u < 0.1 ? 2 : u < 0.2 ? 3 : u < 0.45 ? 4 : 5)

/**
 * The scenario's optional features on a drawn session: it may become a B2B
 * order (b2b channel, regular SKUs in case quantities, paid on account, no
 * cart), ask promise dates and order with promise terms, rate its order.
 */
const withFeatures = (s: Scenario, network: SimNetwork, seed: number, base: Session): Session => {
  const key = (what: string) => `${base.index}|${what}`
  const u = (what: string) => chance(seed, key(what))
  const b2b = s.sessions.b2b
  let session = base
  if (b2b && b2b.share > 0 && network.regular.length > 0 && u("b2b") < b2b.share) {
    const items: Array<CartItem> = []
    base.items.forEach((item, i) => {
      // B2B buyers restock regular lines; the most popular few dozen SKUs
      const sku = item.doorbuster ? network.regular[Math.floor(u(`b2b|sku|${i}`) * Math.min(30, network.regular.length))] : item.sku
      if (items.some((it) => it.sku === sku)) return
      const qty = 1 + Math.floor(u(`b2b|qty|${i}`) * b2b.qtyMax)
      items.push({ sku, qty, unitPriceCents: network.catalog.find((c) => c.sku === sku)?.priceCents ?? 0, doorbuster: false })
    })
    const days = b2b.requestedDeliveryDays
    session = {
      ...base, channel: "b2b", kind: "checkout", items, connection: base.index % Math.max(1, b2b.connections),
      declinePayment: false, keepSoldOut: false, watchDoorbusters: false,
      b2b: {
        purchaseOrder: `PO-${base.orderNo}`,
        shipComplete: u("b2b|shipComplete") < b2b.shipCompleteRate,
        requestedInDays: Math.round(days.min + u("b2b|days") * (days.max - days.min))
      }
    }
  }
  const p = s.sessions.promise
  if (p && session.channel !== "b2b") {
    const t = u("promise|terms")
    const terms = session.kind !== "checkout" ? undefined : t < p.serviceRate ? "service" as const : t < p.serviceRate + p.deliverByRate ? "deliverBy" as const : undefined
    session = {
      ...session,
      promise: {
        ask: terms === "deliverBy" || u("promise|ask") < p.askRate,
        terms,
        serviceDraw: u("promise|service"),
        tooEarly: terms === "deliverBy" && u("promise|tooEarly") < p.tooEarlyRate
      }
    }
  }
  const f = s.sessions.feedbackRate
  if (f !== undefined && session.kind === "checkout" && u("feedback") < f) {
    session = { ...session, feedback: { rating: ratingOf(u("feedback|rating")), comment: u("feedback|comment") < 0.4 ? comments[Math.floor(u("feedback|which") * comments.length)] : undefined } }
  }
  return session
}

/** FNV-1a over a string, 32 bits. */
const fnv1a = (s: string, h = 0x811c9dc5): number => {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/** A uniform number in [0, 1) fixed by the seed and a key (the same key, the same draw, in any order). */
export const chance = (seed: number, key: string): number => prng(fnv1a(key, fnv1a(String(seed))))()

/** A number in [min, max] fixed by the seed and a key. */
export const chanceBetween = (seed: number, key: string, r: { readonly min: number; readonly max: number }): number =>
  r.min + chance(seed, key) * (r.max - r.min)
