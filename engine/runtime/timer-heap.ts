/**
 * A min-heap of (due time, id): the timers of one partition (hold expiries,
 * payment deadlines). Entries are never removed in place; a timer whose
 * target moved or ended is skipped when it comes due (lazy deletion).
 */

export class TimerHeap<Id = string> {
  private times: Array<number> = []
  private ids: Array<Id> = []

  get size(): number {
    return this.times.length
  }

  push(due: number, id: Id): void {
    const t = this.times
    const ids = this.ids
    let i = t.length
    t.push(due)
    ids.push(id)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (t[parent] <= due) break
      t[i] = t[parent]
      ids[i] = ids[parent]
      i = parent
    }
    t[i] = due
    ids[i] = id
  }

  /** The earliest due time, or Infinity when empty. */
  peekTime(): number {
    return this.times.length === 0 ? Infinity : this.times[0]
  }

  /** Removes and returns the id of the earliest timer (call only when size > 0). */
  pop(): Id {
    const t = this.times
    const ids = this.ids
    const top = ids[0]
    const lastTime = t.pop()!
    const lastId = ids.pop()!
    const n = t.length
    if (n > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && t[r] < t[l] ? r : l
        if (t[c] >= lastTime) break
        t[i] = t[c]
        ids[i] = ids[c]
        i = c
      }
      t[i] = lastTime
      ids[i] = lastId
    }
    return top
  }

  /**
   * Calls `visit` for every timer due at or before `until`, in no particular
   * order, without changing the heap. A subtree whose root is due later is
   * skipped whole, so the cost follows the number of timers visited, not the
   * heap's size.
   */
  forEachDue(until: number, visit: (due: number, id: Id) => void): void {
    const t = this.times
    const stack: Array<number> = t.length > 0 && t[0] <= until ? [0] : []
    while (stack.length > 0) {
      const i = stack.pop()!
      visit(t[i], this.ids[i])
      const l = 2 * i + 1
      if (l < t.length && t[l] <= until) stack.push(l)
      if (l + 1 < t.length && t[l + 1] <= until) stack.push(l + 1)
    }
  }

  clear(): void {
    this.times = []
    this.ids = []
  }
}
