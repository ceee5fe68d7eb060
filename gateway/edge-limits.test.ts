/**
 * What a hostile client can make the gateway hold, bounded:
 *
 * - bodies: the key is checked from the headers before a body byte is read
 *   (401/403 at once, the body never read), an over-limit Content-Length is
 *   413 at once, and bodies buffered across all requests are bounded by
 *   bodyBytesBufferedMax (503 gateway_busy past it);
 * - connections: connectionsMax derives from the process's file limit;
 *   storefront WS, socket.io clients and HTTP requests all count; health,
 *   node and internal routes keep connectionsReserved for themselves; a
 *   socket.io connection that joins no namespace is closed after
 *   authenticateWithinMs.
 */
import { execFileSync } from "node:child_process"
import { Manager, io as connectIo, type Socket } from "socket.io-client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connectionsMaxOf, fileLimitOfProcLimits, loadGatewayConfig, processFileLimit } from "./config.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"
import { RawConnection, requestHead } from "./testing/raw-http.ts"

const metric = async (t: TestGateway, name: string): Promise<number> => {
  const m = await call(t.url, "GET", "/metrics")
  const line = String(m.body).split("\n").find((l) => l.startsWith(`${name} `))
  return Number(line?.split(" ")[1])
}

const waitUntil = async (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe("request bodies", () => {
  let t: TestGateway
  const loadMax = 64 * 1024
  beforeAll(async () => {
    t = await startTestGateway({ config: { bodyBytesMax: 8 * 1024, loadBodyBytesMax: loadMax, bodyBytesBufferedMax: 96 * 1024 }, stock: [["TV-55", "WH-DAL", 5]] })
  })
  afterAll(() => t.close())

  it("answers 401 or 403 from the headers, before the body is sent, on every route that takes one", async () => {
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ["/v1/inventory/load", {}, 401, "unauthorized"],
      ["/v1/inventory/import", { "x-api-key": "no-such-key-at-all" }, 401, "unauthorized"],
      ["/internal/v1/engine", { authorization: `Bearer ${keys.dallas}` }, 403, "forbidden"],
      ["/v1/inventory/load", { authorization: `Bearer ${keys.web}` }, 403, "forbidden"],
      ["/v1/holds", {}, 401, "unauthorized"],
      ["/v1/nodes/WH-DAL/events", {}, 401, "unauthorized"]
    ]
    for (const [path, headers, status, code] of cases) {
      const c = await RawConnection.open(t.gateway.port)
      // the body is announced and never sent: the answer must come from the headers alone
      c.write(requestHead("POST", path, { ...headers, "content-type": "application/json", "content-length": path.startsWith("/v1/holds") || path.startsWith("/v1/nodes") ? 8 * 1024 : loadMax }))
      const a = await c.answer()
      expect(a.status, path).toBe(status)
      expect(JSON.parse(a.body).error.code, path).toBe(code)
      await c.waitClosed()
    }
    expect(await metric(t, "gateway_body_bytes_buffered")).toBe(0)
  })

  it("answers 40 unauthenticated 16 MB uploads at once, buffering none of them", async () => {
    const conns = await Promise.all(Array.from({ length: 40 }, () => RawConnection.open(t.gateway.port)))
    for (const c of conns) c.write(requestHead("POST", "/v1/inventory/load", { "content-type": "application/json", "content-length": 16 * 1024 * 1024 }))
    const answers = await Promise.all(conns.map((c) => c.answer()))
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(401))
    expect(await metric(t, "gateway_body_bytes_buffered")).toBe(0)
    for (const c of conns) c.close()
  })

  it("answers 413 to an over-limit Content-Length before reading the body", async () => {
    const c = await RawConnection.open(t.gateway.port)
    c.write(requestHead("POST", "/v1/inventory/load", { authorization: `Bearer ${keys.dallas}`, "content-type": "application/json", "content-length": loadMax + 1 }))
    const a = await c.answer()
    expect(a.status).toBe(413)
    expect(JSON.parse(a.body).error.code).toBe("body_too_large")
    await c.waitClosed()
  })

  it("bounds the bodies buffered across requests: 503 gateway_busy past bodyBytesBufferedMax, served again once it drains", async () => {
    const body = JSON.stringify({ rows: [{ sku: "TV-55", nodeId: "WH-DAL", onHand: 7 }] })
    const padded = (n: number) => body + " ".repeat(n - body.length)
    const big = await RawConnection.open(t.gateway.port)
    big.write(requestHead("POST", "/v1/inventory/load", { authorization: `Bearer ${keys.dallas}`, "content-type": "application/json", "content-length": loadMax }))
    const whole = padded(loadMax)
    big.write(whole.slice(0, loadMax / 2))
    await waitUntil("the first body is buffered", async () => (await metric(t, "gateway_body_bytes_buffered")) === loadMax)

    const second = await RawConnection.open(t.gateway.port)
    second.write(requestHead("POST", "/v1/inventory/load", { authorization: `Bearer ${keys.dallas}`, "content-type": "application/json", "content-length": 40 * 1024 }))
    const refused = await second.answer()
    expect(refused.status).toBe(503)
    expect(refused.headers["retry-after"]).toBe("1")
    expect(JSON.parse(refused.body).error).toMatchObject({ code: "gateway_busy", retryable: true })

    big.write(whole.slice(loadMax / 2))
    expect((await big.answer()).status).toBe(200)
    big.close()
    expect(await metric(t, "gateway_body_bytes_buffered")).toBe(0)
    const again = await call(t.url, "POST", "/v1/inventory/load", keys.dallas, padded(40 * 1024))
    expect(again.status).toBe(200)
  })

  it("still reads a chunked body with a key", async () => {
    const c = await RawConnection.open(t.gateway.port)
    const body = JSON.stringify({ sku: "TV-55", nodeId: "WH-DAL", qty: 1 })
    c.write(requestHead("POST", "/v1/inventory/receive", { authorization: `Bearer ${keys.dallas}`, "content-type": "application/json", "transfer-encoding": "chunked" }))
    c.write(`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`)
    expect((await c.answer()).status).toBe(200)
    c.close()
  })
})

