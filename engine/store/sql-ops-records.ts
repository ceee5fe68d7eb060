/**
 * The ops console's records (ops-records.ts) in the tables `ops_alert` and
 * `ops_audit` (migration 5_ops_alerts_audit), over the journal's effect/sql
 * client and with its deadlines.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { SequenceConflict, StaleOwner } from "../domain/errors.ts"
import type { OpsAlertRow, OpsAuditEntry, OpsRecordStore } from "./ops-records.ts"

interface AlertRow {
  readonly key: string
  readonly kind: string
  readonly severity: string
  readonly last_at: bigint
  readonly body: string
}

interface AuditRow {
  readonly id: bigint
  readonly at: bigint
  readonly who: string
  readonly action: string
  readonly target: string
  readonly reason: string
  readonly detail: string
}

const alertOf = (r: AlertRow): OpsAlertRow => ({ key: r.key, kind: r.kind, severity: r.severity, lastAt: Number(r.last_at), body: r.body })
const auditOf = (r: AuditRow): OpsAuditEntry => ({
  id: Number(r.id), at: Number(r.at), who: r.who, action: r.action, target: r.target, reason: r.reason, detail: r.detail
})

export const sqlOpsRecords = (
  sql: SqlClient,
  run: <A>(operation: string, effect: () => Effect.Effect<A, SqlError | SequenceConflict | StaleOwner>) => Promise<A>
): OpsRecordStore => ({
  saveAlerts: (rows, deleted) =>
    run("saveAlerts", () =>
      sql.withTransaction(Effect.gen(function*() {
        if (rows.length > 0) {
          yield* sql`
            INSERT INTO ops_alert (key, kind, severity, last_at, body)
            SELECT * FROM unnest(${rows.map((r) => r.key)}::text[], ${rows.map((r) => r.kind)}::text[], ${rows.map((r) => r.severity)}::text[],
              ${rows.map((r) => BigInt(r.lastAt))}::int8[], ${rows.map((r) => r.body)}::text[])
            ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, severity = excluded.severity, last_at = excluded.last_at, body = excluded.body`
        }
        if (deleted.length > 0) yield* sql`DELETE FROM ops_alert WHERE key = ANY(${[...deleted]}::text[])`
      }))),
  loadAlerts: (limit) =>
    run("loadAlerts", () =>
      Effect.map(sql<AlertRow>`SELECT key, kind, severity, last_at, body FROM ops_alert ORDER BY last_at DESC LIMIT ${limit}`, (rows) => rows.map(alertOf))),
  appendAudit: (entry) =>
    run("appendAudit", () =>
      Effect.map(
        sql<AuditRow>`
          INSERT INTO ops_audit (at, who, action, target, reason, detail)
          VALUES (${BigInt(entry.at)}, ${entry.who}, ${entry.action}, ${entry.target}, ${entry.reason}, ${entry.detail})
          RETURNING id, at, who, action, target, reason, detail`,
        (rows) => auditOf(rows[0])
      )),
  readAudit: (limit, beforeId) =>
    run("readAudit", () =>
      Effect.map(
        beforeId === undefined
          ? sql<AuditRow>`SELECT id, at, who, action, target, reason, detail FROM ops_audit ORDER BY id DESC LIMIT ${limit}`
          : sql<AuditRow>`SELECT id, at, who, action, target, reason, detail FROM ops_audit WHERE id < ${BigInt(beforeId)} ORDER BY id DESC LIMIT ${limit}`,
        (rows) => rows.map(auditOf)
      ))
})
