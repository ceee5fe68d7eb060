/**
 * A fast-check property over the WS API: random text, random JSON, random
 * bytes, and frames with real and bogus ops carrying random fields. Every frame
 * gets exactly one answer; every answer is a success or an error whose code is
 * documented (engine codes plus gateway codes); the gateway never crashes and
 * still serves afterwards.
 */
import fc from "fast-check"
import { afterAll, beforeAll, expect, it } from "vitest"
import { allErrorCodes } from "./errors.ts"
import { storefrontOps } from "./payloads.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway

beforeAll(async () => {
  t = await startTestGateway({ config: { badFramesBeforeClose: 1_000_000, frameBytesMax: 2048 }, stock: [["TV-55", "WH-DAL", 1000], ["HDMI", "WH-DAL", 1000]] })
})
afterAll(() => t.close())

const fieldNames = ["sku", "skus", "qty", "nodeId", "location", "ttlMs", "key", "holdId", "externalId", "lines", "customer", "holdIds", "payment", "orderId", "reason", "outcome", "nodesMax", "nonce"]

const frame: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.string({ minLength: 2100, maxLength: 2200 }),
  fc.record({
    id: fc.oneof(fc.string({ maxLength: 140 }), fc.integer(), fc.double(), fc.constant(null), fc.boolean()),
    op: fc.oneof(fc.constantFrom(...storefrontOps), fc.string({ maxLength: 20 })),
    fields: fc.dictionary(fc.oneof(fc.constantFrom(...fieldNames), fc.string({ maxLength: 8 })), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 })
  }).map(({ id, op, fields }) => JSON.stringify({ ...fields, id, op })),
  fc.record({
    sku: fc.constantFrom("TV-55", "HDMI", "NOPE", ""),
    qty: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double(), fc.constant(1e12)),
    op: fc.constantFrom("hold.create", "availability", "order.place", "order.cancel", "availability.subscribe")
  }).map(({ sku, qty, op }) => JSON.stringify({ id: "p", op, sku, qty, skus: [sku], lines: [{ sku, qty }], customer: {}, externalId: sku, orderId: sku, holdId: sku }))
)

it("answers every random frame exactly once with a documented code, and never crashes", async () => {
  const c = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
  let answered = 0
  let sent = 0
  await fc.assert(
    fc.asyncProperty(frame, async (f) => {
      c.sendRaw(typeof f === "string" ? f : Buffer.from(f))
      sent++
      const reply = await c.waitFor((x) => x.push === undefined && c.frames.indexOf(x) >= answered)
      answered = c.frames.indexOf(reply) + 1
      expect(typeof reply.ok).toBe("boolean")
      if (reply.ok === false) {
        const code = (reply.error as { code: string }).code
        expect(Object.keys(allErrorCodes)).toContain(code)
        expect(typeof (reply.error as { message: string }).message).toBe("string")
      }
    }),
    { numRuns: 400 }
  )
  expect(c.closeCode).toBeUndefined()
  expect(await c.request("alive", "ping")).toMatchObject({ ok: true })
  await new Promise((r) => setTimeout(r, 100))
  expect(c.frames.filter((x) => x.push === undefined)).toHaveLength(sent + 1)
  expect((await call(t.url, "GET", "/healthz")).status).toBe(200)
  c.close()
})
