/**
 * Business reports over a time range [from, to), as a pure fold over the
 * engine's events: orders and units by channel, fill and split rates at
 * placement, shipping cost and distance, promises kept, cancellations,
 * returns and their reasons, backorder age, per-node throughput against
 * capacity, hold conversion and expiry, customer feedback.
 *
 * An event counts when its `at` lies in the range. Events before `from` are
 * still folded for what later events need (which node a shipment is at, its
 * promise, since when a line waits as a backorder); events at or after `to`
 * are ignored. The fold keeps only what is still open (shipments not yet
 * delivered or gone, lines still backordered), so its memory is bounded by
 * the open work of the network, not by the length of the journal.
 *
 * The journal reader that feeds it batch by batch is reader.ts.
 */
import { orderEventTypes, type EngineEvent, type OrderEvent } from "../domain/events.ts"

export interface ReportRange {
  /** Inclusive, epoch ms. */
  readonly from: number
  /** Exclusive, epoch ms. */
  readonly to: number
}

export interface NodeCapacity {
  readonly nodeId: string
  readonly capacityPerDay: number
}

/** Distinct reasons (cancellation, return) listed one by one; the rest are summed under `(other)`. */
export const reasonsMax = 50
export const otherReason = "(other)"

export interface ReasonCount {
  readonly count: number
  readonly units: number
}

export interface NodeThroughput {
  readonly nodeId: string
  /** Shipments routed to the node in the range (what its daily capacity counts). */
  readonly routed: number
  readonly shipped: number
  readonly delivered: number
  /** capacityPerDay x the range in days; null for a node the network no longer has. */
  readonly capacity: number | null
  /** routed / capacity; null without a capacity. */
  readonly utilisation: number | null
}

export interface Report {
  readonly from: number
  readonly to: number
  readonly orders: {
    readonly placed: number
    readonly units: number
    readonly valueCents: number
    readonly byChannel: Readonly<Record<string, { readonly orders: number; readonly units: number; readonly valueCents: number }>>
  }
  /** Units routed at placement / units ordered, over orders placed in the range; null without orders. */
  readonly fillRate: number | null
  /** Orders placed in the range routed to more than one node at placement / orders placed; null without orders. */
  readonly splitRate: number | null
  /**
   * The packages orders were cut into at placement, as the simulator counts
   * them (simulator/summary.ts): the shipments of the routings at placement in
   * the range, each once, whatever became of it later. Shipments made by
   * re-routing (after a rejection, a node going offline, a short pick, a
   * backorder retry) are counted apart, and so are the shipments withdrawn in
   * the range, so that no package is counted twice.
   */
  readonly shipping: {
    /** Shipments of the routings at placement in the range. */
    readonly shipments: number
    /** Their mean cost as the engine priced them at routing (package, distance, weight, node load, and the carrier service of a promised order), cents; null without shipments. */
    readonly averageCostCents: number | null
    /** Their mean distance from the shipping node to the customer, km; null without shipments. */
    readonly averageDistanceKm: number | null
    /** Shipments made by re-routings in the range (not in `shipments`). */
    readonly rerouted: number
    /** Shipments withdrawn in the range (rejected by their node, or their node went offline or paused); their open units were re-routed. */
    readonly withdrawn: number
  }
  /**
   * Delivery promises: a promise is kept when its shipment is delivered at or
   * before its promised time, broken (`late`) when delivered after it or when
   * the promised day ended with the shipment undelivered (the engine's
   * ShipmentLate, not_delivered); each shipment is counted once per report.
   * A carrier estimate past the promised day (ShipmentLate, estimate) only
   * puts the promise `atRisk`: it is kept or broken when the day comes.
   */
  readonly promise: {
    /** Shipments routed in the range that carried a promised delivery date. */
    readonly promised: number
    /** Deliveries in the range of shipments that carried a promise. */
    readonly delivered: number
    /** Deliveries in the range at or before the promised time. */
    readonly kept: number
    /** Promises broken in the range: delivered after the promised time, or not delivered when the promised day ended. */
    readonly late: number
    /** Shipments whose carrier estimated in the range a delivery past the promised day, neither delivered nor late at the end of the range. */
    readonly atRisk: number
    /** kept / (kept + late); null when no promise was kept or broken in the range. */
    readonly keptRate: number | null
  }
  readonly cancellations: {
    readonly count: number
    readonly units: number
    /** Cancellations that left nothing open on their order. */
    readonly ordersCancelled: number
    readonly byReason: Readonly<Record<string, ReasonCount>>
  }
  readonly returns: {
    readonly requested: number
    readonly units: number
    readonly byReason: Readonly<Record<string, ReasonCount>>
    readonly received: number
    readonly refunds: number
    readonly refundCents: number
  }
  readonly backorders: {
    /** Order lines that began waiting as a backorder in the range. */
    readonly opened: number
    /** Backordered lines routed in the range, and how long they had waited. */
    readonly filled: number
    readonly averageFilledAgeMs: number | null
    readonly maxFilledAgeMs: number | null
    /** Lines still backordered at `to`, their units, and their age then. */
    readonly open: number
    readonly openUnits: number
    readonly averageOpenAgeMs: number | null
    readonly oldestOpenAgeMs: number | null
  }
  readonly nodes: ReadonlyArray<NodeThroughput>
  readonly holds: {
    readonly placed: number
    readonly ended: number
    readonly converted: number
    readonly expired: number
    readonly released: number
    /** converted / ended; null when no hold ended. */
    readonly conversionRate: number | null
    /** expired / ended; null when no hold ended. */
    readonly expiryRate: number | null
  }
  readonly feedback: {
    readonly count: number
    readonly averageRating: number | null
    /** Count per rating, "1" .. "5". */
    readonly distribution: Readonly<Record<"1" | "2" | "3" | "4" | "5", number>>
  }
}

