/**
 * Delivers the engine's notification outbox (owner process only): each
 * notification is POSTed to its channel's webhook with retries, pushed to WS
 * connections subscribed to its order, and then reported with
 * `notifications.delivered` so it leaves the outbox.
 *
 * At least once: a notification leaves the outbox only after its webhook
 * answered 2xx; a failing webhook is retried with doubling backoff
 * (webhookBackoffMsInitial .. webhookBackoffMsMax), and after
 * webhookAttemptsMax attempts the round is counted `gave_up` and a new round
 * starts after webhookBackoffMsMax - it never silently leaves the outbox.
 * Never twice for the same transition id within a process: an id is known
 * from the moment its delivery starts until the engine confirms it left the
 * outbox. Across a crash between the webhook's 2xx and that confirmation, it
 * is sent again with the same Idempotency-Key (its notification id), so the
 * receiver can drop the repeat.
 *
 * One order's notifications go out one after another, in outbox order.
 * Headers: Idempotency-Key, X-OMS-Notification-Kind, and X-OMS-Signature
 * (`sha256=<hex HMAC-SHA256 of the body>`) when the target has a secret.
 */
import { createHmac } from "node:crypto"
import type { Notification } from "../engine/order/order-state.ts"
import * as Queries from "../engine/runtime/queries.ts"
import type { ChangeHub } from "./changes.ts"
import type { GatewayConfig } from "./config.ts"
import type { LocalEngine } from "./engine-access.ts"
import type { GatewayMetrics } from "./metrics.ts"
import { targetFor, type WebhookTarget, type WebhookTargets } from "./webhook-targets.ts"

export const signatureHeader = "x-oms-signature"

export const signBody = (secret: string, body: string): string => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(t)
      resolve()
    }
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort)
      resolve()
    }, ms)
    signal.addEventListener("abort", onAbort, { once: true })
  })

export class OutboxPump {
  /** Ids whose delivery started and which the engine has not yet confirmed gone. */
  private readonly known = new Set<string>()
  /** Orders with a delivery in progress (their notifications go one at a time). */
  private readonly busyOrders = new Set<string>()
  /** Delivered, waiting to be reported to the engine. */
  private delivered: Array<string> = []
  private running = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly stopping = new AbortController()
  private readonly inFlight = new Set<Promise<void>>()
  private reporting: Promise<void> = Promise.resolve()
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly engine: LocalEngine,
    private readonly hub: ChangeHub,
    private readonly targets: WebhookTargets,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics
  ) {}

  start(): void {
    this.unsubscribe = this.hub.subscribe((c) => {
      if (c.orders.length > 0) this.wake(0)
    })
    this.wake(0)
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    this.unsubscribe?.()
    clearTimeout(this.timer)
    await Promise.allSettled([...this.inFlight])
    this.report()
    await this.reporting
  }

  /** Runs a pump cycle after `ms` unless one is already scheduled sooner. */
  private wake(ms: number): void {
    if (this.stopping.signal.aborted || this.timer !== undefined) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.cycle()
    }, ms)
  }

  private cycle(): void {
    if (this.stopping.signal.aborted) return
    if (this.engine.engine.stats().state === "running") {
      const pending = Queries.outbox(this.engine.engine.view, this.config.outboxBatchMax)
      for (const n of pending) {
        if (this.running >= this.config.webhookConcurrencyMax) break
        if (this.known.has(n.id) || this.busyOrders.has(n.orderId)) continue
        this.known.add(n.id)
        this.busyOrders.add(n.orderId)
        this.running++
        const p = this.deliver(n).finally(() => {
          this.running--
          this.busyOrders.delete(n.orderId)
          this.inFlight.delete(p)
          this.wake(0)
        })
        this.inFlight.add(p)
      }
      this.report()
    }
    this.wake(this.config.outboxPollMs)
  }

  private async deliver(n: Notification): Promise<void> {
    const target = targetFor(this.targets, n.channel)
    if (target) {
      let backoff = this.config.webhookBackoffMsInitial
      for (let attempt = 1; ; attempt++) {
        if (this.stopping.signal.aborted) {
          this.known.delete(n.id)
          return
        }
        if (await this.post(target, n, attempt)) break
        if (attempt % this.config.webhookAttemptsMax === 0) {
          this.metrics.count("gateway_webhook_deliveries_total", { outcome: "gave_up" })
          console.error(`gateway: webhook for ${n.id} failed ${this.config.webhookAttemptsMax} times; trying again in ${this.config.webhookBackoffMsMax} ms`)
          await sleep(this.config.webhookBackoffMsMax, this.stopping.signal)
          backoff = this.config.webhookBackoffMsInitial
          continue
        }
        await sleep(backoff, this.stopping.signal)
        backoff = Math.min(backoff * 2, this.config.webhookBackoffMsMax)
      }
    }
    this.hub.publish({ skus: [], allSkus: false, orders: [], notifications: [n] })
    this.delivered.push(n.id)
  }

  private async post(target: WebhookTarget, n: Notification, attempt: number): Promise<boolean> {
    const body = JSON.stringify({ notification: n })
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "idempotency-key": n.id,
      "x-oms-notification-kind": n.kind,
      "x-oms-attempt": String(attempt)
    }
    if (target.secret) headers[signatureHeader] = signBody(target.secret, body)
    try {
      const res = await fetch(target.url, { method: "POST", headers, body, signal: AbortSignal.timeout(this.config.webhookTimeoutMs) })
      await res.arrayBuffer().catch(() => undefined)
      const ok = res.status >= 200 && res.status < 300
      this.metrics.count("gateway_webhook_deliveries_total", { outcome: ok ? "delivered" : "failed" })
      return ok
    } catch {
      this.metrics.count("gateway_webhook_deliveries_total", { outcome: "failed" })
      return false
    }
  }

  /** Reports delivered ids to the engine; ids stay known until it confirms, and are reported again if it refuses. */
  private report(): void {
    if (this.delivered.length === 0) return
    const ids = this.delivered
    this.delivered = []
    this.reporting = this.reporting.then(async () => {
      const reply = await this.engine.submit({ type: "notifications.delivered", ids })
      if (reply.ok) for (const id of ids) this.known.delete(id)
      else this.delivered.push(...ids)
    })
  }
}
