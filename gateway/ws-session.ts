/**
 * One storefront WebSocket connection: who it is, what it subscribed to, how
 * many of its requests are in flight, how often it sent bad frames, and what
 * is held back for it while it reads slowly. Sending goes through here so the
 * backpressure rules hold everywhere:
 *
 *   replies         always sent; past bufferedBytesHardMax the connection is closed (4001)
 *   availability    held back (coalesced per SKU, newest value wins) while buffered > bufferedBytesMax
 *   order pushes    queued while buffered > bufferedBytesMax, at most orderPushesQueuedMax, then 4001
 */
import type { WebSocket } from "uWebSockets.js"
import type { LatLon } from "../engine/domain/network.ts"
import type { GatewayConfig } from "./config.ts"
import { closeCodes } from "./errors.ts"
import type { Principal } from "./keys.ts"
import type { GatewayMetrics } from "./metrics.ts"

export interface AvailabilityParams {
  readonly location?: LatLon
  readonly nodesMax: number
}

/** What uWebSockets.js keeps per connection (its user data). */
export interface SessionHolder {
  session: WsSession | undefined
  readonly principal: Principal
}

export class WsSession {
  /** SKU -> the parameters it was subscribed with. */
  readonly availability = new Map<string, AvailabilityParams>()
  readonly orders = new Set<string>()
  /** SKUs whose change is waiting for the next availability flush. */
  readonly pendingSkus = new Set<string>()
  private heldOrderPushes: Array<string> = []
  inFlight = 0
  private badFrames = 0
  private badFramesSince = 0
  closed = false

  constructor(
    readonly ws: WebSocket<SessionHolder>,
    readonly principal: Principal,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics
  ) {}

  /** The channel the connection reads availability for (undefined for the ops token: the whole network). */
  get channel(): string | undefined {
    return this.principal.kind === "storefront" ? this.principal.channel : undefined
  }

  get subscriptions(): number {
    return this.availability.size + this.orders.size
  }

  get buffered(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount()
  }

  /** Whether availability pushes may go out now. */
  get writable(): boolean {
    return !this.closed && this.ws.getBufferedAmount() <= this.config.bufferedBytesMax
  }

  /** A reply to a request: always sent, unless the consumer is past the hard bound. */
  reply(text: string): void {
    if (this.closed) return
    this.ws.cork(() => this.ws.send(text, false))
    this.checkHardBound()
  }

  /** An availability push (caller checked `writable`). */
  push(text: string, kind: string): void {
    if (this.closed) return
    this.ws.cork(() => this.ws.send(text, false))
    this.metrics.count("gateway_pushes_total", { kind })
    this.checkHardBound()
  }

  /** An order event or notification: sent now, or queued while the consumer is slow. */
  pushOrder(text: string, kind: string): void {
    if (this.closed) return
    if (this.heldOrderPushes.length > 0 || !this.writable) {
      if (this.heldOrderPushes.length >= this.config.orderPushesQueuedMax) {
        this.close(closeCodes.slowConsumer, "slow_consumer")
        return
      }
      this.heldOrderPushes.push(text)
      return
    }
    this.push(text, kind)
  }

  /** The socket drained: send what was held back, while it stays writable. */
  drainHeld(): void {
    let i = 0
    while (i < this.heldOrderPushes.length && this.writable) this.push(this.heldOrderPushes[i++], "order")
    if (i > 0) this.heldOrderPushes = this.heldOrderPushes.slice(i)
  }

  /** Counts a bad frame; true when the connection was closed for misbehaving. */
  badFrame(now: number): boolean {
    if (now - this.badFramesSince > this.config.badFramesWindowMs) {
      this.badFrames = 0
      this.badFramesSince = now
    }
    this.badFrames++
    if (this.badFrames > this.config.badFramesBeforeClose) {
      this.close(closeCodes.misbehaving, "too_many_bad_frames")
      return true
    }
    return false
  }

  close(code: number, reason: string): void {
    if (this.closed) return
    this.metrics.count("gateway_ws_closed_total", { reason })
    this.closed = true
    this.ws.end(code, reason)
  }

  private checkHardBound(): void {
    if (!this.closed && this.ws.getBufferedAmount() > this.config.bufferedBytesHardMax) this.close(closeCodes.slowConsumer, "slow_consumer")
  }
}
