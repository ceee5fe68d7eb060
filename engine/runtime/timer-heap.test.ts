import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { TimerHeap } from "./timer-heap.ts"

describe("TimerHeap.forEachDue", () => {
  it("visits exactly the timers due by a time, and leaves the heap as it was", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1_000 }), { maxLength: 300 }), fc.integer({ min: -1, max: 1_001 }), (dues, until) => {
      const heap = new TimerHeap<number>()
      dues.forEach((d, i) => heap.push(d, i))
      const seen: Array<number> = []
      heap.forEachDue(until, (due, id) => {
        expect(dues[id]).toBe(due)
        seen.push(id)
      })
      expect(seen.sort((a, b) => a - b)).toEqual(dues.map((d, i) => [d, i]).filter(([d]) => d <= until).map(([, i]) => i))
      const popped: Array<number> = []
      while (heap.size > 0) popped.push(dues[heap.pop()])
      expect(popped).toEqual([...dues].sort((a, b) => a - b))
    }))
  })
})
