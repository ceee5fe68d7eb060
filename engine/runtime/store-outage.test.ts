/**
 * The engine on a real PostgreSQL reached through a TCP relay that the test
 * cuts and restores: while the database is unreachable every command is
 * refused (never acknowledged): `outcome_unknown` for the append whose
 * connection closed under it (the engine cannot know it did not commit; here
 * it did not), `store_unavailable` for the rest, and once it is back
 * the engine reloads from the journal by itself and serves again, with the
 * acknowledged state intact and nothing that was refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadConfig } from "../config.ts"
import { route } from "../routing/index.ts"
import { openJournalStore } from "../store/layer.ts"
import { fixtureCommands, run } from "../testing/fixture.ts"
import { freshDatabase, postgresUnreachable } from "../testing/postgres.ts"
import { relayTo } from "../testing/relay.ts"
import { Engine } from "./engine.ts"
import * as Q from "./queries.ts"

const unreachable = await postgresUnreachable()

if (unreachable !== undefined && !process.env.CI) {
  console.warn(`Skipping the store outage test: ${unreachable}`)
  describe.skip("store outage (PostgreSQL unreachable)", () => it("needs PostgreSQL", () => undefined))
} else {
  describe("store outage on PostgreSQL", () => {
    let database: Awaited<ReturnType<typeof freshDatabase>>
    beforeAll(async () => {
      if (unreachable !== undefined) throw new Error(`${unreachable}. CI must provide PostgreSQL (set DATABASE_URL).`)
      database = await freshDatabase()
    })
    afterAll(() => database?.drop())

    it("refuses commands while the database is cut off and recovers by itself when it is back", async () => {
      const { relay, url: relayed } = await relayTo(database.url)
      const { store, close } = await openJournalStore({ backend: "postgres", url: relayed })
      const engine = await Engine.open({ store, config: loadConfig({ partitions: 4, storeRetryMs: 100 }, {}), router: route, log: () => {} })
      try {
        await run(engine, [...fixtureCommands, { type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: 10 }])
        const before = await engine.submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 2, nodeId: "WH-DAL" })
        expect(before.ok).toBe(true)

        await relay.cut()
        const during = await Promise.all(
          Array.from({ length: 5 }, () => engine.submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL" }))
        )
        for (const r of during) expect(["store_unavailable", "outcome_unknown"]).toContain(r.ok ? "ok" : r.code)
        expect(engine.stats().state).toBe("recovering")
        // while it is down nothing is sent: not applied
        const down = await engine.submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL" })
        expect(down.ok ? "ok" : down.code).toBe("store_unavailable")

        await relay.open()
        const deadline = Date.now() + 30_000
        while (engine.stats().state !== "running" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
        expect(engine.stats().state).toBe("running")
        // the relay was cut before anything reached the database: none of the refused holds was applied
        expect(Q.pool(engine.view, "TV-55", "WH-DAL")).toMatchObject({ onHand: 10, held: 2, atp: 8 })
        const after = await engine.submit({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, nodeId: "WH-DAL" })
        expect(after.ok).toBe(true)
        expect(Q.pool(engine.view, "TV-55", "WH-DAL")!.held).toBe(3)
      } finally {
        await engine.close()
        await close()
        await relay.cut().catch(() => undefined)
      }
    }, 90_000)
  })
}
