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

interface OpenShipment {
  readonly nodeId: string
  readonly promisedBy: number | null
  units: number
  /** Counted late (or at risk) in this report already. */
  late: boolean
  atRisk: boolean
}

interface Backordered {
  readonly since: number
  qty: number
}

interface NodeTally {
  routed: number
  shipped: number
  delivered: number
}

const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d)

const sumQty = (lines: ReadonlyArray<{ readonly qty: number }>): number => {
  let n = 0
  for (const l of lines) n += l.qty
  return n
}

/** The fold's state: totals of the range plus the open work later events refer to. */
export class ReportTally {
  private placed = 0
  private units = 0
  private valueCents = 0
  private readonly byChannel = new Map<string, { orders: number; units: number; valueCents: number }>()
  private unitsAtPlacement = 0
  private routedAtPlacement = 0
  private ordersRoutedAtPlacement = 0
  private splitAtPlacement = 0
  private shipments = 0
  private costCents = 0
  private distanceKm = 0
  private reroutedShipments = 0
  private withdrawnShipments = 0
  private promised = 0
  private promisedDelivered = 0
  private promiseKept = 0
  private promiseLate = 0
  private promiseAtRisk = 0
  private cancellations = 0
  private cancelledUnits = 0
  private ordersCancelled = 0
  private readonly cancelReasons = new Map<string, { count: number; units: number }>()
  private returnsRequested = 0
  private returnedUnits = 0
  private readonly returnReasons = new Map<string, { count: number; units: number }>()
  private returnsReceived = 0
  private refunds = 0
  private refundCents = 0
  private backordersOpened = 0
  private backordersFilled = 0
  private filledAgeSum = 0
  private filledAgeMax = 0
  private holdsPlaced = 0
  private readonly holdsEnded = { converted: 0, expired: 0, released: 0 }
  private feedbackCount = 0
  private ratingSum = 0
  private readonly ratings = [0, 0, 0, 0, 0]
  private readonly nodeTallies = new Map<string, NodeTally>()
  /** Shipments not yet delivered or gone: shipment id -> where, promise, units. */
  private readonly open = new Map<string, OpenShipment>()
  /** order id -> line number -> since when and how many units wait. */
  private readonly waiting = new Map<string, Map<number, Backordered>>()

  constructor(readonly range: ReportRange) {}

  private inRange(at: number): boolean {
    return at >= this.range.from && at < this.range.to
  }

  private node(nodeId: string): NodeTally {
    let t = this.nodeTallies.get(nodeId)
    if (!t) this.nodeTallies.set(nodeId, (t = { routed: 0, shipped: 0, delivered: 0 }))
    return t
  }

  /** Folds one event. Events without a time (stock movements) carry nothing a report counts. */
  add(e: EngineEvent): void {
    if (!("at" in e) || e.at >= this.range.to) return
    const counted = this.inRange(e.at)
    switch (e.type) {
      case "HoldPlaced":
        if (counted) this.holdsPlaced++
        return
      case "HoldEnded":
        if (counted) this.holdsEnded[e.reason]++
        return
      default:
        if (isOrderEvent(e)) this.addOrderEvent(e, counted)
    }
  }