/** A shipment a report follows until it is delivered or gone (the fold's context; replaced, never changed in place). */
export interface OpenShipment {
  readonly nodeId: string
  readonly promisedBy: number | null
  readonly units: number
  /** Its promise broke (counted late once). */
  readonly late: boolean
  /** Its carrier estimated a delivery past the promised day. */
  readonly atRisk: boolean
}

/** A backordered line a report follows until it is filled or cancelled (replaced, never changed in place). */
export interface Backordered {
  readonly since: number
  readonly qty: number
}

type NodeTally = { routed: number; shipped: number; delivered: number }

type ChannelTally = { orders: number; units: number; valueCents: number }

const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d)

const sumQty = (lines: ReadonlyArray<{ readonly qty: number }>): number => {
  let n = 0
  for (const l of lines) n += l.qty
  return n
}

/**
 * The counted figures of a report: each event adds to them when it is
 * counted, so the counts of two ranges (or of two partitions) add up to the
 * counts of their union (`addCounts`): the report ledger keeps them hour by
 * hour (ledger.ts). Plain values, so they encode as they are.
 */
export interface ReportCounts {
  placed: number
  units: number
  valueCents: number
  byChannel: Record<string, ChannelTally>
  unitsAtPlacement: number
  routedAtPlacement: number
  ordersRoutedAtPlacement: number
  splitAtPlacement: number
  shipments: number
  costCents: number
  distanceKm: number
  rerouted: number
  withdrawn: number
  promised: number
  promisedDelivered: number
  promiseKept: number
  promiseLate: number
  cancellations: number
  cancelledUnits: number
  ordersCancelled: number
  cancelReasons: Record<string, { count: number; units: number }>
  returnsRequested: number
  returnedUnits: number
  returnReasons: Record<string, { count: number; units: number }>
  returnsReceived: number
  refunds: number
  refundCents: number
  backordersOpened: number
  backordersFilled: number
  filledAgeSum: number
  filledAgeMax: number
  holdsPlaced: number
  holdsConverted: number
  holdsExpired: number
  holdsReleased: number
  feedbackCount: number
  ratingSum: number
  ratings: [number, number, number, number, number]
  nodes: Record<string, NodeTally>
}

export const emptyCounts = (): ReportCounts => ({
  placed: 0, units: 0, valueCents: 0, byChannel: {},
  unitsAtPlacement: 0, routedAtPlacement: 0, ordersRoutedAtPlacement: 0, splitAtPlacement: 0,
  shipments: 0, costCents: 0, distanceKm: 0, rerouted: 0, withdrawn: 0,
  promised: 0, promisedDelivered: 0, promiseKept: 0, promiseLate: 0,
  cancellations: 0, cancelledUnits: 0, ordersCancelled: 0, cancelReasons: {},
  returnsRequested: 0, returnedUnits: 0, returnReasons: {}, returnsReceived: 0, refunds: 0, refundCents: 0,
  backordersOpened: 0, backordersFilled: 0, filledAgeSum: 0, filledAgeMax: 0,
  holdsPlaced: 0, holdsConverted: 0, holdsExpired: 0, holdsReleased: 0,
  feedbackCount: 0, ratingSum: 0, ratings: [0, 0, 0, 0, 0], nodes: {}
})

