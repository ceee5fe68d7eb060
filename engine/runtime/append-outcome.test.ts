/**
 * The append deadline and the settling of appends in doubt, on the embedded
 * PGlite store with a slow store injected in front of it: an append that
 * gets no answer within storeAppendTimeoutMs is answered `outcome_unknown`
 * (the commands waiting behind it `store_unavailable`), the engine recovers
 * once the store answers, and the journal settles the append: if it
 * committed after all, a retry with the same key returns the original and a
 * subscriber hears of it; if it did not, a retry applies the command.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Command } from "../domain/commands.ts"
import { StoreUnavailable } from "../domain/errors.ts"
import type { JournaledEvent } from "../domain/events.ts"
import type { Reply } from "../domain/replies.ts"
import type { JournalStore } from "../store/journal.ts"
import { openJournalStore, type OpenedJournalStore } from "../store/layer.ts"
import { fixtureCommands, run, testConfig } from "../testing/fixture.ts"
import { route } from "../routing/index.ts"
import { Engine } from "./engine.ts"
import * as Q from "./queries.ts"

const code = (r: Reply) => (r.ok ? "ok" : r.code)

const until = async (what: string, done: () => boolean, ms = 60_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * A store whose appends wait at a gate while it is shut (then go on to the real store, or fail
 * there), and whose pings fail meanwhile: a store that stopped answering.
 */
const slowStore = (inner: JournalStore) => {
  let gate: { readonly opened: Promise<boolean> } | undefined
  let open: (commit: boolean) => void = () => {}
  let waiting = 0
  const store: JournalStore = {
    ...inner,
    append: async (batches, fence) => {
      if (gate !== undefined) {
        waiting++
        const commit = await gate.opened
        if (!commit) throw new StoreUnavailable({ message: "the append never reached the store" })
      }
      return inner.append(batches, fence)
    },
    ping: () => (gate !== undefined ? Promise.reject(new StoreUnavailable({ message: "no answer" })) : inner.ping())
  }
  return {
    store,
    get waiting() {
      return waiting
    },
    shut() {
      let resolve!: (commit: boolean) => void
      gate = { opened: new Promise<boolean>((r) => (resolve = r)) }
      open = resolve
    },
    /** Opens the gate: the appends waiting at it go on to the store (`commit`) or fail without reaching it. */
    open(commit: boolean) {
      gate = undefined
      open(commit)
    }
  }
}

const hold = (key: string): Command => ({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL", key })

describe("appends in doubt (embedded PGlite behind a slow store)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "oms-append-outcome-"))
  let opened: OpenedJournalStore
  beforeAll(async () => {
    opened = await openJournalStore({ backend: "embedded", dataDir })
  })
  afterAll(async () => {
    await opened?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  for (const commit of [true, false]) {
    it(`answers outcome_unknown past the deadline and settles it once the store answers (the append ${commit ? "committed late" : "never arrived"})`, async () => {
      const slow = slowStore(opened.store)
      const engine = await Engine.open({
        store: slow.store, config: testConfig({ storeAppendTimeoutMs: 300, storeRetryMs: 50 }), router: route, timerPollMs: 20, log: () => {}
      })
      const heard: Array<JournaledEvent> = []
      engine.subscribe((b) => heard.push(...b.events))
      try {
        await run(engine, [...fixtureCommands, { type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 100 }])
        const heldBefore = Q.pool(engine.view, "TV-55", "WH-DAL")!.held
        const tag = commit ? "late" : "lost"
        slow.shut()
        const first = Array.from({ length: 5 }, (_, i) => engine.submit(hold(`${tag}-a${i}`)))
        await until("the first append waits at the gate", () => slow.waiting > 0)
        const second = Array.from({ length: 3 }, (_, i) => engine.submit(hold(`${tag}-b${i}`)))
        // the deadline answers the append in flight: it may have been applied; those behind it were never sent
        // (a busy machine may end the first batch early: its tail then waited behind the append too)
        const firstCodes = (await Promise.all(first)).map(code)
        const inFlight = firstCodes.filter((c) => c === "outcome_unknown").length
        expect(inFlight).toBeGreaterThan(0)
        expect(firstCodes).toEqual([...Array(inFlight).fill("outcome_unknown"), ...Array(5 - inFlight).fill("store_unavailable")])
        expect((await Promise.all(second)).map(code)).toEqual(Array(3).fill("store_unavailable"))
        expect(engine.stats().state).toBe("recovering")

        slow.open(commit)
        await until("the engine recovered", () => engine.stats().state === "running")
        const placed = new Map(heard.flatMap((e) => (e.event.type === "HoldPlaced" && e.event.key !== null ? [[e.event.key, e.event.holdId] as const] : [])))
        expect(Q.pool(engine.view, "TV-55", "WH-DAL")!.held).toBe(heldBefore + (commit ? inFlight : 0))
        for (let i = 0; i < 5; i++) {
          // the subscriber heard of exactly what committed; a retry with the same key finds it
          const applied = commit && i < inFlight
          expect(placed.has(`${tag}-a${i}`)).toBe(applied)
          const again = await engine.submit(hold(`${tag}-a${i}`))
          expect(again).toMatchObject(applied ? { ok: true, existing: true, hold: { holdId: placed.get(`${tag}-a${i}`) } } : { ok: true })
          if (!applied) expect(again.ok && again.existing).toBeFalsy()
        }
        for (let i = 0; i < 3; i++) {
          const again = await engine.submit(hold(`${tag}-b${i}`))
          expect(again.ok && again.existing === undefined).toBe(true)
        }
      } finally {
        await engine.close()
      }
    }, 60_000)
  }
})
