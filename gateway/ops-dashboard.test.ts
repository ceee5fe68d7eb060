/**
 * What the ops dashboard needs from the gateway besides the feed: the page's
 * files at /dashboard/ (content types, cache headers, nothing outside the
 * build folder), and the ops-only order search (by order id or external id,
 * any channel) and timeline, refused to storefront keys with 403.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { places } from "../engine/testing/fixture.ts"
import { call, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway
let empty: TestGateway
const root = mkdtempSync(join(tmpdir(), "oms-dashboard-"))
const build = join(root, "dist")

/** A GET with the path sent exactly as written (fetch would normalise ".."). */
const rawGet = (base: string, path: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const u = new URL(base)
    const req = request({ host: u.hostname, port: u.port, path, method: "GET" }, (res) => {
      let body = ""
      res.on("data", (c) => (body += c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    req.end()
  })

beforeAll(async () => {
  mkdirSync(join(build, "assets"), { recursive: true })
  writeFileSync(join(build, "index.html"), `<!doctype html><div id="map"></div><script type="module" src="/dashboard/assets/index-abc123.js"></script>`)
  writeFileSync(join(build, "assets", "index-abc123.js"), `console.log("dashboard")`)
  writeFileSync(join(build, "assets", "index-abc123.css"), `body{}`)
  writeFileSync(join(root, "secret.json"), `{"secret":true}`)
  t = await startTestGateway({ dashboardDir: build, stock: [["HDMI", "WH-DAL", 50]] })
  empty = await startTestGateway({ dashboardDir: join(root, "not-built") })
})
afterAll(async () => {
  await t.close()
  await empty.close()
  rmSync(root, { recursive: true, force: true })
})

describe("the dashboard page", () => {
  it("redirects /dashboard to /dashboard/ and serves index.html there, revalidated on every load", async () => {
    const r = await fetch(`${t.url}/dashboard`, { redirect: "manual" })
    expect(r.status).toBe(301)
    expect(r.headers.get("location")).toBe("/dashboard/")
    const page = await fetch(`${t.url}/dashboard/`)
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(page.headers.get("cache-control")).toBe("no-cache")
    expect(page.headers.get("x-content-type-options")).toBe("nosniff")
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'")
    expect(await page.text()).toContain(`<div id="map">`)
    const head = await fetch(`${t.url}/dashboard/`, { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe("")
  })

  it("serves hashed assets with their content type, cached for a year", async () => {
    const js = await fetch(`${t.url}/dashboard/assets/index-abc123.js`)
    expect(js.status).toBe(200)
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
    const css = await fetch(`${t.url}/dashboard/assets/index-abc123.css`)
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8")
  })

  it("serves nothing outside the build folder and answers 404 not_found for unknown files", async () => {
    for (const path of ["/dashboard/../secret.json", "/dashboard/..%2Fsecret.json", "/dashboard/assets/../../secret.json", "/dashboard/%2e%2e/secret.json", "/dashboard/nope.js"]) {
      const r = await rawGet(t.url, path)
      expect(r.status, path).toBe(404)
      expect(r.body, path).not.toContain("secret")
    }
    const missing = await call(t.url, "GET", "/dashboard/nope.js")
    expect(missing.body.error.code).toBe("not_found")
  })

  it("says how to build the page when it is not built", async () => {
    const r = await call(empty.url, "GET", "/dashboard/")
    expect(r.status).toBe(404)
    expect(r.body.error.message).toContain("npm run build:dashboard")
  })
})

describe("ops order search and timeline", () => {
  let orderId: string

  beforeAll(async () => {
    const placed = await call(t.url, "POST", "/v1/orders", keys.web, { externalId: "DASH-1", lines: [{ sku: "HDMI", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })
    expect(placed.status).toBe(201)
    orderId = placed.body.order.orderId
    // the same external id in another channel is another order
    await call(t.url, "POST", "/v1/orders", keys.marketplace, { externalId: "DASH-1", lines: [{ sku: "HDMI", qty: 2 }], customer: { location: places.dallas }, payment: "authorised" })
  })

  it("finds orders by order id, and by external id in every channel", async () => {
    const byId = await call(t.url, "GET", `/v1/ops/orders?q=${orderId}`, keys.ops)
    expect(byId.status).toBe(200)
    expect(byId.body.orders.map((o: { orderId: string }) => o.orderId)).toEqual([orderId])
    const byExternal = await call(t.url, "GET", "/v1/ops/orders?q=DASH-1", keys.ops)
    expect(byExternal.body.orders.map((o: { channel: string }) => o.channel).sort()).toEqual(["marketplace", "web"])
    expect((await call(t.url, "GET", "/v1/ops/orders?q=NOPE", keys.ops)).body).toEqual({ orders: [] })
    const blank = await call(t.url, "GET", "/v1/ops/orders?q=", keys.ops)
    expect(blank.status).toBe(400)
    expect(blank.body.error.code).toBe("invalid_frame")
  })

  it("shows an order's events, with each routing's explanation, and its notifications", async () => {
    let r = await call(t.url, "GET", `/v1/ops/orders/${orderId}/timeline`, keys.ops)
    for (let i = 0; i < 50 && !r.body.notifications.some((n: { state: string }) => n.state === "delivered"); i++) {
      await new Promise((res) => setTimeout(res, 50))
      r = await call(t.url, "GET", `/v1/ops/orders/${orderId}/timeline`, keys.ops)
    }
    expect(r.status).toBe(200)
    expect(r.body.order).toMatchObject({ orderId, externalId: "DASH-1", channel: "web" })
    const types = r.body.history.map((h: { event: { type: string } }) => h.event.type)
    expect(types.slice(0, 2)).toEqual(["OrderPlaced", "OrderRouted"])
    const routed = r.body.history[1].event
    expect(routed.explanation.summary).toEqual(expect.any(String))
    expect(routed.explanation.candidates[0]).toMatchObject({ nodeId: "WH-DAL", verdict: expect.any(String) })
    expect(r.body.notifications).toContainEqual({ id: `${orderId}/confirmed`, kind: "confirmed", state: "delivered", at: null })
    const unknown = await call(t.url, "GET", "/v1/ops/orders/o1-zzzz/timeline", keys.ops)
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.code).toBe("order_not_found")
  })

  it("refuses storefront and node keys (403) and callers without a key (401)", async () => {
    for (const path of ["/v1/ops/orders?q=DASH-1", `/v1/ops/orders/${orderId}/timeline`]) {
      const sf = await call(t.url, "GET", path, keys.web)
      expect(sf.status).toBe(403)
      expect(sf.body.error.code).toBe("forbidden")
      expect((await call(t.url, "GET", path, keys.dallas)).status).toBe(403)
      const none = await call(t.url, "GET", path)
      expect(none.status).toBe(401)
      expect(none.body.error.code).toBe("unauthorized")
    }
  })
})
