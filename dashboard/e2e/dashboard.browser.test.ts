/**
 * The dashboard in a real browser (headless Chromium driven by
 * playwright-core) against a real gateway while the smoke scenario's day runs
 * over real sockets: a storefront key is refused and the page says so; the
 * ops token signs in; the figures change with the load; an order found by its
 * id and by its external id shows its timeline with the routing explanation;
 * a report over today shows its figures; pausing a node through the confirm
 * dialog changes its status in the table;
 * the page renders at most a few times a second.
 *
 * Without Chromium the test is skipped with the reason, except under CI=true,
 * where it fails.
 */
import { mkdirSync } from "node:fs"
import { chromium, type Browser, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunResult } from "../../simulator/run.ts"
import { loadScenario } from "../../simulator/scenario.ts"
import { chromiumArgs, chromiumMissing, chromiumPath, startLiveGateway, type LiveGateway } from "./live-gateway.ts"

interface DashboardStats { readonly ticks: number; readonly renders: number; readonly arcs: number; readonly alerts: number }
/** Runs in the page: the figures main.ts exposes as window.opsDashboard. */
const dashboardStats = (): DashboardStats => (globalThis as unknown as { opsDashboard: { stats(): DashboardStats } }).opsDashboard.stats()

const missing = chromiumMissing()
if (missing && process.env.CI) throw new Error(`the dashboard browser test needs Chromium under CI: ${missing}`)
if (missing) console.warn(`skipping the dashboard browser test: ${missing}`)

describe.skipIf(missing !== undefined)("the ops dashboard in Chromium, under a simulated day", () => {
  let live: LiveGateway
  let browser: Browser
  let page: Page
  let day: Promise<RunResult>

  beforeAll(async () => {
    live = await startLiveGateway(loadScenario("smoke"), { opsTickMs: 500 })
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
    page = await browser.newPage({ viewport: { width: 1600, height: 1400 } })
    day = live.simulate({ minutes: 0.4, quiet: true })
    day.catch(() => undefined)
  }, 60_000)

  afterAll(async () => {
    await day?.catch(() => undefined)
    await browser?.close()
    await live?.close()
  }, 60_000)

  it("refuses a storefront key with the documented 403 and says so", async () => {
    await page.goto(`${live.url}/dashboard/`)
    await page.getByTestId("login-token").fill(live.keys.storefront.web)
    await page.getByTestId("login-submit").click()
    const error = page.getByTestId("login-error")
    await error.waitFor({ state: "visible" })
    expect(await error.textContent()).toMatch(/403 forbidden/)
    expect(await page.locator("#app").isHidden()).toBe(true)
  })

  it("signs in with the ops token and shows the figures changing with the load", async () => {
    await page.getByTestId("login-token").fill(live.keys.ops)
    await page.getByTestId("login-submit").click()
    await page.getByTestId("connection").filter({ hasText: "live" }).waitFor()
    const seen = new Set<string>()
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline && (seen.size < 3 || ![...seen].some((v) => v !== "0" && v !== "–"))) {
      seen.add((await page.getByTestId("fig-reservations").textContent()) ?? "")
      await page.waitForTimeout(300)
    }
    expect(seen.size).toBeGreaterThanOrEqual(3)
    expect([...seen].some((v) => Number(v.replace(/,/g, "")) > 0)).toBe(true)
    // the network is drawn and the node table filled from the feed
    await page.locator("[data-testid=node-table] tbody tr").first().waitFor()
    expect(await page.locator("[data-testid=node-table] tbody tr").count()).toBe(9)
  })

  it("finds an order by id and by external id and shows its timeline with the routing explanation", async () => {
    const order = [...live.engine.view.partitions].flatMap((p) => [...p.orders.orders.values()]).find((o) => o.shipments.length > 0)!
    expect(order).toBeDefined()
    for (const q of [order.orderId, order.externalId]) {
      await page.getByTestId("order-query").fill(q)
      await page.getByTestId("order-query").press("Enter")
      await page.getByTestId("order-id").filter({ hasText: order.orderId }).waitFor()
      const timeline = page.getByTestId("order-timeline")
      await expect.poll(() => timeline.locator("li[data-event=OrderPlaced]").count()).toBe(1)
      expect(await timeline.locator("li[data-event=OrderRouted]").count()).toBeGreaterThanOrEqual(1)
      expect(await timeline.locator("li[data-event=OrderRouted] .explanation").first().textContent()).toMatch(/\w+/)
    }
  })

  it("runs a report over today and shows its figures, the same as the engine's", async () => {
    await page.getByTestId("report-run").click()
    const orders = page.getByTestId("report-orders")
    await orders.waitFor({ timeout: 20_000 })
    const shown = Number(((await orders.textContent()) ?? "").replace(/,/g, ""))
    expect(shown).toBeGreaterThan(0)
    // the page shows what the API answers (orders keep coming while the day runs: at most what is placed by now)
    const placedNow = [...live.engine.view.partitions].reduce((n, p) => n + p.orders.orders.size, 0)
    expect(shown).toBeLessThanOrEqual(placedNow)
    expect(await page.getByTestId("report-table").locator("tr").count()).toBeGreaterThan(20)
  })

  it("pauses a node after confirmation and shows its new status", async () => {
    const row = page.locator("[data-testid=node-table] tbody tr").filter({ has: page.locator("td", { hasText: "store" }) }).first()
    const nodeId = await row.getAttribute("data-node")
    const rowOf = page.locator(`[data-testid=node-table] tr[data-node="${nodeId}"]`)
    await expect.poll(() => rowOf.getAttribute("data-status")).toBe("online")
    await rowOf.locator("button[data-action=paused]").click()
    await page.getByTestId("node-action-dialog").waitFor({ state: "visible" })
    await page.locator("#node-action-reason").fill("shelf count")
    await page.getByTestId("node-action-confirm").click()
    await expect.poll(() => rowOf.getAttribute("data-status"), { timeout: 10_000 }).toBe("paused")
    const node = live.engine.view.net.nodes.find((n) => n.nodeId === nodeId)
    expect(node?.status).toBe("paused")
    // and back online, so the day ends on the network it started with
    await rowOf.locator("button[data-action=online]").click()
    await page.getByTestId("node-action-confirm").click()
    await expect.poll(() => rowOf.getAttribute("data-status"), { timeout: 10_000 }).toBe("online")
  })

  it("renders a few times a second at most, with bounded lists, while the day runs; the day passes its audit", async () => {
    const before = await page.evaluate(dashboardStats)
    await page.waitForTimeout(3_000)
    const after = await page.evaluate(dashboardStats)
    const rate = (after.renders - before.renders) / 3
    expect(rate).toBeGreaterThan(0.5)
    expect(rate).toBeLessThanOrEqual(5)
    expect(after.arcs).toBeLessThanOrEqual(400)
    expect(after.ticks).toBeGreaterThan(before.ticks)
    mkdirSync("test-results", { recursive: true })
    await page.screenshot({ path: "test-results/dashboard.png", fullPage: true })
    const result = await day
    expect(result.audit.violations).toEqual([])
  }, 90_000)
})
