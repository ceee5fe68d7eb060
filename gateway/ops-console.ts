/**
 * The ops console's server side, beyond the live feed: the alert groups
 * (ops-alerts.ts) and the audit log (ops-audit.ts), with their HTTP routes
 * (GET /v1/ops/alerts, POST /v1/ops/alerts/:alertId/acknowledge and /mute,
 * GET /v1/ops/audit, and the owner's POST /internal/v1/audit) and what the
 * /ops feed carries of them (every group in the `hello`; in each `tick`, the
 * groups changed and the audit entries recorded since the previous one).
 *
 * Where they live: the engine owner keeps both in the engine's store (they
 * survive restarts); a cluster gateway keeps them in its memory (each
 * cluster gateway merges the runners' figures itself); an edge gateway keeps
 * neither: it forwards the alert and audit routes to the owner with the
 * caller's own token, and records what ops did through it in the owner's log
 * (with the internal token).
 */
import { Schema } from "effect"
import type { GatewayConfig } from "./config.ts"
import { LocalEngine, RemoteEngine, type EngineAccess } from "./engine-access.ts"
import { gatewayError, type ErrorBody } from "./errors.ts"
import type { HttpAnswer, HttpCall } from "./http-io.ts"
import type { Principal } from "./keys.ts"
import { AlertBook, isRefusal, reasonLengthMax, type AlertFilter } from "./ops-alerts.ts"
import { AuditLog, auditDetailLengthMax } from "./ops-audit.ts"
import type { AlertSeverity, AlertsMessage, AuditEntry, OpsTick, PoolReading } from "./ops-feed-types.ts"
import { decoderOf } from "./payloads.ts"

/** Audit entries a tick carries at most (more in one tick: the page reads the log again). */
export const auditPerTickMax = 100

export class OpsConsole {
  private auditSinceTick: Array<AuditEntry> = []

  private constructor(readonly alerts: AlertBook | undefined, readonly audit: AuditLog, readonly owner?: RemoteEngine) {
    audit.onRecord((e) => {
      if (this.auditSinceTick.length < auditPerTickMax) this.auditSinceTick.push(e)
    })
  }

  /** Opens the console for this gateway (see the module comment), reading back what the store keeps. */
  static async open(engine: EngineAccess, config: GatewayConfig, clusterGateway: boolean): Promise<OpsConsole> {
    if (engine instanceof RemoteEngine) return new OpsConsole(undefined, new AuditLog(undefined), engine)
    const store = engine instanceof LocalEngine ? engine.opsRecords() : undefined
    const book = engine instanceof LocalEngine || clusterGateway ? new AlertBook(config, store) : undefined
    await book?.load()
    return new OpsConsole(book, new AuditLog(store))
  }

  /** An ops console with no store (tests, and gateways made without one). */
  static inMemory(config: GatewayConfig): OpsConsole {
    return new OpsConsole(new AlertBook(config, undefined), new AuditLog(undefined))
  }

  /**
   * The tick as viewers get it: the alert groups fold it in, and it carries
   * the groups changed and the audit entries recorded since the previous one
   * (so the feed stays one message per tick). Stores the changed groups in the
   * background; a failed write is tried again with the next tick.
   */
  withTick(tick: OpsTick, readings: ReadonlyArray<PoolReading>): OpsTick {
    const audit = this.auditSinceTick
    this.auditSinceTick = []
    let alertGroups: AlertsMessage | undefined
    if (this.alerts) {
      this.alerts.observe(tick, readings)
      const changes = this.alerts.takeChanges()
      if (changes.groups.length > 0 || changes.removed.length > 0) alertGroups = changes
      this.alerts.flush().catch((e: unknown) => console.error(`gateway: alerts could not be stored: ${String(e)}`))
    }
    return { ...tick, ...(alertGroups ? { alertGroups } : {}), ...(audit.length > 0 ? { audit } : {}) }
  }
}

const severities: ReadonlyArray<string> = ["critical", "warning", "info"]
const states: ReadonlyArray<string> = ["open", "acknowledged", "unacknowledged", "muted", "resolved", "all"]

const text = (max: number) => Schema.String.check(Schema.isMaxLength(max))
/** What an edge sends the owner for its audit log. */
const AuditRecord = Schema.Struct({
  who: text(200), action: text(200), target: text(1_000), reason: text(reasonLengthMax * 2), detail: text(auditDetailLengthMax)
})

/** An edge asks the owner, with the caller's own key, and passes its answer on. */
const forward = async (owner: RemoteEngine, call: HttpCall): Promise<HttpAnswer> => {
  const query = call.query.toString()
  const res = await fetch(`${owner.ownerUrl}${call.path}${query ? `?${query}` : ""}`, {
    method: call.method.toUpperCase(),
    headers: { authorization: `Bearer ${call.key}`, ...(call.body === undefined ? {} : { "content-type": "application/json" }) },
    body: call.body === undefined ? undefined : JSON.stringify(call.body),
    signal: AbortSignal.timeout(10_000)
  }).catch(() => undefined)
  if (!res) return { status: 503, body: { error: gatewayError("engine_unreachable", "the engine owner did not answer") } }
  return { status: res.status, body: await res.json().catch(() => ({ error: gatewayError("engine_unreachable", "the engine owner's answer was not JSON") })) }
}