const addRecords = <T extends Record<string, number>>(into: Record<string, T>, from: Readonly<Record<string, T>>, cap?: number): void => {
  for (const key of Object.keys(from).sort()) {
    let target = into[key]
    if (target === undefined) {
      if (cap !== undefined && Object.keys(into).length >= cap) target = into[otherReason] ??= zeroOf(from[key])
      else target = into[key] = zeroOf(from[key])
    }
    for (const k of Object.keys(from[key]) as Array<keyof T>) (target[k] as number) += from[key][k] as number
  }
}

const zeroOf = <T extends Record<string, number>>(shape: T): T => {
  const zero = {} as Record<string, number>
  for (const k of Object.keys(shape)) zero[k] = 0
  return zero as T
}

/**
 * Adds the counts `from` into `into`: sums, the longest filled age, and
 * reasons (at most reasonsMax listed; past it the rest go under `(other)`, so
 * with more distinct reasons than that, which ones are listed may differ
 * from a single fold over the same events).
 */
export const addCounts = (into: ReportCounts, from: Readonly<ReportCounts>): void => {
  for (const k of Object.keys(from) as Array<keyof ReportCounts>) {
    const v = from[k]
    if (typeof v === "number") {
      if (k === "filledAgeMax") into.filledAgeMax = Math.max(into.filledAgeMax, v)
      else (into[k] as number) += v
    }
  }
  for (let i = 0; i < 5; i++) into.ratings[i] += from.ratings[i]
  addRecords(into.byChannel, from.byChannel)
  addRecords(into.nodes, from.nodes)
  addRecords(into.cancelReasons, from.cancelReasons, reasonsMax)
  addRecords(into.returnReasons, from.returnReasons, reasonsMax)
}

/** What is open at a moment (the end of a range), summed over partitions: backordered lines and promises at risk. */
export interface OpenSummary {
  readonly backorders: number
  readonly backorderUnits: number
  /** Sum of the times the open lines began waiting (their mean age at `to` is to - sum / backorders). */
  readonly backorderSinceSum: number
  /** When the oldest open line began waiting; null with none. */
  readonly oldestSince: number | null
  /** Open shipments whose carrier estimated a delivery past the promised day, not yet late. */
  readonly atRisk: number
}

export const emptySummary: OpenSummary = { backorders: 0, backorderUnits: 0, backorderSinceSum: 0, oldestSince: null, atRisk: 0 }

export const addSummaries = (a: OpenSummary, b: OpenSummary): OpenSummary => ({
  backorders: a.backorders + b.backorders,
  backorderUnits: a.backorderUnits + b.backorderUnits,
  backorderSinceSum: a.backorderSinceSum + b.backorderSinceSum,
  oldestSince: a.oldestSince === null ? b.oldestSince : b.oldestSince === null ? a.oldestSince : Math.min(a.oldestSince, b.oldestSince),
  atRisk: a.atRisk + b.atRisk
})

/** The fold's context as plain values (the report ledger's checkpoints). */
export interface FoldContext {
  readonly open: ReadonlyArray<readonly [string, OpenShipment]>
  readonly waiting: ReadonlyArray<readonly [string, ReadonlyArray<readonly [number, Backordered]>]>
}

/**
 * The fold over a stream of events: the open work later events refer to
 * (its context: shipments not yet delivered or gone, backordered lines),
 * and counts added to the bucket `countsAt` names for the event's time
 * (undefined: the event is context only). A report over a range has one
 * bucket (ReportTally); the report ledger one per hour (ledger.ts).
 *
 * Every figure is additive over time: a broken promise is counted once, in
 * the range where it broke (its day ended undelivered, or it was delivered
 * late); open backorders and promises at risk are what is open at the end.
 */
export class ReportFold {
  private readonly open = new Map<string, OpenShipment>()
  /** order id -> line number -> since when and how many units wait. */
  private readonly waiting = new Map<string, Map<number, Backordered>>()

