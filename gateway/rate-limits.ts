/**
 * Rate limits: token buckets per API key and per WS connection, by key kind.
 *
 *   secret keys (storefront, node)   requests per key; requests per WS connection
 *   publishable keys (browsers)      requests per key and per WS connection, tighter;
 *                                    holds created or extended per key and per connection
 *   ops token, internal token        not limited (the operator, and edges forwarding
 *                                    requests already limited where they came in)
 *
 * A bucket holds at most `burst` tokens and gains `perSec` a second; a request
 * takes one token from every bucket that applies, or from none: when one is
 * empty the request is refused (`rate_limited`, not run) with the time until
 * all of them have a token again. The buckets of a key live in this process:
 * behind N gateway processes a key gets up to N times its limits.
 */
import type { GatewayConfig } from "./config.ts"
import { gatewayError, type ErrorBody } from "./errors.ts"
import type { Principal } from "./keys.ts"

export interface BucketLimit {
  /** The limit's name in GatewayConfig (without PerSec/Burst), for messages. */
  readonly name: string
  readonly perSec: number
  readonly burst: number
}

export class TokenBucket {
  private tokens: number
  private at: number

  constructor(readonly limit: BucketLimit, now: number) {
    this.tokens = limit.burst
    this.at = now
  }

  /** Tokens now (refilled up to the burst). */
  available(now: number): number {
    if (now > this.at) {
      this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.at) * this.limit.perSec) / 1000)
      this.at = now
    }
    return this.tokens
  }

  /** Milliseconds until one token is there (0 when there is one now). */
  waitMs(now: number): number {
    const t = this.available(now)
    return t >= 1 ? 0 : Math.ceil(((1 - t) * 1000) / this.limit.perSec)
  }

  take(): void {
    this.tokens -= 1
  }
}

export interface RateRefusal {
  readonly error: ErrorBody & { readonly retryAfterMs: number }
}

/**
 * Takes one token from each bucket, or none: undefined when the request may
 * run, else the refusal naming the limit that refused it and when to retry.
 */
export const admit = (buckets: ReadonlyArray<TokenBucket>, now: number): RateRefusal | undefined => {
  let waitMs = 0
  let limit: BucketLimit | undefined
  for (const b of buckets) {
    const w = b.waitMs(now)
    if (w > waitMs) {
      waitMs = w
      limit = b.limit
    }
  }
  if (limit === undefined) {
    for (const b of buckets) b.take()
    return undefined
  }
  const { message } = gatewayError("rate_limited")
  return {
    error: {
      code: "rate_limited",
      message: `${message} (${limit.name}: ${limit.perSec}/s, bursts of ${limit.burst}); retry in ${waitMs} ms`,
      retryAfterMs: waitMs
    }
  }
}

/** Ops that hold stock: limited by the hold buckets of publishable keys. */
export const holdOps: ReadonlySet<string> = new Set(["hold.create", "hold.extend"])

const bucketLimit = (name: string, perSec: number, burst: number): BucketLimit => ({ name, perSec, burst })

export const keyRequestLimit = (c: GatewayConfig, p: Principal): BucketLimit | undefined =>
  p.kind === "publishable" ? bucketLimit("publishableKeyRequests", c.publishableKeyRequestsPerSec, c.publishableKeyRequestsBurst)
  : p.kind === "storefront" || p.kind === "node" ? bucketLimit("secretKeyRequests", c.secretKeyRequestsPerSec, c.secretKeyRequestsBurst)
  : undefined

export const connectionRequestLimit = (c: GatewayConfig, p: Principal): BucketLimit | undefined =>
  p.kind === "publishable" ? bucketLimit("publishableConnectionRequests", c.publishableConnectionRequestsPerSec, c.publishableConnectionRequestsBurst)
  : p.kind === "storefront" ? bucketLimit("secretConnectionRequests", c.secretConnectionRequestsPerSec, c.secretConnectionRequestsBurst)
  : undefined

export const keyHoldLimit = (c: GatewayConfig, p: Principal): BucketLimit | undefined =>
  p.kind === "publishable" ? bucketLimit("publishableKeyHolds", c.publishableKeyHoldsPerSec, c.publishableKeyHoldsBurst) : undefined

export const connectionHoldLimit = (c: GatewayConfig, p: Principal): BucketLimit | undefined =>
  p.kind === "publishable" ? bucketLimit("publishableConnectionHolds", c.publishableConnectionHoldsPerSec, c.publishableConnectionHoldsBurst) : undefined

/** The buckets of one WS connection (created with it, dropped with it). */
export class ConnectionLimits {
  private readonly requests: TokenBucket | undefined
  private readonly holds: TokenBucket | undefined

  constructor(config: GatewayConfig, principal: Principal, now: number) {
    const r = connectionRequestLimit(config, principal)
    const h = connectionHoldLimit(config, principal)
    this.requests = r && new TokenBucket(r, now)
    this.holds = h && new TokenBucket(h, now)
  }

  buckets(op: string): Array<TokenBucket> {
    const out: Array<TokenBucket> = []
    if (this.requests) out.push(this.requests)
    if (this.holds && holdOps.has(op)) out.push(this.holds)
    return out
  }
}

/** The buckets of every key seen by this process (one pair per configured key at most). */
export class KeyLimits {
  private readonly byKey = new Map<string, { requests: TokenBucket | undefined; holds: TokenBucket | undefined }>()

  constructor(private readonly config: GatewayConfig) {}

  buckets(key: string, principal: Principal, op: string, now: number): Array<TokenBucket> {
    let entry = this.byKey.get(key)
    if (entry === undefined) {
      const r = keyRequestLimit(this.config, principal)
      const h = keyHoldLimit(this.config, principal)
      entry = { requests: r && new TokenBucket(r, now), holds: h && new TokenBucket(h, now) }
      this.byKey.set(key, entry)
    }
    const out: Array<TokenBucket> = []
    if (entry.requests) out.push(entry.requests)
    if (entry.holds && holdOps.has(op)) out.push(entry.holds)
    return out
  }
}
