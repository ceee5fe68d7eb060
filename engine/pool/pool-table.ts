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
}

export class PoolTable {
  size = 0
  skuNo: Int32Array
  nodeNo: Int32Array
  onHand: Int32Array
  safety: Int32Array
  held: Int32Array
  allocated: Int32Array
  private readonly slotByKey = new Map<number, number>()

  /** @param nodeStride more than the largest node number (the configured nodesMax). */
  constructor(private readonly nodeStride: number, capacity = 1024) {
    this.skuNo = new Int32Array(capacity)
    this.nodeNo = new Int32Array(capacity)
    this.onHand = new Int32Array(capacity)
    this.safety = new Int32Array(capacity)
    this.held = new Int32Array(capacity)
    this.allocated = new Int32Array(capacity)
  }

  /** The pool's slot, or -1 when the pool has never been touched. */
  slot(skuNo: number, nodeNo: number): number {
    return this.slotByKey.get(skuNo * this.nodeStride + nodeNo) ?? -1
  }

  /** The pool's slot, creating an empty pool if needed. */
  ensure(skuNo: number, nodeNo: number): number {
    const key = skuNo * this.nodeStride + nodeNo
    const existing = this.slotByKey.get(key)
    if (existing !== undefined) return existing
    if (this.size === this.onHand.length) this.grow()
    const s = this.size++
    this.skuNo[s] = skuNo
    this.nodeNo[s] = nodeNo
    this.slotByKey.set(key, s)
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
    invariant(
      this.held[slot] >= 0 && this.allocated[slot] >= 0 && this.onHand[slot] >= 0 && this.safety[slot] >= 0 &&
        this.held[slot] + this.allocated[slot] <= this.onHand[slot],
      `pool ${this.skuNo[slot]}x${this.nodeNo[slot]} broke 0 <= held + allocated <= on hand`
    )
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
      allocated: this.allocated.slice(0, n)
    }
  }

  static restore(s: PoolTableSnapshot, nodeStride: number): PoolTable {
    const t = new PoolTable(nodeStride, Math.max(1024, s.size))
    t.skuNo.set(s.skuNo)
    t.nodeNo.set(s.nodeNo)
    t.onHand.set(s.onHand)
    t.safety.set(s.safety)
    t.held.set(s.held)
    t.allocated.set(s.allocated)
    t.size = s.size
    for (let i = 0; i < s.size; i++) t.slotByKey.set(s.skuNo[i] * nodeStride + s.nodeNo[i], i)
    return t
  }
}
