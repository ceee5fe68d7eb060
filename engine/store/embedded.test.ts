/**
 * The journal store contract against the embedded store: PGlite in a worker
 * thread, in a fresh temporary data folder for this file. Opening PGlite costs
 * seconds, so the suite shares one store and empties it between tests.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { ConfigProvider, Effect, Exit, Scope } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded.ts"
import type { JournalStore } from "./journal.ts"
import { Journal, journalLocationConfig, openJournalStore } from "./layer.ts"
import { connectSqlJournal } from "./sql-journal.ts"
import { journalStoreSuite, sharedSqlStore } from "./store.suite.ts"

const dataDir = mkdtempSync(path.join(tmpdir(), "oms-journal-"))

const shared = sharedSqlStore(async () => {
  const server = await startEmbeddedPostgres({ dataDir })
  return { url: server.url, kind: "pglite", maxConnections: 1, close: () => server.close() }
})

afterAll(async () => {
  await shared.close()
  rmSync(dataDir, { recursive: true, force: true })
})

journalStoreSuite("embedded PGlite journal store", shared.openEmpty)

describe("embedded store lifecycle", () => {
  it("is the store the environment picks unless DATABASE_URL is set", async () => {
    const locate = (env: Record<string, string>) => Effect.runPromise(journalLocationConfig.parse(ConfigProvider.fromEnv({ env })))
    expect(await locate({})).toEqual({ backend: "embedded", dataDir: "./data" })
    expect(await locate({ DATA_DIR: "/var/oms", DATABASE_URL: "" })).toEqual({ backend: "embedded", dataDir: "/var/oms" })
    expect(await locate({ DATABASE_URL: "postgres://oms@db:5432/oms" })).toEqual({ backend: "postgres", url: "postgres://oms@db:5432/oms" })
  })

  it("opens through Journal.layerEmbedded, and closes with the layer's scope", async () => {
    await shared.close()
    const journal = await Effect.runPromise(
      Effect.gen(function*() {
        const journal = yield* Journal
        expect(journal.kind).toBe("pglite")
        yield* Effect.promise(() => journal.append([{ stream: "life", seqFrom: 1, count: 1, payload: new Uint8Array([7]) }]))
        return journal
      }).pipe(Effect.provide(Journal.layerEmbedded({ dataDir })))
    )
    await expect(journal.ping()).rejects.toMatchObject({ _tag: "StoreUnavailable" })
    // The folder's lock was released with the layer, and the data stayed.
    const { store, close } = await openJournalStore({ backend: "embedded", dataDir })
    try {
      expect(store.describe).toContain(dataDir)
      expect(await store.lastSeq("life")).toBe(1)
      // One process at a time per data folder.
      await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(/already open/)
    } finally {
      await close()
    }
  })

  it("creates a new cluster on a thread of its own, then serves it; a folder that holds one is opened as it is", async () => {
    const fresh = mkdtempSync(path.join(tmpdir(), "oms-journal-init-"))
    const session = async (server: EmbeddedPostgres, work: (store: JournalStore) => Promise<void>) => {
      const scope = Effect.runSync(Scope.make())
      try {
        const store = await Effect.runPromise(
          connectSqlJournal({ url: server.url, kind: "pglite", describe: "PGlite", maxConnections: 1 }).pipe(Scope.provide(scope))
        )
        await work(store)
        await store.close()
      } finally {
        await Effect.runPromise(Scope.close(scope, Exit.void))
        await server.close()
      }
    }
    try {
      const created = await startEmbeddedPostgres({ dataDir: fresh })
      expect(created.initMs).toBeGreaterThan(0)
      await session(created, (store) => store.append([{ stream: "first", seqFrom: 1, count: 1, payload: new Uint8Array([1]) }]))
      const reopened = await startEmbeddedPostgres({ dataDir: fresh })
      expect(reopened.initMs).toBeUndefined()
      await session(reopened, async (store) => expect(await store.lastSeq("first")).toBe(1))
    } finally {
      rmSync(fresh, { recursive: true, force: true })
    }
  })

  it("rejects with StoreUnavailable when the database goes away", async () => {
    const server = await startEmbeddedPostgres({ dataDir, transport: "tcp" })
    const scope = Effect.runSync(Scope.make())
    try {
      const store = await Effect.runPromise(
        connectSqlJournal({ url: server.url, kind: "pglite", describe: "doomed PGlite", maxConnections: 1 }).pipe(Scope.provide(scope))
      )
      await store.ping()
      await server.close()
      const error = await store.append([{ stream: "gone", seqFrom: 1, count: 1, payload: new Uint8Array(1) }]).then(
        () => undefined,
        (e: unknown) => e as Error
      )
      expect(error).toMatchObject({ _tag: "StoreUnavailable" })
      expect(error?.message).toMatch(/^doomed PGlite: append failed: ConnectionError/)
      await store.close()
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await server.close()
    }
  })
})
