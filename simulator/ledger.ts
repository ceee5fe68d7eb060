/**
 * The simulator's own ledger: what the gateway acknowledged, written down as
 * each acknowledgement arrives and never read back from the engine. The audit
 * (audit.ts) checks the engine's state against it at the end of the day.
 *
 * It records cart holds (and what became of them: converted into an order,
 * released, or abandoned to expire), orders (their lines, how they were
 * routed at placement, and the line counters of the last acknowledged reply:
 * cancelled, shipped, delivered, returned), payments, and every stock
 * movement per pool (initial load, receipts, units shipped, short-pick
 * write-offs, restocks). Orders also keep the terms they were placed with
 * (promise: service, deliverBy; B2B: purchase order, ship-complete, requested
 * delivery date) and the feedback acknowledged. Plain JSON data, so a run can
 * save it and a test can tamper with it.
 */
import type { HoldView, LineQty, OrderView } from "../engine/index.ts"

export type HoldFate = "open" | "converted" | "released" | "abandoned"

/** A hold as the gateway acknowledged it (expiresAt on the engine clock), and what became of it. */
export interface LedgerHold extends Pick<HoldView, "holdId" | "channel" | "sku" | "nodeId" | "qty" | "expiresAt"> {
  readonly placedSim: number
  fate: HoldFate
}

export interface LedgerShipment {
  readonly shipmentId: string
  readonly nodeId: string
  readonly lines: ReadonlyArray<LineQty>
  readonly distanceKm: number
  readonly costCents: number
}

export interface LedgerLine {
  readonly lineNo: number
  readonly sku: string
  readonly qty: number
  /** Counters of the last acknowledged reply about this order. */
  cancelled: number
  shipped: number
  delivered: number
  returned: number
}

/** Terms an order was placed with, as the storefront asked them (absent: not asked). */
export interface OrderTerms {
  readonly service?: string
  readonly deliverBy?: string
  readonly purchaseOrder?: string
  readonly shipComplete?: boolean
  readonly requestedDeliveryDate?: string
}

export interface LedgerOrder {
  readonly orderId: string
  readonly externalId: string
  readonly channel: string
  readonly lines: Array<LedgerLine>
  readonly destination: { readonly lat: number; readonly lon: number }
  readonly holdIds: ReadonlyArray<string>
  readonly placedSim: number
  /** Payment as last acknowledged. */
  payment: "pending" | "authorised" | "declined" | "timeout"
  /** The routing acknowledged with the placement. */
  readonly placement: { readonly shipments: ReadonlyArray<LedgerShipment>; readonly backordered: number }
  /** Promise and B2B terms asked (absent in ledgers written before they were simulated). */
  readonly terms?: OrderTerms
  /** Feedback acknowledged. */
  feedback?: { readonly rating: number; readonly comment: string }
}

export interface LedgerPool {
  readonly sku: string
  readonly nodeId: string
  initial: number
  received: number
  shipped: number
  shortPicked: number
  restocked: number
  /** Holds placed at the pool (any fate). */
  holds: number
  /** Units held when the day started (a shared gateway: other clients' carts and unpaid orders). */
  heldAtStart?: number
}

export interface LedgerData {
  readonly version: 1
  readonly scenario: string
  readonly seed: number
  readonly holds: Record<string, LedgerHold>
  readonly orders: Record<string, LedgerOrder>
  readonly pools: Record<string, LedgerPool>
  readonly nodeStatus: Array<{ readonly nodeId: string; readonly status: string; readonly sim: number }>
}

export const poolKey = (nodeId: string, sku: string): string => `${nodeId}/${sku}`

export class Ledger {
  readonly data: LedgerData

  constructor(scenario: string, seed: number, data?: LedgerData) {
    this.data = data ?? { version: 1, scenario, seed, holds: {}, orders: {}, pools: {}, nodeStatus: [] }
  }

  static fromJSON(json: string): Ledger {
    const data = JSON.parse(json) as LedgerData
    return new Ledger(data.scenario, data.seed, data)
  }

  toJSON(): LedgerData {
    return this.data
  }

  /** A deep copy (for a what-if or a tampering test). */
  clone(): Ledger {
    return Ledger.fromJSON(JSON.stringify(this.data))
  }

