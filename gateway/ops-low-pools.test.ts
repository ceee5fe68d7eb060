/**
 * The low pools the ops feed follows (ops-aggregator.ts EngineOps): a pool
 * that goes low (a reservation, an adjustment, a load) is read again every
 * tick and reported whenever its ATP changes, back above the threshold too
 * (then no longer followed); a pool whose ATP did not change is not reported
 * again; the partial tick carries the pipeline; the merge passes both on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Engine, loadConfig, MemoryJournal, route } from "../engine/index.ts"
import { fixtureCommands, run } from "../engine/testing/fixture.ts"
import { EngineOps } from "./ops-aggregator.ts"
import { loadGatewayConfig } from "./config.ts"
import { mergeTicks } from "./ops-merge.ts"

describe("low pools followed by the ops feed", () => {
  let engine: Engine
  let ops: EngineOps
  const config = loadGatewayConfig({ lowStockUnits: 5, opsLowPoolsTrackedMax: 3 }, {})

  beforeAll(async () => {
    engine = await Engine.open({ store: new MemoryJournal(), config: loadConfig({ partitions: 2 }, {}), router: route, timerPollMs: 20 })
    await run(engine, [...fixtureCommands, { type: "inventory.load", rows: [{ sku: "TV-55", nodeId: "WH-DAL", onHand: 8 }, { sku: "HDMI", nodeId: "WH-DAL", onHand: 50 }] }])
    ops = new EngineOps(config)
    ops.attach("engine", engine)
  })

  afterAll(() => engine.close())

  it("reports a low pool's ATP each time it changes, and once more when it is back above the threshold", async () => {
    expect(ops.partial("owner").pools).toEqual([]) // 8 and 50 units: nothing low
    await run(engine, [{ type: "hold.create", channel: "web", sku: "TV-55", qty: 4, ttlMs: 600_000, nodeId: "WH-DAL", key: "k1" }])
    const first = ops.partial("owner")
    expect(first.pools).toEqual([{ sku: "TV-55", nodeId: "WH-DAL", atp: 4, at: expect.any(Number) }])
    expect(ops.partial("owner").pools).toEqual([]) // unchanged: not reported again
    // a change without a reservation (a receipt) is seen because the pool is followed
    await run(engine, [{ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 1, reference: "r1" }])
    expect(ops.partial("owner").pools?.map((p) => p.atp)).toEqual([5])
    await run(engine, [{ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 10, reference: "r2" }])
    const back = ops.partial("owner")
    expect(back.pools?.map((p) => p.atp)).toEqual([15])
    // no longer followed: a further change above the threshold is not reported
    await run(engine, [{ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 1, reference: "r3" }])
    expect(ops.partial("owner").pools).toEqual([])
    // an adjustment that takes stock away makes a pool low too; the merge hands the readings on with the pipeline
    await run(engine, [{ type: "inventory.adjust", sku: "HDMI", nodeId: "WH-DAL", delta: -48, reason: "damaged" }])
    const adjusted = ops.partial("owner")
    expect(adjusted.pools?.map((p) => [p.sku, p.atp])).toEqual([["HDMI", 2]])
    expect(adjusted.pipeline?.byState).toMatchObject({ placed: 0, routed: 0 })
    const merged = mergeTicks({
      sources: [{ latest: adjusted, unsent: [adjusted] }], gateway: { intervalMs: 1000, requestsPerSec: 0, latencyMs: { p50: 0, p90: 0, p99: 0 }, storeErrors: 0 },
      limits: config, overCapacity: new Set()
    })
    expect(merged.readings).toEqual(adjusted.pools)
    expect(merged.tick.pipeline).toEqual(adjusted.pipeline)
  })

  it("follows at most opsLowPoolsTrackedMax pools", async () => {
    await run(engine, [{ type: "inventory.load", rows: ["WH-COL", "ST-HOU", "ST-AUS"].map((nodeId) => ({ sku: "SOUNDBAR", nodeId, onHand: 1 })) }])
    const readings = ops.partial("owner").pools ?? []
    // HDMI at WH-DAL is still followed: two more of the three SOUNDBAR pools fit
    expect(readings.map((p) => p.sku)).toEqual(["SOUNDBAR", "SOUNDBAR"])
  })
})
