/**
 * Alerts as a workflow (ops-alerts.ts): grouping (many low pools of a SKU
 * make one line that follows each pool's ATP and resolves when all are back),
 * repeated alerts counted on their line, node status changes raised and
 * resolved, critical alerts never evicted, acknowledge and mute with who and
 * why and their refusals, and the groups read back from the store.
 */
import { describe, expect, it } from "vitest"
import { memoryOpsRecords } from "../engine/index.ts"
import { AlertBook, isRefusal } from "./ops-alerts.ts"
import type { Alert, NodeRow, OpsTick } from "./ops-feed-types.ts"

const node = (nodeId: string, status = "online", capacityPerDay = 100, shipmentsToday = 0): NodeRow =>
  ({ nodeId, kind: "warehouse", status, shipmentsToday, capacityPerDay, load: shipmentsToday / capacityPerDay, rejections: 0, shortPicks: 0 })

const tick = (alerts: ReadonlyArray<Alert> = [], table: ReadonlyArray<NodeRow> = [node("N1")], statusChanges: OpsTick["nodes"]["statusChanges"] = []): OpsTick => ({
  at: 0, intervalMs: 1000,
  metrics: { ordersPerSec: 0, reservationsPerSec: 0, requestsPerSec: 0, latencyMs: { p50: 0, p90: 0, p99: 0 }, fillRate: null, splitRate: null, backorderedUnits: 0, cancellations: 0, reroutes: 0 },
  routing: { byReason: {}, samples: [] }, nodes: { statusChanges, busiest: [], table }, arcs: [],
  holds: { open: 0, expiringSoon: 0, expired: 0 }, skus: { hot: [], low: [] }, alerts, alertsDropped: 0,
  engine: { state: "running", mailbox: 0, lastCommitMs: 0 }
})

const limits = { opsAlertGroupsMax: 50, lowStockUnits: 5 }

