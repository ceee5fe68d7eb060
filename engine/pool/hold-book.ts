/**
 * The live holds of one partition, by hold number, stored column-wise.
 *
 * A peak day keeps hundreds of thousands to millions of cart holds alive
 * (TTLs of 15 to 60 minutes). Kept as one JS object each (plus their id and
 * SKU strings), they were about 185 bytes of heap apiece and, worse, objects
 * the garbage collector must mark again on every full collection: with 400,000
 * holds the gateway's major collections stalled its event loop for 50 to 150 ms.
 * Here a hold is a row of typed arrays (about 41 bytes, nothing to mark); its
 * strings (SKU, node, channel) are interned per book, its hold id is derived
 * from the partition and the number, and the client key, cart and customer ids (when given) sit in maps.
 * `get` builds a `Hold` view object on demand, for the commands that read one.
 *
 * Hold numbers are issued in order, so the rows are an array offset by the
 * oldest live number rather than a hash map: no hashing, no rehashing during a
 * peak. When the oldest holds end, the front is skipped, and the rows are
 * moved down once the ended front is at least half of them (amortised O(1)).
 */
import type { Hold } from "./pool-actor.ts"

/** The front is compacted only once at least this many ended rows lie before the first live one. */
const trimAfterHoles = 4096

const initialRows = 1024

/** `h<partition>-<number in base 36>`: a hold id names its partition. */
export const holdIdFor = (partition: number, holdNo: number): string => `h${partition}-${holdNo.toString(36)}`

export class HoldBook {
  /** Hold number of row 0. */
  private base = 1
  /** First row that may be live (every row before it is ended). */
  private head = 0
  /** Rows in use: 0 .. length - 1. */
  private length = 0
  private live = 0
  private liveRow = new Uint8Array(initialRows)
  private slotCol = new Int32Array(initialRows)
  private qtyCol = new Int32Array(initialRows)
  private expiresCol = new Float64Array(initialRows)
  private placedCol = new Float64Array(initialRows)
  private extensionsCol = new Int32Array(initialRows)
  private skuCol = new Int32Array(initialRows)
  private nodeCol = new Int32Array(initialRows)
  private channelCol = new Int32Array(initialRows)
  /** Client keys of the holds that were given one, by hold number. */
  private readonly keys = new Map<number, string>()
  /** Cart and customer ids of the holds that were given one, by hold number. */
  private readonly carts = new Map<number, string>()
  private readonly customers = new Map<number, string>()
  /** Interned SKU, node and channel names (bounded by the catalog, the network and the channels). */
  private readonly names: Array<string> = []
  private readonly nameRefs = new Map<string, number>()

  constructor(private readonly partition: number) {}

  get size(): number {
    return this.live
  }

  /** Rows the book spans, live or not (for tests of its bound). */
  get span(): number {
    return this.length - this.head
  }

  private row(holdNo: number): number {
    const i = holdNo - this.base
    return i >= this.head && i < this.length && this.liveRow[i] === 1 ? i : -1
  }

  /** A live hold as an object (built on each call), or undefined. */
  get(holdNo: number): Hold | undefined {
    const i = this.row(holdNo)
    return i < 0 ? undefined : this.view(holdNo, i)
  }

  /** When a live hold expires, or NaN when the number is not a live hold (no object built). */
  expiresAt(holdNo: number): number {
    const i = this.row(holdNo)
    return i < 0 ? NaN : this.expiresCol[i]
  }

  setExpiresAt(holdNo: number, expiresAt: number): void {
    const i = this.row(holdNo)
    if (i < 0) throw new RangeError(`hold ${holdNo} is not live`)
    this.expiresCol[i] = expiresAt
  }

  /** An extension: the new expiry, and one more extension counted. */
  extend(holdNo: number, expiresAt: number): void {
    this.setExpiresAt(holdNo, expiresAt)
    this.extensionsCol[this.row(holdNo)]++
  }

