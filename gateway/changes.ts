/**
 * What the connected clients need to hear after each committed engine batch:
 * which SKUs' availability may have changed, the order events, and the
 * customer notifications the outbox pump delivered. The owner process derives
 * them from Engine.subscribe (EngineChangeSource); every process hands them to
 * its WS feeds through a ChangeHub; with Redis the owner's hub is mirrored to
 * the edges' hubs (redis-fanout.ts).
 *
 * Pool events that carry no SKU (HoldEnded, ReservationReleased) are mapped
 * back: holds through a hold -> SKU map seeded from the engine's live holds and
 * kept from HoldPlaced/HoldEnded, reservations through their order's line.
 */
import type { EngineEvent, OrderEvent } from "../engine/domain/events.ts"
import type { Notification } from "../engine/order/order-state.ts"
import type { Engine } from "../engine/runtime/engine.ts"

export interface OrderChange {
  readonly orderId: string
  readonly stream: string
  readonly seq: number
  readonly event: OrderEvent
}

export interface Changes {
  /** SKUs whose ATP may have changed. */
  readonly skus: ReadonlyArray<string>
  /** A node or channel changed: every SKU's availability may have changed. */
  readonly allSkus: boolean
  readonly orders: ReadonlyArray<OrderChange>
  readonly notifications: ReadonlyArray<Notification>
}

export type ChangeListener = (changes: Changes) => void

/** In-process fan-out of changes to this process's feeds. */
export class ChangeHub {
  private readonly listeners = new Set<ChangeListener>()

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  publish(changes: Changes): void {
    for (const l of this.listeners) {
      try {
        l(changes)
      } catch (e) {
        console.error(`gateway: a change listener failed: ${String(e)}`)
      }
    }
  }
}

const orderEventTypes: ReadonlySet<string> = new Set<OrderEvent["type"]>([
  "OrderPlaced", "OrderRouted", "PaymentAuthorised", "PaymentFailed", "ShipmentAccepted", "ShipmentWithdrawn",
  "ShipmentPicked", "ShipmentPacked", "ShipmentShipped", "ShipmentDelivered", "OrderCancelled", "ReturnRequested",
  "ReturnReceived", "RefundIssued", "NotificationsDelivered"
])

export const isOrderEvent = (e: EngineEvent): e is OrderEvent => orderEventTypes.has(e.type)

/** `o1-a-s2/3` (reservation of line 3 of shipment o1-a-s2) -> order o1-a, line 3. */
const reservationLine = (reservationId: string): { orderId: string; lineNo: number } | undefined => {
  const slash = reservationId.lastIndexOf("/")
  const shipment = reservationId.slice(0, slash)
  const cut = shipment.lastIndexOf("-s")
  if (slash < 0 || cut < 0) return undefined
  return { orderId: shipment.slice(0, cut), lineNo: Number(reservationId.slice(slash + 1)) }
}

/** Turns the owner's committed engine batches into Changes on a hub. */
export class EngineChangeSource {
  private readonly holdSku = new Map<string, string>()
  private readonly unsubscribe: () => void

  constructor(private readonly engine: Engine, private readonly hub: ChangeHub) {
    for (const p of engine.view.partitions) for (const h of p.stock.holds.values()) this.holdSku.set(h.holdId, h.sku)
    this.unsubscribe = engine.subscribe((batch) => this.onBatch(batch.events))
  }

  close(): void {
    this.unsubscribe()
  }

  private skuOfReservation(reservationId: string): string | undefined {
    const ref = reservationLine(reservationId)
    if (!ref) return undefined
    return this.engine.view.orderById(ref.orderId)?.lines.find((l) => l.lineNo === ref.lineNo)?.sku
  }

  private onBatch(events: ReadonlyArray<{ stream: string; seq: number; event: EngineEvent }>): void {
    const skus = new Set<string>()
    let allSkus = false
    const orders: Array<OrderChange> = []
    for (const { stream, seq, event: e } of events) {
      switch (e.type) {
        case "NodeUpserted":
        case "NodeStatusChanged":
        case "ChannelUpserted":
          allSkus = true
          break
        case "HoldPlaced":
          this.holdSku.set(e.holdId, e.sku)
          skus.add(e.sku)
          break
        case "HoldEnded": {
          const sku = this.holdSku.get(e.holdId)
          this.holdSku.delete(e.holdId)
          if (sku !== undefined) skus.add(sku)
          else allSkus = true
          break
        }
        case "StockReceived":
        case "StockAdjusted":
        case "SafetyStockSet":
        case "StockReserved":
        case "StockRestocked":
          skus.add(e.sku)
          break
        case "ReservationReleased": {
          const sku = this.skuOfReservation(e.reservationId)
          if (sku !== undefined) skus.add(sku)
          else allSkus = true
          break
        }
        default:
          if (isOrderEvent(e)) orders.push({ orderId: e.orderId, stream, seq, event: e })
      }
    }
    if (skus.size === 0 && !allSkus && orders.length === 0) return
    this.hub.publish({ skus: [...skus], allSkus, orders, notifications: [] })
  }
}
