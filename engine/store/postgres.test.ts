/**
 * The journal store contract against a real PostgreSQL: `DATABASE_URL` if set,
 * else postgres://postgres@127.0.0.1:5432/test. Each run creates its own
 * database (oms_test_<random>) on that server and drops it afterwards.
 *
 * PostgreSQL unreachable: the run fails under CI (`CI` set), else the suite is
 * skipped with the reason printed. It never passes without having run.
 */
import { Effect } from "effect"
import { postgresUnreachable, runOn, serverUrl } from "../testing/postgres.ts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Journal, openJournalStore } from "./layer.ts"
import { journalStoreSuite, sharedSqlStore } from "./store.suite.ts"

const unreachable = await postgresUnreachable()

if (unreachable !== undefined) {
  const reason = unreachable
  if (process.env.CI) {
    describe("PostgreSQL journal store", () => {
      it("needs a reachable PostgreSQL under CI", () => {
        throw new Error(`${reason}. CI must provide PostgreSQL (set DATABASE_URL).`)
      })
    })
  } else {
    console.warn(`Skipping the PostgreSQL journal store tests: ${reason}. Set DATABASE_URL or start PostgreSQL to run them.`)
    describe.skip("PostgreSQL journal store (skipped: PostgreSQL unreachable)", () => {
      it("needs a reachable PostgreSQL", () => undefined)
    })
  }
} else {
  const database = `oms_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const databaseUrl = (() => {
    const url = new URL(serverUrl)
    url.pathname = `/${database}`
    return url.toString()
  })()

  beforeAll(() => runOn(serverUrl, `CREATE DATABASE ${database}`))

  const shared = sharedSqlStore(async () => ({ url: databaseUrl, kind: "postgres", maxConnections: 4, close: async () => undefined }))

  afterAll(async () => {
    await shared.close()
    await runOn(serverUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  })

  journalStoreSuite("PostgreSQL journal store", shared.openEmpty)

  describe("PostgreSQL store lifecycle", () => {
    it("opens through Journal.layerPostgres and openJournalStore, without credentials in describe", async () => {
      await Effect.runPromise(
        Effect.gen(function*() {
          const journal = yield* Journal
          expect(journal.kind).toBe("postgres")
          expect(journal.describe).toContain(database)
          yield* Effect.promise(() => journal.append([{ stream: "life", seqFrom: 1, count: 2, payload: new Uint8Array([1]) }]))
        }).pipe(Effect.provide(Journal.layerPostgres({ url: databaseUrl })))
      )
      const { store, close } = await openJournalStore({ backend: "postgres", url: databaseUrl })
      try {
        expect(await store.lastSeq("life")).toBe(2)
        expect(store.describe).not.toMatch(/:\/\//)
      } finally {
        await close()
      }
    })

    it("picks PostgreSQL from DATABASE_URL", async () => {
      const saved = process.env.DATABASE_URL
      process.env.DATABASE_URL = databaseUrl
      try {
        const kind = await Effect.runPromise(
          Effect.gen(function*() {
            return (yield* Journal).kind
          }).pipe(Effect.provide(Journal.layerFromEnv))
        )
        expect(kind).toBe("postgres")
      } finally {
        if (saved === undefined) delete process.env.DATABASE_URL
        else process.env.DATABASE_URL = saved
      }
    })

    it("rejects with StoreUnavailable when nothing listens", async () => {
      await expect(openJournalStore({ backend: "postgres", url: "postgres://postgres@127.0.0.1:1/none" })).rejects.toMatchObject({
        _tag: "StoreUnavailable",
        message: expect.stringMatching(/ECONNREFUSED/)
      })
    })
  })
}