  /** Adds a hold; numbers must not go below the oldest live one (they are issued in order). */
  set(holdNo: number, hold: Omit<Hold, "holdId">): void {
    if (this.live === 0) {
      this.base = holdNo
      this.head = 0
      this.length = 0
    }
    let i = holdNo - this.base
    if (i < this.head) throw new RangeError(`hold ${holdNo} is older than the book's oldest (${this.base + this.head})`)
    if (i >= this.liveRow.length) {
      this.makeRoom(i)
      i = holdNo - this.base
    }
    if (i >= this.length) {
      // rows past the length may hold what a compaction moved away or an emptied book left: cleared, row i too
      this.liveRow.fill(0, this.length, i + 1)
      this.length = i + 1
    }
    if (this.liveRow[i] === 0) this.live++
    this.liveRow[i] = 1
    this.slotCol[i] = hold.slot
    this.qtyCol[i] = hold.qty
    this.expiresCol[i] = hold.expiresAt
    this.placedCol[i] = hold.placedAt
    this.extensionsCol[i] = hold.extensions
    this.skuCol[i] = this.ref(hold.sku)
    this.nodeCol[i] = this.ref(hold.nodeId)
    this.channelCol[i] = this.ref(hold.channel)
    if (hold.key !== null) this.keys.set(holdNo, hold.key)
    else this.keys.delete(holdNo)
    if (hold.cartId !== null) this.carts.set(holdNo, hold.cartId)
    else this.carts.delete(holdNo)
    if (hold.customerId !== null) this.customers.set(holdNo, hold.customerId)
    else this.customers.delete(holdNo)
  }

  delete(holdNo: number): void {
    const i = this.row(holdNo)
    if (i < 0) return
    this.liveRow[i] = 0
    this.live--
    this.keys.delete(holdNo)
    this.carts.delete(holdNo)
    this.customers.delete(holdNo)
    if (i === this.head) this.trim()
  }

  /** Live holds, oldest number first (objects built on the way). */
  *values(): IterableIterator<Hold> {
    for (let i = this.head; i < this.length; i++) {
      if (this.liveRow[i] === 1) yield this.view(this.base + i, i)
    }
  }

  private view(holdNo: number, i: number): Hold {
    return {
      holdId: holdIdFor(this.partition, holdNo),
      slot: this.slotCol[i],
      sku: this.names[this.skuCol[i]],
      nodeId: this.names[this.nodeCol[i]],
      channel: this.names[this.channelCol[i]],
      qty: this.qtyCol[i],
      expiresAt: this.expiresCol[i],
      key: this.keys.get(holdNo) ?? null,
      placedAt: this.placedCol[i],
      cartId: this.carts.get(holdNo) ?? null,
      customerId: this.customers.get(holdNo) ?? null,
      extensions: this.extensionsCol[i]
    }
  }

  private ref(name: string): number {
    let r = this.nameRefs.get(name)
    if (r === undefined) {
      r = this.names.length
      this.names.push(name)
      this.nameRefs.set(name, r)
    }
    return r
  }

  /** Moves the head past ended rows; compacts when the ended front is long enough. */
  private trim(): void {
    let k = this.head
    while (k < this.length && this.liveRow[k] === 0) k++
    if (k === this.length) {
      this.base += k
      this.head = 0
      this.length = 0
    } else {
      this.head = k
      if (k >= trimAfterHoles && k * 2 >= this.length) this.compact()
    }
  }

  /** Drops the ended front: rows head .. length - 1 move to 0. */
  private compact(): void {
    const h = this.head
    if (h === 0) return
    const n = this.length
    this.liveRow.copyWithin(0, h, n)
    this.slotCol.copyWithin(0, h, n)
    this.qtyCol.copyWithin(0, h, n)
    this.expiresCol.copyWithin(0, h, n)
    this.placedCol.copyWithin(0, h, n)
    this.extensionsCol.copyWithin(0, h, n)
    this.skuCol.copyWithin(0, h, n)
    this.nodeCol.copyWithin(0, h, n)
    this.channelCol.copyWithin(0, h, n)
    this.base += h
    this.length = n - h
    this.head = 0
  }

  /** Makes row `i` (relative to the current base) fit: compacts the ended front, then doubles the columns if needed. */
  private makeRoom(i: number): void {
    const h = this.head
    this.compact()
    const need = i - h + 1
    if (need <= this.liveRow.length) return
    let rows = this.liveRow.length
    while (rows < need) rows *= 2
    const grow = <A extends Uint8Array | Int32Array | Float64Array>(a: A, make: (n: number) => A): A => {
      const b = make(rows)
      b.set(a.subarray(0, this.length))
      return b
    }
    this.liveRow = grow(this.liveRow, (n) => new Uint8Array(n))
    this.slotCol = grow(this.slotCol, (n) => new Int32Array(n))
    this.qtyCol = grow(this.qtyCol, (n) => new Int32Array(n))
    this.expiresCol = grow(this.expiresCol, (n) => new Float64Array(n))
    this.placedCol = grow(this.placedCol, (n) => new Float64Array(n))
    this.extensionsCol = grow(this.extensionsCol, (n) => new Int32Array(n))
    this.skuCol = grow(this.skuCol, (n) => new Int32Array(n))
    this.nodeCol = grow(this.nodeCol, (n) => new Int32Array(n))
    this.channelCol = grow(this.channelCol, (n) => new Int32Array(n))
  }
}
