/**
 * One storefront WebSocket connection: who it is, what it subscribed to, how
 * many of its requests are in flight, how often it sent bad frames, and what
 * is held back for it while it reads slowly. Sending goes through here so the
 * backpressure rules hold everywhere (bytes not yet written this turn count
 * as buffered), and so that a connection's frames of one event-loop turn
 * leave in one write:
 *
 *   replies         always sent; past bufferedBytesHardMax the connection is closed (4001)
 *   availability    held back (coalesced per SKU, newest value wins) while buffered > bufferedBytesMax
 *   order pushes    queued while buffered > bufferedBytesMax, at most orderPushesQueuedMax, then 4001
 */
import type { WebSocket } from "uWebSockets.js"
import type { LatLon } from "../engine/index.ts"
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

/**
 * Sessions with frames waiting to go out. Everything sent to a connection
 * during one turn of the event loop (the replies of a whole group commit,
 * the pushes of a batch) leaves in one corked write at the end of the turn:
 * one system call per connection instead of one per frame, in the order
 * the frames were sent.
 */
const unflushed = new Set<WsSession>()
let flushScheduled = false

const flushAll = (): void => {
  flushScheduled = false
  for (const s of unflushed) s.flush()
  unflushed.clear()
}

export class WsSession {
  /** SKU -> the parameters it was subscribed with. */
  readonly availability = new Map<string, AvailabilityParams>()
  readonly orders = new Set<string>()
  /** SKUs whose change is waiting for the next availability flush. */
  readonly pendingSkus = new Set<string>()
  private heldOrderPushes: Array<string> = []
  /** Frames sent this turn of the event loop, written at its end (flushAll). */
  private outgoing: Array<string> = []
  private outgoingBytes = 0
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

  /** Bytes waiting for the consumer: buffered by uWebSockets.js, plus this turn's frames not yet written. */
  get buffered(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount() + this.outgoingBytes
  }

  /** Whether availability pushes may go out now. */
  get writable(): boolean {
    return !this.closed && this.buffered <= this.config.bufferedBytesMax
  }

  private send(text: string): void {
    if (this.outgoing.length === 0) {
      unflushed.add(this)
      if (!flushScheduled) {
        flushScheduled = true
        setImmediate(flushAll)
      }
    }
    this.outgoing.push(text)
    this.outgoingBytes += text.length
  }

  /** Writes this turn's frames in one corked write (see flushAll). */
  flush(): void {
    const frames = this.outgoing
    if (frames.length === 0) return
    this.outgoing = []
    this.outgoingBytes = 0
    if (this.closed) return
    this.ws.cork(() => {
      for (let i = 0; i < frames.length; i++) this.ws.send(frames[i], false)
    })
    this.checkHardBound()
  }

  /** A reply to a request: always sent, unless the consumer is past the hard bound. */
  reply(text: string): void {
    if (this.closed) return
    this.send(text)
    if (this.buffered > this.config.bufferedBytesHardMax) this.close(closeCodes.slowConsumer, "slow_consumer")
  }

  /** An availability push (caller checked `writable`). */
  push(text: string, kind: string): void {
    if (this.closed) return
    this.send(text)
    this.metrics.count("gateway_pushes_total", { kind })
    if (this.buffered > this.config.bufferedBytesHardMax) this.close(closeCodes.slowConsumer, "slow_consumer")
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
    this.outgoing = []
    this.outgoingBytes = 0
    this.ws.end(code, reason)
  }

  private checkHardBound(): void {
    if (!this.closed && this.ws.getBufferedAmount() > this.config.bufferedBytesHardMax) this.close(closeCodes.slowConsumer, "slow_consumer")
  }
}
