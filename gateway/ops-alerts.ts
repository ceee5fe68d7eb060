/**
 * Alerts as a workflow: the gateway turns each merged ops tick into alert
 * groups (ops-feed-types.ts AlertGroup) with a severity, one line per key
 * (low stock: one per SKU with its pools; node status, capacity, over
 * capacity: one per node; late and carrier-exception shipments: one per
 * order; hot SKU: one per SKU; engine and store: one each), counted and
 * time-stamped when raised again, resolved when their condition clears. Ops
 * acknowledge or mute (for a while) a group, with who and why.
 *
 * Memory is bounded by grouping and by opsAlertGroupsMax: past it, resolved
 * groups go first, then acknowledged, info and warning ones, oldest first;
 * an open critical group that nobody acknowledged is never dropped.
 *
 * Groups and their acknowledge and mute state are kept in the engine's store
 * (OpsRecordStore, table ops_alert): changed groups are written after each
 * tick, an acknowledge or mute before it is answered, and everything is read
 * back when the gateway starts.
 */
import { createHash } from "node:crypto"
import type { OpsRecordStore } from "../engine/index.ts"
import type { Alert, AlertGroup, AlertGroupKind, AlertSeverity, AlertsMessage, LowPool, OpsTick, PoolReading } from "./ops-feed-types.ts"

export const alertSeverity = (kind: AlertGroupKind, detail: { status?: string; pools?: ReadonlyArray<LowPool> } = {}): AlertSeverity => {
  switch (kind) {
    case "engine_not_running": case "store_errors": case "shipment_late": return "critical"
    case "node_status": return detail.status === "offline" ? "critical" : detail.status === "paused" ? "warning" : "info"
    case "node_over_capacity": case "shipment_exception": return "warning"
    case "low_stock": return detail.pools?.some((p) => p.atp <= 0) ? "warning" : "info"
    case "hot_sku": case "node_capacity": return "info"
  }
}

export const severityRank: Readonly<Record<AlertSeverity, number>> = { critical: 0, warning: 1, info: 2 }

/** Kinds that clear by themselves when a tick no longer raises them (the others wait for a person). */
const clearsWhenQuiet: ReadonlySet<AlertGroupKind> = new Set(["hot_sku", "store_errors", "engine_not_running"])

export const alertId = (key: string): string => createHash("sha256").update(key).digest("base64url").slice(0, 16)

