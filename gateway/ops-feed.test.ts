/**
 * The socket.io ops feed with a real socket.io-client: a hello with the
 * nodes, then one aggregated tick per opsTickMs carrying order and
 * reservation rates, latency percentiles, fill and split rate, sampled routing
 * decisions with their explanation, node status changes and alerts - and no
 * more messages than ticks, however many commands run.
 */
import { io as connectIo, type Socket } from "socket.io-client"
import { afterAll, beforeAll, expect, it } from "vitest"
import { places } from "../engine/testing/fixture.ts"
import type { OpsTick } from "./ops-aggregator.ts"
import { call, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway
let socket: Socket
const ticks: Array<OpsTick> = []
let messages = 0
let hello: { nodes: Array<{ nodeId: string }> } | undefined

beforeAll(async () => {
  t = await startTestGateway({ config: { opsTickMs: 250, lowStockUnits: 5, hotSkuReservationsPerTick: 20 }, stock: [["TV-55", "WH-DAL", 8], ["HDMI", "WH-DAL", 500], ["HDMI", "WH-COL", 500]] })
  socket = connectIo(`${t.url}/ops`, { transports: ["websocket"], auth: { token: keys.ops } })
  socket.onAny((event: string, payload: unknown) => {
    messages++
    if (event === "tick") ticks.push(payload as OpsTick)
    if (event === "hello") hello = payload as typeof hello
  })
  await new Promise<void>((resolve, reject) => {
    socket.on("connect", () => resolve())
    socket.on("connect_error", reject)
  })
})
afterAll(async () => {
  socket.disconnect()
  await t.close()
})

it("sends one aggregated tick per interval with metrics, routing samples, node changes and alerts", async () => {
  const started = Date.now()
  const burst = Array.from({ length: 60 }, (_, i) =>
    call(t.url, "POST", "/v1/orders", keys.web, { externalId: `OPS-${i}`, lines: [{ sku: "HDMI", qty: 1 }], customer: { location: places.cleveland }, payment: "authorised" }))
  burst.push(call(t.url, "POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 4, nodeId: "WH-DAL" }))
  await Promise.all(burst)
  await call(t.url, "POST", "/v1/nodes/ST-AUS/status", keys.ops, { status: "paused", reason: "inventory count" })
  await new Promise((r) => setTimeout(r, 1_100))
  const elapsed = Date.now() - started

  expect(hello?.nodes.map((n) => n.nodeId)).toContain("WH-DAL")
  // at most one message per tick (plus the hello), whatever the load
  expect(messages).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 2)
  const orders = ticks.reduce((n, k) => n + k.metrics.ordersPerSec * (k.intervalMs / 1000), 0)
  expect(Math.round(orders)).toBeGreaterThanOrEqual(55)
  const busy = ticks.find((k) => k.routing.samples.length > 0)!
  expect(busy.routing.samples.length).toBeLessThanOrEqual(5)
  expect(busy.routing.samples[0]).toMatchObject({ reason: "placed", shipments: [{ nodeId: expect.any(String) }] })
  expect(busy.routing.samples[0].explanation).toEqual(expect.any(String))
  expect(ticks.some((k) => k.metrics.fillRate === 1 && k.metrics.splitRate === 0)).toBe(true)
  expect(ticks.some((k) => k.metrics.latencyMs.p99 > 0)).toBe(true)
  expect(ticks.some((k) => k.nodes.statusChanges.some((c) => c.nodeId === "ST-AUS" && c.status === "paused"))).toBe(true)
  const alerts = ticks.flatMap((k) => k.alerts)
  expect(alerts).toContainEqual(expect.objectContaining({ kind: "low_stock", sku: "TV-55", nodeId: "WH-DAL" }))
  expect(alerts).toContainEqual(expect.objectContaining({ kind: "hot_sku", sku: "HDMI" }))
})