/** The HTTP side (routes in http-api.ts); every answer is JSON or a named error. */
export const opsConsoleHandlers = (ops: OpsConsole | undefined, err: (e: ErrorBody) => HttpAnswer) => {
  const noAlerts = () => err(gatewayError("alerts_not_kept_here", "this gateway keeps no alerts; ask the engine owner's gateway"))
  const who = (p: Principal): string => (p.kind === "ops" ? p.name : p.kind)
  const body = (call: HttpCall): Record<string, unknown> => (typeof call.body === "object" && call.body !== null ? call.body as Record<string, unknown> : {})
  const auditRecord = decoderOf(AuditRecord)

  return {
    list: async (call: HttpCall): Promise<HttpAnswer> => {
      if (ops?.owner) return forward(ops.owner, call)
      if (!ops?.alerts) return noAlerts()
      const severity = call.query.get("severity") ?? undefined
      const state = call.query.get("state") ?? undefined
      const kind = call.query.get("kind") ?? undefined
      if (severity !== undefined && !severities.includes(severity)) return err(gatewayError("invalid_filter", `severity: one of ${severities.join(", ")}`))
      if (state !== undefined && !states.includes(state)) return err(gatewayError("invalid_filter", `state: one of ${states.join(", ")}`))
      if (kind !== undefined && !/^[a-z_]{1,40}$/.test(kind)) return err(gatewayError("invalid_filter", "kind: an alert kind such as low_stock"))
      const filter: AlertFilter = { severity: severity as AlertSeverity | undefined, state: state as AlertFilter["state"], kind }
      return { status: 200, body: { alerts: ops.alerts.list(filter), groups: ops.alerts.size, lowStockUnits: ops.alerts.lowStockUnits } }
    },
    act: (action: "acknowledge" | "mute") => async (call: HttpCall, p: Principal): Promise<HttpAnswer> => {
      if (ops?.owner) return forward(ops.owner, call)
      if (!ops?.alerts) return noAlerts()
      const id = call.params[0]
      const b = body(call)
      const done = action === "acknowledge"
        ? await ops.alerts.acknowledge(id, who(p), b.reason)
        : await ops.alerts.mute(id, who(p), b.reason, b.minutes)
      if (isRefusal(done)) return err(gatewayError(done.code, done.message))
      await ops.audit.record({
        who: who(p), action: `alert.${action}`, target: done.key, reason: String(b.reason).trim(),
        detail: action === "mute" ? { minutes: b.minutes } : undefined
      })
      return { status: 200, body: { alert: done } }
    },
    audit: async (call: HttpCall): Promise<HttpAnswer> => {
      if (ops?.owner) return forward(ops.owner, call)
      const limit = call.query.get("limit")
      const before = call.query.get("before")
      const n = limit === null ? 100 : Number(limit)
      const b = before === null ? undefined : Number(before)
      if (!Number.isInteger(n) || n < 1 || n > 500) return err(gatewayError("invalid_filter", "limit: 1..500"))
      if (b !== undefined && (!Number.isInteger(b) || b < 1)) return err(gatewayError("invalid_filter", "before: an entry id"))
      const audit = ops?.audit
      return { status: 200, body: { entries: audit ? await audit.read(n, b) : [], durable: audit?.durable ?? false } }
    },
    /** POST /internal/v1/audit: an edge's entry, recorded here (the owner). */
    recordFromEdge: async (call: HttpCall): Promise<HttpAnswer> => {
      if (!ops || ops.owner) return err(gatewayError("not_found", "this gateway does not own the engine"))
      const d = call.body === undefined ? undefined : auditRecord(call.body)
      if (!d?.ok) return err(d?.error ?? gatewayError("malformed_json", "this route needs a JSON body"))
      return { status: 200, body: { entry: await ops.audit.record(d.value) } }
    },
    /** Records an ops mutation made through another route (after it succeeded); an edge records it at the owner. */
    record: async (p: Principal, action: string, call: HttpCall): Promise<void> => {
      if (!ops || p.kind !== "ops") return
      const b = body(call)
      const reason = typeof b.reason === "string" ? b.reason : typeof b.reference === "string" ? b.reference : ""
      const { reason: _r, ...rest } = b
      const entry = { who: p.name, action, target: call.path, reason, detail: call.rawBody ? `${call.rawBody.length} bytes` : rest }
      try {
        if (ops.owner) await ops.owner.recordAudit(ops.audit.shaped(entry))
        else await ops.audit.record(entry)
      } catch (e) {
        console.error(`gateway: audit entry for ${action} could not be stored: ${String(e)}`)
      }
    }
  }
}
