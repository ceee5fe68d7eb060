/**
 * `npm run dashboard:screenshot`: plays the black-friday scenario against a
 * fresh gateway, opens the dashboard in headless Chromium with the ops token,
 * looks up a re-routed order, opens the busiest node's drill-down, and saves a screenshot under load to
 * docs/dashboard.png. While the day runs it prints the page's JS heap and
 * render rate every 15 s, the figures quoted in docs/operations.md.
 *
 *   --minutes M   wall-clock minutes of the simulated day (default 3)
 *   --shot-at S   seconds into the day to take the screenshot (default 100)
 *   --out FILE    where to save it (default docs/dashboard.png)
 *
 * A malformed number or an unknown option exits with status 2 before anything starts.
 */
import { parseArgs } from "node:util"
import { chromium } from "playwright-core"
import { loadScenario } from "../../simulator/scenario.ts"
import { chromiumArgs, chromiumMissing, chromiumPath, startLiveGateway } from "./live-gateway.ts"
import { buildDashboard } from "../build.ts"

const usage = "usage: npm run dashboard:screenshot -- [--minutes M (default 3)] [--shot-at S (default 100)] [--out FILE (default docs/dashboard.png)]"
const refuse = (message: string): never => {
  console.error(`screenshot: ${message}\n${usage}`)
  process.exit(2)
}
const values = (() => {
  try {
    return parseArgs({ options: { minutes: { type: "string" }, "shot-at": { type: "string" }, out: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true }).values
  } catch (e) {
    return refuse((e as Error).message)
  }
})()
if (values.help) {
  console.log(usage)
  process.exit(0)
}
/** `--name X`: a number `ok` accepts, else refused naming the option. */
const number = (name: string, given: string | undefined, fallback: number, ok: (x: number) => boolean, what: string): number => {
  if (given === undefined) return fallback
  const x = given.trim() === "" ? NaN : Number(given)
  return Number.isFinite(x) && ok(x) ? x : refuse(`--${name} needs ${what}, got ${JSON.stringify(given)}`)
}
const minutes = number("minutes", values.minutes, 3, (x) => x > 0, "a positive number")
const shotAtMs = number("shot-at", values["shot-at"], 100, (x) => x >= 0, "a number of seconds >= 0") * 1000
const out = values.out ?? "docs/dashboard.png"

const missing = chromiumMissing()
if (missing) throw new Error(missing)
await buildDashboard()
const live = await startLiveGateway(loadScenario("black-friday"))
const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } })
// the token in the fragment: the page signs in and removes it from the address bar
await page.goto(`${live.url}/dashboard/#token=${encodeURIComponent(live.keys.ops)}`)
const started = Date.now()
const day = live.simulate({ minutes, quiet: true })

interface Sample { readonly seconds: number; readonly heapMb: number; readonly renders: number; readonly ticks: number; readonly arcs: number; readonly alerts: number }
const sample = async (): Promise<Sample> => {
  const s = await page.evaluate(() => {
    const g = globalThis as unknown as { opsDashboard: { stats(): { renders: number; ticks: number; arcs: number; alerts: number } }; performance: { memory?: { usedJSHeapSize: number } } }
    return { ...g.opsDashboard.stats(), heap: g.performance.memory?.usedJSHeapSize ?? 0 }
  })
  return { seconds: Math.round((Date.now() - started) / 1000), heapMb: Math.round((s.heap / 1048576) * 10) / 10, renders: s.renders, ticks: s.ticks, arcs: s.arcs, alerts: s.alerts }
}

let previous = await sample()
let shot = false
let done = false
day.finally(() => (done = true)).catch(() => undefined)
while (!done) {
  await new Promise((r) => setTimeout(r, 15_000))
  const s = await sample()
  console.log(`t=${s.seconds}s  page heap ${s.heapMb} MB  ${((s.renders - previous.renders) / (s.seconds - previous.seconds || 1)).toFixed(1)} renders/s  ticks ${s.ticks}  arcs ${s.arcs}  alerts ${s.alerts}`)
  previous = s
  if (!shot && Date.now() - started >= shotAtMs) {
    shot = true
    const rerouted = [...live.engine.view.partitions].flatMap((p) => [...p.orders.orders.values()]).find((o) => o.routeAttempts > 1 && o.shipments.length > 0)
    if (rerouted) {
      await page.getByTestId("order-query").fill(rerouted.externalId)
      await page.getByTestId("order-query").press("Enter")
      await page.getByTestId("order-timeline").waitFor()
    }
    // the busiest node's drill-down: its backlog against capacity, rejections over time, open shipments
    await page.locator("th button[data-sort=load]").click()
    await page.locator("[data-testid=node-table] tbody tr button[data-action=details]").first().click()
    await page.getByTestId("node-backlog-text").waitFor({ timeout: 10_000 }).catch(() => undefined)
    await page.waitForTimeout(1_000)
    await page.screenshot({ path: out, fullPage: true })
    console.log(`screenshot saved to ${out}`)
  }
}
const result = await day
console.log(`day done: audit ${result.audit.ok ? "passed" : "FAILED"}, ${result.ledger.orders.length} orders`)
if (!shot) {
  await page.screenshot({ path: out, fullPage: true })
  console.log(`screenshot saved to ${out}`)
}
await browser.close()
await Promise.race([live.close(), new Promise((r) => setTimeout(r, 5_000))])
process.exit(0)
