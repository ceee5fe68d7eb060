/**
 * The journal and snapshot store over an effect/sql `SqlClient` (PostgreSQL
 * wire protocol through @effect/sql-pg): the same SQL serves the embedded
 * PGlite and a real PostgreSQL.
 *
 * The engine calls the store with promises from its batch loop, so it is built
 * once as an Effect (which captures the client and the services in scope) and
 * handed out as a plain object whose methods run their effects with them.
 *
 * Failures reach the engine as the tagged store errors of domain/errors.ts:
 * `SequenceConflict` (another writer appended that sequence first),
 * `StaleOwner` (a fenced append whose epoch was claimed over),
 * `OutcomeUnknown` (an append that failed after its statement was sent: the
 * connection was lost, or no answer came within the deadline; it may have
 * committed) and `StoreUnavailable` (anything else: connection refused, no
 * connection within the deadline, an error the server answered); plus a
 * `TypeError` for arguments that could never be stored.
 *
 * Every call has a deadline (`deadlines`): past it the call is rejected at
 * once and its statement interrupted in the background, which cancels it on
 * the server or drops its connection (a connection gone silent never comes
 * back to the pool).
 *
 * Batches of one stream are assumed not to overlap (the engine appends at
 * lastSeq + 1): readBatches and lastSeq look up the batch holding a sequence
 * by its start.
 */
import { Cause, Effect, Exit, Redacted, Scope } from "effect"
import { PgClient } from "@effect/sql-pg"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql/SqlClient"
import { isSqlError, type SqlError } from "effect/sql/SqlError"
import { defaults } from "../config.ts"
import { isStoreError, OutcomeUnknown, SequenceConflict, StaleOwner, StoreUnavailable } from "../domain/errors.ts"
import type { JournalBatch, JournalStore, OwnerFence, Snapshot } from "./journal.ts"
import { migrateJournalSchema } from "./schema.ts"
import { sqlOrderStore } from "./sql-order-store.ts"
import { sqlOpsHistoryStore } from "./sql-ops-history.ts"
import { sqlOpsRecords } from "./sql-ops-records.ts"
import { sqlReportLedgerStore } from "./sql-report-ledger.ts"

/** Snapshots are written in chunks of this size, each one row of `snapshot_chunk`. */
export const snapshotChunkBytes = 4 * 1024 * 1024

/** A snapshot load may take this many storeCallTimeoutMs (it reads its chunks a few at a time, their count unknown in advance). */
const snapshotReadDeadlines = 20

/** Chunks read by one query when loading a snapshot (the client caps one result at 16 MiB per row). */
const snapshotChunksPerRead = 2

/** How long a store call may take (engine/config.ts: storeAppendTimeoutMs, storeCallTimeoutMs). */
export interface StoreDeadlines {
  /** One append. */
  readonly appendMs: number
  /** Any other call (reads, loads, snapshot writes, pings). */
  readonly callMs: number
}

export interface SqlJournalOptions {
  readonly kind: JournalStore["kind"]
  readonly describe: string
  /** Releases what the store runs on (the connection pool, the embedded database); called once by close(). */
  readonly release: () => Promise<void>
  /** Default: the engine's defaults (engine/config.ts). */
  readonly deadlines?: StoreDeadlines | undefined
}

export const defaultDeadlines: StoreDeadlines = { appendMs: defaults.storeAppendTimeoutMs, callMs: defaults.storeCallTimeoutMs }

interface BatchRow {
  readonly seq_from: bigint
  readonly count: number
  readonly payload: Uint8Array
}

interface SnapshotHeaderRow {
  readonly seq: bigint
  readonly chunks: number
  readonly size: bigint
  readonly taken_at: Date
}

const batchKey = (stream: string, seqFrom: number): string => `${seqFrom}\u0000${stream}`

/** An owned copy: the driver hands out views into its receive buffers. */
const ownBytes = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes)

const checkBatches = (batches: ReadonlyArray<JournalBatch>): void => {
  for (const batch of batches) {
    if (typeof batch.stream !== "string" || batch.stream.length === 0) {
      throw new TypeError(`journal batch needs a stream name, got ${String(batch.stream)}`)
    }
    if (!Number.isSafeInteger(batch.seqFrom) || batch.seqFrom < 1) {
      throw new TypeError(`journal batch of stream ${batch.stream} has seqFrom ${batch.seqFrom}; expected an integer >= 1`)
    }
    if (!Number.isInteger(batch.count) || batch.count < 1 || batch.count > 2_147_483_647) {
      throw new TypeError(`journal batch ${batch.stream}@${batch.seqFrom} has count ${batch.count}; expected an integer >= 1`)
    }
    if (!(batch.payload instanceof Uint8Array)) {
      throw new TypeError(`journal batch ${batch.stream}@${batch.seqFrom} has no Uint8Array payload`)
    }
  }
}

