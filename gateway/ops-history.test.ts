/**
 * The ops history kept by the server: bounded (1 s points for an hour, 1 min
 * points for 7 days, answers of at most historyPointsMax points), and kept in
 * the engine's store (a real PostgreSQL database) so that a gateway restarted
 * on the same data answers GET /v1/ops/history with the points of before the
 * restart and the node table keeps its rejections and short picks.
 */
import { afterAll, describe, expect, it } from "vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Engine, loadConfig, openJournalStore, route, type JournalLocation } from "../engine/index.ts"
import { fixtureCommands, places, run } from "../engine/testing/fixture.ts"
import { freshDatabase } from "../engine/testing/postgres.ts"
import { loadGatewayConfig } from "./config.ts"
import { LocalEngine, RemoteEngine } from "./engine-access.ts"
import { makeKeyRing } from "./keys.ts"
import type { OpsHistoryAnswer, OpsTick } from "./ops-feed-types.ts"
import { historyPointsMax, OpsHistory } from "./ops-history.ts"
import { startGateway } from "./server.ts"
import { call, keys, testKeys } from "./testing/harness.ts"

const tickAt = (at: number, ordersPerSec: number): OpsTick =>
  ({ at, metrics: { ordersPerSec, reservationsPerSec: 2 * ordersPerSec, requestsPerSec: 10, latencyMs: { p50: 1, p90: 2, p99: 5 }, fillRate: 1, splitRate: null } }) as unknown as OpsTick

describe("history in memory", () => {
  it("answers 1 s points up to an hour back, minute means beyond, and bounded buckets for 7 days", () => {
    const h = new OpsHistory()
    const start = Date.UTC(2026, 0, 1)
    const seconds = 8 * 86_400
    for (let s = 0; s < seconds; s++) h.record(tickAt(start + s * 1000, s % 60 < 30 ? 4 : 6))
    const now = start + seconds * 1000
    const five = h.answer(300, now)
    expect(five.resolutionSec).toBe(1)
    expect(five.at.length).toBeGreaterThanOrEqual(299)
    expect(five.at.length).toBeLessThanOrEqual(301)
    expect(five.series.ordersPerSec.at(-1)).toBe(6)
    expect(five.series.splitRate.every((x) => x === null)).toBe(true)
    const day = h.answer(86_400, now)
    expect(day.resolutionSec).toBe(60)
    expect(day.at.length).toBeGreaterThanOrEqual(1_439)
    expect(day.at.length).toBeLessThanOrEqual(1_441)
    // a minute's point is the mean of its 1 s points: half at 4, half at 6
    expect(day.series.ordersPerSec[10]).toBe(5)
    expect(day.series.reservationsPerSec[10]).toBe(10)
    // minute points start on whole minutes, so the axis and the buckets line up
    expect(day.at.every((t) => t % 60_000 === 0)).toBe(true)
    const week = h.answer(604_800, now)
    expect(week.resolutionSec).toBeGreaterThanOrEqual(300)
    expect(week.at.length).toBeLessThanOrEqual(historyPointsMax)
    expect(week.at[0]).toBeGreaterThanOrEqual(now - 604_800_000 - week.resolutionSec * 1000)
    expect(week.at.length).toBeGreaterThan(604_800 / week.resolutionSec - 2)
    // nothing older than 7 days is kept
    expect(h.answer(604_800, now + 86_400_000).at[0]).toBeGreaterThanOrEqual(now - 604_800_000)
  })
})

const stops: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined)
})

/** A fresh store of each backend the engine runs on: a PostgreSQL database, and the embedded PGlite in a new folder. */
const backends: ReadonlyArray<[string, () => Promise<JournalLocation>]> = [
  ["PostgreSQL", async () => {
    const db = await freshDatabase()
    stops.push(() => db.drop())
    return { backend: "postgres", url: db.url }
  }],
  ["embedded PGlite", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "oms-ops-history-"))
    stops.push(async () => rmSync(dataDir, { recursive: true, force: true }))
    return { backend: "embedded", dataDir }
  }]
]

