/**
 * Encoded availability answers, reused while nothing they read has changed.
 *
 * A storefront page view asks the same question again and again (the same
 * SKUs, the same channel, often the same location); at peak the answer is
 * the same until a unit of one of those SKUs moves. The gateway that owns
 * the engine keeps the JSON of recent answers, each with the version of
 * everything it read: the engine's state object (a reload starts a new one),
 * the network stream's sequence number (nodes, channels, catalog) and, per
 * SKU, the newest journal sequence number among its pools
 * (`Queries.availabilityStamp`, which moves with every event of any of the
 * SKU's pools: holds, reservations, receipts, expiries). An entry is served
 * only if every one of them is unchanged, so a cached answer is exactly the
 * answer the engine would compute now. Checking costs one row of the SKU's
 * pool table per SKU, far less than computing and encoding the answer.
 *
 * Answers with delivery promises are not cached (they depend on the clock
 * and on node capacity used today). Edge and cluster gateways do not cache:
 * their engine is elsewhere and they cannot read its versions.
 *
 * Bounded: at most `entriesMax` entries; the oldest is dropped first.
 */
export interface AvailabilityVersions {
  /** The engine's state object: a reload from the journal makes a new one. */
  state(): object
  /** The network stream's newest sequence number. */
  network(): number
  /** A number that changes whenever any pool of the SKU changes (-1 for an unknown SKU). */
  sku(sku: string): number
}

interface Entry {
  readonly state: object
  readonly network: number
  readonly skus: ReadonlyArray<string>
  readonly stamps: Float64Array
  readonly encoded: string
}

/** The versions read before an answer is computed; stored with its encoding once it is. */
export interface Stamp {
  readonly key: string
  readonly state: object
  readonly network: number
  readonly skus: ReadonlyArray<string>
  readonly stamps: Float64Array
}

export class AvailabilityCache {
  private readonly entries = new Map<string, Entry>()
  hits = 0
  misses = 0

  constructor(private readonly versions: AvailabilityVersions, private readonly entriesMax: number) {}

  get size(): number {
    return this.entries.size
  }

  /** The encoded answer for `key` if nothing it read has changed since. */
  get(key: string): string | undefined {
    const e = this.entries.get(key)
    if (e !== undefined && this.current(e)) {
      this.hits++
      return e.encoded
    }
    this.misses++
    return undefined
  }

  /** Reads the versions of `skus` now: call it before computing the answer, so a change during the computation leaves the entry stale, never wrong. */
  stamp(key: string, skus: ReadonlyArray<string>): Stamp {
    const stamps = new Float64Array(skus.length)
    for (let i = 0; i < skus.length; i++) stamps[i] = this.versions.sku(skus[i])
    return { key, state: this.versions.state(), network: this.versions.network(), skus, stamps }
  }

  set(stamp: Stamp, encoded: string): void {
    if (this.entriesMax <= 0) return
    this.entries.delete(stamp.key)
    if (this.entries.size >= this.entriesMax) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(stamp.key, { state: stamp.state, network: stamp.network, skus: stamp.skus, stamps: stamp.stamps, encoded })
  }

  private current(e: Entry): boolean {
    if (e.state !== this.versions.state() || e.network !== this.versions.network()) return false
    for (let i = 0; i < e.skus.length; i++) if (this.versions.sku(e.skus[i]) !== e.stamps[i]) return false
    return true
  }
}
