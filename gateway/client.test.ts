/**
 * The typed client against a started gateway: request/reply matching, refusals
 * as GatewayError, availability as an async iterable, order events, and
 * re-subscription after the connection drops.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { places } from "../engine/testing/fixture.ts"
import { GatewayClient, GatewayError } from "./client.ts"
import { call, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway

beforeAll(async () => {
  t = await startTestGateway({ config: { coalesceMs: 20 }, stock: [["HDMI", "WH-DAL", 100], ["TV-55", "WH-DAL", 10]] })
})
afterAll(() => t.close())

it("matches replies to requests and rejects refusals with their code", async () => {
  const c = await GatewayClient.connect({ url: t.wsUrl, key: keys.web })
  const [a, b] = await Promise.all([c.request("hold.create", { sku: "HDMI", qty: 1, nodeId: "WH-DAL" }), c.request("hold.create", { sku: "HDMI", qty: 2, nodeId: "WH-DAL" })])
  expect([a.hold.qty, b.hold.qty]).toEqual([1, 2])
  const refused = await c.request("hold.create", { sku: "HDMI", qty: 10_000, nodeId: "WH-DAL" }).catch((e: unknown) => e)
  expect(refused).toBeInstanceOf(GatewayError)
  expect(refused).toMatchObject({ code: "insufficient_stock", retryable: false })
  await expect(GatewayClient.connect({ url: t.wsUrl, key: "wrong-key-123" })).rejects.toMatchObject({ code: "unauthorized" })
  await c.close()
})

it("streams availability, and re-subscribes after the connection drops", async () => {
  const c = await GatewayClient.connect({ url: t.wsUrl, key: keys.web, reconnectMsMin: 20 })
  const seen: Array<number> = []
  const stream = (async () => {
    for await (const a of c.availability(["TV-55"])) {
      seen.push(a.atp)
      if (a.atp === 6) break
    }
  })()
  const waitSeen = async (atp: number) => {
    for (let i = 0; i < 200 && !seen.includes(atp); i++) await new Promise((r) => setTimeout(r, 10))
    expect(seen).toContain(atp)
  }
  await waitSeen(10)
  await call(t.url, "POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 2, nodeId: "WH-DAL" })
  await waitSeen(8)
  c.dropConnection()
  for (let i = 0; i < 200 && c.reconnects === 0; i++) await new Promise((r) => setTimeout(r, 10))
  expect(c.reconnects).toBe(1)
  await call(t.url, "POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 2, nodeId: "WH-DAL" })
  await stream
  expect(seen[seen.length - 1]).toBe(6)
  await c.close()
})

it("streams an order's events", async () => {
  const c = await GatewayClient.connect({ url: t.wsUrl, key: keys.web })
  const { order } = await c.request("order.place", { externalId: "C-1", lines: [{ sku: "HDMI", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })
  const events: Array<string> = []
  const stream = (async () => {
    for await (const p of c.orderEvents(order.orderId)) {
      if (p.push === "order") events.push(p.event.type)
      if (events.includes("ShipmentPacked")) break
    }
  })()
  await new Promise((r) => setTimeout(r, 50))
  const shipmentId = order.shipments[0].shipmentId
  for (const type of ["shipment.accept", "shipment.pick", "shipment.pack"]) {
    await call(t.url, "POST", "/v1/nodes/WH-DAL/events", keys.dallas, { type, orderId: order.orderId, shipmentId })
  }
  await stream
  expect(events).toEqual(["ShipmentAccepted", "ShipmentPicked", "ShipmentPacked"])
  await c.close()
})
