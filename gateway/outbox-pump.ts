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
 * Headers: Idempotency-Key, X-OMS-Notification-Kind, X-OMS-Attempt, and,
 * when the target has a secret, X-OMS-Timestamp and X-OMS-Signature (see
 * webhook-signature.ts: the timestamp is signed with the body, against replays).
 */
import { Queries, type Notification } from "../engine/index.ts"
import type { ChangeHub } from "./changes.ts"
import type { GatewayConfig } from "./config.ts"
import type { LocalEngine } from "./engine-access.ts"
import type { GatewayMetrics } from "./metrics.ts"
import { signatureHeader, signNotification, timestampHeader } from "./webhook-signature.ts"
import { targetFor, type WebhookTarget, type WebhookTargets } from "./webhook-targets.ts"

interface Parked {
  readonly attempt: number
  readonly backoffMs: number
  readonly nextAt: number
}

/**
 * Reads at most `bytesMax` of a webhook response's body (so the connection
 * can be reused when the body is short) and cancels the rest: a receiver
 * that answers with a huge or endless body costs no more than that.
 */
export const discardBody = async (res: Response, bytesMax: number): Promise<void> => {
  const reader = res.body?.getReader()
  if (!reader) return
  let read = 0
  try {
    while (read <= bytesMax) {
      const { done, value } = await reader.read()
      if (done) return
      read += value.byteLength
    }
    await reader.cancel()
  } catch {
    // the body failed or timed out: nothing more to read
    await reader.cancel().catch(() => undefined)
  }
}

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
  /** Failed deliveries waiting for their next attempt. */
  private readonly parked = new Map<string, Parked>()
  /** Deliveries in flight per webhook URL. */
  private readonly busyTargets = new Map<string, number>()
  private readonly perTargetMax: number
  private reporting: Promise<void> = Promise.resolve()
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly engine: LocalEngine,
    private readonly hub: ChangeHub,
    private readonly targets: WebhookTargets,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics
  ) {
    this.perTargetMax = Math.max(1, Math.floor(config.webhookConcurrencyMax / 2))
  }

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
      const now = Date.now()
      // parked retries are read too, so they cannot fill the window and starve fresh notifications
      const pending = Queries.outbox(this.engine.engine.view, this.config.outboxBatchMax + this.parked.size)
      /** Orders with an earlier notification parked: theirs go out in order, after it. */
      const waiting = new Set<string>()
      for (const n of pending) {
        if (this.running >= this.config.webhookConcurrencyMax) break
        if (this.known.has(n.id) || this.busyOrders.has(n.orderId) || waiting.has(n.orderId)) continue
        const parked = this.parked.get(n.id)
        if (parked !== undefined && parked.nextAt > now) {
          waiting.add(n.orderId)
          continue
        }
        const target = targetFor(this.targets, n.channel)
        const targetKey = target?.url ?? ""
        // one failing receiver may not take every slot: each target gets a share
        if (target && (this.busyTargets.get(targetKey) ?? 0) >= this.perTargetMax) continue
        this.known.add(n.id)
        this.busyOrders.add(n.orderId)
        this.busyTargets.set(targetKey, (this.busyTargets.get(targetKey) ?? 0) + 1)
        this.running++
        const p = this.deliver(n, target, parked).finally(() => {
          this.running--
          this.busyOrders.delete(n.orderId)
          this.busyTargets.set(targetKey, this.busyTargets.get(targetKey)! - 1)
          this.inFlight.delete(p)
          this.wake(0)
        })
        this.inFlight.add(p)
      }
      this.report()
    }
    this.wake(this.config.outboxPollMs)
  }

  /**
   * One attempt. A failed one gives its slot back and parks the notification
   * until its backoff has passed (doubling up to webhookBackoffMsMax; after
   * webhookAttemptsMax attempts it counts as gave_up and waits the longest
   * backoff before the next round): it stays in the outbox, so it is never lost.
   */
  private async deliver(n: Notification, target: WebhookTarget | undefined, parked: Parked | undefined): Promise<void> {
    if (target) {
      const attempt = (parked?.attempt ?? 0) + 1
      if (!(await this.post(target, n, attempt))) {
        const roundOver = attempt % this.config.webhookAttemptsMax === 0
        const newRound = parked === undefined || parked.attempt % this.config.webhookAttemptsMax === 0
        const backoffMs = roundOver
          ? this.config.webhookBackoffMsMax
          : newRound ? this.config.webhookBackoffMsInitial : Math.min(parked.backoffMs * 2, this.config.webhookBackoffMsMax)
        if (roundOver) {
          this.metrics.count("gateway_webhook_deliveries_total", { outcome: "gave_up" })
          console.error(`gateway: webhook for ${n.id} failed ${this.config.webhookAttemptsMax} times; trying again in ${backoffMs} ms`)
        }
        this.parked.set(n.id, { attempt, backoffMs, nextAt: Date.now() + backoffMs })
        this.known.delete(n.id)
        this.wake(backoffMs)
        return
      }
      this.parked.delete(n.id)
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
    if (target.secret) {
      const timestampSec = Math.floor(Date.now() / 1000)
      headers[timestampHeader] = String(timestampSec)
      headers[signatureHeader] = signNotification(target.secret, timestampSec, body)
    }
    try {
      const res = await fetch(target.url, { method: "POST", headers, body, signal: AbortSignal.timeout(this.config.webhookTimeoutMs) })
      await discardBody(res, this.config.webhookResponseBytesMax)
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
    // at most outboxBatchMax ids a command (each changes its order, and one command runs in one piece in the
    // engine's loop), all of them sent at once: one after another, each would wait for the engine's mailbox
    const ids = this.delivered
    this.delivered = []
    const chunks: Array<Array<string>> = []
    for (let i = 0; i < ids.length; i += this.config.outboxBatchMax) chunks.push(ids.slice(i, i + this.config.outboxBatchMax))
    this.reporting = this.reporting.then(() =>
      Promise.all(chunks.map(async (chunk) => {
        const reply = await this.engine.submit({ type: "notifications.delivered", ids: chunk })
        if (reply.ok) for (const id of chunk) this.known.delete(id)
        else this.delivered.push(...chunk)
      })).then(() => undefined))
  }
}