const checkSeq = (what: string, seq: number): bigint => {
  if (!Number.isSafeInteger(seq)) throw new TypeError(`${what} must be a safe integer, got ${seq}`)
  return BigInt(seq)
}

/** "ConnectionError: PgConnection: Failed to connect (connect ECONNREFUSED 127.0.0.1:5432)" */
const explainSqlError = (error: SqlError): string => {
  const cause: unknown = error.reason.cause
  const detail = cause instanceof Error && cause.message !== error.message ? ` (${cause.message})` : ""
  return `${error.reason._tag}: ${error.message}${detail}`
}

const isUniqueViolation = (error: SqlError | SequenceConflict | StaleOwner): error is SqlError =>
  isSqlError(error) && error.reason._tag === "UniqueViolation"

/**
 * Whether a statement that was sent may have committed although it failed: the
 * connection was lost (or the server reported a connection or unclassified
 * failure) before its answer came. An error the server answered for the
 * statement itself (a constraint, a timeout, a syntax error...) means the
 * statement's transaction was rolled back.
 */
const mayHaveCommitted = (error: unknown): boolean =>
  !isSqlError(error) || error.reason._tag === "ConnectionError" || error.reason._tag === "UnknownError"

/**
 * Builds the store over the `SqlClient` in context. The schema must already
 * be migrated (see `migrateJournalSchema`).
 */
