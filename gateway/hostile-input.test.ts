/**
 * Inputs that once took the whole process down: a malformed percent escape in
 * a path parameter, and an unknown op that is a deeply nested value. Each is
 * answered with a documented code and the gateway keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway

beforeAll(async () => {
  t = await startTestGateway({ config: { frameBytesMax: 128 * 1024 }, stock: [["TV-55", "WH-DAL", 5]] })
})
afterAll(() => t.close())

describe("hostile input", () => {
  it("answers a malformed path escape without falling over", async () => {
    const r = await call(t.url, "GET", "/v1/holds/%ZZ", keys.web)
    expect(r.status).toBe(404)
    expect((await call(t.url, "GET", "/healthz")).status).toBe(200)
  })

  it("answers an unknown op nested 30,000 levels deep with unknown_op, and keeps the connection", async () => {
    const c = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
    c.sendRaw(`{"id":"deep","op":${"[".repeat(30_000)}${"]".repeat(30_000)}}`)
    const reply = await c.waitFor((f) => f.id === "deep")
    expect(reply).toMatchObject({ ok: false, error: { code: "unknown_op" } })
    expect(await c.request("next", "availability", { skus: ["TV-55"] })).toMatchObject({ ok: true })
    c.close()
  })
})
