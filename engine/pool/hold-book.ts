/**
 * The live holds of one partition, by hold number. Hold numbers are issued in
 * order, so the book is an array offset by the oldest live number rather than
 * a hash map: no hashing, no rehashing of millions of entries during a peak.
 * When the oldest holds end, the array is trimmed from the front.
 */

const trimAfterHoles = 4096

export class HoldBook<H> {
  /** Hold number of items[0]. */
  private base = 1
  /** Index of the first item that may be live (everything before it is empty). */
  private head = 0
  private items: Array<H | undefined> = []
  private live = 0

  get size(): number {
    return this.live
  }

  get(holdNo: number): H | undefined {
    return this.items[holdNo - this.base]
  }

  /** Adds a hold; numbers must not go below the oldest live one (they are issued in order). */
  set(holdNo: number, hold: H): void {
    if (this.live === 0) {
      this.base = holdNo
      this.items = []
      this.head = 0
    }
    const i = holdNo - this.base
    if (i < 0) throw new RangeError(`hold ${holdNo} is older than the book's oldest (${this.base})`)
    while (this.items.length < i) this.items.push(undefined)
    if (this.items[i] === undefined) this.live++
    this.items[i] = hold
  }

  delete(holdNo: number): void {
    const i = holdNo - this.base
    if (this.items[i] === undefined) return
    this.items[i] = undefined
    this.live--
    if (i === this.head) this.trim()
  }

  /** Moves the head past ended holds; drops the empty front once it is long enough. */
  private trim(): void {
    const items = this.items
    let k = this.head
    while (k < items.length && items[k] === undefined) k++
    if (k === items.length) {
      this.base += k
      this.items = []
      this.head = 0
    } else if (k >= trimAfterHoles) {
      this.items = items.slice(k)
      this.base += k
      this.head = 0
    } else this.head = k
  }

  *values(): IterableIterator<H> {
    for (let i = this.head; i < this.items.length; i++) {
      const h = this.items[i]
      if (h !== undefined) yield h
    }
  }

  /** Slots the book holds, live or not (for tests of its bound). */
  get span(): number {
    return this.items.length
  }
}
