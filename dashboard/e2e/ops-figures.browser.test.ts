/**
 * Figures that add up and history kept by the server, in a real browser
 * (headless Chromium driven by playwright-core) against a real gateway on
 * which the simulator played the smoke scenario's day over real sockets:
 *
 * - the report over that run (GET /v1/reports, and the page's reports panel)
 *   has the simulator's own orders, shipments, split rate, average shipping
 *   cost and distance, defined the same way on both sides; "Every figure"
 *   shows money, km, percents and ISO times, no raw floats or epoch ms;
 * - a new tab fills its charts at once from the server's history, for every
 *   range from 5 minutes to 7 days, with axis ticks on round times.
 *
 * Without Chromium the test is skipped with the reason, except under CI=true,
 * where it fails.
 */
import { chromium, type Browser, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call } from "../../gateway/testing/harness.ts"
import type { RunResult } from "../../simulator/run.ts"
import { loadScenario } from "../../simulator/scenario.ts"
import { summarise, type RunSummary } from "../../simulator/summary.ts"
import { chromiumArgs, chromiumMissing, chromiumPath, startLiveGateway, type LiveGateway } from "./live-gateway.ts"

/** The chart ranges the page offers (dashboard/src/charts.ts chartWindows), seconds. */
const chartRanges = [300, 900, 3_600, 21_600, 86_400, 604_800]

const missing = chromiumMissing()
if (missing && process.env.CI) throw new Error(`the ops figures browser test needs Chromium under CI: ${missing}`)
if (missing) console.warn(`skipping the ops figures browser test: ${missing}`)

