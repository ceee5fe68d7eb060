/**
 * The engine as an Effect service on the embedded PGlite store: holds expire
 * on Effect's clock (driven by TestClock, no sleeping), refusals arrive as
 * tagged errors, and a restart on the same data folder recovers the state.
 */
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { execute, OrderEngine } from "./order-engine.ts"
import * as Q from "./runtime/queries.ts"
import { Journal } from "./store/layer.ts"
import { fixtureCommands } from "./testing/fixture.ts"

const dataDirs: Array<string> = []
afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
})

/** A fresh, empty data folder for one test. */
const freshDataDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "oms-engine-"))
  dataDirs.push(dir)
  return dir
}

/** Runs `test` against the Effect service on the embedded store in `dataDir`, on a TestClock; the engine closes with the scope. */
const live = (dataDir: string, test: Effect.Effect<void, unknown, OrderEngine>) =>
  Effect.runPromise(
    test.pipe(
      Effect.provide(OrderEngine.layer({ partitions: 4 }).pipe(Layer.provideMerge(Journal.layerEmbedded({ dataDir })), Layer.provideMerge(TestClock.layer()))),
      Effect.scoped
    )
  )

describe("OrderEngine service on the embedded store", () => {
  it("expires holds on the Effect clock and reports refusals as tagged errors", () =>
    live(freshDataDir(), Effect.gen(function*() {
      for (const c of fixtureCommands) yield* execute(c)
      yield* execute({ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 3 })
      const { hold } = yield* execute({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, nodeId: "WH-DAL", ttlMs: 120_000 })
      const refused = yield* Effect.flip(execute({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, nodeId: "WH-DAL" }))
      expect(refused).toMatchObject({ _tag: "CommandRejected", code: "insufficient_stock" })
      const engine = yield* OrderEngine
      yield* TestClock.adjust(119_000)
      yield* Effect.promise(() => engine.flush())
      expect(Q.hold(engine.view, hold!.holdId)).toMatchObject({ holdId: hold!.holdId, qty: 2, expiresAt: hold!.expiresAt })
      yield* TestClock.adjust(1_000)
      yield* Effect.promise(() => engine.flush())
      expect(Q.hold(engine.view, hold!.holdId)).toMatchObject({ status: "expired", endedAt: hold!.expiresAt })
      expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ held: 0, atp: 3 })
    })))

  it("recovers the acknowledged state after a restart on the same data folder", async () => {
    const dataDir = freshDataDir()
    let holdId = ""
    await live(dataDir, Effect.gen(function*() {
      for (const c of fixtureCommands) yield* execute(c)
      yield* execute({ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 3 })
      const { hold } = yield* execute({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL", ttlMs: 3_600_000 })
      holdId = hold!.holdId
    }))
    await live(dataDir, Effect.gen(function*() {
      const engine = yield* OrderEngine
      expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ onHand: 3, held: 1, atp: 2 })
      expect(engine.stats().holds).toBe(1)
      expect(Q.hold(engine.view, holdId)).toMatchObject({ holdId, channel: "web", sku: "TV-55", qty: 1 })
    }))
  })
})