describe.each(backends)("history and counters across a restart (%s)", (_name, location) => {
  it("a gateway restarted on the same store answers the points of before the restart and keeps rejections and short picks", async () => {
    const where = await location()
    const open = async () => {
      const opened = await openJournalStore(where)
      const engine = await Engine.open({ store: opened.store, config: loadConfig({ partitions: 4 }, {}), router: route, timerPollMs: 20 })
      const gateway = await startGateway({
        config: loadGatewayConfig({ host: "127.0.0.1", port: 0, opsTickMs: 200 }, {}),
        keys: makeKeyRing(testKeys),
        engine: new LocalEngine(engine, opened.store)
      })
      let closed = false
      const close = async () => {
        if (closed) return
        closed = true
        await gateway.close()
        await engine.close()
        await opened.close()
      }
      stops.push(close)
      return { engine, url: gateway.url, close }
    }
    const history = async (url: string): Promise<OpsHistoryAnswer> => {
      const r = await call(url, "GET", "/v1/ops/history?seconds=300", keys.ops)
      expect(r.status).toBe(200)
      return r.body as OpsHistoryAnswer
    }
    const nodeRow = async (url: string, nodeId: string) => {
      // the node table is in the ops feed; /v1/ops/history has no nodes: read the counters through a tick
      const { io } = await import("socket.io-client")
      const socket = io(`${url}/ops`, { transports: ["websocket"], auth: { token: keys.ops } })
      try {
        return await new Promise<{ rejections: number; shortPicks: number }>((resolve) =>
          socket.on("tick", (t: OpsTick) => {
            const row = t.nodes.table.find((r) => r.nodeId === nodeId)
            if (row) resolve(row)
          }))
      } finally {
        socket.close()
      }
    }

    const first = await open()
    await run(first.engine, fixtureCommands)
    await run(first.engine, [{ type: "inventory.load", rows: [{ sku: "HDMI", nodeId: "WH-DAL", onHand: 500 }, { sku: "HDMI", nodeId: "WH-COL", onHand: 500 }] }])
    const placed = await call(first.url, "POST", "/v1/orders", keys.web, { externalId: "HIST-1", lines: [{ sku: "HDMI", qty: 2 }], customer: { location: places.cleveland }, payment: "authorised" })
    expect(placed.status).toBe(201)
    const orderId = placed.body.order.orderId as string
    const s1 = placed.body.order.shipments[0] as { shipmentId: string; nodeId: string }
    const rejected = await call(first.url, "POST", `/v1/nodes/${s1.nodeId}/events`, keys.ops, { type: "shipment.reject", orderId, shipmentId: s1.shipmentId, reason: "damaged" })
    expect(rejected.status).toBe(200)
    const s2 = rejected.body.order.shipments.find((s: { status: string }) => s.status === "routed") as { shipmentId: string; nodeId: string }
    await call(first.url, "POST", `/v1/nodes/${s2.nodeId}/events`, keys.ops, { type: "shipment.accept", orderId, shipmentId: s2.shipmentId })
    expect((await call(first.url, "POST", `/v1/nodes/${s2.nodeId}/events`, keys.ops, { type: "shipment.pick", orderId, shipmentId: s2.shipmentId, lines: [{ lineNo: 1, qty: 1 }] })).status).toBe(200)
    // a few ticks, one of which counted the order
    let before: OpsHistoryAnswer
    for (;;) {
      before = await history(first.url)
      if (before.at.length >= 5 && before.series.ordersPerSec.some((x) => (x ?? 0) > 0)) break
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(await nodeRow(first.url, s1.nodeId)).toMatchObject({ rejections: 1 })
    await first.close()
    const restartedAt = Date.now()

    const second = await open()
    const after = await history(second.url)
    // every point of before the restart came back from the store, the order among them
    const kept = after.at.filter((t) => t < restartedAt)
    expect(kept.length).toBeGreaterThanOrEqual(before.at.length)
    expect(after.series.ordersPerSec.slice(0, kept.length).some((x) => (x ?? 0) > 0)).toBe(true)
    // the minute in progress at the restart was kept as a 1 min point: a day's chart has no gap there
    const day = (await call(second.url, "GET", "/v1/ops/history?seconds=86400", keys.ops)).body as OpsHistoryAnswer
    expect(day.resolutionSec).toBe(60)
    expect(day.at.filter((t) => t <= restartedAt).length).toBeGreaterThanOrEqual(1)
    expect(day.series.ordersPerSec.some((x) => (x ?? 0) > 0)).toBe(true)
    expect(await nodeRow(second.url, s1.nodeId)).toMatchObject({ rejections: 1 })
    expect((await nodeRow(second.url, s2.nodeId)).shortPicks).toBe(1)
  }, 150_000) // the embedded database starts twice, slowly on a busy machine

})

describe("the history route", () => {
  it("refuses a range outside 1 minute .. 7 days with invalid_range, and answers ops keys only", async () => {
    const { startTestGateway } = await import("./testing/harness.ts")
    const t = await startTestGateway()
    stops.push(() => t.close())
    for (const q of ["", "?seconds=10", "?seconds=604801", "?seconds=1.5", "?seconds=abc"]) {
      const r = await call(t.url, "GET", `/v1/ops/history${q}`, keys.ops)
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe("invalid_range")
    }
    expect((await call(t.url, "GET", "/v1/ops/history?seconds=300", keys.web)).status).toBe(403)
    const r = await call(t.url, "GET", "/v1/ops/history?seconds=604800", keys.ops)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ resolutionSec: expect.any(Number), at: expect.any(Array) })
  })

  it("answers on an edge gateway with the owner's history", async () => {
    const { startTestGateway } = await import("./testing/harness.ts")
    const owner = await startTestGateway({ config: { opsTickMs: 100 } })
    stops.push(() => owner.close())
    const edge = await startGateway({ config: loadGatewayConfig({ host: "127.0.0.1", port: 0 }, {}), keys: makeKeyRing(testKeys), engine: new RemoteEngine(owner.url, keys.internal, 5_000) })
    stops.push(() => edge.close())
    let fromOwner: OpsHistoryAnswer
    do {
      await new Promise((r) => setTimeout(r, 100))
      fromOwner = (await call(owner.url, "GET", "/v1/ops/history?seconds=60", keys.ops)).body
    } while (fromOwner.at.length < 3)
    const fromEdge = (await call(edge.url, "GET", "/v1/ops/history?seconds=60", keys.ops)).body as OpsHistoryAnswer
    expect(fromEdge.at.length).toBeGreaterThanOrEqual(fromOwner.at.length)
    expect(fromEdge.at.slice(0, fromOwner.at.length)).toEqual(fromOwner.at)
  })
})
