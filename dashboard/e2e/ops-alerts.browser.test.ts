/**
 * Alerts as a workflow, the audit log and the pipeline view, in headless
 * Chromium against a real gateway whose engine keeps its data in the embedded
 * store (PGlite, a temporary folder):
 *
 * - many low pools of one SKU make one summary line; the low-stock rows show
 *   each pool's ATP now and when it changed, and a restocked pool's new ATP;
 * - pausing a node from the node table raises a node_status alert and an
 *   audit entry naming the ops person and the reason, on the page and through
 *   GET /v1/ops/audit;
 * - acknowledge refuses an empty reason, then records who and why; mute hides
 *   a group from the open list until a filter asks for muted ones; the
 *   severity filter works;
 * - the pipeline view counts routed and backordered orders, and its oldest
 *   backorder opens the order's timeline, as does a click on a map arc;
 * - a late shipment is a critical alert listed first, counted in the
 *   pipeline, its link opening the order;
 * - after the gateway and engine close and open again on the same folder, the
 *   page shows the alerts with their acknowledge and mute, and the audit log.
 *
 * Without Chromium the test is skipped with the reason, except under CI=true,
 * where it fails.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { chromium, type Browser, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Engine, loadConfig, openJournalStore, Queries, route, type Command } from "../../engine/index.ts"
import { fixtureCommands, places, run } from "../../engine/testing/fixture.ts"
import { loadGatewayConfig } from "../../gateway/config.ts"
import { LocalEngine } from "../../gateway/engine-access.ts"
import { makeKeyRing } from "../../gateway/keys.ts"
import type { AuditEntry } from "../../gateway/ops-feed-types.ts"
import { startGateway, type Gateway } from "../../gateway/server.ts"
import { chromiumArgs, chromiumMissing, chromiumPath } from "./live-gateway.ts"

const missing = chromiumMissing()
if (missing && process.env.CI) throw new Error(`the ops alerts browser test needs Chromium under CI: ${missing}`)
if (missing) console.warn(`skipping the ops alerts browser test: ${missing}`)

const opsToken = "ops-e2e-token-ana"
const webKey = "sf-e2e-web-key"
const keys = { ops: { [opsToken]: "ana" }, storefronts: { [webKey]: "web" }, internal: "internal-e2e-token" }
/** Stores added to the fixture network, so that one SKU is low in many pools. */
const extraStores = Array.from({ length: 10 }, (_, i) => `ST-X${String(i + 1).padStart(2, "0")}`)
const setup: ReadonlyArray<Command> = [
  ...fixtureCommands,
  ...extraStores.map((nodeId, i): Command => ({
    type: "node.upsert", nodeId, name: `Store ${nodeId}`, kind: "store", location: { lat: places.austin.lat + i * 0.1, lon: places.austin.lon }, capacityPerDay: 50, groups: ["south"]
  })),
  { type: "inventory.load", rows: [{ sku: "TV-55", nodeId: "WH-DAL", onHand: 200 }] }
]

interface Served {
  readonly gateway: Gateway
  close(): Promise<void>
}

