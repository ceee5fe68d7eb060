/**
 * Rate limits, per key and per WS connection, with real clients: a request
 * over a limit is answered `rate_limited` with retryAfterMs (WS) or 429 with
 * Retry-After (HTTP), is not run, and is not a bad frame; publishable keys
 * have their own, tighter limits, and a limit on the holds they create.
 *
 * Limits here are small; the bounds asserted allow for the tokens a slow
 * machine refills while the test runs (burst + elapsed x rate).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Queries } from "../engine/index.ts"
import { loadGatewayConfig, type GatewayConfig } from "./config.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"
import { RawConnection, requestHead } from "./testing/raw-http.ts"

const limits: Partial<GatewayConfig> = {
  badFramesBeforeClose: 5,
  secretKeyRequestsPerSec: 2,
  secretKeyRequestsBurst: 30,
  secretConnectionRequestsPerSec: 2,
  secretConnectionRequestsBurst: 10,
  publishableKeyRequestsPerSec: 1,
  publishableKeyRequestsBurst: 30,
  publishableConnectionRequestsPerSec: 1,
  publishableConnectionRequestsBurst: 8,
  publishableKeyHoldsPerSec: 1,
  publishableKeyHoldsBurst: 6,
  publishableConnectionHoldsPerSec: 1,
  publishableConnectionHoldsBurst: 3
}

let t: TestGateway
/** When the gateway started: no bucket existed before. */
let startedAt = 0

beforeAll(async () => {
  startedAt = performance.now()
  t = await startTestGateway({ config: limits, stock: [["HDMI", "WH-DAL", 1_000], ["TV-55", "WH-DAL", 1_000]] })
})
afterAll(() => t.close())

/** Tokens a bucket may have handed out `since` (performance.now()) until now: its burst plus what it refilled, plus one for rounding. */
const atMost = (burst: number, perSec: number, since: number) => burst + Math.floor(((performance.now() - since) * perSec) / 1000) + 1

const pipelined = async (c: FrameClient, frames: ReadonlyArray<Record<string, unknown>>) => {
  for (const f of frames) c.sendRaw(JSON.stringify(f))
  const ids = new Set(frames.map((f) => f.id))
  const deadline = Date.now() + 30_000
  while (c.frames.filter((f) => ids.has(f.id)).length < frames.length && c.closeCode === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10))
  }
  return c.frames.filter((f) => ids.has(f.id))
}

const holdsOf = async (sku: string) => (await Queries.availabilityOf(t.engine.view, t.engine.now(), [{ sku, channel: "web", nodesMax: 1 }]))[0]!.atp

