/**
 * The journal's database schema, one for both backends (embedded PGlite and
 * PostgreSQL), applied by effect/sql's Migrator when the store opens.
 *
 * Migrations are numbered and recorded in `journal_migrations`; each runs once,
 * in a transaction, so opening the store again (or two stores at once) is safe.
 * Append new migrations at the end; never edit one that has shipped.
 *
 * Tables:
 * - `journal`: one row per appended batch of one stream, keyed by
 *   (stream, seq_from). The key is what fences off a stale writer.
 * - `snapshot_chunk`: a snapshot's payload cut into chunks of a few MiB.
 * - `snapshot`: the header, written in the same transaction after every chunk;
 *   a snapshot without a header is incomplete and never loaded.
 * - `order_state`: versions of orders, written by snapshots, so that an order
 *   may leave memory and come back; looked up by id or by placement key.
 * - `ops_history`, `ops_counter`: the ops feed's chart points and counters
 *   (gateway/ops-history.ts), so that they survive a restart.
 * - `report_hour`, `report_checkpoint`: each partition's report counts hour
 *   by hour and its ledger's checkpoint (engine/reports/ledger.ts).
 * - `stream_owner` (cluster mode): the runner that owns each stream and its
 *   epoch; a fenced append checks it in the same statement, and each journal
 *   row records the epoch it was written under.
 * - `ops_alert`, `ops_audit`: the ops console's alert groups and audit log
 *   (ops-records.ts), kept by the gateway.
 *
 * Payloads are stored uncompressed (STORAGE EXTERNAL): they are packed by the
 * engine's codec, and compressing them on every append costs more latency
 * than the disk it saves.
 */
import { Effect } from "effect"
import * as Migrator from "effect/sql/Migrator"
import { SqlClient } from "effect/sql/SqlClient"

const migrations = {
  "1_journal_and_snapshots": Effect.gen(function*() {
    const sql = yield* SqlClient
    yield* sql`
      CREATE TABLE IF NOT EXISTS journal (
        stream text NOT NULL,
        seq_from bigint NOT NULL CHECK (seq_from > 0),
        count int NOT NULL CHECK (count > 0),
        payload bytea NOT NULL,
        appended_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (stream, seq_from)
      )`
    yield* sql`ALTER TABLE journal ALTER COLUMN payload SET STORAGE EXTERNAL`
    yield* sql`
      CREATE TABLE IF NOT EXISTS snapshot_chunk (
        stream text NOT NULL,
        seq bigint NOT NULL,
        chunk_no int NOT NULL CHECK (chunk_no >= 0),
        data bytea NOT NULL,
        PRIMARY KEY (stream, seq, chunk_no)
      )`
    yield* sql`ALTER TABLE snapshot_chunk ALTER COLUMN data SET STORAGE EXTERNAL`
    yield* sql`
      CREATE TABLE IF NOT EXISTS snapshot (
        stream text NOT NULL,
        seq bigint NOT NULL,
        chunks int NOT NULL CHECK (chunks >= 0),
        size bigint NOT NULL CHECK (size >= 0),
        taken_at timestamptz NOT NULL,
        PRIMARY KEY (stream, seq)
      )`
  }),
  "2_stream_owners": Effect.gen(function*() {
    const sql = yield* SqlClient
    // cluster mode: the runner that owns each stream, and its epoch (one more at every claim)
    yield* sql`
      CREATE TABLE IF NOT EXISTS stream_owner (
        stream text PRIMARY KEY,
        epoch bigint NOT NULL CHECK (epoch > 0),
        owner text NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now()
      )`
    // the epoch a batch was written under (0: written outside cluster mode)
    yield* sql`ALTER TABLE journal ADD COLUMN IF NOT EXISTS epoch bigint NOT NULL DEFAULT 0`
  }),
  "3_order_state": Effect.gen(function*() {
    const sql = yield* SqlClient
    // versions of orders that may leave memory, written by snapshots (engine/runtime/snapshots.ts)
    yield* sql`
      CREATE TABLE IF NOT EXISTS order_state (
        order_id text NOT NULL,
        seq bigint NOT NULL CHECK (seq > 0),
        stream text NOT NULL,
        channel text NOT NULL,
        external_id text NOT NULL,
        leg int NOT NULL,
        key_hash bigint NOT NULL,
        keyed boolean NOT NULL,
        placed_at bigint NOT NULL,
        payload bytea NOT NULL,
        PRIMARY KEY (order_id, seq)
      )`
    yield* sql`ALTER TABLE order_state ALTER COLUMN payload SET STORAGE EXTERNAL`
    // found by placement key through a hash of it: an index of one integer costs an order version far less than one of its text columns
    yield* sql`CREATE INDEX IF NOT EXISTS order_state_key ON order_state (key_hash)`
  }),
  "4_ops_history": Effect.gen(function*() {
    const sql = yield* SqlClient
    // the ops feed's chart points (gateway/ops-history.ts): 1 s points for the last hour, 1 min points for 7 days
    yield* sql`
      CREATE TABLE IF NOT EXISTS ops_history (
        resolution_s int NOT NULL CHECK (resolution_s > 0),
        at bigint NOT NULL,
        figures jsonb NOT NULL,
        PRIMARY KEY (resolution_s, at)
      )`
    // the ops feed's counters since the stream began (per-node rejections and short picks), one row per stream and counter
    yield* sql`
      CREATE TABLE IF NOT EXISTS ops_counter (
        stream text NOT NULL,
        name text NOT NULL,
        value bigint NOT NULL,
        PRIMARY KEY (stream, name)
      )`
  }),
  "5_ops_alerts_audit": Effect.gen(function*() {
    const sql = yield* SqlClient
    // the ops console's alert groups with their acknowledge and mute state (store/ops-records.ts)
    yield* sql`
      CREATE TABLE IF NOT EXISTS ops_alert (
        key text PRIMARY KEY,
        kind text NOT NULL,
        severity text NOT NULL,
        last_at bigint NOT NULL,
        body text NOT NULL
      )`
    // every ops action: who, what, why, when
    yield* sql`
      CREATE TABLE IF NOT EXISTS ops_audit (
        id bigserial PRIMARY KEY,
        at bigint NOT NULL,
        who text NOT NULL,
        action text NOT NULL,
        target text NOT NULL,
        reason text NOT NULL,
        detail text NOT NULL
      )`
  }),
  "6_report_ledger": Effect.gen(function*() {
    const sql = yield* SqlClient
    // each partition's report counts, hour by hour (engine/reports/ledger.ts), and the checkpoint its ledger goes on from
    yield* sql`
      CREATE TABLE IF NOT EXISTS report_hour (
        stream text NOT NULL,
        hour bigint NOT NULL,
        seq bigint NOT NULL,
        payload bytea NOT NULL,
        PRIMARY KEY (stream, hour)
      )`
    yield* sql`CREATE INDEX IF NOT EXISTS report_hour_by_hour ON report_hour (hour)`
    yield* sql`
      CREATE TABLE IF NOT EXISTS report_checkpoint (
        stream text PRIMARY KEY,
        seq bigint NOT NULL,
        payload bytea NOT NULL
      )`
  })
}

/** Brings the connected database up to the current schema; idempotent. */
export const migrateJournalSchema = Migrator.make({})({
  loader: Migrator.fromRecord(migrations),
  table: "journal_migrations"
}).pipe(Effect.asVoid)

/** Every table the journal owns, for tests that need an empty store. */
export const journalTables = ["journal", "snapshot_chunk", "snapshot", "stream_owner", "order_state", "ops_history", "ops_counter", "ops_alert", "ops_audit", "report_hour", "report_checkpoint"] as const
