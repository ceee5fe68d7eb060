/**
 * A gateway in cluster mode over two runner processes and the local Redis:
 * a hold made through the gateway's WS API is executed by the partition's
 * runner, the availability push reaches the subscriber through Redis
 * (published by the runner), reads come from the owning partitions, and the
 * ops feed shows the runners and which one owns each partition, as does the
 * dashboard page in headless Chromium, with the live figures merged from the
 * runners' partial ticks (gateway/cluster-ops.test.ts checks them in detail); the runner owning an order's partition
 * delivers its customer notifications to the webhook, signed.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { chromium } from "playwright-core"
import { io as connectIo } from "socket.io-client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { postgresUnreachable } from "../engine/testing/postgres.ts"
import { ClusterEngine } from "./cluster-access.ts"
import type { ClusterView } from "./ops-feed-types.ts"
import type { Gateway } from "./server.ts"
import { FrameClient, keys } from "./testing/harness.ts"
import { verifyNotification } from "./webhook-signature.ts"
import { startClusterGateway, type ClusterGateway } from "./testing/cluster-gateway.ts"
import { redisUnreachable } from "./testing/redis.ts"
import { chromiumArgs, chromiumMissing, chromiumPath } from "../dashboard/e2e/live-gateway.ts"

const partitions = 4
const why = (await postgresUnreachable()) ?? (await redisUnreachable())
if (why && process.env.CI) throw new Error(`the cluster gateway test needs PostgreSQL and Redis under CI: ${why}`)
const noBrowser = chromiumMissing()
if (noBrowser && process.env.CI) throw new Error(`the cluster gateway test needs Chromium under CI: ${noBrowser}`)

describe.skipIf(why !== undefined)("a gateway in cluster mode", () => {
  let cluster: ClusterGateway
  let runners: ClusterGateway["runners"]
  let engine: ClusterEngine
  let gateway: Gateway
  const channel = `oms-cluster-test:${process.pid}:${Date.now()}`
  const secret = "whsec-cluster-0123456789"
  const hooks: Array<{ id: string; kind: string; verdict: string }> = []
  let receiver: Server

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const verdict = verifyNotification(secret, Buffer.concat(chunks).toString("utf8"), req.headers["x-oms-signature"] as string, req.headers["x-oms-timestamp"] as string)
        hooks.push({ id: String(req.headers["idempotency-key"]), kind: String(req.headers["x-oms-notification-kind"]), verdict })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
    const webhooks = JSON.stringify({ "*": { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/oms`, secret } })
    cluster = await startClusterGateway({
      partitions, skus: 4, unitsPerSku: 50, channel,
      env: { GATEWAY_WEBHOOKS: webhooks, GATEWAY_OUTBOX_POLL_MS: "50" }, gatewayConfig: { opsTickMs: 200 }
    })
    ;({ runners, engine, gateway } = cluster)
  }, 90_000)

  afterAll(async () => {
    await cluster?.stop()
    await new Promise((resolve) => receiver?.close(resolve))
  })

  it("executes commands on the partitions' runners and pushes their changes through Redis", async () => {
    const ws = await FrameClient.open(`${gateway.url.replace("http", "ws")}/v1/ws?key=${keys.web}`)
    expect(await ws.request(1, "availability.subscribe", { skus: ["SKU-2"] })).toMatchObject({ ok: true, result: { items: [{ sku: "SKU-2", atp: 50 }] } })
    const held = await ws.request(2, "hold.create", { sku: "SKU-2", qty: 3, nodeId: "WH-DAL", key: "cart-1" })
    expect(held).toMatchObject({ ok: true })
    await ws.waitFor((f) => f.push === "availability" && (f.items as Array<{ atp: number }>)[0].atp === 47)
    expect(await engine.pool("SKU-2", "WH-DAL")).toMatchObject({ onHand: 50, held: 3 })
    ws.close()
  })

  it("answers the ops reads from every partition: pools, order search and timeline, reports", async () => {
    const pools = await engine.pools("WH-DAL")
    expect(pools.length).toBe(4)
    expect(pools.find((p) => p.sku === "SKU-2")).toMatchObject({ onHand: 50, held: 3 })
    // cluster mode takes orders whose lines live in the order's own partition: web/CL-3 and SKU-1 share p0
    const placed = await engine.submit({
      type: "order.place", channel: "web", externalId: "CL-3", lines: [{ sku: "SKU-1", qty: 2 }],
      customer: { location: { lat: 32.78, lon: -96.8 } }, payment: "authorised"
    })
    expect(placed).toMatchObject({ ok: true })
    const found = await engine.orderSearch("CL-3")
    expect(found.map((o) => o.externalId)).toEqual(["CL-3"])
    // the start of an external id, any case, asked of every partition; a node's open shipments likewise
    expect((await engine.orderSearch("cl-")).map((o) => o.externalId)).toEqual(["CL-3"])
    const atNode = await engine.nodeShipments(found[0].shipments[0].nodeId, 10)
    expect(atNode).toMatchObject({ open: 1, complete: true, shipments: [{ orderId: found[0].orderId, status: "routed", units: 2 }] })
    const timeline = await engine.orderTimeline(found[0].orderId)
    expect(timeline?.history.map((h) => h.event.type)).toContain("OrderRouted")
    const [promised] = await engine.availability([{ sku: "SKU-1", channel: "web", location: { lat: 32.78, lon: -96.8 }, promise: true }])
    expect(promised).toHaveProperty("promise")
    const report = await engine.report(0, Date.now() + 60_000)
    expect(report.orders.byChannel.web.orders).toBe(1)

    // the runner owning the order's partition delivers its confirmation, signed, and reports it delivered
    const orderId = found[0].orderId
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline && !(await engine.orderTimeline(orderId))?.notifications.some((n) => n.kind === "confirmed" && n.state === "delivered")) {
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(hooks).toContainEqual({ id: `${orderId}/confirmed`, kind: "confirmed", verdict: "valid" })
    expect((await engine.orderTimeline(orderId))?.notifications).toContainEqual(expect.objectContaining({ kind: "confirmed", state: "delivered" }))
  })

  it("shows the runners, their health and which runner owns each partition on the ops feed", async () => {
    const socket = connectIo(`${gateway.url}/ops`, { transports: ["websocket"], auth: { token: keys.ops } })
    const view = await new Promise<ClusterView>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no cluster view on the ops feed")), 10_000)
      socket.on("cluster", (v: ClusterView) => {
        clearTimeout(timer)
        resolve(v)
      })
    })
    socket.disconnect()
    expect(view.runners.map((r) => r.address).sort()).toEqual(runners.map((r) => r.name).sort())
    expect(view.runners.every((r) => r.healthy)).toBe(true)
    expect(view.streams.map((s) => s.stream).sort()).toEqual(["net", "p0", "p1", "p2", "p3"])
    for (const s of view.streams) expect(runners.map((r) => r.name)).toContain(s.owner)
  })

  it.skipIf(noBrowser !== undefined)("shows the runners and their partitions on the dashboard page", async () => {
    const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
    try {
      const page = await browser.newPage()
      await page.goto(`${gateway.url}/dashboard/#token=${keys.ops}`)
      const rows = page.getByTestId("cluster-runners").locator("tr")
      await rows.first().waitFor({ state: "visible", timeout: 15_000 })
      expect(await rows.count()).toBe(runners.length)
      const text = (await page.getByTestId("cluster").textContent()) ?? ""
      for (const r of runners) expect(text).toContain(r.name)
      expect(text).toContain("healthy")
      for (const s of ["net", "p0", "p1", "p2", "p3"]) expect(text).toMatch(new RegExp(`${s}@\\d+`))
      // and the live figures: the node table and the tick time, from the runners' partial ticks merged
      await page.locator(`[data-testid=node-table] tr[data-node="WH-DAL"]`).waitFor({ state: "visible", timeout: 15_000 })
      expect(await page.getByTestId("updated").textContent()).toMatch(/^updated /)
    } finally {
      await browser.close()
    }
  }, 60_000)
})
