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
 *
 * Closing drains first: a connection closed for bad frames or at shutdown
 * stops taking requests, waits (at most closeDrainMs) for the answers of its
 * requests in flight and for its send buffer to empty, and only then sends
 * the close frame (uWebSockets.js `end`, which writes what is buffered before
 * it). A reply computed before a close is never dropped; a request still in
 * flight at the deadline is answered `outcome_unknown`. A slow consumer
 * (4001) is closed at once, after this turn's frames: its buffer will not drain.
 */
import type { WebSocket } from "uWebSockets.js"
import type { LatLon } from "../engine/index.ts"
import type { GatewayConfig } from "./config.ts"
import { closeCodes, type ErrorBody } from "./errors.ts"
import type { Principal } from "./keys.ts"
import type { GatewayMetrics } from "./metrics.ts"
import { connectionBuckets, type Buckets } from "./rate-limits.ts"

export interface AvailabilityParams {
  readonly location?: LatLon
  readonly nodesMax: number
}

/** What uWebSockets.js keeps per connection (its user data). */
export interface SessionHolder {
  session: WsSession | undefined
  readonly principal: Principal
  /** The API key the connection was opened with (its rate limits are per key). */
  readonly key: string
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

interface Closing {
  readonly code: number
  readonly reason: string
  readonly done: Promise<void>
  readonly resolve: () => void
  readonly timer: ReturnType<typeof setTimeout>
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
  /** Requests running (the engine has them), by a number of the connection's own, with the id their reply carries. */
  private readonly pending = new Map<number, string | number>()
  private requestsBegun = 0
  private badFrames = 0
  private badFramesSince = 0
  /** Set once a close has begun (draining); `closed` once the close frame is sent or the client went away. */
  private closing: Closing | undefined
  closed = false
  /** The connection's rate-limit buckets, and its key's (rate-limits.ts). */
  readonly limits: Buckets

  constructor(
    readonly ws: WebSocket<SessionHolder>,
    readonly principal: Principal,
    readonly keyLimits: Buckets,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics
  ) {
    this.limits = connectionBuckets(config, principal, performance.now())
  }

  /** The channel the connection reads availability for (undefined for the ops token: the whole network). */
  get channel(): string | undefined {
    return this.principal.kind === "storefront" || this.principal.kind === "publishable" ? this.principal.channel : undefined
  }

  /** Requests of this connection waiting for the engine. */
  get inFlight(): number {
    return this.pending.size
  }

  /** The close code of a close under way (draining), if any. */
  get closingCode(): number | undefined {
    return this.closing?.code
  }

  /** A request starts running; its reply goes through `answer` with the number returned. */
  begin(id: string | number): number {
    const n = ++this.requestsBegun
    this.pending.set(n, id)
    return n
  }

  /** The reply of a request begun with `begin` (dropped if it was already answered at a close's deadline). */
  answer(n: number, text: string): void {
    if (!this.pending.delete(n)) return
    this.reply(text)
    this.progressClose()
  }

  get subscriptions(): number {
    return this.availability.size + this.orders.size
  }

  /** Bytes waiting for the consumer: buffered by uWebSockets.js, plus this turn's frames not yet written. */
  get buffered(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount() + this.outgoingBytes
  }

  /** Whether availability pushes may go out now (not while closing: only replies are still sent then). */
  get writable(): boolean {
    return !this.closed && this.closing === undefined && this.buffered <= this.config.bufferedBytesMax
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
    if (this.buffered > this.config.bufferedBytesHardMax) void this.close(closeCodes.slowConsumer, "slow_consumer")
  }

  /** An availability push (caller checked `writable`). */
  push(text: string, kind: string): void {
    if (this.closed || this.closing) return
    this.send(text)
    this.metrics.count("gateway_pushes_total", { kind })
    if (this.buffered > this.config.bufferedBytesHardMax) void this.close(closeCodes.slowConsumer, "slow_consumer")
  }

