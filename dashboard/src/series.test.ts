/** The chart series stay bounded and return their points oldest first, with minute means for long windows. */
import { describe, expect, it } from "vitest"
import { Bounded, ChartSeries, Ring } from "./series.ts"

describe("Ring", () => {
  it("keeps only its capacity, oldest first, NaN as a gap", () => {
    const r = new Ring(3, 1)
    for (let t = 1; t <= 5; t++) r.push(t, [t === 4 ? NaN : t * 10])
    expect(r.length).toBe(3)
    expect(r.since(0)).toEqual([[3, 4, 5], [30, null, 50]])
    expect(r.since(4)).toEqual([[4, 5], [null, 50]])
  })
})

describe("ChartSeries", () => {
  it("answers short windows from 1 s points and long ones from minute means", () => {
    const s = new ChartSeries(1, 120, 10)
    for (let t = 0; t < 600; t++) s.add(t, [t % 60])
    expect(s.fine.length).toBe(120)
    expect(s.window(600, 60)[0].length).toBe(60)
    const long = s.window(600, 3_600)
    expect(long[0]).toEqual([0, 60, 120, 180, 240, 300, 360, 420, 480])
    expect(long[1].every((v) => v === 29.5)).toBe(true)
  })
})

describe("Bounded", () => {
  it("drops the oldest items past its capacity", () => {
    const b = new Bounded<number>(3)
    b.push(1, 2)
    b.push(3, 4, 5)
    expect(b.all).toEqual([3, 4, 5])
  })
})