  private addOrderEvent(e: OrderEvent & { readonly at: number }, counted: boolean): void {
    switch (e.type) {
      case "OrderPlaced": {
        if (!counted) return
        const units = sumQty(e.lines)
        let value = 0
        for (const l of e.lines) value += l.qty * l.unitPriceCents
        this.placed++
        this.units += units
        this.valueCents += value
        let c = this.byChannel.get(e.channel)
        if (!c) this.byChannel.set(e.channel, (c = { orders: 0, units: 0, valueCents: 0 }))
        c.orders++
        c.units += units
        c.valueCents += value
        return
      }
      case "OrderRouted": {
        for (const s of e.shipments) {
          this.open.set(s.shipmentId, { nodeId: s.nodeId, promisedBy: s.promise?.promisedBy ?? null, units: sumQty(s.lines), late: false, atRisk: false })
          if (!counted) continue
          if (e.reason === "placed") {
            this.shipments++
            this.costCents += s.costCents
            this.distanceKm += s.distanceKm
          } else this.reroutedShipments++
          if (s.promise !== undefined) this.promised++
          this.node(s.nodeId).routed++
        }
        if (counted && e.reason === "placed") {
          const routed = e.shipments.reduce((n, s) => n + sumQty(s.lines), 0)
          this.routedAtPlacement += routed
          this.unitsAtPlacement += routed + sumQty(e.backordered)
          this.ordersRoutedAtPlacement++
          if (e.shipments.length > 1) this.splitAtPlacement++
        }
        this.rebackorder(e.orderId, e.backordered, e.at, counted)
        return
      }
      case "ShipmentWithdrawn":
        this.open.delete(e.shipmentId)
        if (counted) this.withdrawnShipments++
        return
      case "ShipmentLate": {
        const s = this.open.get(e.shipmentId)
        if (!counted || !s || s.late) return
        if (e.cause === "not_delivered") {
          s.late = true
          this.promiseLate++
          if (s.atRisk) this.promiseAtRisk--
        } else if (!s.atRisk) {
          s.atRisk = true
          this.promiseAtRisk++
        }
        return
      }
      case "ShipmentPicked": {
        const s = this.open.get(e.shipmentId)
        if (!s) return
        s.units = sumQty(e.picked)
        if (s.units === 0) this.open.delete(e.shipmentId)
        return
      }
      case "ShipmentShipped": {
        const s = this.open.get(e.shipmentId)
        if (counted && s) this.node(s.nodeId).shipped++
        return
      }
      case "ShipmentDelivered": {
        const s = this.open.get(e.shipmentId)
        this.open.delete(e.shipmentId)
        if (!counted || !s) return
        this.node(s.nodeId).delivered++
        if (s.promisedBy !== null) {
          this.promisedDelivered++
          if (s.atRisk) this.promiseAtRisk--
          if (e.at <= s.promisedBy) this.promiseKept++
          else if (!s.late) this.promiseLate++
        }
        return
      }
      case "OrderCancelled": {
        for (const r of e.fromShipments) {
          const s = this.open.get(r.shipmentId)
          if (s && (s.units -= r.qty) <= 0) this.open.delete(r.shipmentId)
        }
        const lines = this.waiting.get(e.orderId)
        for (const b of e.fromBackorder) {
          const w = lines?.get(b.lineNo)
          if (w && (w.qty -= b.qty) <= 0) lines!.delete(b.lineNo)
        }
        if (lines && lines.size === 0) this.waiting.delete(e.orderId)
        if (!counted) return
        const units = sumQty(e.lines)
        this.cancellations++
        this.cancelledUnits += units
        if (e.complete) this.ordersCancelled++
        countReason(this.cancelReasons, e.reason, units)
        return
      }
      case "ReturnRequested":
        if (!counted) return
        this.returnsRequested++
        this.returnedUnits += sumQty(e.lines)
        countReason(this.returnReasons, e.reason, sumQty(e.lines))
        return
      case "ReturnReceived":
        if (counted) this.returnsReceived++
        return
      case "RefundIssued":
        if (!counted) return
        this.refunds++
        this.refundCents += e.amountCents
        return
      case "FeedbackRecorded":
        if (!counted || e.rating < 1 || e.rating > 5) return
        this.feedbackCount++
        this.ratingSum += e.rating
        this.ratings[e.rating - 1]++
        return
      default:
        return
    }
  }

  /** A routing states every line still backordered after it: lines no longer listed were filled. */
  private rebackorder(orderId: string, backordered: ReadonlyArray<{ readonly lineNo: number; readonly qty: number }>, at: number, counted: boolean): void {
    const before = this.waiting.get(orderId)
    if (before === undefined && backordered.length === 0) return
    const after = new Map<number, Backordered>()
    for (const b of backordered) {
      const was = before?.get(b.lineNo)
      after.set(b.lineNo, { since: was?.since ?? at, qty: b.qty })
      if (!was && counted) this.backordersOpened++
    }
    if (before) {
      for (const [lineNo, was] of before) {
        if (after.has(lineNo) || !counted) continue
        const age = at - was.since
        this.backordersFilled++
        this.filledAgeSum += age
        this.filledAgeMax = Math.max(this.filledAgeMax, age)
      }
    }
    if (after.size === 0) this.waiting.delete(orderId)
    else this.waiting.set(orderId, after)
  }