  /** An order event or notification: sent now, or queued while the consumer is slow. */
  pushOrder(text: string, kind: string): void {
    if (this.closed || this.closing) return
    if (this.heldOrderPushes.length > 0 || !this.writable) {
      if (this.heldOrderPushes.length >= this.config.orderPushesQueuedMax) {
        void this.close(closeCodes.slowConsumer, "slow_consumer")
        return
      }
      this.heldOrderPushes.push(text)
      return
    }
    this.push(text, kind)
  }

  /** The socket drained: send what was held back, while it stays writable (or go on closing). */
  drainHeld(): void {
    if (this.closing) return this.progressClose()
    let i = 0
    while (i < this.heldOrderPushes.length && this.writable) this.push(this.heldOrderPushes[i++], "order")
    if (i > 0) this.heldOrderPushes = this.heldOrderPushes.slice(i)
  }

  /** Counts a bad frame (after its answer was sent); past the limit the connection closes (4000, after draining). */
  badFrame(now: number): void {
    if (now - this.badFramesSince > this.config.badFramesWindowMs) {
      this.badFrames = 0
      this.badFramesSince = now
    }
    this.badFrames++
    if (this.badFrames > this.config.badFramesBeforeClose) void this.close(closeCodes.misbehaving, "too_many_bad_frames")
  }

  /**
   * Closes the connection: no more requests are taken; once every request in
   * flight is answered and the send buffer is empty (or closeDrainMs has
   * passed), the close frame goes out. Resolves then. A slow consumer is
   * closed at once, after this turn's frames.
   */
  close(code: number, reason: string): Promise<void> {
    if (this.closed) return Promise.resolve()
    if (this.closing) {
      if (code === closeCodes.slowConsumer) this.finishClose(false)
      return this.closing.done
    }
    this.metrics.count("gateway_ws_closed_total", { reason })
    let resolve = () => {}
    const done = new Promise<void>((r) => (resolve = r))
    this.heldOrderPushes = []
    this.closing = { code, reason, done, resolve, timer: setTimeout(() => this.finishClose(true), this.config.closeDrainMs) }
    if (code === closeCodes.slowConsumer) this.finishClose(false)
    else this.progressClose()
    return done
  }

  /** The client went away (uWebSockets.js closed the socket): nothing more can be sent. */
  gone(): void {
    this.closed = true
    this.outgoing = []
    this.outgoingBytes = 0
    this.pending.clear()
    const c = this.closing
    if (c) {
      clearTimeout(c.timer)
      c.resolve()
    }
  }

  /** A close under way goes on once nothing is in flight and nothing is buffered. */
  private progressClose(): void {
    if (!this.closing || this.closed || this.pending.size > 0) return
    this.flush()
    if (this.closed) return
    if (this.ws.getBufferedAmount() > 0) return // the drain handler calls back
    this.finishClose(false)
  }

  /** Sends the close frame after this turn's frames; at the deadline, requests still in flight are answered `outcome_unknown`. */
  private finishClose(deadline: boolean): void {
    const c = this.closing
    if (!c || this.closed) return
    clearTimeout(c.timer)
    if (deadline && this.pending.size > 0) {
      // outcome_unknown is an engine code (the engine answers it for a journal write in doubt); the same meaning here
      const error: ErrorBody = { code: "outcome_unknown", message: `the connection is closing (${c.reason}) and the request did not finish within closeDrainMs (${this.config.closeDrainMs} ms): it may or may not have been applied` }
      for (const id of this.pending.values()) this.send(JSON.stringify({ id, ok: false, error }))
    }
    this.pending.clear()
    const frames = this.outgoing
    this.outgoing = []
    this.outgoingBytes = 0
    this.closed = true
    this.ws.cork(() => {
      for (let i = 0; i < frames.length; i++) this.ws.send(frames[i], false)
      this.ws.end(c.code, c.reason)
    })
    c.resolve()
  }

  private checkHardBound(): void {
    if (!this.closed && this.ws.getBufferedAmount() > this.config.bufferedBytesHardMax) void this.close(closeCodes.slowConsumer, "slow_consumer")
  }
}
