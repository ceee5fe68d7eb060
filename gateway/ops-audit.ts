/**
 * The audit log of ops actions: every change an ops token makes (node status,
 * inventory, admin upserts, alert acknowledge and mute...) with who (the
 * token's name, keys.ts), what (the action and its target), why (the reason
 * given) and when. Kept in the engine's store (OpsRecordStore, table
 * ops_audit) when the gateway owns the engine, so it survives restarts;
 * read through GET /v1/ops/audit and shown on the dashboard.
 */
import { memoryOpsRecords, type OpsAuditEntry, type OpsRecordStore } from "../engine/index.ts"
import type { AuditEntry } from "./ops-feed-types.ts"

/** The feed's AuditEntry (ops-feed-types.ts imports nothing, so it is written out there) is the store's entry: checked here. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
export const auditEntryIsStored: Same<AuditEntry, OpsAuditEntry> = true

/** Characters of the request kept as an entry's detail. */
export const auditDetailLengthMax = 1_000
/** Entries one read returns at most. */
export const auditReadMax = 500

/** An ops action to record: who did what to which target, why, and what was sent. */
export interface ActionDone {
  readonly who: string
  readonly action: string
  readonly target: string
  readonly reason?: string
  readonly detail?: unknown
}

export class AuditLog {
  private readonly listeners = new Set<(e: AuditEntry) => void>()
  private readonly store: OpsRecordStore

  /** `durable`: false when the records live in this process only (no engine store here). */
  constructor(store: OpsRecordStore | undefined, private readonly now: () => number = Date.now) {
    this.durable = store !== undefined
    this.store = store ?? memoryOpsRecords()
  }

  readonly durable: boolean

  /** An entry as it is stored: reason and detail as text, cut to auditDetailLengthMax. */
  shaped(entry: ActionDone): { who: string; action: string; target: string; reason: string; detail: string } {
    const detail = entry.detail === undefined ? "" : typeof entry.detail === "string" ? entry.detail : JSON.stringify(entry.detail) ?? ""
    return {
      who: entry.who, action: entry.action, target: entry.target,
      reason: (entry.reason ?? "").slice(0, auditDetailLengthMax),
      detail: detail.length > auditDetailLengthMax ? `${detail.slice(0, auditDetailLengthMax - 1)}…` : detail
    }
  }

  /** Records one action; resolves once it is stored. */
  async record(entry: ActionDone): Promise<AuditEntry> {
    const stored = await this.store.appendAudit({ at: this.now(), ...this.shaped(entry) })
    for (const l of this.listeners) l(stored)
    return stored
  }

  /** Newest first, at most `limit` (1..auditReadMax), before the entry `beforeId` when given. */
  read(limit: number, beforeId?: number): Promise<ReadonlyArray<AuditEntry>> {
    return this.store.readAudit(Math.max(1, Math.min(auditReadMax, limit)), beforeId)
  }

  /** Hears every entry recorded from now on (the ops feed pushes them to viewers). */
  onRecord(listener: (e: AuditEntry) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
