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
 * Takes one token from each bucket given, or from none: undefined when the
 * request may run, else the refusal naming the limit that refused it and when
 * to retry. Up to four buckets as arguments (undefined: none), so that the
 * check allocates nothing on the way of every request.
 */
export const admit = (
  now: number, a: TokenBucket | undefined, b?: TokenBucket, c?: TokenBucket, d?: TokenBucket
): RateRefusal | undefined => {
  const wa = a === undefined ? 0 : a.waitMs(now)
  const wb = b === undefined ? 0 : b.waitMs(now)
  const wc = c === undefined ? 0 : c.waitMs(now)
  const wd = d === undefined ? 0 : d.waitMs(now)
  const waitMs = Math.max(wa, wb, wc, wd)
  if (waitMs === 0) {
    a?.take()
    b?.take()
    c?.take()
    d?.take()
    return undefined
  }
  const limit = (wa === waitMs ? a : wb === waitMs ? b : wc === waitMs ? c : d)!.limit
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

/** The buckets of one key, or of one WS connection: every request takes from `requests`; hold.create and hold.extend from `holds` too. */
export interface Buckets {
  readonly requests: TokenBucket | undefined
  readonly holds: TokenBucket | undefined
}

const bucketsOf = (requests: BucketLimit | undefined, holds: BucketLimit | undefined, now: number): Buckets => ({
  requests: requests && new TokenBucket(requests, now),
  holds: holds && new TokenBucket(holds, now)
})

/** The buckets of a new WS connection (they live and go with it). */
export const connectionBuckets = (config: GatewayConfig, principal: Principal, now: number): Buckets =>
  bucketsOf(connectionRequestLimit(config, principal), connectionHoldLimit(config, principal), now)

/** Admits one request of `op` against a key's and (over WS) a connection's buckets. */
export const admitRequest = (op: string, now: number, key: Buckets, connection?: Buckets): RateRefusal | undefined =>
  holdOps.has(op)
    ? admit(now, key.requests, key.holds, connection?.requests, connection?.holds)
    : admit(now, key.requests, connection?.requests)

/** The buckets of every key seen by this process (one set per configured key at most). */
export class KeyLimits {
  private readonly byKey = new Map<string, Buckets>()

  constructor(private readonly config: GatewayConfig) {}

  of(key: string, principal: Principal, now: number): Buckets {
    let buckets = this.byKey.get(key)
    if (buckets === undefined) {
      buckets = bucketsOf(keyRequestLimit(this.config, principal), keyHoldLimit(this.config, principal), now)
      this.byKey.set(key, buckets)
    }
    return buckets
  }
}
