/**
 * Smaller defects found by a hostile-client pass:
 *
 * - a webhook receiver answering with an endless body costs the gateway at
 *   most webhookResponseBytesMax of it: the delivery completes at once;
 * - a store failure's detail (host, port, database) is logged with a
 *   correlation id, and the client gets only `store_unavailable` with the id;
 * - availability refuses lat/lon out of range and a negative nodesMax with
 *   named codes, over HTTP and WS;
 * - the health listener (healthPort) answers HTTP/1.0 health checks, a
 *   request without Host, a malformed request and many headers, at once.
 */
import { createServer, type Server } from "node:http"
import net, { type AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { Queries } from "../engine/index.ts"
import { places } from "../engine/testing/fixture.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"
import { RawConnection, requestHead } from "./testing/raw-http.ts"

const waitUntil = async (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe("a webhook answering with an endless body", () => {
  let receiver: Server
  let t: TestGateway
  let bodyWritten = 0
  let responseClosed = false
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/plain" })
        const chunk = Buffer.alloc(64 * 1024, "x")
        const timer = setInterval(() => {
          res.write(chunk)
          bodyWritten += chunk.length
        }, 5)
        res.on("close", () => {
          clearInterval(timer)
          responseClosed = true
        })
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
    const port = (receiver.address() as AddressInfo).port
    t = await startTestGateway({
      // an attempt could wait two minutes for the body to end: it must not
      config: { outboxPollMs: 20, webhookTimeoutMs: 120_000, webhookResponseBytesMax: 1_024 },
      stock: [["TV-55", "WH-DAL", 20]],
      webhooks: { byChannel: { web: { url: `http://127.0.0.1:${port}/hooks` } } }
    })
  })
  afterAll(async () => {
    await t.close()
    receiver.closeAllConnections()
    await new Promise((resolve) => receiver.close(resolve))
  })

  it("reads a bounded prefix, drops the rest, and counts the delivery", async () => {
    const placed = await call(t.url, "POST", "/v1/orders", keys.web, { externalId: "ENDLESS-1", lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })
    expect(placed.status).toBe(201)
    await waitUntil("the receiver's response is cut off", () => responseClosed)
    await waitUntil("the outbox drained", () => Queries.outbox(t.engine.view).length === 0)
    const m = await call(t.url, "GET", "/metrics")
    expect(m.body).toContain('gateway_webhook_deliveries_total{outcome="delivered"} 1')
    expect(bodyWritten).toBeGreaterThan(0)
  })
})