describe("connection limits", () => {
  it("derives connectionsMax from the process's file limit, less fileDescriptorsReserved", () => {
    expect(fileLimitOfProcLimits("Limit  Soft Limit  Hard Limit  Units\nMax open files            20000                20000                files     \n")).toBe(20_000)
    expect(fileLimitOfProcLimits("Max open files            unlimited            unlimited            files\n")).toBeUndefined()
    expect(loadGatewayConfig({}, {}, () => 20_000).connectionsMax).toBe(20_000 - 1_024)
    expect(loadGatewayConfig({}, { GATEWAY_FILE_DESCRIPTORS_RESERVED: "4000" }, () => 20_000).connectionsMax).toBe(16_000)
    expect(loadGatewayConfig({}, { GATEWAY_CONNECTIONS_MAX: "5000" }, () => 20_000).connectionsMax).toBe(5_000)
    expect(connectionsMaxOf(1_024, 1_024)).toBe(512)
    // this process's own limit, as a shell reports it
    const shell = Number(execFileSync("/bin/sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim())
    expect(processFileLimit()).toBe(shell)
    expect(loadGatewayConfig({}, {}).connectionsMax).toBe(connectionsMaxOf(shell, 1_024))
    expect(loadGatewayConfig({}, {}).connectionsMax).toBeLessThan(shell)
  })

  describe("a full gateway", () => {
    let t: TestGateway
    let viewer: Socket
    let storefront: FrameClient
    beforeAll(async () => {
      t = await startTestGateway({ config: { connectionsMax: 4, connectionsReserved: 2 }, stock: [["TV-55", "WH-DAL", 5]] })
      viewer = connectIo(`${t.url}/ops`, { transports: ["websocket"], auth: { token: keys.ops }, reconnection: false })
      await new Promise<void>((resolve, reject) => {
        viewer.on("connect", () => resolve())
        viewer.on("connect_error", reject)
      })
      storefront = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
    })
    afterAll(async () => {
      viewer.disconnect()
      await t.close()
    })

    it("counts WS and socket.io alike, refuses storefronts past connectionsMax - connectionsReserved, and keeps health and node routes", async () => {
      expect(t.gateway.connectionsHeld()).toBe(2)
      // storefront WS upgrade, storefront HTTP, a new ops viewer: refused
      await expect(FrameClient.open(`${t.wsUrl}?key=${keys.web}`)).rejects.toMatchObject({ status: 503 })
      const r = await call(t.url, "GET", "/v1/availability?skus=TV-55", keys.web)
      expect(r).toMatchObject({ status: 503, body: { error: { code: "too_many_connections", retryable: true } } })
      expect(r.headers.get("retry-after")).toBe("1")
      const second = connectIo(`${t.url}/ops`, { transports: ["websocket"], auth: { token: keys.ops }, reconnection: false, forceNew: true })
      await new Promise<void>((resolve, reject) => {
        second.on("connect", () => reject(new Error("a viewer was let in past the limit")))
        second.on("connect_error", () => resolve())
      })
      second.close()
      // the reserve: health, readiness, metrics and node routes are served
      expect((await call(t.url, "GET", "/healthz")).status).toBe(200)
      expect((await call(t.url, "GET", "/readyz")).status).toBe(200)
      // the metrics request is itself one of them
      expect(await metric(t, "gateway_connections")).toBe(3)
      expect((await call(t.url, "GET", "/v1/pools/WH-DAL/TV-55", keys.dallas)).status).toBe(200)
      expect((await call(t.url, "POST", "/v1/inventory/receive", keys.dallas, { sku: "TV-55", nodeId: "WH-DAL", qty: 1 })).status).toBe(200)
      // a storefront leaves: storefronts are served again
      storefront.close()
      await waitUntil("the storefront connection is gone", () => t.gateway.connectionsHeld() === 1)
      expect((await call(t.url, "GET", "/v1/availability?skus=TV-55", keys.web)).status).toBe(200)
    })
  })

  it("closes a socket.io connection that joins no namespace after authenticateWithinMs, and counts it meanwhile", async () => {
    const t = await startTestGateway({ config: { authenticateWithinMs: 500 } })
    try {
      const manager = new Manager(t.url, { transports: ["websocket"], reconnection: false, autoConnect: false })
      let closed = false
      await new Promise<void>((resolve, reject) => manager.open((err) => (err ? reject(err) : resolve())))
      manager.engine.on("close", () => (closed = true))
      expect(t.gateway.connectionsHeld()).toBe(1)
      await waitUntil("the idle socket.io connection is closed", () => closed, 15_000)
      await waitUntil("it is no longer counted", () => t.gateway.connectionsHeld() === 0)
    } finally {
      await t.close()
    }
  })
})
