/**
 * What the connected clients need to hear after each committed engine batch:
 * which SKUs' availability may have changed, the order events, and the
 * customer notifications the outbox pump delivered. The owner process derives
 * them from Engine.subscribe (EngineChangeSource); every process hands them to
 * its WS feeds through a ChangeHub; with Redis the owner's hub is mirrored to
 * the edges' hubs (redis-fanout.ts).
 *
 * Every pool event names its pool (SKU and node), so the SKUs to refresh are
 * read straight off the events.
 */
import { isOrderEvent, type Engine, type EngineEvent, type Notification, type OrderEvent } from "../engine/index.ts"

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
  /**
   * This process may have missed changes (an edge cut off from Redis, or a
   * gap in the owner's message numbers): feeds read what they serve again
   * (availability of every subscribed SKU, the events of every subscribed
   * order after the last one pushed).
   */
  readonly resync?: boolean
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


/** Turns the owner's committed engine batches into Changes on a hub. */
export class EngineChangeSource {
  private readonly unsubscribe: () => void

  constructor(engine: Engine, private readonly hub: ChangeHub) {
    this.unsubscribe = engine.subscribe((batch) => this.onBatch(batch.events))
  }

  close(): void {
    this.unsubscribe()
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
        case "HoldEnded":
        case "StockReceived":
        case "StockAdjusted":
        case "SafetyStockSet":
        case "StockReserved":
        case "StockRestocked":
        case "ReservationReleased":
          skus.add(e.sku)
          break
        case "HoldExtended":
        case "ReservationAllocated":
        case "StockShipped":
          // ATP does not move
          break
        case "NotificationsDelivered":
          // the gateway's own bookkeeping of the outbox: not news for clients
          break
        default:
          if (isOrderEvent(e)) orders.push({ orderId: e.orderId, stream, seq, event: e })
      }
    }
    if (skus.size === 0 && !allSkus && orders.length === 0) return
    this.hub.publish({ skus: [...skus], allSkus, orders, notifications: [] })
  }
}
