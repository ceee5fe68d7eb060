/**
 * The contract every JournalStore backend must pass, as one vitest suite run
 * by each backend's test file (embedded.test.ts, postgres.test.ts), plus the
 * harness that hands those tests a store on an emptied database: opening a
 * database costs seconds, so the tests of a file share one and empty it
 * between tests.
 *
 * Longer than the ~450 lines other files keep to: it is one suite, run
 * unchanged against both stores, so every case of the store contract is here.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql/SqlClient"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { SequenceConflict } from "../domain/errors.ts"
import type { JournalBatch, JournalStore, OrderRow } from "./journal.ts"
import { journalTables, migrateJournalSchema } from "./schema.ts"
import { makeSqlJournal, pgClientOptions, snapshotChunkBytes } from "./sql-journal.ts"

export interface StoreUnderTest {
  readonly store: JournalStore
  /** Runs SQL on the store's database directly, to stage what the store never writes itself (a half-written snapshot). */
  readonly execute: (sql: string, params?: ReadonlyArray<unknown>) => Promise<ReadonlyArray<Record<string, unknown>>>
  /** Closes the store (and its database), opens it again on the same data and returns it. */
  readonly reopen: () => Promise<StoreUnderTest>
}

/** A PostgreSQL-protocol server the harness connects to; `close` also stops it if the harness started it. */
export interface ServerUnderTest {
  readonly url: string
  readonly kind: JournalStore["kind"]
  readonly maxConnections: number
  close(): Promise<void>
}

export interface SharedStore {
  /** The shared store, opened on first use (or again after a test closed it), emptied. */
  openEmpty(): Promise<StoreUnderTest>
  /** Closes the shared store, if open. */
  close(): Promise<void>
}

/** One store at a time over the server `start` opens; a store a test closes is opened again for the next one. */
export const sharedSqlStore = (start: () => Promise<ServerUnderTest>): SharedStore => {
  let current: Promise<StoreUnderTest> | undefined

  const open = async (): Promise<StoreUnderTest> => {
    const server = await start()
    const scope = Effect.runSync(Scope.make())
    let tested: StoreUnderTest | undefined
    const release = async () => {
      if (current !== undefined && (await current.catch(() => undefined)) === tested) current = undefined
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await server.close()
    }
    try {
      const { store, client } = await Effect.runPromise(
        Effect.gen(function*() {
          const client = yield* PgClient.make(pgClientOptions(server))
          yield* migrateJournalSchema.pipe(Effect.provideService(SqlClient, client))
          const store = yield* makeSqlJournal({ kind: server.kind, describe: `${server.kind} under test`, release }).pipe(
            Effect.provideService(SqlClient, client)
          )
          return { store, client }
        }).pipe(Effect.provide(Reactivity.layer), Scope.provide(scope))
      )
      tested = {
        store,
        execute: (sql, params = []) => Effect.runPromise(client.unsafe<Record<string, unknown>>(sql, params)),
        reopen: async () => {
          await store.close()
          current = open()
          return current
        }
      }
      return tested
    } catch (error) {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await server.close()
      throw error
    }
  }

  return {
    openEmpty: async () => {
      current ??= open()
      const tested = await current
      await tested.execute(`TRUNCATE ${journalTables.join(", ")}`)
      return tested
    },
    close: async () => {
      if (current !== undefined) await (await current).store.close()
    }
  }
}

// ---- data ------------------------------------------------------------------------

/** Deterministic, incompressible-looking bytes. */
const noise = (seed: number, length: number): Uint8Array => {
  const bytes = new Uint8Array(length)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    bytes[i] = x & 0xff
  }
  return bytes
}

const batch = (stream: string, seqFrom: number, count: number, payload = noise(seqFrom * 31 + stream.length, 64)): JournalBatch => ({
  stream,
  seqFrom,
  count,
  payload
})

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)

const plain = (batches: ReadonlyArray<JournalBatch>) =>
  batches.map((b) => ({ stream: b.stream, seqFrom: b.seqFrom, count: b.count, payload: Array.from(b.payload) }))

