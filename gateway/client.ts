/**
 * A small typed client of the storefront WS API (docs/protocol.md), for the
 * simulator and tests:
 *
 *   const c = await GatewayClient.connect({ url: "ws://127.0.0.1:8080/v1/ws", key })
 *   const { hold } = await c.request("hold.create", { sku, qty: 1 })
 *   for await (const a of c.availability(["SKU-0001"])) console.log(a.sku, a.atp)
 *
 * It matches replies to requests by id, rejects a refused request with a
 * GatewayError (code, message, retryable), reconnects with backoff when the
 * connection drops, and re-subscribes every availability and order
 * subscription after reconnecting. Requests in flight when the connection
 * drops are rejected with code `disconnected` (retryable: the request may or
 * may not have been applied; holds and orders are idempotent by key and
 * external id).
 */
import WebSocket from "ws"
import type { Availability, HistoryEntry, HoldView, LatLon, Notification, OrderEvent, OrderView } from "../engine/index.ts"
import type { StorefrontOp, StorefrontPayload } from "./payloads.ts"

export type AvailabilityItem = Availability | { readonly sku: string; readonly error: { readonly code: string; readonly message: string } }

/** What each operation answers on success. */
export interface Results {
  availability: { items: Array<AvailabilityItem> }
  "availability.subscribe": { items: Array<AvailabilityItem>; subscriptions: number }
  "availability.unsubscribe": { subscriptions: number }
  "hold.create": { hold: HoldView; existing?: boolean }
  "hold.extend": { hold: HoldView }
  "hold.release": { hold: HoldView }
  "hold.get": { hold: HoldView }
  "order.place": { order: OrderView; existing?: boolean }
  "order.payment": { order: OrderView }
  "order.cancel": { order: OrderView }
  "order.get": { order: OrderView }
  "order.history": { orderId: string; history: Array<HistoryEntry> }
  "order.subscribe": { order: OrderView; subscriptions: number }
  "order.unsubscribe": { subscriptions: number }
  "return.request": { order: OrderView }
  "order.exchange": { order: OrderView }
  "order.feedback": { order: OrderView; existing?: boolean }
  ping: { pong: number; nonce?: string }
}

export type OrderPush =
  | { readonly push: "order"; readonly orderId: string; readonly seq: number; readonly event: OrderEvent }
  | { readonly push: "notification"; readonly notification: Notification }

export class GatewayError extends Error {
  override readonly name = "GatewayError"
  constructor(readonly code: string, message: string, readonly retryable: boolean) {
    super(`${code}: ${message}`)
  }
}

export interface ClientOptions {
  /** ws://host:port/v1/ws */
  readonly url: string
  readonly key: string
  /** A request not answered within this is rejected with code `timeout` (default 10 s). */
  readonly requestTimeoutMs?: number
  /** Reconnect backoff, doubling from min to max (defaults 100 ms .. 5 s). */
  readonly reconnectMsMin?: number
  readonly reconnectMsMax?: number
}

interface Pending {
  readonly resolve: (result: unknown) => void
  readonly reject: (e: GatewayError) => void
  readonly timer: ReturnType<typeof setTimeout>
}

interface AvailabilityWatch {
  readonly skus: ReadonlyArray<string>
  readonly location?: LatLon
  readonly nodesMax?: number
  readonly deliver: (a: Availability) => void
}

interface OrderWatch {
  readonly orderId: string
  readonly deliver: (p: OrderPush) => void
}

/** A queue that keeps only the newest value per key: a slow reader never makes it grow past its keys. */
class LatestPerKey<T> {
  private readonly values = new Map<string, T>()
  private waiter: (() => void) | undefined
  ended = false

  put(key: string, value: T): void {
    this.values.delete(key)
    this.values.set(key, value)
    this.wake()
  }

  end(): void {
    this.ended = true
    this.wake()
  }

  async take(): Promise<T | undefined> {
    while (this.values.size === 0 && !this.ended) await new Promise<void>((r) => (this.waiter = r))
    const first = this.values.entries().next()
    if (first.done) return undefined
    this.values.delete(first.value[0])
    return first.value[1]
  }

