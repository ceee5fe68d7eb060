/**
 * The state of every StockPool actor of one partition, one pool per SKU x
 * node, stored column-wise in typed arrays so an idle pool costs a few dozen
 * bytes (a million pools fit in well under 100 MB). A pool's "actor state" is
 * one row: on hand, safety stock, held, allocated.
 */
import { invariant } from "../domain/errors.ts"

export interface PoolTableSnapshot {
  readonly size: number
  readonly skuNo: Int32Array
  readonly nodeNo: Int32Array
  readonly onHand: Int32Array
  readonly safety: Int32Array
  readonly held: Int32Array
  readonly allocated: Int32Array
  /** Sequence number of each pool's newest event (absent in snapshots written before it existed). */
  readonly lastSeq?: Float64Array
}

export class PoolTable {
  size = 0
  skuNo: Int32Array
  nodeNo: Int32Array
  onHand: Int32Array
  safety: Int32Array
  held: Int32Array
  allocated: Int32Array
  /** Sequence number of the pool's newest journaled event, 0 if none: the head of its chain of events (PoolRef.prev). */
  lastSeq: Float64Array
  /** SKU number -> slot + 1 of its pool at each node number (0: no pool there). */
  private readonly slotsBySku = new Map<number, Int32Array>()

  /** @param nodesMax more than the largest node number. */
  constructor(private readonly nodesMax: number, capacity = 1024) {
    this.skuNo = new Int32Array(capacity)
    this.nodeNo = new Int32Array(capacity)
    this.onHand = new Int32Array(capacity)
    this.safety = new Int32Array(capacity)
    this.held = new Int32Array(capacity)
    this.allocated = new Int32Array(capacity)
    this.lastSeq = new Float64Array(capacity)
  }

  /** The pool's slot, or -1 when the pool has never been touched. */
  slot(skuNo: number, nodeNo: number): number {
    const slots = this.slotsBySku.get(skuNo)
    return slots !== undefined && nodeNo < slots.length ? slots[nodeNo] - 1 : -1
  }

  /** The slots (+1, 0 for none) of a SKU's pools by node number, for reading a whole row at once. */
  slotsOf(skuNo: number): Int32Array | undefined {
    return this.slotsBySku.get(skuNo)
  }

  /** The pool's slot, creating an empty pool if needed. */
  ensure(skuNo: number, nodeNo: number): number {
    let slots = this.slotsBySku.get(skuNo)
    if (slots !== undefined && nodeNo < slots.length && slots[nodeNo] > 0) return slots[nodeNo] - 1
    if (slots === undefined || nodeNo >= slots.length) {
      const wider = new Int32Array(Math.min(this.nodesMax, Math.max(8, nodeNo + 1, (slots?.length ?? 0) * 2)))
      if (slots !== undefined) wider.set(slots)
      this.slotsBySku.set(skuNo, (slots = wider))
    }
    if (this.size === this.onHand.length) this.grow()
    const s = this.size++
    this.skuNo[s] = skuNo
    this.nodeNo[s] = nodeNo
    slots[nodeNo] = s + 1
    return s
  }

  /** Available to promise: on hand - held - allocated - safety stock, never negative. */
  atp(slot: number): number {
    if (slot < 0) return 0
    const v = this.onHand[slot] - this.held[slot] - this.allocated[slot] - this.safety[slot]
    return v > 0 ? v : 0
  }

  /** The invariant that makes overselling impossible: what is promised never exceeds what is on hand. */
  assertPool(slot: number): void {
    const held = this.held[slot]
    const allocated = this.allocated[slot]
    if (held < 0 || allocated < 0 || this.safety[slot] < 0 || held + allocated > this.onHand[slot]) {
      invariant(false, `pool ${this.skuNo[slot]}x${this.nodeNo[slot]} broke 0 <= held + allocated <= on hand`)
    }
  }

  private grow(): void {
    const n = Math.max(1024, this.onHand.length * 2)
    const widen = (a: Int32Array) => {
      const b = new Int32Array(n)
      b.set(a)
      return b
    }
    this.skuNo = widen(this.skuNo)
    this.nodeNo = widen(this.nodeNo)
    this.onHand = widen(this.onHand)
    this.safety = widen(this.safety)
    this.held = widen(this.held)
    this.allocated = widen(this.allocated)
    const lastSeq = new Float64Array(n)
    lastSeq.set(this.lastSeq)
    this.lastSeq = lastSeq
  }

  snapshot(): PoolTableSnapshot {
    const n = this.size
    return {
      size: n,
      skuNo: this.skuNo.slice(0, n),
      nodeNo: this.nodeNo.slice(0, n),
      onHand: this.onHand.slice(0, n),
      safety: this.safety.slice(0, n),
      held: this.held.slice(0, n),
      allocated: this.allocated.slice(0, n),
      lastSeq: this.lastSeq.slice(0, n)
    }
  }

  static restore(s: PoolTableSnapshot, nodesMax: number): PoolTable {
    const t = new PoolTable(nodesMax, Math.max(1024, s.size))
    for (let i = 0; i < s.size; i++) {
      const slot = t.ensure(s.skuNo[i], s.nodeNo[i])
      t.onHand[slot] = s.onHand[i]
      t.safety[slot] = s.safety[i]
      t.held[slot] = s.held[i]
      t.allocated[slot] = s.allocated[i]
      t.lastSeq[slot] = s.lastSeq?.[i] ?? 0
    }
    return t
  }
}