describe("alert groups", () => {
  it("makes one low-stock line per SKU whatever the number of pools, with each pool's ATP now, and resolves it when all are back", () => {
    const book = new AlertBook(limits, undefined)
    const readings = Array.from({ length: 40 }, (_, i) => ({ sku: "SKU-1", nodeId: `N${i}`, atp: i % 4, at: 1_000 + i }))
    book.observe(tick(), readings)
    const low = book.list({ kind: "low_stock" })
    expect(low).toHaveLength(1)
    expect(low[0].pools).toHaveLength(40)
    expect(low[0].severity).toBe("warning") // some pools are at 0
    expect(low[0].message).toMatch(/SKU-1: 40 pools at or below 5 \(lowest ATP 0/)
    // a pool read again shows its ATP now, with the time of the change
    book.observe(tick(), [{ sku: "SKU-1", nodeId: "N3", atp: 2, at: 5_000 }])
    expect(book.list({ kind: "low_stock" })[0].pools!.find((p) => p.nodeId === "N3")).toEqual({ nodeId: "N3", atp: 2, at: 5_000 })
    // every pool back above the threshold: resolved, the line kept with the ATP now
    book.observe(tick(), readings.map((r) => ({ ...r, atp: 9, at: 6_000 })))
    expect(book.list({ kind: "low_stock" })).toHaveLength(0)
    const resolved = book.list({ kind: "low_stock", state: "resolved" })
    expect(resolved).toHaveLength(1)
    expect(resolved[0].pools!.every((p) => p.atp === 9 && p.at === 6_000)).toBe(true)
  })

  it("counts a repeated alert on its line, and keeps late shipments (critical) first", () => {
    const book = new AlertBook(limits, undefined)
    const late: Alert = { kind: "shipment_late", orderId: "o1", shipmentId: "o1-s1", message: "o1-s1 late" }
    const hot: Alert = { kind: "hot_sku", sku: "SKU-2", message: "hot" }
    for (let i = 0; i < 5; i++) book.observe(tick([hot, late]), [])
    const open = book.list()
    expect(open.map((g) => [g.kind, g.count, g.severity])).toEqual([["shipment_late", 5, "critical"], ["hot_sku", 5, "info"]])
    // hot SKU clears by itself when a tick no longer raises it; a late shipment waits for a person
    book.observe(tick(), [])
    expect(book.list().map((g) => g.kind)).toEqual(["shipment_late"])
  })

  it("raises node pauses and outages, and resolves them when the node is back online", () => {
    const book = new AlertBook(limits, undefined)
    book.observe(tick([], [node("N1"), node("N2")]), [])
    expect(book.list()).toHaveLength(0)
    book.observe(tick([], [node("N1", "paused"), node("N2", "offline")], [{ nodeId: "N1", status: "paused", reason: "inventory count" }]), [])
    const open = book.list()
    expect(open.map((g) => [g.kind, g.nodeId, g.severity])).toEqual([["node_status", "N2", "critical"], ["node_status", "N1", "warning"]])
    expect(open[1].message).toBe("N1 is paused: inventory count")
    // the node table may show a change a tick before its event (and reason): one occurrence, the reason added
    book.observe(tick([], [node("N1"), node("N2", "offline"), node("N3", "paused")]), [])
    book.observe(tick([], [node("N1"), node("N2", "offline"), node("N3", "paused")], [{ nodeId: "N3", status: "paused", reason: "lunch" }]), [])
    expect(book.list({ kind: "node_status" }).find((g) => g.nodeId === "N3")).toMatchObject({ count: 1, message: "N3 is paused: lunch" })
    book.observe(tick([], [node("N1"), node("N2", "offline", 200), node("N3", "paused")]), [])
    expect(book.list().map((g) => [g.kind, g.nodeId])).toEqual([["node_status", "N2"], ["node_status", "N3"], ["node_capacity", "N2"]])
    expect(book.list({ state: "resolved" }).map((g) => g.nodeId)).toEqual(["N1"])
  })

  it("never evicts an open critical group nobody acknowledged; drops resolved and less severe ones first", () => {
    const book = new AlertBook({ ...limits, opsAlertGroupsMax: 10 }, undefined)
    for (let i = 0; i < 30; i++) book.observe(tick([{ kind: "shipment_late", orderId: `o${i}`, message: `late ${i}` }]), [])
    for (let i = 0; i < 30; i++) book.observe(tick([{ kind: "shipment_exception", orderId: `x${i}`, message: `exception ${i}` }]), [])
    expect(book.list({ severity: "critical" })).toHaveLength(30)
    expect(book.list({ kind: "shipment_exception" })).toHaveLength(0)
  })

  it("acknowledges and mutes with who and why, refuses without a reason or with a bad duration, and reads it all back from the store", async () => {
    const store = memoryOpsRecords()
    let now = 1_000_000
    const book = new AlertBook(limits, store, () => now)
    book.observe(tick([{ kind: "shipment_late", orderId: "o9", message: "late" }, { kind: "hot_sku", sku: "S", message: "hot" }]), [])
    await book.flush()
    const [late, hot] = book.list()
    expect(await book.acknowledge("nope", "ana", "x")).toMatchObject({ code: "alert_not_found" })
    expect(await book.acknowledge(late.id, "ana", "  ")).toMatchObject({ code: "reason_required" })
    expect(await book.mute(hot.id, "ana", "noisy", 0.5)).toMatchObject({ code: "mute_duration_invalid" })
    expect(await book.mute(hot.id, "ana", "noisy", 99_999)).toMatchObject({ code: "mute_duration_invalid" })
    const acked = await book.acknowledge(late.id, "ana", "carrier called")
    expect(isRefusal(acked)).toBe(false)
    expect(book.get(late.id)!.acknowledged).toEqual({ by: "ana", reason: "carrier called", at: now })
    await book.mute(hot.id, "bo", "promo traffic", 30)
    expect(book.list().map((g) => g.kind)).toEqual(["shipment_late"])
    expect(book.list({ state: "muted" })[0].muted).toMatchObject({ by: "bo", reason: "promo traffic", until: now + 30 * 60_000 })

    const again = new AlertBook(limits, store, () => now)
    await again.load()
    expect(again.get(late.id)!.acknowledged).toEqual({ by: "ana", reason: "carrier called", at: 1_000_000 })
    expect(again.list({ state: "muted" }).map((g) => g.kind)).toEqual(["hot_sku"])
    now += 31 * 60_000 // the mute ends by itself
    expect(again.list({ state: "muted" })).toHaveLength(0)
  })
})