describe("WS rate limits", () => {
  it("answers requests over the connection's limit rate_limited with retryAfterMs, runs none of them, and keeps the connection", async () => {
    const since = performance.now()
    const c = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
    const got = await pipelined(c, Array.from({ length: 60 }, (_, i) => ({ id: `p${i}`, op: "ping" })))
    const bound = atMost(10, 2, since)
    expect(got).toHaveLength(60)
    const ok = got.filter((f) => f.ok === true)
    const limited = got.filter((f) => f.ok === false)
    expect(ok.length).toBeGreaterThanOrEqual(10)
    expect(ok.length).toBeLessThanOrEqual(bound)
    for (const f of limited) {
      expect(f.error).toMatchObject({ code: "rate_limited", retryable: true })
      expect((f.error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0)
      expect((f.error as { message: string }).message).toContain("secretConnectionRequests")
    }
    // 50 refusals, far past badFramesBeforeClose (5): they are answers, not misbehaviour
    expect(c.closeCode).toBeUndefined()
    const retryAfterMs = (limited[0]!.error as { retryAfterMs: number }).retryAfterMs
    await new Promise((r) => setTimeout(r, retryAfterMs + 50))
    expect(await c.request("later", "ping")).toMatchObject({ ok: true })
    c.close()
  })

  it("limits a key over all its connections", async () => {
    const since = performance.now()
    const conns = await Promise.all(Array.from({ length: 5 }, () => FrameClient.open(`${t.wsUrl}?key=${keys.marketplace}`)))
    // 5 connections x 10 (each within its own burst) = 50 > the key's burst of 30
    const got = (await Promise.all(conns.map((c, k) => pipelined(c, Array.from({ length: 10 }, (_, i) => ({ id: `k${k}-${i}`, op: "ping" })))))).flat()
    const ok = got.filter((f) => f.ok === true).length
    expect(ok).toBeLessThanOrEqual(atMost(30, 2, since))
    expect(got.filter((f) => f.ok === false).every((f) => (f.error as { code: string; message: string }).code === "rate_limited")).toBe(true)
    expect(got.some((f) => (f.error as { message?: string } | undefined)?.message?.includes("secretKeyRequests"))).toBe(true)
    for (const c of conns) c.close()
  })

  it("limits the holds of a publishable connection; a refused hold holds nothing", async () => {
    const before = await holdsOf("TV-55")
    const since = performance.now()
    const c = await FrameClient.open(`${t.wsUrl}?key=${keys.webPublishable}`)
    const got = await pipelined(c, Array.from({ length: 8 }, (_, i) => ({ id: `h${i}`, op: "hold.create", sku: "TV-55", qty: 1, nodeId: "WH-DAL" })))
    const held = got.filter((f) => f.ok === true).length
    expect(held).toBeGreaterThanOrEqual(3)
    expect(held).toBeLessThanOrEqual(atMost(3, 1, since))
    const limited = got.filter((f) => f.ok === false)
    expect(limited.length).toBe(8 - held)
    for (const f of limited) expect((f.error as { code: string; message: string })).toMatchObject({ code: "rate_limited", message: expect.stringContaining("publishableConnectionHolds") })
    expect(await holdsOf("TV-55")).toBe(before - held)
    c.close()
  })

  it("gives a publishable connection a tighter request limit than a secret one", async () => {
    const since = performance.now()
    const c = await FrameClient.open(`${t.wsUrl}?key=${keys.marketplacePublishable}`)
    const got = await pipelined(c, Array.from({ length: 30 }, (_, i) => ({ id: `a${i}`, op: "availability", skus: ["HDMI"] })))
    const ok = got.filter((f) => f.ok === true).length
    expect(ok).toBeGreaterThanOrEqual(8)
    expect(ok).toBeLessThanOrEqual(atMost(8, 1, since))
    expect(got.find((f) => f.ok === false)?.error).toMatchObject({ code: "rate_limited", message: expect.stringContaining("publishableConnectionRequests") })
    c.close()
  })
})

describe("HTTP rate limits", () => {
  it("answers 429 rate_limited with Retry-After past a key's limit, and runs nothing", async () => {
    const since = performance.now()
    const answers = await Promise.all(Array.from({ length: 50 }, () => call(t.url, "GET", "/v1/pools/WH-DAL/HDMI", keys.columbus)))
    // a node key for another node: 403 when admitted (the scope check), 429 when over the key's limit
    const admitted = answers.filter((a) => a.status === 403).length
    expect(admitted).toBeLessThanOrEqual(atMost(30, 2, since))
    const limited = answers.filter((a) => a.status === 429)
    expect(limited.length).toBe(50 - admitted)
    expect(limited.length).toBeGreaterThan(0)
    for (const a of limited) {
      expect(a.body.error).toMatchObject({ code: "rate_limited", retryable: true })
      expect(Number(a.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      expect(Number(a.headers.get("retry-after"))).toBe(Math.ceil(a.body.error.retryAfterMs / 1000))
    }
  })

  it("limits the holds of a publishable key over HTTP (429), holding nothing for a refused one", async () => {
    const before = await holdsOf("HDMI")
    const since = performance.now()
    const answers = await Promise.all(Array.from({ length: 12 }, () => call(t.url, "POST", "/v1/holds", keys.webPublishable, { sku: "HDMI", qty: 1, nodeId: "WH-DAL" })))
    const created = answers.filter((a) => a.status === 201).length
    expect(created).toBeGreaterThanOrEqual(1)
    // the key's hold bucket (6) less what the WS test above took from it, plus its refill
    expect(created).toBeLessThanOrEqual(atMost(6, 1, since))
    const limited = answers.filter((a) => a.status === 429)
    expect(limited.length).toBe(12 - created)
    expect(limited[0]?.body.error).toMatchObject({ code: "rate_limited", message: expect.stringContaining("publishableKeyHolds") })
    expect(limited[0]?.headers.get("retry-after")).toBeTruthy()
    expect(await holdsOf("HDMI")).toBe(before - created)
  })
})

describe("HTTP rate limits and bodies", () => {
  it("takes no token for a request refused 401/403, and answers 429 from the headers without reading the body", async () => {
    // a node key on a storefront route: 403, checked before the rate limit, so none of these costs the key a token
    // (were they counted, at most burst 30 + 2/s of them would be answered 403, the rest 429)
    const forbidden = await Promise.all(Array.from({ length: 80 }, () => call(t.url, "POST", "/v1/holds", keys.dallas, { sku: "HDMI", qty: 1 })))
    expect(forbidden.map((a) => a.status)).toEqual(Array(80).fill(403))
    // the node key's own route: admitted until its bucket is empty
    const since = performance.now()
    let admitted = 0
    for (;;) {
      const answers = await Promise.all(Array.from({ length: 40 }, () => call(t.url, "GET", "/v1/pools/WH-DAL/HDMI", keys.dallas)))
      admitted += answers.filter((a) => a.status !== 429).length
      if (answers.some((a) => a.status === 429)) break
    }
    // the 80 refusals above left its whole burst
    expect(admitted).toBeGreaterThanOrEqual(30)
    expect(admitted).toBeLessThanOrEqual(atMost(30, 2, since))
    // bodies announced and never sent: an admitted request would wait for its body, so the first answer
    // can only come from the headers - the rate limit, before any body byte is read
    const conns = await Promise.all(Array.from({ length: 10 }, () => RawConnection.open(t.gateway.port)))
    for (const c of conns) {
      c.write(requestHead("POST", "/v1/nodes/WH-DAL/events", { authorization: `Bearer ${keys.dallas}`, "content-type": "application/json", "content-length": 1024 }))
    }
    const { c, a } = await Promise.any(conns.map(async (c) => ({ c, a: await c.answer(30_000) })))
    expect(a.status).toBe(429)
    expect(JSON.parse(a.body).error).toMatchObject({ code: "rate_limited", retryable: true })
    expect(Number(a.headers["retry-after"])).toBeGreaterThanOrEqual(1)
    await c.waitClosed()
    for (const x of conns) x.close()
  })
})

describe("publishable key limits over HTTP", () => {
  it("limit all the requests of a publishable key together (429 past publishableKeyRequests)", async () => {
    // the marketplace publishable key: at most 30 requests, plus 1/s, since the gateway started (the WS test above used some)
    const answers = await Promise.all(Array.from({ length: 60 }, () => call(t.url, "GET", "/v1/availability?skus=HDMI", keys.marketplacePublishable)))
    const ok = answers.filter((a) => a.status === 200).length
    expect(ok).toBeLessThanOrEqual(atMost(30, 1, startedAt))
    const limited = answers.filter((a) => a.status === 429)
    expect(limited.length).toBe(60 - ok)
    expect(limited[0]?.body.error).toMatchObject({ code: "rate_limited", message: expect.stringContaining("publishableKeyRequests") })
  })
})

describe("channel.get within the limits", () => {
  it("takes a request token of a publishable connection and key like any request, over WS and HTTP", async () => {
    const since = performance.now()
    const c = await FrameClient.open(`${t.wsUrl}?key=${keys.webPublishable}`)
    const got = await pipelined(c, Array.from({ length: 20 }, (_, i) => ({ id: `c${i}`, op: "channel.get" })))
    expect(got).toHaveLength(20)
    const ok = got.filter((f) => f.ok === true)
    expect(ok.length).toBeLessThanOrEqual(atMost(8, 1, since))
    for (const f of ok) expect(f.result).toMatchObject({ channel: "web" })
    for (const f of got.filter((f) => f.ok === false)) expect((f.error as { code: string }).code).toBe("rate_limited")
    c.close()
    // the key's requests over HTTP: at most its burst and refill since the gateway started (the tests above used some)
    const answers = await Promise.all(Array.from({ length: 80 }, () => call(t.url, "GET", "/v1/channel", keys.webPublishable)))
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(atMost(30, 1, startedAt))
    const limited = answers.filter((a) => a.status !== 200)
    expect(limited.length).toBeGreaterThan(0)
    for (const a of limited) expect(a).toMatchObject({ status: 429, body: { error: { code: "rate_limited" } } })
  })
})

describe("rate limit settings", () => {
  it("reads every limit from the environment and refuses a publishable limit looser than the secret one", () => {
    const c = loadGatewayConfig({}, { GATEWAY_PUBLISHABLE_CONNECTION_HOLDS_PER_SEC: "2", GATEWAY_SECRET_KEY_REQUESTS_BURST: "99" })
    expect(c.publishableConnectionHoldsPerSec).toBe(2)
    expect(c.secretKeyRequestsBurst).toBe(99)
    expect(() => loadGatewayConfig({ publishableKeyRequestsPerSec: 20_000, secretKeyRequestsPerSec: 10_000 }, {})).toThrow(/publishableKeyRequestsPerSec/)
    expect(() => loadGatewayConfig({}, { GATEWAY_PUBLISHABLE_CONNECTION_REQUESTS_BURST: "0" })).toThrow(/positive/)
  })
})
