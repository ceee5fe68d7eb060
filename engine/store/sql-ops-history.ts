/**
 * The ops feed's history in the journal's database (tables `ops_history` and
 * `ops_counter`, migration 4_ops_history), over the same effect/sql client
 * and deadlines as the journal: chart points at a resolution (1 s, 1 min)
 * and counters per stream (rejections and short picks per node), so that the
 * dashboard's charts and counters survive a restart of the gateway. What is
 * kept and for how long is the gateway's (gateway/ops-history.ts).
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { SequenceConflict, StaleOwner } from "../domain/errors.ts"

/** One chart point: its figures (null: no value, e.g. no order in the interval). */
export interface OpsPoint {
  readonly at: number
  readonly figures: ReadonlyArray<number | null>
}

export interface OpsHistoryStore {
  /** Stores points of a resolution; a point already stored at that time is replaced. */
  savePoints(resolutionSec: number, points: ReadonlyArray<OpsPoint>): Promise<void>
  /** Points of a resolution at or after `fromMs`, oldest first. */
  loadPoints(resolutionSec: number, fromMs: number): Promise<ReadonlyArray<OpsPoint>>
  /** Deletes points of a resolution older than `beforeMs`. */
  prunePoints(resolutionSec: number, beforeMs: number): Promise<void>
  /** Sets counters of a stream to these values. */
  saveCounters(stream: string, counters: ReadonlyArray<{ readonly name: string; readonly value: number }>): Promise<void>
  /** Every counter of a stream. */
  loadCounters(stream: string): Promise<ReadonlyArray<{ readonly name: string; readonly value: number }>>
}

const finite = (figures: ReadonlyArray<number | null>): Array<number | null> => figures.map((f) => (f === null || !Number.isFinite(f) ? null : f))

export const sqlOpsHistoryStore = (
  sql: SqlClient,
  run: <A>(operation: string, effect: () => Effect.Effect<A, SqlError | SequenceConflict | StaleOwner>) => Promise<A>
): OpsHistoryStore => ({
  savePoints: (resolutionSec, points) =>
    points.length === 0 ? Promise.resolve() : run("savePoints", () =>
      Effect.asVoid(sql`
        INSERT INTO ops_history (resolution_s, at, figures)
        SELECT ${resolutionSec}, at, figures::jsonb FROM unnest(${points.map((p) => BigInt(Math.round(p.at)))}::int8[], ${points.map((p) => JSON.stringify(finite(p.figures)))}::text[]) AS t(at, figures)
        ON CONFLICT (resolution_s, at) DO UPDATE SET figures = excluded.figures`)),
  loadPoints: (resolutionSec, fromMs) =>
    run("loadPoints", () =>
      Effect.map(
        sql<{ readonly at: bigint | string; readonly figures: string }>`
          SELECT at, figures::text AS figures FROM ops_history
          WHERE resolution_s = ${resolutionSec} AND at >= ${BigInt(Math.round(fromMs))}
          ORDER BY at`,
        (rows) => rows.map((r) => ({ at: Number(r.at), figures: JSON.parse(r.figures) as Array<number | null> }))
      )),
  prunePoints: (resolutionSec, beforeMs) =>
    run("prunePoints", () => Effect.asVoid(sql`DELETE FROM ops_history WHERE resolution_s = ${resolutionSec} AND at < ${BigInt(Math.round(beforeMs))}`)),
  saveCounters: (stream, counters) =>
    counters.length === 0 ? Promise.resolve() : run("saveCounters", () =>
      Effect.asVoid(sql`
        INSERT INTO ops_counter (stream, name, value)
        SELECT ${stream}, name, value FROM unnest(${counters.map((c) => c.name)}::text[], ${counters.map((c) => BigInt(c.value))}::int8[]) AS t(name, value)
        ON CONFLICT (stream, name) DO UPDATE SET value = excluded.value`)),
  loadCounters: (stream) =>
    run("loadCounters", () =>
      Effect.map(
        sql<{ readonly name: string; readonly value: bigint | string }>`SELECT name, value FROM ops_counter WHERE stream = ${stream}`,
        (rows) => rows.map((r) => ({ name: r.name, value: Number(r.value) }))
      ))
})
