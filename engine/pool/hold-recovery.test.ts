/**
 * The hold limits and the memory of ended holds survive a restart: what they
 * read (the units a channel's and a cart's live holds hold, a hold's creation
 * time and extensions, the ended holds and their keys) is evolved from
 * journalled events, so it comes back from the journal alone and from a
 * snapshot plus the journal after it. Through the engine's public runtime,
 * on the fixture network and a manual clock.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { EngineConfig } from "../config.ts"
import type { Command } from "../domain/commands.ts"
import type { Reply } from "../domain/replies.ts"
import type { Engine } from "../runtime/engine.ts"
import * as Q from "../runtime/queries.ts"
import { MemoryJournal } from "../store/memory-journal.ts"
import { fixtureCommands, ManualClock, openEngine, run } from "../testing/fixture.ts"

const limits: Partial<EngineConfig> = {
  holdUnitsPerCartMax: 4, holdChannelSharePercentMax: 50, holdTtlMsMax: 60_000, holdTtlMsDefault: 30_000,
  holdLifetimeMsMax: 100_000, holdExtendsMax: 1
}

let store: MemoryJournal
let clock: ManualClock
let engine: Engine

const code = (r: Reply) => (r.ok ? "ok" : r.code)
const submit = (c: Command) => engine.submit(c)
const hold = (qty: number, extra: Partial<Command & { type: "hold.create" }> = {}) => submit({ type: "hold.create", channel: "web", sku: "TV-55", qty, ...extra })
const restart = async (viaSnapshot: boolean) => {
  if (viaSnapshot) await engine.snapshotNow()
  await engine.close()
  engine = await openEngine(store, clock, limits)
}

beforeEach(async () => {
  store = new MemoryJournal()
  clock = new ManualClock()
  engine = await openEngine(store, clock, limits)
  await run(engine, [...fixtureCommands, { type: "inventory.load", rows: [{ sku: "TV-55", nodeId: "WH-DAL", onHand: 10 }, { sku: "TV-55", nodeId: "WH-COL", onHand: 10 }] }])
})
afterEach(() => engine.close())

describe.each([["the journal alone", false], ["a snapshot and the journal", true]] as const)("after a restart from %s", (_, viaSnapshot) => {
  it("the channel share, the per-cart limit, the lifetime and extension limits still hold", async () => {
    // 20 units: web's holds may take 10
    const first = await hold(4, { cartId: "c1", key: "k1" })
    expect(code(first)).toBe("ok")
    for (const cartId of ["c2", "c3"]) expect(code(await hold(3, { cartId }))).toBe("ok")
    const holdId = first.ok ? first.hold!.holdId : ""
    expect(code(await submit({ type: "hold.extend", channel: "web", holdId, ttlMs: 60_000 }))).toBe("ok")
    await restart(viaSnapshot)
    clock.advance(1_000)
    expect(code(await hold(1, { cartId: "c1" }))).toBe("hold_cart_limit")
    expect(code(await hold(1, { cartId: "c4" }))).toBe("hold_channel_share")
    expect(code(await submit({ type: "hold.extend", channel: "web", holdId, ttlMs: 60_000 }))).toBe("hold_extends_exceeded")
    expect(Q.hold(engine.view, holdId)).toMatchObject({ status: "active", extensions: 1, cartId: "c1" })
    // a release gives back its room, and its end is remembered with its key
    expect(code(await submit({ type: "hold.release", channel: "web", holdId }))).toBe("ok")
    await restart(viaSnapshot)
    expect(Q.hold(engine.view, holdId)).toMatchObject({ holdId, status: "released", qty: 4 })
    expect(await hold(4, { cartId: "c1", key: "k1" })).toMatchObject({ ok: true, existing: true, hold: { holdId, status: "released" } })
    expect(code(await hold(2, { cartId: "c1", key: "k1" }))).toBe("hold_key_conflict")
    expect(code(await hold(4, { cartId: "c1" }))).toBe("ok")
  })

  it("a hold lives at most holdLifetimeMsMax from its creation", async () => {
    const r = await hold(1, { ttlMs: 60_000 })
    const holdId = r.ok ? r.hold!.holdId : ""
    await restart(viaSnapshot)
    clock.advance(50_000)
    expect(code(await submit({ type: "hold.extend", channel: "web", holdId, ttlMs: 60_000 }))).toBe("hold_lifetime_exceeded")
    expect(code(await submit({ type: "hold.extend", channel: "web", holdId, ttlMs: 50_000 }))).toBe("ok")
  })
})
