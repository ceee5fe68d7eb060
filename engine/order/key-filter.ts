/**
 * Which placement keys (channel, external id) a partition may have seen in
 * the idempotency window, without a map of every order in the heap.
 *
 * A repeated `order.place` must return the original order even when that
 * order left memory; asking the store for every new external id would cost
 * a round trip per batch of new orders. This filter answers "certainly never
 * placed" for almost every new key (a Bloom filter: no false "never", about
 * 1% false "maybe", which costs one lookup in the store), so only repeats and
 * that 1% go to the store.
 *
 * Keys are kept in generations (each a Bloom filter over a Uint32Array,
 * outside V8's heap, about 1.2 bytes per key); a new generation starts when
 * the current one is full or spans an eighth of the window, and a generation
 * whose newest key is older than the window is dropped. So every key placed
 * within `windowMs` is remembered, and memory follows the orders of the
 * window, not of all history. A key older than the window reads as new: its
 * order is not found again (docs/operations.md, idempotency window).
 */

import { hashPair } from "../domain/hash.ts"

const hashesPerKey = 7
const bitsPerKey = 10
const firstCapacity = 1 << 14
const capacityMax = 1 << 22

interface Generation {
  readonly bits: Uint32Array
  readonly capacity: number
  count: number
  readonly firstAt: number
  lastAt: number
}

export interface KeyFilterSnapshot {
  readonly generations: ReadonlyArray<{ readonly bits: Uint32Array; readonly capacity: number; readonly count: number; readonly firstAt: number; readonly lastAt: number }>
}

export class KeyFilter {
  private generations: Array<Generation> = []

  constructor(private readonly windowMs: number) {}

  /** Remembers a key placed at `at` (engine clock). */
  add(key: string, at: number): void {
    let g = this.generations[this.generations.length - 1]
    if (g === undefined || g.count >= g.capacity || at - g.firstAt > this.windowMs / 8) {
      const capacity = g === undefined ? firstCapacity : Math.min(capacityMax, g.count >= g.capacity ? g.capacity * 2 : g.capacity)
      g = { bits: new Uint32Array(Math.ceil((capacity * bitsPerKey) / 32)), capacity, count: 0, firstAt: at, lastAt: at }
      this.generations.push(g)
      this.forget(at)
    }
    const [h1, h2o] = hashPair(key)
    const h2 = h2o | 1
    const m = g.bits.length * 32
    for (let i = 0; i < hashesPerKey; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0
      const b = bit % m
      g.bits[b >>> 5] |= 1 << (b & 31)
    }
    g.count++
    if (at > g.lastAt) g.lastAt = at
  }

  /** False when the key was certainly not placed within the window; true when it may have been. */
  mayHave(key: string): boolean {
    if (this.generations.length === 0) return false
    const [h1, h2o] = hashPair(key)
    const h2 = h2o | 1
    for (const g of this.generations) {
      const m = g.bits.length * 32
      let all = true
      for (let i = 0; i < hashesPerKey && all; i++) {
        const b = ((h1 + Math.imul(i, h2)) >>> 0) % m
        all = (g.bits[b >>> 5] & (1 << (b & 31))) !== 0
      }
      if (all) return true
    }
    return false
  }

  /** Bytes the filter holds (outside the heap). */
  bytes(): number {
    let n = 0
    for (const g of this.generations) n += g.bits.byteLength
    return n
  }

  snapshot(): KeyFilterSnapshot {
    return { generations: this.generations.map((g) => ({ bits: g.bits.slice(), capacity: g.capacity, count: g.count, firstAt: g.firstAt, lastAt: g.lastAt })) }
  }

  static restore(windowMs: number, s: KeyFilterSnapshot | undefined): KeyFilter {
    const f = new KeyFilter(windowMs)
    for (const g of s?.generations ?? []) f.generations.push({ ...g, bits: new Uint32Array(g.bits) })
    return f
  }

  /** Drops generations whose newest key is older than the window. */
  private forget(now: number): void {
    while (this.generations.length > 1 && this.generations[0].lastAt < now - this.windowMs) this.generations.shift()
  }
}
