/**
 * What the ops console keeps in the engine's store besides the journal: the
 * alert groups with their acknowledge and mute state (table `ops_alert`) and
 * the audit log of ops actions (table `ops_audit`), so both survive a
 * gateway restart. The gateway owns their meaning (gateway/ops-alerts.ts,
 * gateway/ops-audit.ts); the store only keeps rows. One contract, two
 * implementations: SQL (sql-ops-records.ts, embedded PGlite and PostgreSQL)
 * and memory (below, for stores that are not durable).
 */

/** One alert group as stored: its key, what filters read, and the gateway's JSON of the rest. */
export interface OpsAlertRow {
  readonly key: string
  readonly kind: string
  readonly severity: string
  readonly lastAt: number
  /** The group as the gateway keeps it (JSON text, at most a few KB). */
  readonly body: string
}

export interface OpsAuditEntry {
  /** Assigned by the store, increasing. */
  readonly id: number
  readonly at: number
  readonly who: string
  readonly action: string
  readonly target: string
  readonly reason: string
  /** What was sent, shortened (JSON text). */
  readonly detail: string
}

export interface OpsRecordStore {
  /** Inserts or replaces these groups and deletes those keys, in one transaction. */
  saveAlerts(rows: ReadonlyArray<OpsAlertRow>, deleted: ReadonlyArray<string>): Promise<void>
  /** Every stored group, newest last-seen first, at most `limit`. */
  loadAlerts(limit: number): Promise<ReadonlyArray<OpsAlertRow>>
  /** Appends one entry and returns it with its id. */
  appendAudit(entry: Omit<OpsAuditEntry, "id">): Promise<OpsAuditEntry>
  /** Entries with an id below `beforeId` (all when undefined), newest first, at most `limit`. */
  readAudit(limit: number, beforeId?: number): Promise<ReadonlyArray<OpsAuditEntry>>
}

/** Ops records in process memory (a store that is not durable: tests, MemoryJournal). */
export const memoryOpsRecords = (): OpsRecordStore => {
  const alerts = new Map<string, OpsAlertRow>()
  const audit: Array<OpsAuditEntry> = []
  return {
    saveAlerts: async (rows, deleted) => {
      for (const r of rows) alerts.set(r.key, r)
      for (const k of deleted) alerts.delete(k)
    },
    loadAlerts: async (limit) => [...alerts.values()].sort((a, b) => b.lastAt - a.lastAt).slice(0, limit),
    appendAudit: async (entry) => {
      const e = { ...entry, id: audit.length + 1 }
      audit.push(e)
      return e
    },
    readAudit: async (limit, beforeId) =>
      audit.filter((e) => beforeId === undefined || e.id < beforeId).reverse().slice(0, limit)
  }
}