export const makeSqlJournal = (options: SqlJournalOptions): Effect.Effect<JournalStore, never, SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const runExit = Effect.runPromiseExitWith(yield* Effect.context<never>())
    const deadlines = options.deadlines ?? defaultDeadlines
    let closing: Promise<void> | undefined

    const failure = (operation: string, cause: Cause.Cause<SqlError | SequenceConflict | StaleOwner>, sent: boolean | undefined): Error => {
      const error = Cause.hasInterruptsOnly(cause) ? undefined : Cause.squash(cause)
      if (isStoreError(error, "SequenceConflict", "StaleOwner", "StoreUnavailable")) return error
      const why = error === undefined ? "was interrupted (store closing?)"
        : `failed: ${isSqlError(error) ? explainSqlError(error) : String(error)}`
      // an append whose statement was sent and that got no answer from the server may have committed
      if (sent === true && (error === undefined || mayHaveCommitted(error))) {
        return new OutcomeUnknown({ message: `${options.describe}: ${operation} ${why} after it was sent: it may have committed`, cause: error })
      }
      return new StoreUnavailable({ message: `${options.describe}: ${operation} ${why}`, cause: error })
    }

    /**
     * Runs a call within `deadlineMs`: past it the promise rejects at once and the effect is
     * interrupted in the background. `sent` (appends) tells whether the statement left for the
     * server, which decides between OutcomeUnknown and StoreUnavailable.
     */
    const run = <A>(
      operation: string,
      effect: () => Effect.Effect<A, SqlError | SequenceConflict | StaleOwner>,
      deadlineMs = deadlines.callMs,
      sent?: () => boolean
    ): Promise<A> => {
      if (closing !== undefined) {
        return Promise.reject(new StoreUnavailable({ message: `${options.describe}: ${operation} after the store was closed` }))
      }
      let program: Effect.Effect<A, SqlError | SequenceConflict | StaleOwner>
      try {
        program = effect()
      } catch (error) {
        return Promise.reject(error)
      }
      const abort = new AbortController()
      return new Promise<A>((resolve, reject) => {
        const timer = setTimeout(() => {
          const message = `${options.describe}: ${operation} got no answer within ${deadlineMs} ms`
          reject(sent?.() === true
            ? new OutcomeUnknown({ message: `${message} after it was sent: it may have committed` })
            : new StoreUnavailable({ message }))
          abort.abort()
        }, deadlineMs)
        timer.unref?.()
        runExit(program, { signal: abort.signal }).then((exit) => {
          clearTimeout(timer)
          if (Exit.isSuccess(exit)) resolve(exit.value)
          else reject(failure(operation, exit.cause, sent?.()))
        })
      })
    }

    /** Runs `effect` on a connection of its own, calling `onSent` once it has one (before that, nothing was sent). */
    const onConnection = <A, E>(onSent: () => void, effect: Effect.Effect<A, E>): Effect.Effect<A, E | SqlError> =>
      Effect.scoped(Effect.flatMap(sql.reserve, (conn) => {
        onSent()
        return Effect.provideService(effect, sql.transactionService, [conn, 0])
      }))

    /** Which batch of a rejected append already exists (in the order given), else the first one. */
    const conflictOf = (batches: ReadonlyArray<JournalBatch>) =>
      Effect.map(
        sql<{ readonly stream: string; readonly seq_from: bigint }>`
          SELECT stream, seq_from FROM journal
          WHERE (stream, seq_from) IN (
            SELECT * FROM unnest(${batches.map((b) => b.stream)}::text[], ${batches.map((b) => BigInt(b.seqFrom))}::int8[])
          )`,
        (rows) => {
          const existing = new Set(rows.map((row) => batchKey(row.stream, Number(row.seq_from))))
          const batch = batches.find((b) => existing.has(batchKey(b.stream, b.seqFrom))) ?? batches[0]
          return new SequenceConflict({ stream: batch.stream, seqFrom: batch.seqFrom })
        }
      )

    const append = (batches: ReadonlyArray<JournalBatch>, fence?: OwnerFence): Promise<void> => {
      if (batches.length === 0) return run("append", () => Effect.void)
      let sent = false
      return run("append", () => onConnection(() => (sent = true), appendOn(batches, fence)), deadlines.appendMs, () => sent)
    }

    /** The append's statement (built at once: arguments that could never be stored throw a TypeError here). */
    const appendOn = (batches: ReadonlyArray<JournalBatch>, fence?: OwnerFence): Effect.Effect<void, SqlError | SequenceConflict | StaleOwner> => {
      if (batches.length === 0) return Effect.void
      checkBatches(batches)
      if (batches.length > 1) {
        const seen = new Set<string>()
        for (const batch of batches) {
          const key = batchKey(batch.stream, batch.seqFrom)
          if (seen.has(key)) return Effect.fail(new SequenceConflict({ stream: batch.stream, seqFrom: batch.seqFrom }))
          seen.add(key)
        }
      }
      const streams = new Array<string>(batches.length)
      const seqs = new Array<bigint>(batches.length)
      const counts = new Array<number>(batches.length)
      const payloads = new Array<Uint8Array>(batches.length)
      for (let i = 0; i < batches.length; i++) {
        const batch = batches[i]
        streams[i] = batch.stream
        seqs[i] = BigInt(batch.seqFrom)
        counts[i] = batch.count
        payloads[i] = batch.payload
      }
      // One statement is one transaction: every batch is written, or none.
      if (fence === undefined) {
        return sql`
          INSERT INTO journal (stream, seq_from, count, payload)
          SELECT * FROM unnest(${streams}::text[], ${seqs}::int8[], ${counts}::int4[], ${payloads}::bytea[])`.pipe(
          Effect.asVoid,
          Effect.catchIf(isUniqueViolation, () => Effect.flatMap(conflictOf(batches), Effect.fail))
        )
      }
      for (const batch of batches) {
        if (batch.stream !== fence.stream) throw new TypeError(`a fenced append of ${fence.stream} has a batch of ${batch.stream}`)
      }
      // The owner row is locked FOR SHARE in the same statement: a claim (an UPDATE of that row) waits
      // for this append to commit, and an append that starts after a claim sees the new epoch.
      const epoch = BigInt(fence.epoch)
      return sql<{ readonly n: number }>`
        WITH owner AS (
          SELECT epoch FROM stream_owner WHERE stream = ${fence.stream} AND epoch = ${epoch} FOR SHARE
        ), written AS (
          INSERT INTO journal (stream, seq_from, count, payload, epoch)
          SELECT u.*, ${epoch}::int8 FROM unnest(${streams}::text[], ${seqs}::int8[], ${counts}::int4[], ${payloads}::bytea[]) AS u
          WHERE EXISTS (SELECT 1 FROM owner)
          RETURNING 1
        )
        SELECT count(*)::int AS n FROM written`.pipe(
        Effect.flatMap((rows): Effect.Effect<void, StaleOwner> =>
          rows[0]?.n === batches.length ? Effect.void : Effect.fail(new StaleOwner({ stream: fence.stream, epoch: fence.epoch }))),
        Effect.catchIf(isUniqueViolation, () => Effect.flatMap(conflictOf(batches), Effect.fail))
      )
    }

    const claim = (stream: string, owner: string): Promise<number> =>
      run("claim", () =>
        Effect.map(
          sql<{ readonly epoch: bigint }>`
            INSERT INTO stream_owner (stream, epoch, owner) VALUES (${stream}, 1, ${owner})
            ON CONFLICT (stream) DO UPDATE SET epoch = stream_owner.epoch + 1, owner = EXCLUDED.owner, claimed_at = now()
            RETURNING epoch`,
          (rows) => Number(rows[0].epoch)
        ))

    const ownerOf = (stream: string): Promise<{ readonly owner: string; readonly epoch: number } | undefined> =>
      run("ownerOf", () =>
        Effect.map(
          sql<{ readonly owner: string; readonly epoch: bigint }>`SELECT owner, epoch FROM stream_owner WHERE stream = ${stream}`,
          (rows) => (rows.length === 0 ? undefined : { owner: rows[0].owner, epoch: Number(rows[0].epoch) })
        ))

    const readBatchesBackward = (stream: string, beforeSeqFrom: number, limit: number): Promise<ReadonlyArray<JournalBatch>> =>
      run("readBatchesBackward", () => {
        if (!Number.isInteger(limit) || limit < 0) throw new TypeError(`limit must be an integer >= 0, got ${limit}`)
        if (limit === 0) return Effect.succeed([])
        const before = BigInt(Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(beforeSeqFrom))))
        return Effect.map(
          sql<BatchRow>`
            SELECT seq_from, count, payload FROM journal
            WHERE stream = ${stream} AND seq_from < ${before}
            ORDER BY seq_from DESC
            LIMIT ${limit}`,
          (rows) => rows.map((row): JournalBatch => ({ stream, seqFrom: Number(row.seq_from), count: row.count, payload: ownBytes(row.payload) }))
        )
      })

    const readBatches = (stream: string, afterSeq: number, limit: number): Promise<ReadonlyArray<JournalBatch>> =>
      run("readBatches", () => {
        const after = checkSeq("afterSeq", afterSeq)
        if (!Number.isInteger(limit) || limit < 0) throw new TypeError(`limit must be an integer >= 0, got ${limit}`)
        if (limit === 0) return Effect.succeed([])
        // The batch holding afterSeq + 1 starts at or before afterSeq: found by
        // its start, so the scan begins there and never walks the older rows.
        return Effect.map(
          sql<BatchRow>`
            SELECT seq_from, count, payload FROM journal
            WHERE stream = ${stream}
              AND seq_from >= coalesce(
                (SELECT max(seq_from) FROM journal WHERE stream = ${stream} AND seq_from <= ${after}), 0)
              AND seq_from + count - 1 > ${after}
            ORDER BY seq_from
            LIMIT ${limit}`,
          (rows) =>
            rows.map((row): JournalBatch => ({
              stream,
              seqFrom: Number(row.seq_from),
              count: row.count,
              payload: ownBytes(row.payload)
            }))
        )
      })

    const lastSeq = (stream: string): Promise<number> =>
      run("lastSeq", () =>
        Effect.map(
          sql<{ readonly last: bigint }>`
            SELECT seq_from + count - 1 AS last FROM journal
            WHERE stream = ${stream} ORDER BY seq_from DESC LIMIT 1`,
          (rows) => (rows.length === 0 ? 0 : Number(rows[0].last))
        ))

    const streams = (): Promise<ReadonlyArray<string>> =>
      run("streams", () =>
        Effect.map(
          // A skip scan over the primary key: one index probe per stream, not one per batch.
          sql<{ readonly stream: string }>`
            WITH RECURSIVE s AS (
              (SELECT stream FROM journal ORDER BY stream LIMIT 1)
              UNION ALL
              SELECT (SELECT j.stream FROM journal j WHERE j.stream > s.stream ORDER BY j.stream LIMIT 1)
              FROM s WHERE s.stream IS NOT NULL
            )
            SELECT stream FROM s WHERE stream IS NOT NULL
            UNION
            SELECT DISTINCT stream FROM snapshot
            ORDER BY stream`,
          (rows) => rows.map((row) => row.stream)
        ))

    const saveSnapshot = (snapshot: Snapshot): Promise<void> =>
      run("saveSnapshot", () => {
        const seq = checkSeq("snapshot seq", snapshot.seq)
        if (!(snapshot.payload instanceof Uint8Array)) throw new TypeError("snapshot payload must be a Uint8Array")
        if (!Number.isFinite(snapshot.takenAt)) throw new TypeError(`snapshot takenAt must be a time, got ${snapshot.takenAt}`)
        const { stream, payload } = snapshot
        const chunks = Math.ceil(payload.length / snapshotChunkBytes)
        return sql.withTransaction(Effect.gen(function*() {
          // Saving the same (stream, seq) again replaces it.
          yield* sql`DELETE FROM snapshot WHERE stream = ${stream} AND seq = ${seq}`
          yield* sql`DELETE FROM snapshot_chunk WHERE stream = ${stream} AND seq = ${seq}`
          for (let chunk = 0; chunk < chunks; chunk++) {
            const data = payload.subarray(chunk * snapshotChunkBytes, (chunk + 1) * snapshotChunkBytes)
            yield* sql`INSERT INTO snapshot_chunk (stream, seq, chunk_no, data) VALUES (${stream}, ${seq}, ${chunk}, ${data})`
          }
          // The header goes last: a snapshot without one is never loaded.
          yield* sql`
            INSERT INTO snapshot (stream, seq, chunks, size, taken_at)
            VALUES (${stream}, ${seq}, ${chunks}, ${BigInt(payload.length)}, ${new Date(snapshot.takenAt)})`
        }))
      }, deadlines.callMs * (snapshot.payload instanceof Uint8Array ? Math.ceil(snapshot.payload.length / snapshotChunkBytes) + 4 : 1)) // one deadline per round trip

    /** The payload of one snapshot, or undefined if its chunks do not add up to what its header says. */
    const snapshotPayload = (stream: string, header: SnapshotHeaderRow) =>
      Effect.gen(function*() {
        const size = Number(header.size)
        const payload = new Uint8Array(size)
        let offset = 0
        for (let next = 0; next < header.chunks;) {
          const rows = yield* sql<{ readonly chunk_no: number; readonly data: Uint8Array }>`
            SELECT chunk_no, data FROM snapshot_chunk
            WHERE stream = ${stream} AND seq = ${header.seq} AND chunk_no >= ${next}
            ORDER BY chunk_no LIMIT ${snapshotChunksPerRead}`
          if (rows.length === 0) return undefined
          for (const row of rows) {
            if (row.chunk_no !== next || offset + row.data.length > size) return undefined
            payload.set(row.data, offset)
            offset += row.data.length
            next++
          }
        }
        return offset === size ? payload : undefined
      })

    const loadSnapshot = (stream: string): Promise<Snapshot | undefined> =>
      run("loadSnapshot", () =>
        Effect.gen(function*() {
          const headers = yield* sql<SnapshotHeaderRow>`
            SELECT seq, chunks, size, taken_at FROM snapshot WHERE stream = ${stream} ORDER BY seq DESC`
          for (const header of headers) {
            const payload = yield* snapshotPayload(stream, header)
            if (payload === undefined) {
              yield* Effect.logWarning(`journal store: snapshot ${stream}@${header.seq} is missing chunks; trying an older one`)
              continue
            }
            return { stream, seq: Number(header.seq), payload, takenAt: header.taken_at.getTime() } satisfies Snapshot
          }
          return undefined
        }), deadlines.callMs * snapshotReadDeadlines)

    const dropSnapshotsBefore = (stream: string, seq: number): Promise<void> =>
      run("dropSnapshotsBefore", () => {
        const before = checkSeq("seq", seq)
        return sql.withTransaction(Effect.gen(function*() {
          yield* sql`DELETE FROM snapshot WHERE stream = ${stream} AND seq < ${before}`
          yield* sql`DELETE FROM snapshot_chunk WHERE stream = ${stream} AND seq < ${before}`
        }))
      })

    const compact = (stream: string, throughSeq: number): Promise<number> =>
      run("compact", () => {
        const through = checkSeq("throughSeq", throughSeq)
        return sql.withTransaction(Effect.gen(function*() {
          const [deleted] = yield* sql<{ readonly n: number }>`
            WITH gone AS (
              DELETE FROM journal
              WHERE stream = ${stream} AND seq_from <= ${through} AND seq_from + count - 1 <= ${through}
              RETURNING 1
            )
            SELECT count(*)::int AS n FROM gone`
          const [kept] = yield* sql<{ readonly seq: bigint | null }>`
            SELECT max(seq) AS seq FROM snapshot WHERE stream = ${stream} AND seq <= ${through}`
          if (kept.seq !== null) {
            yield* sql`DELETE FROM snapshot WHERE stream = ${stream} AND seq < ${kept.seq}`
            yield* sql`DELETE FROM snapshot_chunk WHERE stream = ${stream} AND seq < ${kept.seq}`
          }
          // Chunks of snapshots whose header never came (a writer died half-way).
          yield* sql`
            DELETE FROM snapshot_chunk c
            WHERE c.stream = ${stream} AND c.seq <= ${through}
              AND NOT EXISTS (SELECT 1 FROM snapshot h WHERE h.stream = c.stream AND h.seq = c.seq)`
          return deleted.n
        }))
      })

    const orders = sqlOrderStore(sql, run, ownBytes)

    const ping = (): Promise<void> => run("ping", () => Effect.asVoid(sql`SELECT 1`))

    const close = (): Promise<void> => {
      closing ??= options.release()
      return closing
    }

    return {
      kind: options.kind,
      describe: options.describe,
      append,
      claim,
      ownerOf,
      readBatches,
      readBatchesBackward,
      lastSeq,
      streams,
      saveSnapshot,
      loadSnapshot,
      compact,
      dropSnapshotsBefore,
      ...orders,
      ...sqlReportLedgerStore(sql, run, ownBytes),
      opsHistory: sqlOpsHistoryStore(sql, run),
      opsRecords: sqlOpsRecords(sql, run),
      ping,
      close
    } satisfies JournalStore
  })

