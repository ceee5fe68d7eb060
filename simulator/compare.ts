/**
 * What-if routing: a second routing policy (a JSON file: channel policies as
 * the ops admin route `POST /v1/admin/channels` takes them) replayed over the
 * same seeded demand on a fresh engine, and the two days side by side: cost,
 * splits, distance, fill rate, node load.
 */
import { readFileSync } from "node:fs"
import { Result, Schema } from "effect"
import type { RunResult } from "./run.ts"
import { summarise, type RunSummary } from "./summary.ts"

const opt = Schema.optionalKey
const Weights = Schema.Struct({
  perPackageCents: opt(Schema.Number), perKmCents: opt(Schema.Number), perKgPer100KmCents: opt(Schema.Number),
  splitPenaltyCents: opt(Schema.Number), priorityStepCents: opt(Schema.Number), loadPenaltyCents: opt(Schema.Number)
})
const ChannelPolicy = Schema.Struct({
  channel: Schema.String,
  policy: Schema.Struct({
    allowedNodeIds: opt(Schema.Array(Schema.String)), allowedGroups: opt(Schema.Array(Schema.String)), maxSplits: opt(Schema.Number),
    maxDistanceKm: opt(Schema.Number), shipFromStore: opt(Schema.Boolean), weights: opt(Weights)
  })
})

export const PolicyFileSchema = Schema.Struct({
  name: Schema.String,
  description: opt(Schema.String),
  channels: Schema.Array(ChannelPolicy).check(Schema.isMinLength(1))
})
export type PolicyFile = typeof PolicyFileSchema.Type

const decode = Schema.decodeUnknownResult(PolicyFileSchema, { onExcessProperty: "error" })

export const loadPolicy = (file: string): PolicyFile => {
  const r = decode(JSON.parse(readFileSync(file, "utf8")))
  if (Result.isFailure(r)) throw new Error(`${file}: ${r.failure.message.replace(/\s*\n\s*/g, " ")}`)
  return r.success
}

export interface ComparisonRow {
  readonly figure: string
  readonly baseline: string
  readonly whatIf: string
  readonly change: string
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`
const money = (cents: number) => `$${(cents / 100).toFixed(2)}`
const delta = (a: number, b: number, asPoints = false) =>
  asPoints ? `${((b - a) * 100 >= 0 ? "+" : "")}${((b - a) * 100).toFixed(1)} pts` : a === 0 ? "-" : `${b >= a ? "+" : ""}${(((b - a) / a) * 100).toFixed(1)}%`

/** The two days side by side. */
export const compareRuns = (baseline: RunResult, whatIf: RunResult): { rows: Array<ComparisonRow>; a: RunSummary; b: RunSummary } => {
  const a = summarise(baseline)
  const b = summarise(whatIf)
  const rows: Array<ComparisonRow> = [
    { figure: "orders", baseline: String(a.orders), whatIf: String(b.orders), change: delta(a.orders, b.orders) },
    { figure: "fill rate at placement", baseline: pct(a.fillRate), whatIf: pct(b.fillRate), change: delta(a.fillRate, b.fillRate, true) },
    { figure: "split rate", baseline: pct(a.splitRate), whatIf: pct(b.splitRate), change: delta(a.splitRate, b.splitRate, true) },
    { figure: "shipments per order", baseline: a.shipmentsPerOrder.toFixed(2), whatIf: b.shipmentsPerOrder.toFixed(2), change: delta(a.shipmentsPerOrder, b.shipmentsPerOrder) },
    { figure: "avg shipping distance (km)", baseline: a.avgDistanceKm.toFixed(0), whatIf: b.avgDistanceKm.toFixed(0), change: delta(a.avgDistanceKm, b.avgDistanceKm) },
    { figure: "avg shipping cost per shipment (cost model, no load term)", baseline: money(a.avgCostCents), whatIf: money(b.avgCostCents), change: delta(a.avgCostCents, b.avgCostCents) },
    { figure: "shipping cost per order", baseline: money(a.costPerOrderCents), whatIf: money(b.costPerOrderCents), change: delta(a.costPerOrderCents, b.costPerOrderCents) },
    { figure: "total shipping cost", baseline: money(a.totalCostCents), whatIf: money(b.totalCostCents), change: delta(a.totalCostCents, b.totalCostCents) },
    { figure: "units backordered at placement", baseline: String(a.unitsBackorderedAtPlacement), whatIf: String(b.unitsBackorderedAtPlacement), change: delta(a.unitsBackorderedAtPlacement, b.unitsBackorderedAtPlacement) },
    { figure: "share of shipments from stores", baseline: pct(a.storeShare), whatIf: pct(b.storeShare), change: delta(a.storeShare, b.storeShare, true) },
    { figure: "busiest node load", baseline: `${a.busiestNode.nodeId} ${pct(a.busiestNode.load)}`, whatIf: `${b.busiestNode.nodeId} ${pct(b.busiestNode.load)}`, change: delta(a.busiestNode.load, b.busiestNode.load, true) },
    { figure: "p99 latency (ms)", baseline: a.latency.p99.toFixed(1), whatIf: b.latency.p99.toFixed(1), change: delta(a.latency.p99, b.latency.p99) },
    { figure: "audit", baseline: a.auditOk ? "passed" : "FAILED", whatIf: b.auditOk ? "passed" : "FAILED", change: "" }
  ]
  return { rows, a, b }
}