  /** The report, with each node's capacity over the range from `nodes` (the network as it is now). */
  result(nodes: ReadonlyArray<NodeCapacity>): Report {
    const { from, to } = this.range
    const days = (to - from) / 86_400_000
    let open = 0
    let openUnits = 0
    let openAgeSum = 0
    let oldest = 0
    for (const lines of this.waiting.values()) {
      for (const w of lines.values()) {
        open++
        openUnits += w.qty
        openAgeSum += to - w.since
        oldest = Math.max(oldest, to - w.since)
      }
    }
    const capacities = new Map(nodes.map((n) => [n.nodeId, n.capacityPerDay]))
    const nodeIds = [...new Set([...nodes.map((n) => n.nodeId), ...this.nodeTallies.keys()])].sort()
    const ended = this.holdsEnded.converted + this.holdsEnded.expired + this.holdsEnded.released
    return {
      from,
      to,
      orders: { placed: this.placed, units: this.units, valueCents: this.valueCents, byChannel: Object.fromEntries([...this.byChannel].sort()) },
      fillRate: ratio(this.routedAtPlacement, this.unitsAtPlacement),
      splitRate: ratio(this.splitAtPlacement, this.ordersRoutedAtPlacement),
      shipping: {
        shipments: this.shipments,
        averageCostCents: ratio(this.costCents, this.shipments),
        averageDistanceKm: ratio(this.distanceKm, this.shipments),
        rerouted: this.reroutedShipments,
        withdrawn: this.withdrawnShipments
      },
      promise: {
        promised: this.promised, delivered: this.promisedDelivered, kept: this.promiseKept, late: this.promiseLate, atRisk: this.promiseAtRisk,
        keptRate: ratio(this.promiseKept, this.promiseKept + this.promiseLate)
      },
      cancellations: { count: this.cancellations, units: this.cancelledUnits, ordersCancelled: this.ordersCancelled, byReason: reasonsOf(this.cancelReasons) },
      returns: {
        requested: this.returnsRequested, units: this.returnedUnits, byReason: reasonsOf(this.returnReasons),
        received: this.returnsReceived, refunds: this.refunds, refundCents: this.refundCents
      },
      backorders: {
        opened: this.backordersOpened,
        filled: this.backordersFilled,
        averageFilledAgeMs: ratio(this.filledAgeSum, this.backordersFilled),
        maxFilledAgeMs: this.backordersFilled === 0 ? null : this.filledAgeMax,
        open,
        openUnits,
        averageOpenAgeMs: ratio(openAgeSum, open),
        oldestOpenAgeMs: open === 0 ? null : oldest
      },
      nodes: nodeIds.map((nodeId) => {
        const t = this.nodeTallies.get(nodeId) ?? { routed: 0, shipped: 0, delivered: 0 }
        const perDay = capacities.get(nodeId)
        const capacity = perDay === undefined ? null : perDay * days
        return { nodeId, routed: t.routed, shipped: t.shipped, delivered: t.delivered, capacity, utilisation: capacity === null ? null : ratio(t.routed, capacity) }
      }),
      holds: {
        placed: this.holdsPlaced, ended, ...this.holdsEnded,
        conversionRate: ratio(this.holdsEnded.converted, ended), expiryRate: ratio(this.holdsEnded.expired, ended)
      },
      feedback: {
        count: this.feedbackCount,
        averageRating: ratio(this.ratingSum, this.feedbackCount),
        distribution: { "1": this.ratings[0], "2": this.ratings[1], "3": this.ratings[2], "4": this.ratings[3], "5": this.ratings[4] }
      }
    }
  }
}

const isOrderEvent = (e: EngineEvent): e is OrderEvent & { readonly at: number } => orderEventTypes.has(e.type)

const countReason = (reasons: Map<string, { count: number; units: number }>, reason: string, units: number): void => {
  const key = reason === "" ? "(none)" : reason
  let r = reasons.get(key)
  if (!r) {
    if (reasons.size >= reasonsMax) {
      r = reasons.get(otherReason)
      if (!r) reasons.set(otherReason, (r = { count: 0, units: 0 }))
    } else reasons.set(key, (r = { count: 0, units: 0 }))
  }
  r.count++
  r.units += units
}

const reasonsOf = (reasons: Map<string, ReasonCount>): Record<string, ReasonCount> => Object.fromEntries([...reasons].sort())

/** A report over a list of events (tests, small journals). */
export const reportOf = (events: Iterable<EngineEvent>, range: ReportRange, nodes: ReadonlyArray<NodeCapacity> = []): Report => {
  const tally = new ReportTally(range)
  for (const e of events) tally.add(e)
  return tally.result(nodes)
}
