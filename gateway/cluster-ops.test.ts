/**
 * Live ops figures in cluster mode: two runner processes publish the partial
 * ticks of the partitions they host on Redis, a cluster gateway merges them,
 * and a socket.io viewer of its /ops feed sees holds and orders made on
 * partitions of both runners: reservations and orders counted, every placed
 * routing once, holds open summed over the runners, the node's shipments
 * today summed over the partitions, every stream reported; when a runner is
 * killed its figures leave the feed and its streams are named until the
 * survivor has taken them over, with the node counters of those partitions
 * (kept in the store), and one critical alert group, resolved then.
 */
import { io as connectIo, type Socket } from "socket.io-client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { partitionOf, partitionStream } from "../engine/index.ts"
import { owners } from "../engine/testing/cluster.ts"
import { places } from "../engine/testing/fixture.ts"
import { postgresUnreachable } from "../engine/testing/postgres.ts"
import { ClusterEngine } from "./cluster-access.ts"
import type { OpsTick } from "./ops-feed-types.ts"
import type { Gateway } from "./server.ts"
import { keys } from "./testing/harness.ts"
import { startClusterGateway, type ClusterGateway } from "./testing/cluster-gateway.ts"
import { redisUnreachable } from "./testing/redis.ts"

const partitions = 8
const skuCount = 16
const tickMs = 200
const why = (await postgresUnreachable()) ?? (await redisUnreachable())
if (why && process.env.CI) throw new Error(`the cluster ops feed test needs PostgreSQL and Redis under CI: ${why}`)

