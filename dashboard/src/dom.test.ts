import { describe, expect, it } from "vitest"
import { fmtAxisMs, fmtMs } from "./dom.ts"

describe("durations on the page", () => {
  it("label the latency axis in seconds from 1 s, short enough for the axis", () => {
    expect([0, 0.05, 2.5, 250, 999, 1000, 1234, 9_950, 15_000, 120_000].map(fmtAxisMs))
      .toEqual(["0 ms", "0.05 ms", "2.5 ms", "250 ms", "999 ms", "1.0 s", "1.2 s", "9.9 s", "15 s", "120 s"])
    for (let x = 0; x < 1_000_000; x = x * 1.7 + 0.01) expect(fmtAxisMs(x).length, String(x)).toBeLessThanOrEqual(7)
  })

  it("show a long p99 in seconds, so the figure stays short", () => {
    expect(fmtMs(3.456)).toBe("3.46 ms")
    expect(fmtMs(245.67)).toBe("245.7 ms")
    expect(fmtMs(1530)).toBe("1.53 s")
    expect(fmtMs(12_345)).toBe("12.3 s")
  })
})