export interface SqlJournalConnection {
  readonly url: string
  readonly kind: JournalStore["kind"]
  readonly describe: string
  /** Connections the pool may open: 1 for PGlite, which runs one statement at a time anyway. */
  readonly maxConnections: number
  readonly deadlines?: StoreDeadlines | undefined
  /**
   * PostgreSQL: TCP keepalive probes start after this much idle time, and the server ends a
   * statement running longer than `deadlines.callMs` (statement_timeout) and a transaction left
   * idle that long (idle_in_transaction_session_timeout), so locks of a client gone silent are freed.
   */
  readonly keepAliveMs?: number | undefined
}

/** Connection settings shared by the store and by tools (tests, benchmarks) that talk to the same database. */
export const pgClientOptions = (
  connection: Pick<SqlJournalConnection, "url" | "maxConnections" | "keepAliveMs"> & { readonly deadlines?: StoreDeadlines | undefined }
): PgClient.PgPoolConfig => ({
  url: Redacted.make(connection.url),
  maxConnections: connection.maxConnections,
  minConnections: 1,
  connectTimeout: "5 seconds",
  idleTimeout: "10 minutes",
  applicationName: "oms-journal",
  ...(connection.keepAliveMs !== undefined ? { keepAlive: `${Math.max(1, Math.ceil(connection.keepAliveMs / 1000))} seconds` as const } : {}),
  ...(connection.deadlines !== undefined
    ? {
      startupParameters: {
        statement_timeout: String(connection.deadlines.callMs),
        idle_in_transaction_session_timeout: String(connection.deadlines.callMs)
      }
    }
    : {})
})