const until = async (what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe.skipIf(why !== undefined)("the ops feed of a gateway in cluster mode", () => {
  let cluster: ClusterGateway
  let db: ClusterGateway["db"]
  let runners: ClusterGateway["runners"]
  let engine: ClusterEngine
  let gateway: Gateway
  let viewer: Socket
  const ticks: Array<OpsTick> = []
  let skus: Array<string> = []
  const channel = `oms-cluster-ops-test:${process.pid}:${Date.now()}`

  beforeAll(async () => {
    cluster = await startClusterGateway({
      partitions, skus: skuCount, unitsPerSku: 50, channel, env: { GATEWAY_OPS_TICK_MS: String(tickMs) },
      gatewayConfig: { opsTickMs: tickMs }, namedStreams: true
    })
    ;({ db, runners, engine, gateway } = cluster)
    skus = [...cluster.skus]
    viewer = connectIo(`${gateway.url}/ops`, { transports: ["websocket"], auth: { token: keys.ops } })
    viewer.on("tick", (t: OpsTick) => ticks.push(t))
  }, 90_000)

  afterAll(async () => {
    viewer?.disconnect()
    await cluster?.stop()
  })

  it("shows the holds and orders of partitions on both runners, summed", async () => {
    // the SKUs lie in partitions owned by both runners, so the figures below are sums of both runners' partial ticks
    // (runners started together may take a few seconds to share the shards out)
    const deadline = Date.now() + 30_000
    let used = new Set<string | undefined>()
    while (used.size < 2 && Date.now() < deadline) {
      const owner = await owners(db.url, partitions)
      used = new Set(skus.map((sku) => owner.get(partitionStream(partitionOf(sku, partitions)))))
      if (used.size < 2) await new Promise((r) => setTimeout(r, 500))
    }
    expect(used.size).toBe(2)

    // every stream reported and nothing counted yet
    await until("a tick covering every stream", () => ticks.some((t) => t.engine?.state === "running" && t.alerts.length === 0))
    const before = ticks.length

    for (const [i, sku] of skus.entries()) {
      const r = await engine.submit({ type: "hold.create", channel: "web", sku, nodeId: "WH-DAL", qty: 1, ttlMs: 3_600_000, key: `ops-hold-${i}` })
      expect(r).toMatchObject({ ok: true })
    }
    // one order over every SKU: one leg per partition holding any of them, each placed and routed in its partition
    const placed = await engine.submit({
      type: "order.place", channel: "web", externalId: "OPS-1", lines: skus.map((sku) => ({ sku, qty: 1 })),
      customer: { location: places.dallas }, payment: "authorised"
    })
    expect(placed).toMatchObject({ ok: true })
    const legs = new Set(skus.map((sku) => partitionOf(sku, partitions))).size
    expect(legs).toBeGreaterThan(1)

    const since = () => ticks.slice(before)
    const placedRoutings = () => since().reduce((n, t) => n + (t.routing.byReason.placed ?? 0), 0)
    await until("every leg's routing on the feed", () => placedRoutings() >= legs)
    await until("the holds open and the node's shipments summed over the runners", () => {
      const last = ticks[ticks.length - 1]
      return last.holds.open === skuCount && last.nodes.table.find((n) => n.nodeId === "WH-DAL")?.shipmentsToday === legs
    })
    // a few more ticks: no partial tick is counted twice
    const settled = ticks.length
    await until("three more ticks", () => ticks.length >= settled + 3)
    expect(placedRoutings()).toBe(legs)

    const seen = since()
    expect(seen.some((t) => t.metrics.reservationsPerSec > 0)).toBe(true)
    expect(seen.some((t) => t.metrics.ordersPerSec > 0)).toBe(true)
    expect(seen.reduce((n, t) => n + t.arcs.length, 0)).toBe(legs)
    expect(seen.some((t) => t.metrics.fillRate === 1)).toBe(true)
    // hot SKUs: merged from both runners' lists, most reserved first, cut to the feed's limit (10 by default)
    const hot = seen.flatMap((t) => t.skus.hot)
    expect(hot.length).toBeGreaterThan(0)
    for (const t of seen) {
      expect(t.skus.hot.length).toBeLessThanOrEqual(10)
      expect(t.skus.hot.map((h) => h.reservations)).toEqual(t.skus.hot.map((h) => h.reservations).sort((x, y) => y - x))
    }
    expect(new Set(hot.map((h) => h.sku)).size).toBeGreaterThan(1)
    for (const h of hot) expect(skus).toContain(h.sku)

    const last = ticks[ticks.length - 1]
    const dal = last.nodes.table.find((n) => n.nodeId === "WH-DAL")!
    expect(dal.shipmentsToday).toBe(legs)
    expect(dal.load).toBeGreaterThan(0)
    expect(last.nodes.busiest[0].nodeId).toBe("WH-DAL")
    expect(last.engine).toMatchObject({ state: "running" })
    expect(last.alerts.filter((a) => a.kind === "engine_not_running")).toEqual([])
  }, 60_000)

  it("drops a killed runner's figures and names its streams until the survivor reports them", async () => {
    const owner = await owners(db.url, partitions)
    const victim = runners[0]
    const lost = [...owner].filter(([, o]) => o === victim.name).map(([s]) => s)
    expect(lost.length).toBeGreaterThan(0)
    // a shipment rejected in one of the victim's partitions: the count is kept in the store and follows the partition
    const sku = skus.find((k) => lost.includes(partitionStream(partitionOf(k, partitions))))!
    const order = await engine.submit({ type: "order.place", channel: "web", externalId: "OPS-REJ", lines: [{ sku, qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })
    if (!order.ok) throw new Error(`order refused: ${order.code}`)
    const shipment = order.order!.shipments[0]
    expect(await engine.submit({ type: "shipment.reject", orderId: order.order!.orderId, shipmentId: shipment.shipmentId, nodeId: shipment.nodeId, reason: "damaged" })).toMatchObject({ ok: true })
    const rejections = () => ticks[ticks.length - 1].nodes.table.find((n) => n.nodeId === shipment.nodeId)?.rejections ?? 0
    await until("the rejection on the feed", () => rejections() === 1)
    const counted = ticks.length
    await until("a few more ticks (the count written)", () => ticks.length >= counted + 3)
    const before = ticks.length
    victim.kill("SIGKILL")
    await until("its streams named on the feed", () => ticks.slice(before).some((t) =>
      t.alerts.some((a) => a.kind === "engine_not_running" && lost.every((s) => new RegExp(`\\b${s}\\b`).test(a.message)))))
    expect(ticks[ticks.length - 1].engine?.state).not.toBe("running")
    // failover: the survivor restores the partitions and reports them; holds open are the journal's again
    await until("every stream reported by the survivor", () => {
      const last = ticks[ticks.length - 1]
      return last.engine?.state === "running" && !last.alerts.some((a) => a.kind === "engine_not_running") && last.holds.open === skuCount
    }, 40_000)
    // the survivor read the partition's counters back
    expect(rejections()).toBe(1)
    // the cluster gateway's alert groups: the outage was one critical line, resolved once every stream is reported again
    const outage = ticks.slice(before).flatMap((t) => t.alertGroups?.groups ?? []).filter((g) => g.kind === "engine_not_running")
    expect(outage.some((g) => g.severity === "critical" && g.resolvedAt === null)).toBe(true)
    await until("the outage alert resolved", () => ticks.slice(before).some((t) => t.alertGroups?.groups.some((g) => g.kind === "engine_not_running" && g.resolvedAt !== null) ?? false))
    expect(new Set(outage.map((g) => g.id)).size).toBe(1)
  }, 60_000)
})
