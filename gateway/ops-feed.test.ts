/**
 * The socket.io ops feed with a real socket.io-client: a hello with the
 * nodes, then one aggregated tick per opsTickMs carrying order and
 * reservation rates, latency percentiles, fill and split rate, sampled routing
 * decisions with their explanation, node status changes and alerts, routing
 * arcs, holds, hot and low-stock SKUs and the node table with rejections and
 * short picks - and no more messages than ticks, however many commands run.
 * An edge gateway's hello lists the owner's nodes.
 */
import { io as connectIo, type Socket } from "socket.io-client"
import { afterAll, beforeAll, expect, it } from "vitest"
import { places } from "../engine/testing/fixture.ts"
import type { OpsTick } from "./ops-feed-types.ts"
import { loadGatewayConfig } from "./config.ts"
import { RemoteEngine } from "./engine-access.ts"
import { makeKeyRing } from "./keys.ts"
import { startGateway } from "./server.ts"
import { call, keys, startTestGateway, testKeys, type TestGateway } from "./testing/harness.ts"

let t: TestGateway
let socket: Socket
const ticks: Array<OpsTick> = []
let messages = 0
let hello: { nodes: Array<{ nodeId: string }> } | undefined

beforeAll(async () => {
  t = await startTestGateway({ config: { opsTickMs: 250, lowStockUnits: 5, hotSkuReservationsPerTick: 20 }, stock: [["TV-55", "WH-DAL", 8], ["TV-55", "WH-COL", 20], ["HDMI", "WH-DAL", 500], ["HDMI", "WH-COL", 500]] })
  // (TV-55 at WH-COL: room for the holds on WH-DAL below within the channel share, holdChannelSharePercentMax)
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
  // two short holds: one expiring within the minute, one extended past it (its first expiry timer goes stale)
  const short = await call(t.url, "POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 1, nodeId: "WH-DAL", ttlMs: 30_000 })
  const extended = await call(t.url, "POST", "/v1/holds", keys.web, { sku: "TV-55", qty: 1, nodeId: "WH-DAL", ttlMs: 30_000 })
  expect(short.status).toBe(201)
  expect((await call(t.url, "POST", `/v1/holds/${(extended.body as { hold: { holdId: string } }).hold.holdId}/extend`, keys.web, { ttlMs: 600_000 })).status).toBe(200)
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

  // arcs: node -> customer, by how the order was routed, bounded per tick
  const arcs = ticks.flatMap((k) => k.arcs)
  expect(arcs.length).toBeGreaterThanOrEqual(55)
  expect(ticks.every((k) => k.arcs.length <= 60)).toBe(true)
  expect(arcs[0]).toMatchObject({ kind: "single", from: [expect.any(String)], to: { lat: places.cleveland.lat, lon: places.cleveland.lon } })
  // holds open and expiring, hot and low-stock SKUs, the node table
  expect(ticks.some((k) => k.holds.open === 3 && k.holds.expiringSoon === 1)).toBe(true)
  expect(ticks.some((k) => k.skus.hot[0]?.sku === "HDMI" && k.skus.hot[0].reservations > 20)).toBe(true)
  expect(ticks.flatMap((k) => k.skus.low)).toContainEqual({ sku: "TV-55", nodeId: "WH-DAL", atp: 2 })
  const table = ticks.at(-1)!.nodes.table
  expect(table.map((r) => r.nodeId).sort()).toEqual(["ST-AUS", "ST-HOU", "WH-COL", "WH-DAL"])
  expect(table.find((r) => r.nodeId === "ST-AUS")).toMatchObject({ status: "paused", rejections: 0, shortPicks: 0 })
})

it("counts rejections and short picks against the node that made them, and re-routes show as re-routed arcs", async () => {
  const placed = await call(t.url, "POST", "/v1/orders", keys.web, { externalId: "OPS-REJ", lines: [{ sku: "HDMI", qty: 2 }], customer: { location: places.cleveland }, payment: "authorised" })
  const first = placed.body.order.shipments[0] as { shipmentId: string; nodeId: string }
  const rejected = await call(t.url, "POST", `/v1/nodes/${first.nodeId}/events`, keys.ops, { type: "shipment.reject", orderId: placed.body.order.orderId, shipmentId: first.shipmentId, reason: "damaged" })
  expect(rejected.status).toBe(200)
  const second = rejected.body.order.shipments.find((s: { status: string }) => s.status === "routed") as { shipmentId: string; nodeId: string }
  await call(t.url, "POST", `/v1/nodes/${second.nodeId}/events`, keys.ops, { type: "shipment.accept", orderId: placed.body.order.orderId, shipmentId: second.shipmentId })
  const picked = await call(t.url, "POST", `/v1/nodes/${second.nodeId}/events`, keys.ops, { type: "shipment.pick", orderId: placed.body.order.orderId, shipmentId: second.shipmentId, lines: [{ lineNo: 1, qty: 1 }] })
  expect(picked.status).toBe(200)
  const from = ticks.length
  await new Promise((r) => setTimeout(r, 600))
  const table = ticks.at(-1)!.nodes.table
  expect(table.find((r) => r.nodeId === first.nodeId)?.rejections).toBe(1)
  expect(table.find((r) => r.nodeId === second.nodeId)?.shortPicks).toBe(1)
  expect(ticks.slice(from - 3).flatMap((k) => k.arcs)).toContainEqual(expect.objectContaining({ orderId: placed.body.order.orderId, kind: "rerouted" }))
})

it("an edge gateway's hello lists the nodes it reads from the engine owner", async () => {
  const edge = await startGateway({
    config: loadGatewayConfig({ host: "127.0.0.1", port: 0 }, {}),
    keys: makeKeyRing(testKeys),
    engine: new RemoteEngine(t.url, keys.internal, 5_000)
  })
  const viewer = connectIo(`${edge.url}/ops`, { transports: ["websocket"], auth: { token: keys.ops } })
  try {
    const edgeHello = await new Promise<{ nodes: Array<{ nodeId: string; location: { lat: number } }> }>((resolve, reject) => {
      viewer.on("hello", resolve)
      viewer.on("connect_error", reject)
    })
    expect(edgeHello.nodes.map((n) => n.nodeId).sort()).toEqual(["ST-AUS", "ST-HOU", "WH-COL", "WH-DAL"])
    expect(edgeHello.nodes[0].location.lat).toEqual(expect.any(Number))
  } finally {
    viewer.disconnect()
    await edge.close()
  }
})
