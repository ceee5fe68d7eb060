/**
 * Holds that ended (expired, released, converted into an order), remembered
 * for a bounded time and count so that a client hears what became of a hold
 * (hold.get answers its final state; extend and release answer hold_expired
 * or hold_used rather than hold_not_found) and so that a client key keeps
 * naming its hold after the hold ended (a retry answers the ended hold, a
 * reuse with other lines is hold_key_conflict).
 *
 * Bounds: at most `retainedMax` records (holdsEndedRetainedMax, per
 * partition), each for at most `retentionMs` after it ended
 * (holdEndedRetentionMs); the oldest ended go first. Records are a FIFO in the
 * order holds ended, stored column-wise like the live book (hold-book.ts): a
 * record is 57 bytes of typed arrays plus an entry of the hold-number index:
 * about 110 bytes measured (columns doubled as they grow); a client key adds
 * about 180 (its string twice and two map entries), a cart or customer id its
 * string and a map entry (docs/architecture.md, Memory).
 * Everything here is derived from journalled HoldPlaced / HoldExtended /
 * HoldEnded events, so replay rebuilds it; snapshots carry it as records.
 */
import type { HoldEnded } from "../domain/events.ts"
import { holdIdFor } from "./hold-book.ts"

export type EndReason = HoldEnded["reason"]

const reasons: ReadonlyArray<EndReason> = ["expired", "released", "converted"]

/** One ended hold, as snapshots carry it and reads see it. */
export interface EndedHold {
  readonly holdNo: number
  readonly channel: string
  readonly sku: string
  readonly nodeId: string
  readonly qty: number
  readonly placedAt: number
  readonly expiresAt: number
  readonly extensions: number
  readonly endedAt: number
  readonly reason: EndReason
  readonly key: string | null
  readonly cartId: string | null
  readonly customerId: string | null
}

const initialRows = 256

const keyOf = (channel: string, key: string) => `${channel}\u0000${key}`

export class EndedHolds {
  /** Sequence number of row 0; a record's sequence number never changes (the index holds them). */
  private base = 0
  private head = 0
  private length = 0
  private holdNoCol = new Float64Array(initialRows)
  private qtyCol = new Int32Array(initialRows)
  private placedCol = new Float64Array(initialRows)
  private expiresCol = new Float64Array(initialRows)
  private endedCol = new Float64Array(initialRows)
  private extensionsCol = new Int32Array(initialRows)
  private reasonCol = new Uint8Array(initialRows)
  private skuCol = new Int32Array(initialRows)
  private nodeCol = new Int32Array(initialRows)
  private channelCol = new Int32Array(initialRows)
  /** hold number -> sequence number of its record. */
  private readonly bySeq = new Map<number, number>()
  /** (channel, client key) -> hold number, for the records that have a key. */
  private readonly byKey = new Map<string, number>()
  /** Client keys, cart and customer ids of the records that have one, by hold number. */
  private readonly keys = new Map<number, string>()
  private readonly carts = new Map<number, string>()
  private readonly customers = new Map<number, string>()
  private readonly names: Array<string> = []
  private readonly nameRefs = new Map<string, number>()

  constructor(private readonly partition: number, private readonly retainedMax: number, private readonly retentionMs: number) {}

  get size(): number {
    return this.length - this.head
  }

  /** Records a hold that ended, then drops the records past the count, or ended more than retentionMs before it. */
  add(h: EndedHold): void {
    this.forget(h.holdNo)
    if (this.length >= this.holdNoCol.length) this.makeRoom()
    const i = this.length++
    this.holdNoCol[i] = h.holdNo
    this.qtyCol[i] = h.qty
    this.placedCol[i] = h.placedAt
    this.expiresCol[i] = h.expiresAt
    this.endedCol[i] = h.endedAt
    this.extensionsCol[i] = h.extensions
    this.reasonCol[i] = reasons.indexOf(h.reason)
    this.skuCol[i] = this.ref(h.sku)
    this.nodeCol[i] = this.ref(h.nodeId)
    this.channelCol[i] = this.ref(h.channel)
    this.bySeq.set(h.holdNo, this.base + i)
    if (h.key !== null) {
      this.keys.set(h.holdNo, h.key)
      this.byKey.set(keyOf(h.channel, h.key), h.holdNo)
    }
    if (h.cartId !== null) this.carts.set(h.holdNo, h.cartId)
    if (h.customerId !== null) this.customers.set(h.holdNo, h.customerId)
    while (this.size > this.retainedMax || (this.size > 0 && this.endedCol[this.head] + this.retentionMs <= h.endedAt)) this.dropOldest()
  }

