/**
 * Outbound notifications: the outbox is POSTed to a local webhook server that
 * fails the first attempts; the gateway retries with the same Idempotency-Key
 * and a valid HMAC-SHA256 signature, each transition id is accepted exactly
 * once, the engine's outbox drains, and a WS client subscribed to the order
 * gets the notifications too.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, expect, it } from "vitest"
import { Queries } from "../engine/index.ts"
import { places } from "../engine/testing/fixture.ts"
import { verifyNotification } from "./webhook-signature.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

const secret = "whsec-test"
let receiver: Server
let t: TestGateway
const attempts = new Map<string, number>()
const accepted: Array<{ id: string; kind: string; signatureOk: boolean }> = []

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      const id = String(req.headers["idempotency-key"])
      const n = (attempts.get(id) ?? 0) + 1
      attempts.set(id, n)
      // fail the first two attempts of every notification
      if (n <= 2) {
        res.writeHead(500).end()
        return
      }
      accepted.push({ id, kind: String(req.headers["x-oms-notification-kind"]), signatureOk: verifyNotification(secret, body, req.headers["x-oms-signature"] as string, req.headers["x-oms-timestamp"] as string) === "valid" })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  const port = (receiver.address() as AddressInfo).port
  t = await startTestGateway({
    config: { outboxPollMs: 20, webhookBackoffMsInitial: 20, webhookBackoffMsMax: 100, webhookAttemptsMax: 5 },
    stock: [["TV-55", "WH-DAL", 20]],
    webhooks: { byChannel: { web: { url: `http://127.0.0.1:${port}/hooks`, secret } } }
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

it("delivers each notification at least once with retries, accepted exactly once, signed, and drains the outbox", async () => {
  const ws = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
  const placed = await ws.request(1, "order.place", { externalId: "WH-1", lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })
  const order = (placed.result as any).order
  expect((await ws.request(2, "order.subscribe", { orderId: order.orderId })).ok).toBe(true)
  const s = order.shipments[0]
  for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"]) {
    expect((await call(t.url, "POST", "/v1/nodes/WH-DAL/events", keys.dallas, { type, orderId: order.orderId, shipmentId: s.shipmentId })).status).toBe(200)
  }
  await call(t.url, "POST", "/v1/nodes/WH-DAL/events", keys.dallas, { type: "shipment.ship", orderId: order.orderId, shipmentId: s.shipmentId, carrier: "UPS", trackingId: "1Z1" })

  const confirmed = `${order.orderId}/confirmed`
  const shipped = `${order.orderId}/shipped/${s.shipmentId}`
  await waitUntil("both notifications accepted", () => accepted.length >= 2)
  await waitUntil("outbox drained", () => Queries.outbox(t.engine.view).length === 0)
  await new Promise((r) => setTimeout(r, 300))
  expect(accepted.map((a) => a.id)).toEqual([confirmed, shipped])
  expect(accepted.map((a) => a.kind)).toEqual(["confirmed", "shipped"])
  expect(accepted.every((a) => a.signatureOk)).toBe(true)
  expect(attempts.get(confirmed)).toBe(3)
  expect(attempts.get(shipped)).toBe(3)

  const pushed = ws.frames.filter((f) => f.push === "notification").map((f) => (f.notification as { id: string }).id)
  expect(pushed).toEqual([confirmed, shipped])
  const m = await call(t.url, "GET", "/metrics")
  expect(m.body).toContain('gateway_webhook_deliveries_total{outcome="failed"} 4')
  expect(m.body).toContain('gateway_webhook_deliveries_total{outcome="delivered"} 2')
  ws.close()
})

it("sends a channel without a webhook its notifications over WS only, and drains them", async () => {
  const ws = await FrameClient.open(`${t.wsUrl}?key=${keys.marketplace}`)
  const placed = await ws.request(1, "order.place", { externalId: "MK-1", lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.dallas }, payment: "pending" })
  const orderId = (placed.result as any).order.orderId
  await ws.request(2, "order.subscribe", { orderId })
  expect((await ws.request(3, "order.payment", { orderId, outcome: "authorised" })).ok).toBe(true)
  const n = await ws.waitFor((f) => f.push === "notification")
  expect(n.notification).toMatchObject({ id: `${orderId}/confirmed`, kind: "confirmed", channel: "marketplace" })
  await waitUntil("outbox drained", () => Queries.outbox(t.engine.view).length === 0)
  expect(accepted.some((a) => a.id.startsWith(orderId))).toBe(false)
  ws.close()
})