  private wake(): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }
}

export class GatewayClient {
  private ws: WebSocket | undefined
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly availabilityWatches = new Set<AvailabilityWatch>()
  private readonly orderWatches = new Set<OrderWatch>()
  private readonly pushListeners = new Set<(push: Record<string, unknown>) => void>()
  private closed = false
  private backoffMs: number
  private connecting: Promise<void> | undefined
  /** Times the client reconnected after a drop. */
  reconnects = 0

  private constructor(private readonly options: ClientOptions) {
    this.backoffMs = options.reconnectMsMin ?? 100
  }

  /** Connects (the first connection must succeed; later drops reconnect by themselves). */
  static async connect(options: ClientOptions): Promise<GatewayClient> {
    const c = new GatewayClient(options)
    await c.open()
    return c
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const url = `${this.options.url}${this.options.url.includes("?") ? "&" : "?"}key=${encodeURIComponent(this.options.key)}`
      const ws = new WebSocket(url)
      ws.once("open", () => {
        this.ws = ws
        resolve()
      })
      ws.once("unexpected-response", (_req, res) => {
        reject(new GatewayError(res.statusCode === 401 ? "unauthorized" : res.statusCode === 403 ? "forbidden" : "upgrade_refused", `upgrade refused with ${res.statusCode}`, res.statusCode === 503))
        ws.terminate()
      })
      ws.once("error", (e) => reject(new GatewayError("disconnected", e.message, true)))
      ws.on("message", (data) => this.onMessage(String(data)))
      ws.on("close", () => this.onClose(ws))
    })
  }

  private onMessage(text: string): void {
    let frame: Record<string, unknown>
    try {
      frame = JSON.parse(text) as Record<string, unknown>
    } catch {
      return
    }
    if (typeof frame.push === "string") {
      this.onPush(frame)
      return
    }
    const p = typeof frame.id === "number" ? this.pending.get(frame.id) : undefined
    if (!p) return
    this.pending.delete(frame.id as number)
    clearTimeout(p.timer)
    if (frame.ok === true) p.resolve(frame.result)
    else {
      const e = frame.error as { code: string; message: string; retryable?: boolean }
      p.reject(new GatewayError(e.code, e.message, e.retryable === true))
    }
  }

  private onPush(frame: Record<string, unknown>): void {
    for (const l of this.pushListeners) l(frame)
    if (frame.push === "availability") {
      for (const item of frame.items as Array<Availability>) {
        for (const w of this.availabilityWatches) if (w.skus.includes(item.sku)) w.deliver(item)
      }
    } else if (frame.push === "order" || frame.push === "notification") {
      const orderId = frame.push === "order" ? (frame.orderId as string) : (frame.notification as Notification).orderId
      for (const w of this.orderWatches) if (w.orderId === orderId) w.deliver(frame as unknown as OrderPush)
    }
  }

  private onClose(ws: WebSocket): void {
    if (this.ws !== ws) return
    this.ws = undefined
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(new GatewayError("disconnected", "the connection closed before the reply", true))
      this.pending.delete(id)
    }
    if (!this.closed) void this.reconnect()
  }

  private reconnect(): Promise<void> {
    this.connecting ??= (async () => {
      while (!this.closed) {
        await new Promise((r) => setTimeout(r, this.backoffMs))
        this.backoffMs = Math.min(this.backoffMs * 2, this.options.reconnectMsMax ?? 5_000)
        try {
          await this.open()
          this.reconnects++
          await this.resubscribe()
          this.backoffMs = this.options.reconnectMsMin ?? 100
          return
        } catch {
          // a socket that opened but could not re-subscribe is dropped, so only one is ever open; try again after the backoff
          const half = this.ws
          this.ws = undefined
          half?.terminate()
        }
      }
    })().finally(() => (this.connecting = undefined))
    return this.connecting
  }

  private async resubscribe(): Promise<void> {
    for (const w of this.availabilityWatches) {
      const r = await this.request("availability.subscribe", { skus: [...w.skus], ...(w.location ? { location: w.location } : {}), ...(w.nodesMax !== undefined ? { nodesMax: w.nodesMax } : {}) })
      for (const item of r.items) if ("atp" in item) w.deliver(item)
    }
    for (const w of this.orderWatches) await this.request("order.subscribe", { orderId: w.orderId }).catch(() => undefined)
  }

  /** Sends one request and resolves with its result; rejects with a GatewayError. */
  request<K extends StorefrontOp>(op: K, payload: StorefrontPayload<K>): Promise<K extends keyof Results ? Results[K] : unknown> {
    const ws = this.ws
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new GatewayError("disconnected", "not connected", true))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new GatewayError("timeout", `no reply within ${this.options.requestTimeoutMs ?? 10_000} ms`, true))
      }, this.options.requestTimeoutMs ?? 10_000)
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, timer })
      ws.send(JSON.stringify({ ...payload, id, op }))
    })
  }

  /** Every push frame, raw. Returns an unsubscribe function. */
  onPushFrame(listener: (push: Record<string, unknown>) => void): () => void {
    this.pushListeners.add(listener)
    return () => this.pushListeners.delete(listener)
  }

  /**
   * Availability of `skus` as a stream: the current value of each, then each
   * change (the newest value per SKU if the reader is slow). Breaking out of
   * the loop unsubscribes. Survives reconnects.
   */
  availability(skus: ReadonlyArray<string>, options: { location?: LatLon; nodesMax?: number } = {}): AsyncIterable<Availability> {
    const client = this
    return {
      [Symbol.asyncIterator]: async function*() {
        const queue = new LatestPerKey<Availability>()
        const watch: AvailabilityWatch = { skus, ...options, deliver: (a) => queue.put(a.sku, a) }
        client.availabilityWatches.add(watch)
        try {
          const r = await client.request("availability.subscribe", { skus: [...skus], ...(options.location ? { location: options.location } : {}), ...(options.nodesMax !== undefined ? { nodesMax: options.nodesMax } : {}) })
          for (const item of r.items) if ("atp" in item) queue.put(item.sku, item)
          for (;;) {
            const a = await queue.take()
            if (a === undefined) return
            yield a
          }
        } finally {
          client.availabilityWatches.delete(watch)
          const still = new Set([...client.availabilityWatches].flatMap((w) => w.skus))
          const drop = skus.filter((s) => !still.has(s))
          if (drop.length > 0 && client.connected) await client.request("availability.unsubscribe", { skus: drop }).catch(() => undefined)
        }
      }
    }
  }

  /** An order's events and notifications as a stream, from subscription on. Breaking out unsubscribes. */
  orderEvents(orderId: string): AsyncIterable<OrderPush> {
    const client = this
    return {
      [Symbol.asyncIterator]: async function*() {
        const queue: Array<OrderPush> = []
        let wake: (() => void) | undefined
        const watch: OrderWatch = {
          orderId,
          deliver: (p) => {
            queue.push(p)
            wake?.()
          }
        }
        client.orderWatches.add(watch)
        try {
          await client.request("order.subscribe", { orderId })
          for (;;) {
            while (queue.length === 0) await new Promise<void>((r) => (wake = r))
            yield queue.shift()!
          }
        } finally {
          client.orderWatches.delete(watch)
          if (![...client.orderWatches].some((w) => w.orderId === orderId) && client.connected) {
            await client.request("order.unsubscribe", { orderId }).catch(() => undefined)
          }
        }
      }
    }
  }

  /** Drops the current connection (as a network failure would); the client reconnects by itself. For tests. */
  dropConnection(): void {
    this.ws?.terminate()
  }

  async close(): Promise<void> {
    this.closed = true
    const ws = this.ws
    if (!ws) return
    await new Promise<void>((resolve) => {
      ws.once("close", () => resolve())
      ws.close()
      setTimeout(resolve, 1_000).unref?.()
    })
  }
}
