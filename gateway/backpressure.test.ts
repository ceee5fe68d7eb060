/**
 * Slow consumers: a client that stops reading its socket while it keeps
 * asking has its availability pushes held back (coalesced) and, once more than
 * bufferedBytesHardMax is buffered for it, is closed with 4001 - the gateway
 * never buffers without bound. A reading client on the same gateway is not
 * affected.
 */
import type { Socket } from "node:net"
import { afterAll, beforeAll, expect, it } from "vitest"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway

beforeAll(async () => {
  t = await startTestGateway({
    config: { bufferedBytesMax: 16 * 1024, bufferedBytesHardMax: 256 * 1024, coalesceMs: 10, requestsInFlightPerConnectionMax: 100_000 },
    stock: [["HDMI", "WH-DAL", 100_000]]
  })
})
afterAll(() => t.close())

it("closes a consumer that stops reading with 4001 once its buffer passes the hard bound", async () => {
  const slow = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
  const healthy = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
  await slow.request("s", "availability.subscribe", { skus: ["HDMI"] })
  await healthy.request("s", "availability.subscribe", { skus: ["HDMI"] })
  ;(slow.ws as unknown as { _socket: Socket })._socket.pause()
  const nonce = "n".repeat(250)
  for (let round = 0; round < 200 && slow.closeCode === undefined; round++) {
    for (let i = 0; i < 500; i++) slow.ws.send(JSON.stringify({ id: round * 1000 + i, op: "ping", nonce }))
    await call(t.url, "POST", "/v1/inventory/receive", keys.dallas, { sku: "HDMI", nodeId: "WH-DAL", qty: 1 })
    await new Promise((r) => setTimeout(r, 5))
    if (t.gateway.connections() < 2) break
  }
  for (let i = 0; i < 300 && t.gateway.connections() > 1; i++) await new Promise((r) => setTimeout(r, 10))
  expect(t.gateway.connections()).toBe(1)
  ;(slow.ws as unknown as { _socket: Socket })._socket.resume()
  expect(await slow.waitClosed()).toBe(4001)
  const m = await call(t.url, "GET", "/metrics")
  expect(m.body).toContain('gateway_ws_closed_total{reason="slow_consumer"} 1')
  expect(m.body).toMatch(/gateway_pushes_held_back_total \d+/)
  // the reading client kept getting pushes and answers
  expect(healthy.frames.some((f) => f.push === "availability")).toBe(true)
  expect(await healthy.request("alive", "ping")).toMatchObject({ ok: true })
  healthy.close()
})