  pool(nodeId: string, sku: string): LedgerPool {
    const key = poolKey(nodeId, sku)
    return (this.data.pools[key] ??= { sku, nodeId, initial: 0, received: 0, shipped: 0, shortPicked: 0, restocked: 0, holds: 0 })
  }

  // ---- stock ----

  stockLoaded(rows: ReadonlyArray<{ readonly sku: string; readonly nodeId: string; readonly onHand: number }>): void {
    for (const r of rows) this.pool(r.nodeId, r.sku).initial = r.onHand
  }

  received(sku: string, nodeId: string, qty: number): void {
    this.pool(nodeId, sku).received += qty
  }

  // ---- holds ----

  holdPlaced(h: HoldView, sim: number): void {
    this.data.holds[h.holdId] = { holdId: h.holdId, channel: h.channel, sku: h.sku, nodeId: h.nodeId, qty: h.qty, expiresAt: h.expiresAt, placedSim: sim, fate: "open" }
    this.pool(h.nodeId, h.sku).holds++
  }

  holdFate(holdId: string, fate: HoldFate): void {
    const h = this.data.holds[holdId]
    if (h) h.fate = fate
  }

  // ---- orders ----

  orderPlaced(view: OrderView, holdIds: ReadonlyArray<string>, sim: number, terms: OrderTerms = {}): LedgerOrder {
    const existing = this.data.orders[view.orderId]
    if (existing) return existing
    const o: LedgerOrder = {
      orderId: view.orderId,
      externalId: view.externalId,
      channel: view.channel,
      lines: view.lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, qty: l.qty, cancelled: 0, shipped: 0, delivered: 0, returned: 0 })),
      destination: view.destination,
      holdIds: [...holdIds],
      placedSim: sim,
      payment: view.payment,
      placement: {
        shipments: view.shipments.filter((s) => s.status !== "withdrawn").map((s) => ({
          shipmentId: s.shipmentId, nodeId: s.nodeId, lines: s.lines, distanceKm: s.distanceKm, costCents: s.costCents
        })),
        backordered: view.lines.reduce((n, l) => n + l.backordered, 0)
      },
      terms
    }
    this.data.orders[view.orderId] = o
    for (const id of holdIds) this.holdFate(id, "converted")
    this.acknowledged(view)
    return o
  }

  /** Records the line counters and payment of an acknowledged reply's order view (they only grow). */
  acknowledged(view: OrderView): void {
    const o = this.data.orders[view.orderId]
    if (!o) return
    o.payment = view.payment
    for (const l of view.lines) {
      const mine = o.lines.find((x) => x.lineNo === l.lineNo)
      if (!mine) continue
      mine.cancelled = Math.max(mine.cancelled, l.cancelled)
      mine.shipped = Math.max(mine.shipped, l.shipped)
      mine.delivered = Math.max(mine.delivered, l.delivered)
      mine.returned = Math.max(mine.returned, l.returned)
    }
  }

  /** The customer's feedback was acknowledged (once per order). */
  feedbackGiven(orderId: string, rating: number, comment: string): void {
    const o = this.data.orders[orderId]
    if (o) o.feedback = { rating, comment }
  }

  /** A shipment's units left its node (the node's ship event was acknowledged). */
  shipped(nodeId: string, lines: ReadonlyArray<{ readonly sku: string; readonly qty: number }>): void {
    for (const l of lines) this.pool(nodeId, l.sku).shipped += l.qty
  }

  /** A short pick was acknowledged: the engine writes the missing units off the node's on hand. */
  shortPicked(nodeId: string, sku: string, qty: number): void {
    this.pool(nodeId, sku).shortPicked += qty
  }

  restocked(nodeId: string, sku: string, qty: number): void {
    this.pool(nodeId, sku).restocked += qty
  }

  nodeStatus(nodeId: string, status: string, sim: number): void {
    this.data.nodeStatus.push({ nodeId, status, sim })
  }

  get orders(): Array<LedgerOrder> {
    return Object.values(this.data.orders)
  }

  get holds(): Array<LedgerHold> {
    return Object.values(this.data.holds)
  }

  get pools(): Array<LedgerPool> {
    return Object.values(this.data.pools)
  }
}