  constructor(private readonly countsAt: (at: number) => ReportCounts | undefined, context?: FoldContext) {
    if (context === undefined) return
    for (const [id, s] of context.open) this.open.set(id, s)
    for (const [orderId, lines] of context.waiting) this.waiting.set(orderId, new Map(lines))
  }

  /**
   * The context as of now. Its values are never changed in place (a change replaces them, and a backordered
   * order's lines are a new map), so a list of the entries stays as of now while the fold goes on.
   */
  context(): FoldContext {
    return { open: [...this.open], waiting: [...this.waiting].map(([orderId, lines]) => [orderId, [...lines]] as const) }
  }

  /** What is open now. */
  summary(): OpenSummary {
    let backorders = 0
    let backorderUnits = 0
    let backorderSinceSum = 0
    let oldestSince: number | null = null
    for (const lines of this.waiting.values()) {
      for (const w of lines.values()) {
        backorders++
        backorderUnits += w.qty
        backorderSinceSum += w.since
        if (oldestSince === null || w.since < oldestSince) oldestSince = w.since
      }
    }
    let atRisk = 0
    for (const s of this.open.values()) if (s.atRisk && !s.late) atRisk++
    return { backorders, backorderUnits, backorderSinceSum, oldestSince, atRisk }
  }

  /** Folds one event. Events without a time (stock movements) carry nothing a report counts. */
  add(e: EngineEvent): void {
    if (!("at" in e)) return
    const c = this.countsAt(e.at)
    switch (e.type) {
      case "HoldPlaced":
        if (c) c.holdsPlaced++
        return
      case "HoldEnded":
        if (!c) return
        if (e.reason === "converted") c.holdsConverted++
        else if (e.reason === "expired") c.holdsExpired++
        else c.holdsReleased++
        return
      default:
        if (isOrderEvent(e)) this.addOrderEvent(e, c)
    }
  }

  private addOrderEvent(e: OrderEvent & { readonly at: number }, c: ReportCounts | undefined): void {
    switch (e.type) {
      case "OrderPlaced": {
        if (!c) return
        const units = sumQty(e.lines)
        let value = 0
        for (const l of e.lines) value += l.qty * l.unitPriceCents
        c.placed++
        c.units += units
        c.valueCents += value
        const ch = (c.byChannel[e.channel] ??= { orders: 0, units: 0, valueCents: 0 })
        ch.orders++
        ch.units += units
        ch.valueCents += value
        return
      }
      case "OrderRouted": {
        for (const s of e.shipments) {
          this.open.set(s.shipmentId, { nodeId: s.nodeId, promisedBy: s.promise?.promisedBy ?? null, units: sumQty(s.lines), late: false, atRisk: false })
          if (!c) continue
          if (e.reason === "placed") {
            c.shipments++
            c.costCents += s.costCents
            c.distanceKm += s.distanceKm
          } else c.rerouted++
          if (s.promise !== undefined) c.promised++
          nodeOf(c, s.nodeId).routed++
        }
        if (c && e.reason === "placed") {
          const routed = e.shipments.reduce((n, s) => n + sumQty(s.lines), 0)
          c.routedAtPlacement += routed
          c.unitsAtPlacement += routed + sumQty(e.backordered)
          c.ordersRoutedAtPlacement++
          if (e.shipments.length > 1) c.splitAtPlacement++
        }
        this.rebackorder(e.orderId, e.backordered, e.at, c)
        return
      }
      case "ShipmentWithdrawn":
        this.open.delete(e.shipmentId)
        if (c) c.withdrawn++
        return
      case "ShipmentLate": {
        const s = this.open.get(e.shipmentId)
        if (!s || s.late) return
        if (e.cause === "not_delivered") {
          this.open.set(e.shipmentId, { ...s, late: true })
          if (c) c.promiseLate++
        } else if (!s.atRisk) this.open.set(e.shipmentId, { ...s, atRisk: true })
        return
      }
      case "ShipmentPicked": {
        const s = this.open.get(e.shipmentId)
        if (!s) return
        const units = sumQty(e.picked)
        if (units === 0) this.open.delete(e.shipmentId)
        else if (units !== s.units) this.open.set(e.shipmentId, { ...s, units })
        return
      }
      case "ShipmentShipped": {
        const s = this.open.get(e.shipmentId)
        if (c && s) nodeOf(c, s.nodeId).shipped++
        return
      }
      case "ShipmentDelivered": {
        const s = this.open.get(e.shipmentId)
        this.open.delete(e.shipmentId)
        if (!c || !s) return
        nodeOf(c, s.nodeId).delivered++
        if (s.promisedBy !== null) {
          c.promisedDelivered++
          if (e.at <= s.promisedBy) c.promiseKept++
          else if (!s.late) c.promiseLate++
        }
        return
      }
      case "OrderCancelled": {
        for (const r of e.fromShipments) {
          const s = this.open.get(r.shipmentId)
          if (!s) continue
          if (s.units - r.qty <= 0) this.open.delete(r.shipmentId)
          else this.open.set(r.shipmentId, { ...s, units: s.units - r.qty })
        }
        const before = this.waiting.get(e.orderId)
        if (before !== undefined && e.fromBackorder.length > 0) {
          // a new map: the one a checkpoint listed stays as it was
          const lines = new Map(before)
          for (const b of e.fromBackorder) {
            const w = lines.get(b.lineNo)
            if (w === undefined) continue
            if (w.qty - b.qty <= 0) lines.delete(b.lineNo)
            else lines.set(b.lineNo, { since: w.since, qty: w.qty - b.qty })
          }
          if (lines.size === 0) this.waiting.delete(e.orderId)
          else this.waiting.set(e.orderId, lines)
        }
        if (!c) return
        const units = sumQty(e.lines)
        c.cancellations++
        c.cancelledUnits += units
        if (e.complete) c.ordersCancelled++
        countReason(c.cancelReasons, e.reason, units)
        return
      }
      case "ReturnRequested":
        if (!c) return
        c.returnsRequested++
        c.returnedUnits += sumQty(e.lines)
        countReason(c.returnReasons, e.reason, sumQty(e.lines))
        return
      case "ReturnReceived":
        if (c) c.returnsReceived++
        return
      case "RefundIssued":
        if (!c) return
        c.refunds++
        c.refundCents += e.amountCents
        return
      case "FeedbackRecorded":
        if (!c || e.rating < 1 || e.rating > 5) return
        c.feedbackCount++
        c.ratingSum += e.rating
        c.ratings[e.rating - 1]++
        return
      default:
        return
    }
  }