/** The key of a feed alert: its kind and what it is about. */
const keyOf = (a: Alert): string => {
  switch (a.kind) {
    case "shipment_late": case "shipment_exception": return `${a.kind}|${a.orderId ?? a.shipmentId ?? ""}`
    case "engine_not_running": case "store_errors": return a.kind
    default: return `${a.kind}|${a.sku ?? ""}|${a.nodeId ?? ""}`
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export type AlertFilter = {
  readonly severity?: AlertSeverity
  readonly kind?: string
  /** open (default): not resolved and not muted; acknowledged, muted, resolved; all. */
  readonly state?: "open" | "acknowledged" | "unacknowledged" | "muted" | "resolved" | "all"
}

export type AlertRefusal = { readonly code: "alert_not_found" | "reason_required" | "mute_duration_invalid"; readonly message: string }

/** Longest mute (7 days); a reason is at most reasonLengthMax characters. */
export const muteMinutesMax = 7 * 24 * 60
export const reasonLengthMax = 500

export interface AlertBookLimits {
  readonly opsAlertGroupsMax: number
  readonly lowStockUnits: number
}

export class AlertBook {
  private readonly groups = new Map<string, Mutable<AlertGroup>>()
  private readonly byId = new Map<string, string>()
  private dirty = new Set<string>()
  private deleted = new Set<string>()
  private changed = new Set<string>()
  private removed = new Set<string>()
  private flushing: Promise<void> | undefined
  /** Node status and capacity at the previous tick (a change raises node_status / node_capacity). */
  private readonly nodesSeen = new Map<string, { status: string; capacityPerDay: number }>()

  constructor(private readonly limits: AlertBookLimits, private readonly store: OpsRecordStore | undefined, private readonly now: () => number = Date.now) {}

  /** Reads the groups kept in the store (once, before the first tick). */
  async load(): Promise<void> {
    if (!this.store) return
    for (const row of await this.store.loadAlerts(this.limits.opsAlertGroupsMax)) {
      try {
        const g = JSON.parse(row.body) as Mutable<AlertGroup>
        this.groups.set(g.key, g)
        this.byId.set(g.id, g.key)
      } catch {
        console.error(`gateway: alert ${row.key} in the store is not JSON; left out`)
      }
    }
  }

  get size(): number {
    return this.groups.size
  }

  get lowStockUnits(): number {
    return this.limits.lowStockUnits
  }

  private raise(key: string, kind: AlertGroupKind, message: string, about: Partial<Pick<AlertGroup, "sku" | "nodeId" | "orderId" | "shipmentId">>, at: number, severity?: AlertSeverity): Mutable<AlertGroup> {
    let g = this.groups.get(key)
    if (!g) {
      g = {
        id: alertId(key), key, kind, severity: severity ?? alertSeverity(kind), message, ...about,
        count: 1, firstAt: at, lastAt: at, resolvedAt: null, acknowledged: null, muted: null
      }
      this.groups.set(key, g)
      this.byId.set(g.id, key)
    } else {
      g.count++
      g.lastAt = at
      g.message = message
      if (severity) g.severity = severity
      // a condition that had cleared and is back is a new occurrence: acknowledged again by a person
      if (g.resolvedAt !== null) {
        g.resolvedAt = null
        g.acknowledged = null
      }
    }
    this.touch(key)
    return g
  }

  private resolve(g: Mutable<AlertGroup>, at: number): void {
    if (g.resolvedAt !== null) return
    g.resolvedAt = at
    this.touch(g.key)
  }

  private touch(key: string): void {
    this.dirty.add(key)
    this.changed.add(key)
    this.deleted.delete(key)
    this.removed.delete(key)
  }

  /** Folds one merged tick (and the pool readings of its interval) into the groups. */
  observe(tick: OpsTick, readings: ReadonlyArray<PoolReading>): void {
    const at = this.now()
    const raised = new Set<string>()
    for (const a of tick.alerts) {
      if (a.kind === "low_stock") continue // from the pool readings, with every pool of the SKU
      const key = keyOf(a)
      raised.add(key)
      this.raise(key, a.kind, a.message, { sku: a.sku, nodeId: a.nodeId, orderId: a.orderId, shipmentId: a.shipmentId }, at)
    }
    this.lowStock(readings, at)
    this.nodeChanges(tick, at)
    for (const g of this.groups.values()) {
      if (g.resolvedAt !== null) continue
      if (clearsWhenQuiet.has(g.kind) && !raised.has(g.key)) this.resolve(g, at)
    }
    if (tick.engine !== null && tick.engine.state === "running") {
      for (const g of this.groups.values()) if (g.kind === "engine_not_running") this.resolve(g, at)
    }
    this.evict()
  }

  private lowStock(readings: ReadonlyArray<PoolReading>, at: number): void {
    const { lowStockUnits } = this.limits
    for (const r of readings) {
      const key = `low_stock|${r.sku}`
      const g = this.groups.get(key)
      const low = r.atp <= lowStockUnits
      if (!g && !low) continue
      const pools = new Map((g?.pools ?? []).map((p) => [p.nodeId, p]))
      pools.set(r.nodeId, { nodeId: r.nodeId, atp: r.atp, at: r.at })
      const list = [...pools.values()].sort((a, b) => a.atp - b.atp || a.nodeId.localeCompare(b.nodeId))
      const lowOnes = list.filter((p) => p.atp <= lowStockUnits)
      const message = lowOnes.length === 0
        ? `${r.sku}: every pool back above ${lowStockUnits}`
        : `${r.sku}: ${lowOnes.length} pool${lowOnes.length > 1 ? "s" : ""} at or below ${lowStockUnits} (lowest ATP ${lowOnes[0].atp} at ${lowOnes[0].nodeId})`
      if (low) {
        const grp = this.raise(key, "low_stock", message, { sku: r.sku }, at, alertSeverity("low_stock", { pools: list }))
        grp.pools = list
      } else if (g) {
        g.pools = list
        g.message = message
        g.severity = alertSeverity("low_stock", { pools: lowOnes })
        this.touch(key)
        if (lowOnes.length === 0) this.resolve(g, at)
      }
    }
  }

  private nodeChanges(tick: OpsTick, at: number): void {
    const reasons = new Map(tick.nodes.statusChanges.map((c) => [c.nodeId, c.reason]))
    for (const n of tick.nodes.table) {
      const seen = this.nodesSeen.get(n.nodeId)
      this.nodesSeen.set(n.nodeId, { status: n.status, capacityPerDay: n.capacityPerDay })
      const statusKey = `node_status|${n.nodeId}`
      const existing = this.groups.get(statusKey)
      const openBefore = existing !== undefined && existing.resolvedAt === null
      // the first tick (after a restart too): a node not online raises unless its group is open; one back online resolves it
      const changedStatus = seen ? seen.status !== n.status : (n.status !== "online") !== openBefore
      const reason = reasons.get(n.nodeId)
      const message = `${n.nodeId} is ${n.status}${reason ? `: ${reason}` : ""}`
      if (changedStatus) {
        if (n.status === "online") {
          if (existing) {
            existing.message = message
            existing.severity = "info"
            existing.lastAt = at
            existing.count++
            this.touch(statusKey)
            this.resolve(existing, at)
          }
        } else this.raise(statusKey, "node_status", message, { nodeId: n.nodeId }, at, alertSeverity("node_status", { status: n.status }))
      } else if (reason !== undefined) {
        // the event of a change the node table showed a tick earlier (the view moves before the event is durable): its reason
        if (existing && (existing.resolvedAt === null || n.status === "online")) {
          existing.message = message
          this.touch(statusKey)
        } else if (n.status !== "online") this.raise(statusKey, "node_status", message, { nodeId: n.nodeId }, at, alertSeverity("node_status", { status: n.status }))
      }
      if (seen && seen.capacityPerDay !== n.capacityPerDay) {
        this.raise(`node_capacity|${n.nodeId}`, "node_capacity", `${n.nodeId}: daily capacity ${seen.capacityPerDay} -> ${n.capacityPerDay}`, { nodeId: n.nodeId }, at)
      }
      const over = this.groups.get(`node_over_capacity||${n.nodeId}`)
      if (over && over.resolvedAt === null && n.shipmentsToday < n.capacityPerDay) this.resolve(over, at)
    }
  }

  /** Past opsAlertGroupsMax: resolved, then acknowledged, info, warning groups go, oldest first; unacknowledged open critical ones stay. */
  private evict(): void {
    const excess = this.groups.size - this.limits.opsAlertGroupsMax
    if (excess <= 0) return
    const rank = (g: AlertGroup): number =>
      g.resolvedAt !== null ? 0 : g.acknowledged !== null && g.severity !== "critical" ? 1 : g.severity === "info" ? 2 : g.severity === "warning" ? 3 : g.acknowledged !== null ? 4 : 5
    const candidates = [...this.groups.values()].filter((g) => rank(g) < 5).sort((a, b) => rank(a) - rank(b) || a.lastAt - b.lastAt)
    for (const g of candidates.slice(0, excess)) {
      this.groups.delete(g.key)
      this.byId.delete(g.id)
      this.dirty.delete(g.key)
      this.changed.delete(g.key)
      this.deleted.add(g.key)
      this.removed.add(g.key)
    }
  }

  private withMuteExpired(g: Mutable<AlertGroup>): AlertGroup {
    if (g.muted !== null && g.muted.until <= this.now()) {
      g.muted = null
      this.touch(g.key)
    }
    return g
  }

  /** Groups matching the filter: most severe first, then not acknowledged, then last seen newest. */
  list(filter: AlertFilter = {}): Array<AlertGroup> {
    const state = filter.state ?? "open"
    const out: Array<AlertGroup> = []
    for (const raw of this.groups.values()) {
      const g = this.withMuteExpired(raw)
      if (filter.severity && g.severity !== filter.severity) continue
      if (filter.kind && g.kind !== filter.kind) continue
      const open = g.resolvedAt === null
      const ok = state === "all" ? true
        : state === "open" ? open && g.muted === null
        : state === "acknowledged" ? g.acknowledged !== null
        : state === "unacknowledged" ? open && g.acknowledged === null && g.muted === null
        : state === "muted" ? g.muted !== null
        : !open
      if (ok) out.push(g)
    }
    return out.sort(byUrgency)
  }

  get(id: string): AlertGroup | undefined {
    const key = this.byId.get(id)
    return key === undefined ? undefined : this.groups.get(key)
  }

  private checked(id: string, reason: unknown): { g: Mutable<AlertGroup>; reason: string } | AlertRefusal {
    const key = this.byId.get(id)
    const g = key === undefined ? undefined : this.groups.get(key)
    if (!g) return { code: "alert_not_found", message: `no alert has the id ${id}` }
    const why = typeof reason === "string" ? reason.trim() : ""
    if (why === "" || why.length > reasonLengthMax) return { code: "reason_required", message: `reason: say why, in 1..${reasonLengthMax} characters` }
    return { g, reason: why }
  }

  /** Acknowledges a group (by whom, why); kept in the store before it resolves. */
  async acknowledge(id: string, by: string, reason: unknown): Promise<AlertGroup | AlertRefusal> {
    const c = this.checked(id, reason)
    if ("code" in c) return c
    c.g.acknowledged = { by, reason: c.reason, at: this.now() }
    this.touch(c.g.key)
    await this.flush()
    return c.g
  }

  /** Mutes a group for `minutes` (1..muteMinutesMax); 0 unmutes it. */
  async mute(id: string, by: string, reason: unknown, minutes: unknown): Promise<AlertGroup | AlertRefusal> {
    const c = this.checked(id, reason)
    if ("code" in c) return c
    if (typeof minutes !== "number" || !Number.isInteger(minutes) || minutes < 0 || minutes > muteMinutesMax) {
      return { code: "mute_duration_invalid", message: `minutes: a whole number of minutes, 0 (unmute) to ${muteMinutesMax}` }
    }
    const at = this.now()
    c.g.muted = minutes === 0 ? null : { by, reason: c.reason, at, until: at + minutes * 60_000 }
    this.touch(c.g.key)
    await this.flush()
    return c.g
  }

  /** The groups changed (and keys removed) since the last call, for the viewers. */
  takeChanges(): AlertsMessage {
    const groups = [...this.changed].flatMap((k) => {
      const g = this.groups.get(k)
      return g ? [this.withMuteExpired(g)] : []
    })
    const message = { full: false, groups, removed: [...this.removed], lowStockUnits: this.limits.lowStockUnits }
    this.changed = new Set()
    this.removed = new Set()
    return message
  }

  /** Every group, for a viewer that just connected. */
  everything(): AlertsMessage {
    return { full: true, groups: this.list({ state: "all" }), removed: [], lowStockUnits: this.limits.lowStockUnits }
  }

  /** Writes the changed groups to the store (one write at a time; a failure keeps them for the next). */
  flush(): Promise<void> {
    if (!this.store) {
      this.dirty.clear()
      this.deleted.clear()
      return Promise.resolve()
    }
    const store = this.store
    const run = async (): Promise<void> => {
      if (this.dirty.size === 0 && this.deleted.size === 0) return
      const keys = [...this.dirty]
      const deleted = [...this.deleted]
      this.dirty = new Set()
      this.deleted = new Set()
      const rows = keys.flatMap((k) => {
        const g = this.groups.get(k)
        return g ? [{ key: k, kind: g.kind, severity: g.severity, lastAt: g.lastAt, body: JSON.stringify(g) }] : []
      })
      try {
        await store.saveAlerts(rows, deleted)
      } catch (e) {
        for (const k of keys) if (this.groups.has(k)) this.dirty.add(k)
        for (const k of deleted) if (!this.groups.has(k)) this.deleted.add(k)
        throw e
      }
    }
    const next = (this.flushing ?? Promise.resolve()).catch(() => undefined).then(run)
    this.flushing = next.finally(() => {
      if (this.flushing === next) this.flushing = undefined
    })
    return next
  }
}

export const byUrgency = (a: AlertGroup, b: AlertGroup): number =>
  severityRank[a.severity] - severityRank[b.severity] ||
  Number(a.resolvedAt !== null) - Number(b.resolvedAt !== null) ||
  Number(a.acknowledged !== null) - Number(b.acknowledged !== null) ||
  b.lastAt - a.lastAt

export const isRefusal = (x: AlertGroup | AlertRefusal): x is AlertRefusal => "code" in x && !("id" in x)