/**
 * Connects to a PostgreSQL-protocol server, migrates the schema and builds the
 * store. The connection pool lives in a child of the current scope: it is
 * released by store.close() or when that scope closes, whichever comes first.
 */
export const connectSqlJournal = (connection: SqlJournalConnection): Effect.Effect<JournalStore, StoreUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Scope.Scope)
    const release = () => Effect.runPromise(Scope.close(scope, Exit.void))
    return yield* Effect.gen(function*() {
      // PGlite (single user, in process) takes no session timeouts and needs no keepalive
      const client = yield* PgClient.make(pgClientOptions(connection.kind === "postgres" ? connection : { ...connection, keepAliveMs: undefined, deadlines: undefined }))
      yield* migrateJournalSchema.pipe(Effect.provideService(SqlClient, client))
      return yield* makeSqlJournal({ kind: connection.kind, describe: connection.describe, release, deadlines: connection.deadlines }).pipe(
        Effect.provideService(SqlClient, client)
      )
    }).pipe(
      Effect.provide(Reactivity.layer),
      Scope.provide(scope),
      Effect.mapError((error) =>
        new StoreUnavailable({
          message: `${connection.describe}: could not open the journal: ${isSqlError(error) ? explainSqlError(error) : error.message}`,
          cause: error
        })
      ),
      Effect.onError(() => Scope.close(scope, Exit.void))
    )
  })
