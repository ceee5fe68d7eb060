/**
 * The report ledger's tables (engine/reports/ledger.ts) over the journal's
 * effect/sql client: `report_hour`, one row per partition stream and hour
 * (its counts and what was open at its end, encoded by the engine), and
 * `report_checkpoint`, the newest checkpoint of each stream's ledger. Rows and
 * checkpoint are written in one transaction.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { SequenceConflict, StaleOwner } from "../domain/errors.ts"
import type { ReportLedgerStore, StoredLedgerCheckpoint, StoredLedgerRow } from "./journal.ts"

interface HourRow {
  readonly stream: string
  readonly hour: bigint
  readonly seq: bigint
  readonly payload: Uint8Array
}

interface CheckpointRow {
  readonly stream: string
  readonly seq: bigint
  readonly payload: Uint8Array
}

/** Rows written by one statement. */
const rowsPerInsert = 500

export const sqlReportLedgerStore = (
  sql: SqlClient,
  run: <A>(operation: string, effect: () => Effect.Effect<A, SqlError | SequenceConflict | StaleOwner>) => Promise<A>,
  ownBytes: (bytes: Uint8Array) => Uint8Array
): ReportLedgerStore => {
  const rowOf = (r: HourRow): StoredLedgerRow => ({ stream: r.stream, hour: Number(r.hour), seq: Number(r.seq), payload: ownBytes(r.payload) })
  return {
    saveReportLedger: (stream, rows, checkpoint) =>
      run("saveReportLedger", () =>
        sql.withTransaction(Effect.gen(function*() {
          for (let from = 0; from < rows.length; from += rowsPerInsert) {
            const part = rows.slice(from, from + rowsPerInsert)
            yield* sql`
              INSERT INTO report_hour (stream, hour, seq, payload)
              SELECT ${stream}, * FROM unnest(${part.map((r) => BigInt(r.hour))}::int8[], ${part.map((r) => BigInt(r.seq))}::int8[], ${part.map((r) => r.payload)}::bytea[])
              ON CONFLICT (stream, hour) DO UPDATE SET seq = EXCLUDED.seq, payload = EXCLUDED.payload`
          }
          yield* sql`
            INSERT INTO report_checkpoint (stream, seq, payload) VALUES (${stream}, ${BigInt(checkpoint.seq)}, ${checkpoint.payload})
            ON CONFLICT (stream) DO UPDATE SET seq = EXCLUDED.seq, payload = EXCLUDED.payload
            WHERE report_checkpoint.seq <= EXCLUDED.seq`
        }))),
    reportRows: (fromHour, toHour) =>
      run("reportRows", () =>
        Effect.map(
          sql<HourRow>`
            SELECT stream, hour, seq, payload FROM report_hour
            WHERE hour >= ${BigInt(fromHour)} AND hour < ${BigInt(toHour)} ORDER BY stream, hour`,
          (rows) => rows.map(rowOf)
        )),
    reportRowsBefore: (hour) =>
      run("reportRowsBefore", () =>
        Effect.map(
          sql<HourRow>`
            SELECT DISTINCT ON (stream) stream, hour, seq, payload FROM report_hour
            WHERE hour < ${BigInt(hour)} ORDER BY stream, hour DESC`,
          (rows) => rows.map(rowOf)
        )),
    reportCheckpoints: () =>
      run("reportCheckpoints", () =>
        Effect.map(
          sql<CheckpointRow>`SELECT stream, seq, payload FROM report_checkpoint ORDER BY stream`,
          (rows) => rows.map((r): StoredLedgerCheckpoint => ({ stream: r.stream, seq: Number(r.seq), payload: ownBytes(r.payload) }))
        ))
  }
}
