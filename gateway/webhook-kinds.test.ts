/**
 * Every kind of customer notification reaches the channel's webhook, signed
 * so the receiver can verify it: confirmed, shipped, delivered, cancelled,
 * return_received and refunded, each checked by the receiver with
 * verifyNotification; a replayed (stale) or altered request fails that check.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, expect, it } from "vitest"
import { Queries, type NotificationKind } from "../engine/index.ts"
import { places } from "../engine/testing/fixture.ts"
import { call, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"
import { signNotification, signatureToleranceSec, verifyNotification } from "./webhook-signature.ts"

const secret = "whsec-kinds-0123456789"
let receiver: Server
let t: TestGateway
const received: Array<{ kind: string; id: string; verdict: string; body: string; signature: string; timestamp: string }> = []

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      const signature = String(req.headers["x-oms-signature"])
      const timestamp = String(req.headers["x-oms-timestamp"])
      const verdict = verifyNotification(secret, body, signature, timestamp)
      received.push({ kind: String(req.headers["x-oms-notification-kind"]), id: String(req.headers["idempotency-key"]), verdict, body, signature, timestamp })
      res.writeHead(verdict === "valid" ? 204 : 401).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  t = await startTestGateway({
    config: { outboxPollMs: 20, webhookBackoffMsInitial: 20, webhookBackoffMsMax: 100 },
    stock: [["TV-55", "WH-DAL", 20], ["HDMI", "WH-DAL", 20]],
    webhooks: { byChannel: { "*": { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/oms`, secret } } }
  })
})
afterAll(async () => {
  await t.close()
  await new Promise((resolve) => receiver.close(resolve))
})

const waitUntil = async (what: string, cond: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

it("delivers every notification kind, each with a signature the receiver verifies", async () => {
  const http = (method: string, path: string, key: string, body?: unknown) => call(t.url, method, path, key, body)
  const a = (await http("POST", "/v1/orders", keys.web, { externalId: "K-1", lines: [{ sku: "TV-55", qty: 1, unitPriceCents: 40_000 }], customer: { location: places.dallas }, payment: "authorised" })).body.order
  const s = a.shipments[0]
  const event = (body: Record<string, unknown>) => http("POST", "/v1/nodes/WH-DAL/events", keys.dallas, { orderId: a.orderId, ...body })
  for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"]) expect((await event({ type, shipmentId: s.shipmentId })).status).toBe(200)
  expect((await event({ type: "shipment.ship", shipmentId: s.shipmentId, carrier: "UPS", trackingId: "1Z9" })).status).toBe(200)
  expect((await event({ type: "shipment.deliver", shipmentId: s.shipmentId })).status).toBe(200)
  const r = await http("POST", `/v1/orders/${a.orderId}/returns`, keys.web, { lines: [{ lineNo: 1, qty: 1 }], reason: "too big" })
  expect(r.status).toBe(201)
  const returnId = r.body.order.returns[0].returnId
  expect((await event({ type: "return.receive", returnId, lines: [{ lineNo: 1, qty: 1, disposition: "restock" }] })).status).toBe(200)
  const b = (await http("POST", "/v1/orders", keys.marketplace, { externalId: "K-2", lines: [{ sku: "HDMI", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })).body.order
  expect((await http("POST", `/v1/orders/${b.orderId}/cancel`, keys.marketplace, { reason: "duplicate" })).status).toBe(200)

  const kinds: ReadonlyArray<NotificationKind> = ["confirmed", "shipped", "delivered", "cancelled", "return_received", "refunded"]
  await waitUntil("every kind delivered", () => kinds.every((k) => received.some((x) => x.kind === k && x.verdict === "valid")))
  await waitUntil("outbox drained", () => Queries.outbox(t.engine.view).length === 0)
  expect(received.every((x) => x.verdict === "valid")).toBe(true)
  for (const x of received) {
    const n = JSON.parse(x.body).notification
    expect(n.kind).toBe(x.kind)
    expect(n.id).toBe(x.id)
  }
  expect(received.filter((x) => x.id.startsWith(a.orderId)).map((x) => x.kind)).toEqual(["confirmed", "shipped", "delivered", "return_received", "refunded"])

  // what a receiver refuses: the same request replayed later, an altered body, another secret
  const one = received[0]
  const later = Number(one.timestamp) + signatureToleranceSec + 1
  expect(verifyNotification(secret, one.body, one.signature, one.timestamp, later)).toBe("stale")
  expect(verifyNotification(secret, one.body.replace("confirmed", "cancelled"), one.signature, one.timestamp)).toBe("bad_signature")
  expect(verifyNotification(secret, one.body, signNotification(secret, later, one.body), one.timestamp)).toBe("bad_signature")
  expect(verifyNotification("another-secret-xxxxxxxx", one.body, one.signature, one.timestamp)).toBe("bad_signature")
  expect(verifyNotification(secret, one.body, undefined, one.timestamp)).toBe("bad_signature")
})