  /** A routing states every line still backordered after it: lines no longer listed were filled. */
  private rebackorder(orderId: string, backordered: ReadonlyArray<{ readonly lineNo: number; readonly qty: number }>, at: number, c: ReportCounts | undefined): void {
    const before = this.waiting.get(orderId)
    if (before === undefined && backordered.length === 0) return
    const after = new Map<number, Backordered>()
    for (const b of backordered) {
      const was = before?.get(b.lineNo)
      after.set(b.lineNo, { since: was?.since ?? at, qty: b.qty })
      if (!was && c) c.backordersOpened++
    }
    if (before && c) {
      for (const [lineNo, was] of before) {
        if (after.has(lineNo)) continue
        const age = at - was.since
        c.backordersFilled++
        c.filledAgeSum += age
        c.filledAgeMax = Math.max(c.filledAgeMax, age)
      }
    }
    if (after.size === 0) this.waiting.delete(orderId)
    else this.waiting.set(orderId, after)
  }
}

const nodeOf = (c: ReportCounts, nodeId: string): NodeTally => (c.nodes[nodeId] ??= { routed: 0, shipped: 0, delivered: 0 })

/** The fold over one range: counts of the events in it, the events before it as context. */
export class ReportTally {
  private readonly counts = emptyCounts()
  private readonly fold: ReportFold

  constructor(readonly range: ReportRange) {
    this.fold = new ReportFold((at) => (at >= range.from && at < range.to ? this.counts : undefined))
  }

  /** Folds one event; events at or after the end of the range are ignored. */
  add(e: EngineEvent): void {
    if ("at" in e && e.at >= this.range.to) return
    this.fold.add(e)
  }

  /** The report, with each node's capacity over the range from `nodes` (the network as it is now). */
  result(nodes: ReadonlyArray<NodeCapacity>): Report {
    return reportFrom(this.range, this.counts, this.fold.summary(), nodes)
  }
}

