/**
 * The hold book stays bounded by the span of live hold numbers: ended holds
 * at the front are dropped whichever hold ended last.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { HoldBook } from "./hold-book.ts"

describe("hold book", () => {
  it("drops the ended front, even when the oldest hold ended first", () => {
    const book = new HoldBook<number>()
    for (let n = 1; n <= 20_000; n++) book.set(n, n)
    book.delete(1)
    for (let n = 2; n < 20_000; n++) book.delete(n)
    expect(book.size).toBe(1)
    expect(book.span).toBeLessThan(4_200)
    expect([...book.values()]).toEqual([20_000])
  })

  it("behaves like a map of live holds", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(50)), { maxLength: 300 }), (ops) => {
      const book = new HoldBook<number>()
      const model = new Map<number, number>()
      let next = 1
      for (const [add, pick] of ops) {
        if (add || model.size === 0) {
          book.set(next, next)
          model.set(next, next)
          next++
        } else {
          const id = [...model.keys()][pick % model.size]
          book.delete(id)
          model.delete(id)
        }
        expect(book.size).toBe(model.size)
      }
      expect([...book.values()]).toEqual([...model.values()])
      for (let n = 1; n < next; n++) expect(book.get(n)).toBe(model.get(n))
    }))
  })
})
