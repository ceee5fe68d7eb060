/** The reports panel's figures: money, km, percents, durations and ISO times by the figure's name, never raw floats or epoch ms. */
import { expect, it } from "vitest"
import { fmtDuration, formatFigure, reportRows } from "./report-format.ts"

it("writes each figure in its unit", () => {
  expect(formatFigure("shipping.averageCostCents", 1262.4567)).toBe("$12.62")
  expect(formatFigure("returns.refundCents", 123456)).toBe("$1,234.56")
  expect(formatFigure("shipping.averageDistanceKm", 732.0491)).toBe("732.0 km")
  expect(formatFigure("splitRate", 0.02897)).toBe("2.9 %")
  expect(formatFigure("promise.keptRate", 1)).toBe("100.0 %")
  expect(formatFigure("nodes.WH-DAL.utilisation", 0.155)).toBe("15.5 %")
  expect(formatFigure("feedback.averageRating", 4.4123)).toBe("4.41 / 5")
  expect(formatFigure("backorders.averageFilledAgeMs", 5_400_000)).toBe("1 h 30 min")
  expect(formatFigure("from", Date.UTC(2026, 10, 27))).toBe("2026-11-27T00:00:00.000Z")
  expect(formatFigure("coverage.retainedFrom", null)).toBe("–")
  expect(formatFigure("coverage.complete", true)).toBe("yes")
  expect(formatFigure("orders.placed", 6212)).toBe("6,212")
  expect(formatFigure("nodes.WH-DAL.capacity", 1333.3333)).toBe("1,333.3")
  expect(fmtDuration(90_061_000)).toBe("1 d 1 h")
  expect(fmtDuration(65_000)).toBe("1 min 5 s")
  expect(fmtDuration(850)).toBe("850 ms")
})

it("lists every leaf with its path, nothing raw", () => {
  const rows = reportRows({ from: 0, shipping: { averageCostCents: 921.3, shipments: 3 }, promise: { keptRate: null } })
  expect(rows).toEqual([["from", "1970-01-01T00:00:00.000Z"], ["shipping.averageCostCents", "$9.21"], ["shipping.shipments", "3"], ["promise.keptRate", "–"]])
})