describe("client errors", () => {
  let t: TestGateway
  beforeAll(async () => {
    t = await startTestGateway({ stock: [["TV-55", "WH-DAL", 20], ["HDMI", "WH-DAL", 20]] })
  })
  afterAll(() => t.close())

  it("logs a store failure's detail under a correlation id and tells the client only the id", async () => {
    const detail = 'connect ECONNREFUSED 10.20.30.40:6543 (database "oms_secret")'
    const store = t.store as unknown as { append: (...args: Array<unknown>) => Promise<void> }
    store.append = async () => {
      throw new Error(detail)
    }
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined)
    const ws = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
    try {
      const r = await call(t.url, "POST", "/v1/holds", keys.web, { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })
      expect(r.status).toBe(503)
      expect(r.body.error).toMatchObject({ code: "store_unavailable", retryable: true })
      const text = JSON.stringify(r.body)
      for (const secret of ["10.20.30.40", "6543", "oms_secret", "ECONNREFUSED"]) expect(text).not.toContain(secret)
      const ref = r.body.error.ref as string
      expect(ref).toMatch(/^[0-9a-f]{12}$/)
      expect(r.body.error.message).toContain(ref)
      expect(logged.mock.calls.some((args) => String(args[0]).includes(ref) && String(args[0]).includes("store_unavailable"))).toBe(true)
      // the same over WS
      const reply = await ws.request(1, "hold.create", { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })
      expect(reply).toMatchObject({ ok: false, error: { code: "store_unavailable", ref: expect.stringMatching(/^[0-9a-f]{12}$/) } })
      expect(JSON.stringify(reply)).not.toContain("10.20.30.40")
    } finally {
      delete (store as { append?: unknown }).append
      logged.mockRestore()
      ws.close()
    }
    await waitUntil("the engine recovers", () => t.engine.stats().state === "running")
  })

  it("refuses lat/lon out of range and a negative nodesMax over HTTP and WS, as holds do", async () => {
    // an answer for nodesMax=0 in the cache must not answer nodesMax=-1
    expect((await call(t.url, "GET", "/v1/availability?skus=TV-55&nodesMax=0", keys.web)).status).toBe(200)
    for (const q of ["lat=999&lon=0", "lat=0&lon=1e308", "lat=-91&lon=10", "lat=1e308&lon=1e308"]) {
      expect(await call(t.url, "GET", `/v1/availability?skus=TV-55&${q}`, keys.web), q).toMatchObject({ status: 422, body: { error: { code: "invalid_location" } } })
    }
    expect(await call(t.url, "GET", "/v1/availability?skus=TV-55&nodesMax=-1", keys.web)).toMatchObject({ status: 400, body: { error: { code: "invalid_frame" } } })
    const ws = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
    try {
      for (const [i, op] of ["availability", "availability.subscribe"].entries()) {
        expect(await ws.request(`${i}a`, op, { skus: ["TV-55"], location: { lat: 999, lon: 0 } })).toMatchObject({ ok: false, error: { code: "invalid_location" } })
        expect(await ws.request(`${i}b`, op, { skus: ["TV-55"], location: { lat: 0, lon: 1e308 } })).toMatchObject({ ok: false, error: { code: "invalid_location" } })
        expect(await ws.request(`${i}c`, op, { skus: ["TV-55"], nodesMax: -3 })).toMatchObject({ ok: false, error: { code: "invalid_frame" } })
      }
      // nothing was subscribed
      expect(await ws.request("s", "availability.subscribe", { skus: ["TV-55"], location: places.dallas })).toMatchObject({ ok: true, result: { subscriptions: 1 } })
    } finally {
      ws.close()
    }
  })
})

describe("the health listener", () => {
  let t: TestGateway
  beforeAll(async () => {
    const probe = net.createServer()
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
    const healthPort = (probe.address() as AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))
    t = await startTestGateway({ config: { healthPort } })
  })
  afterAll(() => t.close())

  const ask = async (port: number, raw: string) => {
    const c = await RawConnection.open(port)
    c.write(raw)
    try {
      return await c.answer(10_000, raw.startsWith("HEAD "))
    } finally {
      c.close()
    }
  }

  it("answers an HTTP/1.0 health check (no Host), HEAD, and readiness", async () => {
    const port = t.gateway.healthPort!
    const h = await ask(port, "GET /healthz HTTP/1.0\r\n\r\n")
    expect(h.status).toBe(200)
    expect(JSON.parse(h.body)).toEqual({ status: "ok" })
    expect((await ask(port, "HEAD /healthz HTTP/1.0\r\n\r\n")).status).toBe(200)
    const r = await ask(port, "GET /readyz HTTP/1.0\r\n\r\n")
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toMatchObject({ ready: true, engine: "running", store: true })
    expect((await ask(port, "GET /v1/availability HTTP/1.0\r\n\r\n")).status).toBe(404)
  })

  it("answers 400 to HTTP/1.1 without Host and to a garbage request line, and serves 60 headers", async () => {
    const port = t.gateway.healthPort!
    expect((await ask(port, "GET /healthz HTTP/1.1\r\n\r\n")).status).toBe(400)
    expect((await ask(port, "garbage\r\n\r\n")).status).toBe(400)
    const many = Array.from({ length: 60 }, (_, i) => `X-H${i}: v\r\n`).join("")
    expect((await ask(port, `GET /healthz HTTP/1.1\r\nHost: lb\r\n${many}\r\n`)).status).toBe(200)
  })

  it("the main port answers HTTP/1.1 with Host and up to 49 headers", async () => {
    const many: Record<string, string> = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`X-H${i}`, "v"]))
    expect((await ask(t.gateway.port, requestHead("GET", "/healthz", many))).status).toBe(200)
  })
})
