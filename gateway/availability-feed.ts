/**
 * Availability pushes to subscribed WS connections, coalesced: a change marks
 * the SKU pending on each subscribed connection; a flush runs at most once per
 * coalesceMs and sends each connection ONE frame with the newest availability
 * of all its pending SKUs. A doorbuster selling a thousand units a second thus
 * costs each subscriber at most 1000 / coalesceMs frames a second.
 *
 * Slow consumers (buffered above bufferedBytesMax) keep their pending SKUs
 * until their socket drains; pending is a set, so it never grows past the
 * connection's subscriptions.
 *
 * Availability is read once per distinct (SKU, channel, location, nodesMax)
 * per flush, in one batch call to the engine (local or remote).
 */
import type { Availability } from "../engine/index.ts"
import type { Changes } from "./changes.ts"
import type { AvailabilityRequest, EngineAccess } from "./engine-access.ts"
import type { GatewayMetrics } from "./metrics.ts"
import type { AvailabilityParams, WsSession } from "./ws-session.ts"

const keyOf = (sku: string, channel: string | undefined, p: AvailabilityParams): string =>
  `${sku}\u0000${channel ?? ""}\u0000${p.location ? `${p.location.lat},${p.location.lon}` : ""}\u0000${p.nodesMax}`

export class AvailabilityFeed {
  private readonly bySku = new Map<string, Set<WsSession>>()
  private readonly dirty = new Set<WsSession>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private flushing = false
  private lastFlushMs = 0
  private stopped = false

  constructor(
    private readonly engine: EngineAccess,
    private readonly coalesceMs: number,
    private readonly metrics: GatewayMetrics
  ) {}

  get subscribedSkus(): number {
    return this.bySku.size
  }

  subscribe(session: WsSession, skus: ReadonlyArray<string>, params: AvailabilityParams): void {
    for (const sku of skus) {
      session.availability.set(sku, params)
      let set = this.bySku.get(sku)
      if (!set) this.bySku.set(sku, (set = new Set()))
      set.add(session)
    }
  }

  unsubscribe(session: WsSession, skus: Iterable<string>): void {
    for (const sku of skus) {
      session.availability.delete(sku)
      session.pendingSkus.delete(sku)
      const set = this.bySku.get(sku)
      if (!set) continue
      set.delete(session)
      if (set.size === 0) this.bySku.delete(sku)
    }
  }

  drop(session: WsSession): void {
    this.unsubscribe(session, [...session.availability.keys()])
    this.dirty.delete(session)
  }

  onChanges(changes: Changes): void {
    const mark = (sku: string, sessions: Set<WsSession>) => {
      for (const s of sessions) {
        s.pendingSkus.add(sku)
        this.dirty.add(s)
      }
    }
    if (changes.allSkus) for (const [sku, sessions] of this.bySku) mark(sku, sessions)
    else {
      for (const sku of changes.skus) {
        const sessions = this.bySku.get(sku)
        if (sessions) mark(sku, sessions)
      }
    }
    if (this.dirty.size > 0) this.schedule()
  }

  /** A slow connection drained: its held-back SKUs go out with the next flush. */
  drained(session: WsSession): void {
    if (session.pendingSkus.size > 0) {
      this.dirty.add(session)
      this.schedule()
    }
  }

  close(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private schedule(): void {
    if (this.timer !== undefined || this.flushing || this.stopped) return
    const wait = Math.max(0, this.lastFlushMs + this.coalesceMs - performance.now())
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.flush()
    }, wait)
  }

  private async flush(): Promise<void> {
    this.flushing = true
    this.lastFlushMs = performance.now()
    try {
      const ready: Array<WsSession> = []
      for (const s of this.dirty) {
        if (s.closed) continue
        if (s.writable) ready.push(s)
        else this.metrics.count("gateway_pushes_held_back_total")
      }
      this.dirty.clear()
      if (ready.length === 0) return
      const requests: Array<AvailabilityRequest> = []
      const index = new Map<string, number>()
      const wanted = ready.map((s) => {
        const keys: Array<number> = []
        for (const sku of s.pendingSkus) {
          const p = s.availability.get(sku)
          if (!p) continue
          const key = keyOf(sku, s.channel, p)
          let i = index.get(key)
          if (i === undefined) {
            i = requests.length
            index.set(key, i)
            requests.push({ sku, channel: s.channel, location: p.location, nodesMax: p.nodesMax })
          }
          keys.push(i)
        }
        s.pendingSkus.clear()
        return keys
      })
      let answers: Array<Availability | null>
      try {
        answers = await this.engine.availability(requests)
      } catch (e) {
        console.error(`gateway: availability flush failed: ${String(e)}`)
        // nothing was pushed: the changes wait for the next flush
        ready.forEach((s, k) => {
          if (s.closed) return
          for (const i of wanted[k]) s.pendingSkus.add(requests[i].sku)
          this.dirty.add(s)
        })
        return
      }
      ready.forEach((s, k) => {
        const items = wanted[k].map((i) => answers[i]).filter((a): a is Availability => a !== null)
        if (items.length > 0 && !s.closed) s.push(JSON.stringify({ push: "availability", items }), "availability")
      })
    } finally {
      this.flushing = false
      if (this.dirty.size > 0) this.schedule()
    }
  }
}
