/**
 * A receiver that keeps failing does not hold up anyone else: its
 * notifications wait (parked) between attempts without keeping delivery
 * slots, so another channel's notifications still go out at once, and the
 * failing ones stay in the outbox, retried, never lost.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, expect, it } from "vitest"
import { Queries } from "../engine/index.ts"
import { places } from "../engine/testing/fixture.ts"
import { FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let receiver: Server
let t: TestGateway
let attempts = 0

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      attempts++
      res.writeHead(500).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  const port = (receiver.address() as AddressInfo).port
  t = await startTestGateway({
    config: { outboxPollMs: 20, webhookBackoffMsInitial: 50, webhookBackoffMsMax: 400, webhookAttemptsMax: 3, webhookConcurrencyMax: 2 },
    stock: [["TV-55", "WH-DAL", 50]],
    webhooks: { byChannel: { web: { url: `http://127.0.0.1:${port}/hooks` } } }
  })
})
afterAll(async () => {
  await t.close()
  await new Promise((resolve) => receiver.close(resolve))
})

it("keeps delivering other channels' notifications while one receiver fails", async () => {
  const web = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
  for (let i = 0; i < 6; i++) {
    await web.request(i, "order.place", { externalId: `FAIL-${i}`, lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })
  }
  const deadline = Date.now() + 5_000
  while (attempts < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  expect(attempts).toBeGreaterThanOrEqual(6)

  const market = await FrameClient.open(`${t.wsUrl}?key=${keys.marketplace}`)
  const placed = await market.request(1, "order.place", { externalId: "OK-1", lines: [{ sku: "TV-55", qty: 1 }], customer: { location: places.dallas }, payment: "pending" })
  const orderId = (placed.result as any).order.orderId
  await market.request(2, "order.subscribe", { orderId })
  const started = Date.now()
  expect((await market.request(3, "order.payment", { orderId, outcome: "authorised" })).ok).toBe(true)
  const n = await market.waitFor((f) => f.push === "notification", 2_000)
  expect(n.notification).toMatchObject({ id: `${orderId}/confirmed` })
  expect(Date.now() - started).toBeLessThan(1_000)
  // the failing receiver's notifications are still there, waiting for their next attempt
  expect(Queries.outbox(t.engine.view).filter((x) => x.channel === "web")).toHaveLength(6)
  web.close()
  market.close()
})