  /** The record of an ended hold still retained at `now`, or undefined. */
  get(holdNo: number, now: number): EndedHold | undefined {
    const seq = this.bySeq.get(holdNo)
    if (seq === undefined) return undefined
    const i = seq - this.base
    return this.endedCol[i] + this.retentionMs > now ? this.record(i) : undefined
  }

  /** The ended hold a client key of a channel names, if retained at `now`. */
  byClientKey(channel: string, key: string, now: number): EndedHold | undefined {
    const holdNo = this.byKey.get(keyOf(channel, key))
    return holdNo === undefined ? undefined : this.get(holdNo, now)
  }

  /** Every record, oldest ended first (snapshots). */
  *values(): IterableIterator<EndedHold> {
    for (let i = this.head; i < this.length; i++) yield this.record(i)
  }

  private record(i: number): EndedHold {
    const holdNo = this.holdNoCol[i]
    return {
      holdNo,
      channel: this.names[this.channelCol[i]],
      sku: this.names[this.skuCol[i]],
      nodeId: this.names[this.nodeCol[i]],
      qty: this.qtyCol[i],
      placedAt: this.placedCol[i],
      expiresAt: this.expiresCol[i],
      extensions: this.extensionsCol[i],
      endedAt: this.endedCol[i],
      reason: reasons[this.reasonCol[i]],
      key: this.keys.get(holdNo) ?? null,
      cartId: this.carts.get(holdNo) ?? null,
      customerId: this.customers.get(holdNo) ?? null
    }
  }

  /** The id of a record's hold. */
  holdId(h: EndedHold): string {
    return holdIdFor(this.partition, h.holdNo)
  }

  private dropOldest(): void {
    const i = this.head++
    const holdNo = this.holdNoCol[i]
    if (this.bySeq.get(holdNo) === this.base + i) this.forget(holdNo)
    if (this.head === this.length) {
      this.base += this.length
      this.head = 0
      this.length = 0
    }
  }

  /** Removes a hold number's index entries (its row stays until it is dropped; nothing points to it any more). */
  private forget(holdNo: number): void {
    const seq = this.bySeq.get(holdNo)
    if (seq === undefined) return
    this.bySeq.delete(holdNo)
    const key = this.keys.get(holdNo)
    if (key !== undefined) {
      // the key may name a newer hold by now (it ended later, so it is recorded later): only this hold's entry goes
      const k = keyOf(this.names[this.channelCol[seq - this.base]], key)
      if (this.byKey.get(k) === holdNo) this.byKey.delete(k)
    }
    this.keys.delete(holdNo)
    this.carts.delete(holdNo)
    this.customers.delete(holdNo)
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

  /** Moves the live rows to the front, then doubles the columns if they are still full. */
  private makeRoom(): void {
    const h = this.head
    const n = this.length
    const cols = [this.holdNoCol, this.qtyCol, this.placedCol, this.expiresCol, this.endedCol, this.extensionsCol, this.reasonCol, this.skuCol, this.nodeCol, this.channelCol]
    if (h > 0 && h * 2 >= n) {
      for (const c of cols) c.copyWithin(0, h, n)
      this.base += h
      this.length = n - h
      this.head = 0
      return
    }
    const rows = this.holdNoCol.length * 2
    const grow = <A extends Uint8Array | Int32Array | Float64Array>(a: A, make: (n: number) => A): A => {
      const b = make(rows)
      b.set(a.subarray(0, n))
      return b
    }
    this.holdNoCol = grow(this.holdNoCol, (k) => new Float64Array(k))
    this.qtyCol = grow(this.qtyCol, (k) => new Int32Array(k))
    this.placedCol = grow(this.placedCol, (k) => new Float64Array(k))
    this.expiresCol = grow(this.expiresCol, (k) => new Float64Array(k))
    this.endedCol = grow(this.endedCol, (k) => new Float64Array(k))
    this.extensionsCol = grow(this.extensionsCol, (k) => new Int32Array(k))
    this.reasonCol = grow(this.reasonCol, (k) => new Uint8Array(k))
    this.skuCol = grow(this.skuCol, (k) => new Int32Array(k))
    this.nodeCol = grow(this.nodeCol, (k) => new Int32Array(k))
    this.channelCol = grow(this.channelCol, (k) => new Int32Array(k))
  }
}