// ---- the suite ---------------------------------------------------------------------

export const journalStoreSuite = (name: string, openEmpty: () => Promise<StoreUnderTest>): void => {
  describe(name, () => {
    it("keeps versions of orders: the newest by id or by placement key, or the newest as of a snapshot; older ones pruned", async () => {
      const { store } = await openEmpty()
      const row = (orderId: string, seq: number, externalId: string, extra: Partial<OrderRow> = {}): OrderRow => ({
        orderId, stream: "p1", seq, channel: "web", externalId, leg: -1, keyed: true, placedAt: 1_000 + seq, payload: noise(seq, 40), ...extra
      })
      await store.saveOrders([row("o1-1", 3, "A"), row("o1-2", 4, "B"), row("o1-3", 5, "C", { leg: 1 })])
      await store.saveOrders([row("o1-1", 9, "A"), row("o1-1", 3, "A", { payload: noise(99, 8) })]) // a version already stored stays as it is
      const byId = await store.loadOrders(["o1-1", "o1-2", "o9-9"])
      expect(byId.map((r) => [r.orderId, r.seq]).sort()).toEqual([["o1-1", 9], ["o1-2", 4]])
      expect(sameBytes(byId.find((r) => r.orderId === "o1-1")!.payload, noise(9, 40))).toBe(true)
      expect(byId[0]).toMatchObject({ stream: "p1", channel: "web", leg: -1, keyed: true })
      // by placement key: the leg's key differs from an ordinary order's
      expect((await store.findOrders([{ channel: "web", externalId: "C", leg: -1 }])).length).toBe(0)
      expect((await store.findOrders([{ channel: "web", externalId: "C", leg: 1 }, { channel: "web", externalId: "A", leg: -1 }])).map((r) => [r.orderId, r.seq]).sort())
        .toEqual([["o1-1", 9], ["o1-3", 5]])
      // a key given up (a compensated leg) is no longer found by it, only by id
      await store.saveOrders([row("o1-3", 7, "C", { leg: 1, keyed: false })])
      expect(await store.findOrders([{ channel: "web", externalId: "C", leg: 1 }])).toEqual([])
      expect((await store.loadOrders(["o1-3"]))[0].keyed).toBe(false)
      // pruning keeps the version given; recovery from a snapshot reads the versions as of it, not newer ones
      await store.pruneOrders([{ orderId: "o1-1", seq: 9 }])
      expect((await store.loadOrders(["o1-1"], 8))).toEqual([])
      await store.saveOrders([row("o1-2", 12, "B")])
      expect((await store.loadOrders(["o1-1", "o1-2"], 10)).map((r) => [r.orderId, r.seq]).sort()).toEqual([["o1-1", 9], ["o1-2", 4]])
      expect((await store.loadOrders(["o1-2"]))[0].seq).toBe(12)
      // snapshots older than a complete one are dropped with the versions they named
      for (const seq of [5, 9, 14]) await store.saveSnapshot({ stream: "p1", seq, payload: noise(seq, 16), takenAt: 1 })
      await store.dropSnapshotsBefore("p1", 14)
      expect((await store.loadSnapshot("p1"))!.seq).toBe(14)
    })

    it("keeps the report ledger's hours and checkpoints: an hour stored again replaced, an older checkpoint never over a newer one", async () => {
      const { store } = await openEmpty()
      const h = 3_600_000
      await store.saveReportLedger("p0", [{ hour: 0, seq: 4, payload: noise(1, 20) }, { hour: 2 * h, seq: 9, payload: noise(2, 20) }], { seq: 12, payload: noise(3, 30) })
      await store.saveReportLedger("p1", [{ hour: h, seq: 3, payload: noise(4, 20) }], { seq: 5, payload: noise(5, 30) })
      // the same hour again (a replay after a snapshot that did not complete): replaced
      await store.saveReportLedger("p0", [{ hour: 2 * h, seq: 10, payload: noise(6, 20) }], { seq: 15, payload: noise(7, 30) })
      // an older checkpoint does not replace a newer one
      await store.saveReportLedger("p1", [], { seq: 4, payload: noise(8, 30) })
      const rows = await store.reportRows(0, 3 * h)
      expect(rows.map((r) => [r.stream, r.hour, r.seq])).toEqual([["p0", 0, 4], ["p0", 2 * h, 10], ["p1", h, 3]])
      expect(sameBytes(rows[1].payload, noise(6, 20))).toBe(true)
      expect((await store.reportRows(h, 2 * h)).map((r) => [r.stream, r.hour])).toEqual([["p1", h]])
      expect((await store.reportRowsBefore(2 * h)).map((r) => [r.stream, r.hour]).sort()).toEqual([["p0", 0], ["p1", h]])
      expect(await store.reportRowsBefore(0)).toEqual([])
      const checkpoints = [...await store.reportCheckpoints()].sort((a, b) => (a.stream < b.stream ? -1 : 1))
      expect(checkpoints.map((c) => [c.stream, c.seq])).toEqual([["p0", 15], ["p1", 5]])
      expect(sameBytes(checkpoints[1].payload, noise(5, 30))).toBe(true)
    })

    it("reads back what was appended, per stream, in sequence order", async () => {
      const { store } = await openEmpty()
      const binary = Uint8Array.from({ length: 256 }, (_, i) => i)
      await store.append([batch("p1", 1, 2), batch("p2", 1, 5, binary)])
      await store.append([batch("p1", 3, 1, new Uint8Array(0))])
      await store.append([batch("p2", 6, 3), batch("p1", 4, 10)])

      expect(plain(await store.readBatches("p1", 0, 100))).toEqual(
        plain([batch("p1", 1, 2), batch("p1", 3, 1, new Uint8Array(0)), batch("p1", 4, 10)])
      )
      const p2 = await store.readBatches("p2", 0, 100)
      expect(plain(p2)).toEqual(plain([batch("p2", 1, 5, binary), batch("p2", 6, 3)]))
      expect(p2[0].payload).toBeInstanceOf(Uint8Array)
      expect(await store.readBatches("nobody", 0, 100)).toEqual([])
      expect(await store.streams()).toEqual(["p1", "p2"])
      await store.ping()
    })

    it("appends large batches of many streams in one call", async () => {
      const { store } = await openEmpty()
      const batches = Array.from({ length: 8 }, (_, i) => batch(`p${i}`, 1, 2_000, noise(i, 300_000)))
      await store.append(batches)
      for (const written of batches) {
        const [read] = await store.readBatches(written.stream, 0, 10)
        expect(read.count).toBe(2_000)
        expect(sameBytes(read.payload, written.payload)).toBe(true)
      }
    })

    it("rejects a batch whose (stream, seqFrom) exists with SequenceConflict", async () => {
      const { store } = await openEmpty()
      await store.append([batch("p1", 1, 3)])
      const rejected = store.append([batch("p1", 1, 5)])
      await expect(rejected).rejects.toMatchObject({ _tag: "SequenceConflict", stream: "p1", seqFrom: 1 })
      expect(plain(await store.readBatches("p1", 0, 10))).toEqual(plain([batch("p1", 1, 3)]))
    })

    it("writes none of an append's batches when one of them conflicts", async () => {
      const { store } = await openEmpty()
      await store.append([batch("p1", 1, 3), batch("p2", 1, 3)])
      const rejected = store.append([batch("p1", 4, 2), batch("p3", 1, 1), batch("p2", 1, 9), batch("p2", 4, 1)])
      await expect(rejected).rejects.toMatchObject({ _tag: "SequenceConflict", stream: "p2", seqFrom: 1 })
      expect(await store.lastSeq("p1")).toBe(3)
      expect(await store.lastSeq("p2")).toBe(3)
      expect(await store.readBatches("p3", 0, 10)).toEqual([])
      expect(await store.streams()).toEqual(["p1", "p2"])

      // The same (stream, seqFrom) twice in one append conflicts with itself.
      await expect(store.append([batch("p4", 1, 1), batch("p4", 1, 1)])).rejects.toMatchObject({ _tag: "SequenceConflict" })
      expect(await store.readBatches("p4", 0, 10)).toEqual([])
    })

    it("lets exactly one of two racing writers append a sequence", async () => {
      const { store } = await openEmpty()
      const results = await Promise.allSettled([
        store.append([batch("p1", 1, 2, noise(1, 1000))]),
        store.append([batch("p1", 1, 2, noise(2, 1000))])
      ])
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1)
      const [lost] = results.filter((r) => r.status === "rejected")
      expect((lost as PromiseRejectedResult).reason).toMatchObject({ _tag: "SequenceConflict" })
      expect(await store.readBatches("p1", 0, 10)).toHaveLength(1)
    })

    it("refuses a fenced append from an owner whose epoch was claimed over, even before the new owner writes", async () => {
      const { store } = await openEmpty()
      expect(await store.ownerOf("p1")).toBeUndefined()
      const first = await store.claim("p1", "runner-a")
      await store.append([batch("p1", 1, 2)], { stream: "p1", epoch: first })
      const second = await store.claim("p1", "runner-b")
      expect(second).toBe(first + 1)
      expect(await store.ownerOf("p1")).toEqual({ owner: "runner-b", epoch: second })
      const stale = store.append([batch("p1", 3, 1)], { stream: "p1", epoch: first })
      await expect(stale).rejects.toMatchObject({ _tag: "StaleOwner", stream: "p1", epoch: first })
      expect(await store.lastSeq("p1")).toBe(2)
      await store.append([batch("p1", 3, 4)], { stream: "p1", epoch: second })
      expect(await store.lastSeq("p1")).toBe(6)
      // the key still fences a writer at the current epoch that is behind
      await expect(store.append([batch("p1", 3, 1)], { stream: "p1", epoch: second })).rejects.toMatchObject({ _tag: "SequenceConflict" })
      // another stream's owner is unaffected, and a never-claimed stream refuses a fenced append
      await expect(store.append([batch("p2", 1, 1)], { stream: "p2", epoch: 1 })).rejects.toMatchObject({ _tag: "StaleOwner" })
      expect(await store.readBatches("p2", 0, 10)).toEqual([])
    })

    it("knows the last sequence of each stream", async () => {
      const { store } = await openEmpty()
      expect(await store.lastSeq("p1")).toBe(0)
      await store.append([batch("p1", 1, 4)])
      expect(await store.lastSeq("p1")).toBe(4)
      await store.append([batch("p1", 5, 1), batch("p2", 1, 7)])
      expect(await store.lastSeq("p1")).toBe(5)
      expect(await store.lastSeq("p2")).toBe(7)
      // Past 2^31, as a long-lived stream gets.
      await store.append([batch("p1", 3_000_000_000, 2_000)])
      expect(await store.lastSeq("p1")).toBe(3_000_001_999)
      expect((await store.readBatches("p1", 2_999_999_999, 10)).map((b) => b.seqFrom)).toEqual([3_000_000_000])
    })

    it("pages through a stream by sequence", async () => {
      const { store } = await openEmpty()
      await store.append(Array.from({ length: 4 }, (_, i) => batch("p1", 1 + 3 * i, 3)))
      await store.append(Array.from({ length: 6 }, (_, i) => batch("p1", 13 + 3 * i, 3)))
      await store.append([batch("p2", 1, 100)])

      const seen: Array<number> = []
      let after = 0
      for (let page = 0; page < 10; page++) {
        const batches = await store.readBatches("p1", after, 4)
        if (batches.length === 0) break
        expect(batches.length).toBeLessThanOrEqual(4)
        seen.push(...batches.map((b) => b.seqFrom))
        const last = batches[batches.length - 1]
        after = last.seqFrom + last.count - 1
      }
      expect(seen).toEqual([1, 4, 7, 10, 13, 16, 19, 22, 25, 28])
      // The batch holding afterSeq + 1 comes first, even if it starts before.
      expect((await store.readBatches("p1", 5, 2)).map((b) => b.seqFrom)).toEqual([4, 7])
      expect((await store.readBatches("p1", 6, 2)).map((b) => b.seqFrom)).toEqual([7, 10])
      expect(await store.readBatches("p1", 30, 10)).toEqual([])
      expect(await store.readBatches("p1", 0, 0)).toEqual([])
    })

    it("pages through a stream backward, newest first", async () => {
      const { store } = await openEmpty()
      await store.append(Array.from({ length: 5 }, (_, i) => batch("p1", 1 + 3 * i, 3)))
      await store.append([batch("p2", 1, 100)])
      const seen: Array<number> = []
      let before = Number.MAX_SAFE_INTEGER
      for (let page = 0; page < 10; page++) {
        const batches = await store.readBatchesBackward("p1", before, 2)
        if (batches.length === 0) break
        expect(batches.length).toBeLessThanOrEqual(2)
        seen.push(...batches.map((b) => b.seqFrom))
        before = batches[batches.length - 1].seqFrom
      }
      expect(seen).toEqual([13, 10, 7, 4, 1])
      expect(plain(await store.readBatchesBackward("p1", 4, 10))).toEqual(plain([batch("p1", 1, 3)]))
      expect(await store.readBatchesBackward("p1", 1, 10)).toEqual([])
      expect(await store.readBatchesBackward("nobody", Number.MAX_SAFE_INTEGER, 10)).toEqual([])
    })

    it("loads the newest snapshot of a stream", async () => {
      const { store } = await openEmpty()
      expect(await store.loadSnapshot("p1")).toBeUndefined()
      const takenAt = Date.now()
      await store.saveSnapshot({ stream: "p1", seq: 5, payload: noise(5, 100), takenAt: takenAt - 2000 })
      await store.saveSnapshot({ stream: "p1", seq: 10, payload: noise(10, 100), takenAt })
      await store.saveSnapshot({ stream: "p1", seq: 7, payload: noise(7, 100), takenAt: takenAt - 1000 })
      await store.saveSnapshot({ stream: "p2", seq: 3, payload: new Uint8Array(0), takenAt })

      const newest = await store.loadSnapshot("p1")
      expect(newest).toMatchObject({ stream: "p1", seq: 10, takenAt })
      expect(sameBytes(newest!.payload, noise(10, 100))).toBe(true)
      const empty = await store.loadSnapshot("p2")
      expect(empty).toMatchObject({ stream: "p2", seq: 3, takenAt })
      expect(empty!.payload.length).toBe(0)
      expect(await store.streams()).toEqual(["p1", "p2"])

      // Saving the same sequence again replaces it.
      await store.saveSnapshot({ stream: "p1", seq: 10, payload: noise(11, 50), takenAt })
      expect(sameBytes((await store.loadSnapshot("p1"))!.payload, noise(11, 50))).toBe(true)
    })

    it("round-trips a large snapshot byte for byte", async () => {
      const { store, execute } = await openEmpty()
      const payload = noise(42, 10 * 1024 * 1024 + 12_345)
      await store.saveSnapshot({ stream: "p1", seq: 1_000_000, payload, takenAt: Date.now() })
      const loaded = await store.loadSnapshot("p1")
      expect(loaded?.seq).toBe(1_000_000)
      expect(sameBytes(loaded!.payload, payload)).toBe(true)
      const [chunks] = await execute(`SELECT count(*)::int AS n FROM snapshot_chunk WHERE stream = 'p1'`)
      expect(chunks.n).toBe(Math.ceil(payload.length / snapshotChunkBytes))
    })

    it("ignores a snapshot whose header was never written, or whose chunks are missing", async () => {
      const { store, execute } = await openEmpty()
      await store.saveSnapshot({ stream: "p1", seq: 5, payload: noise(5, 1000), takenAt: Date.now() })
      // A writer that died after its chunks, before the header.
      await execute(`INSERT INTO snapshot_chunk (stream, seq, chunk_no, data) VALUES ('p1', 9, 0, $1), ('p1', 9, 1, $2)`, [
        noise(9, 100),
        noise(10, 100)
      ])
      expect((await store.loadSnapshot("p1"))?.seq).toBe(5)

      // A header whose chunks do not add up.
      await store.saveSnapshot({ stream: "p1", seq: 12, payload: noise(12, snapshotChunkBytes + 10), takenAt: Date.now() })
      await execute(`DELETE FROM snapshot_chunk WHERE stream = 'p1' AND seq = 12 AND chunk_no = 1`)
      const loaded = await store.loadSnapshot("p1")
      expect(loaded?.seq).toBe(5)
      expect(sameBytes(loaded!.payload, noise(5, 1000))).toBe(true)
    })

    it("compacts only what lies at or before the given sequence", async () => {
      const { store, execute } = await openEmpty()
      await store.append([batch("p1", 1, 3), batch("p1", 4, 3), batch("p1", 7, 3), batch("p2", 1, 3)])
      for (const seq of [3, 6, 9]) {
        await store.saveSnapshot({ stream: "p1", seq, payload: noise(seq, 10), takenAt: Date.now() })
      }
      await store.saveSnapshot({ stream: "p2", seq: 1, payload: noise(1, 10), takenAt: Date.now() })
      const snapshotSeqs = async (stream: string) =>
        (await execute(`SELECT seq FROM snapshot WHERE stream = $1 ORDER BY seq`, [stream])).map((r) => Number(r.seq))

      // Batch 7..9 still holds 8 and 9; snapshot 6 is the newest at or before 7, so 3 goes.
      expect(await store.compact("p1", 7)).toBe(2)
      expect((await store.readBatches("p1", 0, 10)).map((b) => b.seqFrom)).toEqual([7])
      expect(await snapshotSeqs("p1")).toEqual([6, 9])
      expect((await store.loadSnapshot("p1"))?.seq).toBe(9)
      expect(await store.readBatches("p2", 0, 10)).toHaveLength(1)
      expect(await snapshotSeqs("p2")).toEqual([1])

      expect(await store.compact("p1", 7)).toBe(0)
      expect(await store.compact("p1", 100)).toBe(1)
      expect(await store.readBatches("p1", 0, 10)).toEqual([])
      expect(await snapshotSeqs("p1")).toEqual([9])
      expect(sameBytes((await store.loadSnapshot("p1"))!.payload, noise(9, 10))).toBe(true)
      expect(await store.streams()).toEqual(["p1", "p2"])

      // Before any snapshot: batches go, no snapshot does.
      expect(await store.compact("p2", 0)).toBe(0)
      expect(await store.compact("p3", 10)).toBe(0)
      const [chunks] = await execute(`SELECT count(*)::int AS n FROM snapshot_chunk WHERE stream = 'p1'`)
      expect(chunks.n).toBe(1)
    })

    it("keeps its data across close and reopen", async () => {
      const opened = await openEmpty()
      await opened.store.append([batch("p1", 1, 5), batch("p2", 1, 2)])
      await opened.store.saveSnapshot({ stream: "p1", seq: 5, payload: noise(5, 5000), takenAt: 1_700_000_000_123 })
      const { store } = await opened.reopen()
      expect(plain(await store.readBatches("p1", 0, 10))).toEqual(plain([batch("p1", 1, 5)]))
      expect(await store.lastSeq("p2")).toBe(2)
      expect(await store.streams()).toEqual(["p1", "p2"])
      const snapshot = await store.loadSnapshot("p1")
      expect(snapshot).toMatchObject({ seq: 5, takenAt: 1_700_000_000_123 })
      expect(sameBytes(snapshot!.payload, noise(5, 5000))).toBe(true)
    })

    it("agrees with an in-memory model over random appends and compactions", async () => {
      const streams = ["p0", "p1", "p2"]
      const part = fc.record({
        stream: fc.nat(streams.length - 1),
        count: fc.integer({ min: 1, max: 5 }),
        gap: fc.oneof(fc.constant(0), fc.nat(3)),
        duplicate: fc.boolean(),
        pick: fc.nat(),
        payload: fc.uint8Array({ maxLength: 24 })
      })
      const operation = fc.oneof(
        { weight: 3, arbitrary: fc.record({ kind: fc.constant("append" as const), parts: fc.array(part, { minLength: 1, maxLength: 4 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant("compact" as const), stream: fc.nat(streams.length - 1), back: fc.nat(12) }) }
      )

      await fc.assert(
        fc.asyncProperty(fc.array(operation, { maxLength: 14 }), fc.nat(40), fc.integer({ min: 1, max: 5 }), async (operations, afterSeq, limit) => {
          const { store } = await openEmpty()
          const rows = new Map<string, Array<JournalBatch>>(streams.map((s) => [s, []]))
          const high = new Map<string, number>(streams.map((s) => [s, 0]))
          const key = (b: JournalBatch) => `${b.stream}/${b.seqFrom}`

          for (const op of operations) {
            if (op.kind === "compact") {
              const stream = streams[op.stream]
              const through = Math.max(0, high.get(stream)! - op.back)
              const kept = rows.get(stream)!.filter((b) => b.seqFrom + b.count - 1 > through)
              const deleted = rows.get(stream)!.length - kept.length
              rows.set(stream, kept)
              expect(await store.compact(stream, through)).toBe(deleted)
            } else {
              const next = new Map(high)
              const batches: Array<JournalBatch> = []
              for (const p of op.parts) {
                const stream = streams[p.stream]
                const existing = [...rows.get(stream)!, ...batches.filter((b) => b.stream === stream)]
                if (p.duplicate && existing.length > 0) {
                  batches.push({ stream, seqFrom: existing[p.pick % existing.length].seqFrom, count: p.count, payload: p.payload })
                } else {
                  const seqFrom = next.get(stream)! + 1 + p.gap
                  next.set(stream, seqFrom + p.count - 1)
                  batches.push({ stream, seqFrom, count: p.count, payload: p.payload })
                }
              }
              const stored = new Set([...rows.values()].flat().map(key))
              const conflicting = new Set<string>()
              const inCall = new Set<string>()
              for (const b of batches) {
                if (stored.has(key(b)) || inCall.has(key(b))) conflicting.add(key(b))
                inCall.add(key(b))
              }
              if (conflicting.size > 0) {
                const error = await store.append(batches).then(() => undefined, (e: unknown) => e)
                expect(error).toMatchObject({ _tag: "SequenceConflict" })
                expect(conflicting.has(`${(error as SequenceConflict).stream}/${(error as SequenceConflict).seqFrom}`)).toBe(true)
              } else {
                await store.append(batches)
                for (const b of batches) rows.get(b.stream)!.push(b)
                for (const list of rows.values()) list.sort((a, b) => a.seqFrom - b.seqFrom)
                for (const [stream, seq] of next) high.set(stream, seq)
              }
            }
          }

          for (const stream of streams) {
            const expected = rows.get(stream)!
            expect(plain(await store.readBatches(stream, 0, 1000))).toEqual(plain(expected))
            const last = expected.at(-1)
            expect(await store.lastSeq(stream)).toBe(last === undefined ? 0 : last.seqFrom + last.count - 1)
            expect(plain(await store.readBatches(stream, afterSeq, limit))).toEqual(
              plain(expected.filter((b) => b.seqFrom + b.count - 1 > afterSeq).slice(0, limit))
            )
          }
          expect(await store.streams()).toEqual(streams.filter((s) => rows.get(s)!.length > 0))
        }),
        { numRuns: 40 }
      )
    })

    it("rejects with StoreUnavailable once closed", async () => {
      const { store } = await openEmpty()
      await store.close()
      await expect(store.ping()).rejects.toMatchObject({ _tag: "StoreUnavailable" })
      await expect(store.append([batch("p1", 1, 1)])).rejects.toMatchObject({ _tag: "StoreUnavailable" })
    })
  })
}