describe.skipIf(missing !== undefined)("alerts, audit and pipeline in Chromium, kept across a restart", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "oms-ops-alerts-e2e-"))
  let served: Served
  let browser: Browser
  let page: Page

  const serve = async (): Promise<Served> => {
    const { store, close } = await openJournalStore({ backend: "embedded", dataDir })
    const engine = await Engine.open({ store, config: loadConfig({ partitions: 2 }, {}), router: route, timerPollMs: 50 })
    if (Queries.nodes(engine.view).length === 0) await run(engine, setup)
    const gateway = await startGateway({
      config: loadGatewayConfig({ host: "127.0.0.1", port: 0, opsTickMs: 300, lowStockUnits: 5 }, {}),
      keys: makeKeyRing(keys), engine: new LocalEngine(engine, store)
    })
    return {
      gateway,
      close: async () => {
        await gateway.close()
        await engine.close()
        await close()
      }
    }
  }

  const api = async <T>(method: string, p: string, key: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${served.gateway.url}${p}`, {
      method, headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined
    })
    const parsed = (await res.json()) as T
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(parsed)}`)
    return parsed
  }

  const signIn = async () => {
    await page.goto(`${served.gateway.url}/dashboard/`)
    await page.getByTestId("login-token").fill(opsToken)
    await page.getByTestId("login-submit").click()
    await page.getByTestId("connection").filter({ hasText: "live" }).waitFor()
    await page.getByTestId("operator").filter({ hasText: "signed in as ana" }).waitFor()
  }

  const alertLine = (kind: string, text: string) => page.locator(`[data-testid=alerts] li[data-kind=${kind}]`).filter({ hasText: text })

  beforeAll(async () => {
    served = await serve()
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
    page = await browser.newPage({ viewport: { width: 1500, height: 1400 } })
    page.setDefaultTimeout(20_000)
    await signIn()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await served?.close()
    rmSync(dataDir, { recursive: true, force: true })
  }, 60_000)

  it("groups many low pools of a SKU into one line, and shows each pool's ATP now and when it changed", async () => {
    const nodes = ["WH-DAL", "WH-COL", "ST-HOU", "ST-AUS", ...extraStores]
    await api("POST", "/v1/inventory/load", opsToken, { rows: nodes.map((nodeId, i) => ({ sku: "HDMI", nodeId, onHand: 1 + (i % 3) })), reference: "cycle count" })
    const line = alertLine("low_stock", "HDMI")
    await line.waitFor({ timeout: 20_000 })
    await expect.poll(() => line.textContent(), { timeout: 10_000 }).toMatch(/HDMI: 14 pools at or below 5 \(lowest ATP 1/)
    expect(await page.locator("[data-testid=alerts] li[data-kind=low_stock]").count()).toBe(1)
    expect(await line.getAttribute("data-severity")).toBe("info")
    const dallas = page.locator("[data-testid=low-stock] tr[data-pool='HDMI@WH-DAL']")
    await dallas.waitFor()
    expect(await dallas.locator("td").nth(2).textContent()).toBe("1")
    expect(await dallas.locator("td").nth(3).textContent()).toMatch(/^\d\d:\d\d:\d\d$/)

    // a pool sold out: the SKU's line becomes a warning
    await api("POST", "/v1/inventory/adjust", opsToken, { sku: "HDMI", nodeId: "ST-HOU", delta: -3, reason: "damaged" })
    await expect.poll(() => line.getAttribute("data-severity"), { timeout: 10_000 }).toBe("warning")
    expect(await line.textContent()).toMatch(/lowest ATP 0 at ST-HOU/)
    // restocked: the row shows the new ATP, above the threshold
    await api("POST", "/v1/inventory/receive", opsToken, { sku: "HDMI", nodeId: "WH-DAL", qty: 12, reference: "PO-77" })
    await expect.poll(() => dallas.locator("td").nth(2).textContent(), { timeout: 10_000 }).toBe("13")
    expect(await dallas.getAttribute("data-low")).toBe("false")
    await expect.poll(() => line.textContent()).toMatch(/HDMI: 13 pools/)
  })

  it("raises an alert and records an audit entry when a node is paused from the page", async () => {
    const row = page.locator("[data-testid=node-table] tr[data-node=ST-HOU]")
    await expect.poll(() => row.getAttribute("data-status")).toBe("online")
    await row.locator("button[data-action=paused]").click()
    await page.locator("#node-action-reason").fill("fire drill")
    await page.getByTestId("node-action-confirm").click()
    const line = alertLine("node_status", "ST-HOU")
    await line.waitFor({ timeout: 15_000 })
    await expect.poll(() => line.textContent()).toContain("ST-HOU is paused: fire drill")
    expect(await line.getAttribute("data-severity")).toBe("warning")

    const entry = page.locator("[data-testid=audit-log] li[data-action='node.setStatus']")
    await entry.waitFor({ timeout: 10_000 })
    expect(await entry.textContent()).toMatch(/ana.*node\.setStatus \/v1\/nodes\/ST-HOU\/status.*fire drill/)
    const { entries } = await api<{ entries: Array<AuditEntry> }>("GET", "/v1/ops/audit", opsToken)
    expect(entries.find((e) => e.action === "node.setStatus")).toMatchObject({ who: "ana", target: "/v1/nodes/ST-HOU/status", reason: "fire drill" })
    expect(entries.find((e) => e.action === "POST /v1/inventory/receive")).toMatchObject({ who: "ana", reason: "PO-77" })
  })

  it("acknowledges with a required reason, mutes for a while, and filters by severity and state", async () => {
    const line = alertLine("node_status", "ST-HOU")
    await line.locator("button[data-action=acknowledge]").click()
    await page.getByTestId("alert-action-dialog").waitFor({ state: "visible" })
    await page.getByTestId("alert-action-confirm").click()
    // no reason: the dialog stays and says why (the reason input is required)
    expect(await page.getByTestId("alert-action-dialog").isVisible()).toBe(true)
    await page.getByTestId("alert-reason").fill("drill until 15:00")
    await page.getByTestId("alert-action-confirm").click()
    await page.getByTestId("alert-action-dialog").waitFor({ state: "hidden" })
    await expect.poll(() => line.textContent()).toContain("acknowledged by ana: drill until 15:00")
    expect(await line.getAttribute("data-state")).toBe("acknowledged")

    const low = alertLine("low_stock", "HDMI")
    await low.locator("button[data-action=mute]").click()
    await page.getByTestId("alert-reason").fill("reorder placed")
    await page.getByTestId("alert-mute-minutes").fill("30")
    await page.getByTestId("alert-action-confirm").click()
    await expect.poll(() => low.count()).toBe(0)
    await page.getByTestId("alert-filter-state").selectOption("muted")
    await expect.poll(() => low.textContent()).toContain("muted by ana")
    await page.getByTestId("alert-filter-state").selectOption("open")

    await page.getByTestId("alert-filter-severity").selectOption("critical")
    await expect.poll(() => page.locator("[data-testid=alerts] li").count()).toBe(0)
    await page.getByTestId("alert-filter-severity").selectOption("warning")
    await expect.poll(() => line.count()).toBe(1)
    await page.getByTestId("alert-filter-severity").selectOption("")

    const actions = page.locator("[data-testid=audit-log] li")
    await expect.poll(async () => (await actions.allTextContents()).join("\n")).toMatch(/alert\.mute low_stock\|HDMI[\s\S]*alert\.acknowledge node_status\|ST-HOU/)
  })

  it("shows the pipeline: routed and backordered orders; the oldest backorder and a map arc open their order's timeline", async () => {
    const place = (externalId: string, sku: string) =>
      api<{ order: { orderId: string; status: string } }>("POST", "/v1/orders", webKey, { externalId, lines: [{ sku, qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })
    for (let i = 0; i < 3; i++) await place(`PIPE-${i}`, "TV-55")
    const back = await place("PIPE-BACK", "SOUNDBAR")
    expect(back.order.status).toBe("backordered")
    await expect.poll(() => page.getByTestId("pipeline-routed").textContent(), { timeout: 10_000 }).toBe("3")
    expect(await page.getByTestId("pipeline-backordered").textContent()).toBe("1")
    const oldest = page.getByTestId("pipeline-oldest-backorder").locator("button")
    expect(await oldest.textContent()).toBe(back.order.orderId)
    await oldest.click()
    await page.getByTestId("order-id").filter({ hasText: back.order.orderId }).waitFor()

    // a click on a routing arc on the map opens that order too
    const routed = await place("PIPE-ARC", "TV-55")
    const arcEnd = (orderId: string) => (globalThis as unknown as { opsDashboard: { arcEnd(id: string): [number, number] | undefined } }).opsDashboard.arcEnd(orderId)
    await expect.poll(() => page.evaluate(arcEnd, routed.order.orderId), { timeout: 10_000 }).toBeDefined()
    const [x, y] = (await page.evaluate(arcEnd, routed.order.orderId))!
    await page.getByTestId("map").click({ position: { x, y } })
    await page.getByTestId("order-id").filter({ hasText: routed.order.orderId }).waitFor()
  })

  it("shows a late shipment as a critical alert first, counted in the pipeline, its link opening the order", async () => {
    await api("POST", "/v1/admin/carriers", opsToken, { carrier: "UPS", name: "UPS", services: [{ service: "ground", name: "Ground", bands: [{ upToKm: 5_000, days: 3, baseCents: 500, perKgCents: 10 }] }] })
    const { order } = await api<{ order: { orderId: string; shipments: Array<{ shipmentId: string; nodeId: string }> } }>("POST", "/v1/orders", webKey,
      { externalId: "LATE-1", lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.houston }, payment: "authorised", service: "ground" })
    const { shipmentId, nodeId } = order.shipments[0]
    for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"]) await api("POST", `/v1/nodes/${nodeId}/events`, opsToken, { type, orderId: order.orderId, shipmentId })
    await api("POST", `/v1/nodes/${nodeId}/events`, opsToken, { type: "shipment.ship", orderId: order.orderId, shipmentId, carrier: "UPS", trackingId: "1Z1" })
    // the carrier's estimate lies past the promise: the shipment is late
    await api("POST", `/v1/shipments/${shipmentId}/tracking`, opsToken, { status: "in_transit", estimatedDelivery: "2099-01-01" })
    const late = alertLine("shipment_late", shipmentId)
    await late.waitFor({ timeout: 15_000 })
    expect(await late.getAttribute("data-severity")).toBe("critical")
    expect(await page.locator("[data-testid=alerts] li").first().getAttribute("data-kind")).toBe("shipment_late")
    await expect.poll(() => page.getByTestId("pipeline-late").textContent()).toBe("1")
    expect(await page.getByTestId("pipeline-late-list").textContent()).toContain(shipmentId)
    await late.locator("button[data-action=open-order]").click()
    await page.getByTestId("order-id").filter({ hasText: order.orderId }).waitFor()
    await expect.poll(() => page.getByTestId("order-timeline").locator("li[data-event=ShipmentLate]").count()).toBe(1)
  })

  it("keeps alerts with their acknowledge and mute, and the audit log, across a gateway restart", async () => {
    await served.close()
    served = await serve()
    await signIn()
    const line = alertLine("node_status", "ST-HOU")
    await line.waitFor({ timeout: 15_000 })
    expect(await line.textContent()).toContain("acknowledged by ana: drill until 15:00")
    await page.getByTestId("alert-filter-state").selectOption("muted")
    await expect.poll(() => alertLine("low_stock", "HDMI").textContent()).toContain("muted by ana")
    await page.getByTestId("alert-filter-state").selectOption("open")
    const audit = page.locator("[data-testid=audit-log] li")
    await expect.poll(async () => (await audit.allTextContents()).join("\n"), { timeout: 10_000 })
      .toMatch(/alert\.mute[\s\S]*alert\.acknowledge[\s\S]*node\.setStatus/)
    const { entries, durable } = await api<{ entries: Array<AuditEntry>; durable: boolean }>("GET", "/v1/ops/audit", opsToken)
    expect(durable).toBe(true)
    expect(entries.map((e) => e.action).filter((a) => a.startsWith("alert.") || a === "node.setStatus")).toEqual(["alert.mute", "alert.acknowledge", "node.setStatus"])
    expect(entries.find((e) => e.action === "POST /v1/shipments/:shipmentId/tracking")).toMatchObject({ who: "ana" })
  }, 120_000)
})