describe.skipIf(missing !== undefined)("ops figures and history in Chromium, after a simulated day", () => {
  let live: LiveGateway
  let browser: Browser
  let run: RunResult
  let sim: RunSummary
  const pages: Array<Page> = []

  const signedIn = async (): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } })
    pages.push(page)
    await page.goto(`${live.url}/dashboard/#token=${encodeURIComponent(live.keys.ops)}`)
    await page.getByTestId("connection").filter({ hasText: "live" }).waitFor()
    return page
  }

  beforeAll(async () => {
    live = await startLiveGateway(loadScenario("smoke"), { opsTickMs: 250 })
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
    run = await live.simulate({ minutes: 0.4, quiet: true })
    sim = summarise(run)
  }, 240_000)

  afterAll(async () => {
    for (const p of pages) await p.close().catch(() => undefined)
    await browser?.close()
    await live?.close()
  }, 60_000)

  it("reports the simulator's orders, shipments, split rate, average cost and distance over the same run", async () => {
    expect(run.audit.ok).toBe(true)
    expect(sim.orders).toBeGreaterThan(50)
    // the run re-routed shipments (rejections, short picks, the outage): they must not be counted again
    expect(run.fulfillment.rejected + run.fulfillment.shortPicks).toBeGreaterThan(0)
    const r = await call(live.url, "GET", `/v1/reports?from=0&to=${Date.now() + 1}`, live.keys.ops)
    expect(r.status).toBe(200)
    const report = r.body.report
    expect(report.orders.placed).toBe(sim.orders)
    expect(report.shipping.shipments).toBe(sim.shipments)
    expect(report.shipping.rerouted).toBeGreaterThan(0)
    expect(report.splitRate).toBeCloseTo(sim.splitRate, 9)
    expect(report.shipping.averageCostCents).toBeCloseTo(sim.avgEngineCostCents, 6)
    expect(report.shipping.averageDistanceKm).toBeCloseTo(sim.avgDistanceKm, 6)
    // promises: kept over kept and late, the late ones counted
    expect(report.promise.keptRate === null || report.promise.keptRate === report.promise.kept / (report.promise.kept + report.promise.late)).toBe(true)

    // the same figures on the page, as the simulator's report writes them
    const page = await signedIn()
    await page.getByTestId("report-from").fill("2000-01-01T00:00")
    await page.getByTestId("report-run").click()
    await page.getByTestId("report-orders").waitFor()
    const shown = async (id: string) => (await page.getByTestId(id).textContent())?.trim()
    expect(await shown("report-orders")).toBe(sim.orders.toLocaleString("en-US"))
    expect(await shown("report-shipments")).toBe(sim.shipments.toLocaleString("en-US"))
    expect(await shown("report-split-rate")).toBe(`${(sim.splitRate * 100).toFixed(1)} %`)
    expect(await shown("report-cost")).toBe(`$${(sim.avgEngineCostCents / 100).toFixed(2)}`)
    expect(await shown("report-distance")).toBe(`${sim.avgDistanceKm.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 })} km`)
    expect(await shown("report-promises")).toMatch(/^(\d+\.\d %|–)$/)

    // every figure in its unit: no epoch milliseconds, no long floats
    await page.locator("details summary", { hasText: "Every figure" }).click()
    const rows = await page.getByTestId("report-table").locator("tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")))
    const byPath = new Map(rows.map(([k, v]) => [k, v]))
    expect(byPath.get("from")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(byPath.get("to")).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(byPath.get("shipping.averageCostCents")).toMatch(/^\$\d+\.\d\d$/)
    expect(byPath.get("shipping.averageDistanceKm")).toMatch(/^[\d,]+\.\d km$/)
    expect(byPath.get("fillRate")).toMatch(/^\d+\.\d %$/)
    for (const [k, v] of rows) {
      expect(v, k).not.toMatch(/^\d{12,}$/) // an epoch in ms
      expect(v, k).not.toMatch(/^-?\d+\.\d{3,}$/) // a raw float
    }
  })

  it("a new tab fills its charts from the server's history for every range, with ticks on round times", async () => {
    const page = await signedIn()
    const answered = new Map<number, number>()
    page.on("response", async (res) => {
      const m = /\/v1\/ops\/history\?seconds=(\d+)/.exec(res.url())
      if (m && res.status() === 200) answered.set(Number(m[1]), ((await res.json()) as { at: Array<number> }).at.length)
    })
    const chart = page.locator("#charts .chart").first()
    // the day ran for some 30 s before this tab opened: the chart draws the server's points, many more than the ticks the tab saw
    const drawnBeyondTicks = async () => {
      // the ticks first: the points drawn can only have grown since
      const ticks = await page.evaluate(() => (globalThis as unknown as { opsDashboard: { stats(): { ticks: number } } }).opsDashboard.stats().ticks)
      return Number(await chart.getAttribute("data-points")) - ticks
    }
    await expect.poll(drawnBeyondTicks, { timeout: 10_000 }).toBeGreaterThan(40)
    expect(await page.locator("#chart-window option").evaluateAll((os) => os.map((o) => Number(o.getAttribute("value"))))).toEqual(chartRanges)
    for (const seconds of chartRanges) {
      await page.locator("#chart-window").selectOption(String(seconds))
      await expect.poll(() => answered.get(seconds) ?? 0, { timeout: 10_000 }).toBeGreaterThan(0)
      await expect.poll(async () => Number(await chart.getAttribute("data-points")), { timeout: 10_000 }).toBeGreaterThan(0)
      // the axis spans the range and its ticks fall on whole multiples of a round step
      const step = Number(await chart.getAttribute("data-x-step"))
      const ticks = ((await chart.getAttribute("data-x-ticks")) ?? "").split(",").map(Number)
      expect([1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 14_400, 21_600, 28_800, 43_200, 86_400, 172_800]).toContain(step)
      expect(ticks.length).toBeGreaterThanOrEqual(2)
      for (const t of ticks) expect((t - new Date(t * 1000).getTimezoneOffset() * 60) % Math.min(step, 86_400)).toBe(0)
    }
    expect([...answered.keys()].sort((a, b) => a - b)).toEqual(expect.arrayContaining([300, 604_800]))
  })
})