/** A report from its counts and what is open at its end. */
export const reportFrom = (range: ReportRange, c: Readonly<ReportCounts>, open: OpenSummary, nodes: ReadonlyArray<NodeCapacity>): Report => {
  const { from, to } = range
  const days = (to - from) / 86_400_000
  const capacities = new Map(nodes.map((n) => [n.nodeId, n.capacityPerDay]))
  const nodeIds = [...new Set([...nodes.map((n) => n.nodeId), ...Object.keys(c.nodes)])].sort()
  const ended = c.holdsConverted + c.holdsExpired + c.holdsReleased
  return {
    from,
    to,
    orders: { placed: c.placed, units: c.units, valueCents: c.valueCents, byChannel: sortedRecord(c.byChannel) },
    fillRate: ratio(c.routedAtPlacement, c.unitsAtPlacement),
    splitRate: ratio(c.splitAtPlacement, c.ordersRoutedAtPlacement),
    shipping: {
      shipments: c.shipments,
      averageCostCents: ratio(c.costCents, c.shipments),
      averageDistanceKm: ratio(c.distanceKm, c.shipments),
      rerouted: c.rerouted,
      withdrawn: c.withdrawn
    },
    promise: {
      promised: c.promised, delivered: c.promisedDelivered, kept: c.promiseKept, late: c.promiseLate, atRisk: open.atRisk,
      keptRate: ratio(c.promiseKept, c.promiseKept + c.promiseLate)
    },
    cancellations: { count: c.cancellations, units: c.cancelledUnits, ordersCancelled: c.ordersCancelled, byReason: sortedRecord(c.cancelReasons) },
    returns: {
      requested: c.returnsRequested, units: c.returnedUnits, byReason: sortedRecord(c.returnReasons),
      received: c.returnsReceived, refunds: c.refunds, refundCents: c.refundCents
    },
    backorders: {
      opened: c.backordersOpened,
      filled: c.backordersFilled,
      averageFilledAgeMs: ratio(c.filledAgeSum, c.backordersFilled),
      maxFilledAgeMs: c.backordersFilled === 0 ? null : c.filledAgeMax,
      open: open.backorders,
      openUnits: open.backorderUnits,
      averageOpenAgeMs: open.backorders === 0 ? null : to - open.backorderSinceSum / open.backorders,
      oldestOpenAgeMs: open.oldestSince === null ? null : to - open.oldestSince
    },
    nodes: nodeIds.map((nodeId) => {
      const t = c.nodes[nodeId] ?? { routed: 0, shipped: 0, delivered: 0 }
      const perDay = capacities.get(nodeId)
      const capacity = perDay === undefined ? null : perDay * days
      return { nodeId, routed: t.routed, shipped: t.shipped, delivered: t.delivered, capacity, utilisation: capacity === null ? null : ratio(t.routed, capacity) }
    }),
    holds: {
      placed: c.holdsPlaced, ended, converted: c.holdsConverted, expired: c.holdsExpired, released: c.holdsReleased,
      conversionRate: ratio(c.holdsConverted, ended), expiryRate: ratio(c.holdsExpired, ended)
    },
    feedback: {
      count: c.feedbackCount,
      averageRating: ratio(c.ratingSum, c.feedbackCount),
      distribution: { "1": c.ratings[0], "2": c.ratings[1], "3": c.ratings[2], "4": c.ratings[3], "5": c.ratings[4] }
    }
  }
}

const sortedRecord = <T>(r: Readonly<Record<string, T>>): Record<string, T> => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

const isOrderEvent = (e: EngineEvent): e is OrderEvent & { readonly at: number } => orderEventTypes.has(e.type)

const countReason = (reasons: Record<string, { count: number; units: number }>, reason: string, units: number): void => {
  const key = reason === "" ? "(none)" : reason
  let r = reasons[key]
  if (!r) {
    if (Object.keys(reasons).length >= reasonsMax) r = reasons[otherReason] ??= { count: 0, units: 0 }
    else r = reasons[key] = { count: 0, units: 0 }
  }
  r.count++
  r.units += units
}

/** A report over a list of events (tests, small journals). */
export const reportOf = (events: Iterable<EngineEvent>, range: ReportRange, nodes: ReadonlyArray<NodeCapacity> = []): Report => {
  const tally = new ReportTally(range)
  for (const e of events) tally.add(e)
  return tally.result(nodes)
}
