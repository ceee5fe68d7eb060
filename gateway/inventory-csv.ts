/**
 * Inventory as CSV, the way WMS and ERP exports and spreadsheets carry it.
 *
 * Import: a header row naming the columns `sku,node,on_hand,safety_stock`
 * (any order; safety_stock may be left out or empty), then one row per pool.
 * Each row is checked on its own and becomes a one-row inventory.load (an
 * absolute count, plus the safety stock when given), so a row applies whole
 * or not at all and one bad row does not stop the others. The answer lists
 * every row (its line number in the file, 1 being the header) as applied or
 * rejected with a named error.
 *
 * Export: sku,node,on_hand,safety_stock,held,allocated,atp for every pool.
 * Parsing and writing are csv-parse and csv-stringify (RFC 4180 quoting).
 */
import { parse } from "csv-parse/sync"
import { stringify } from "csv-stringify/sync"
import type { LoadRow, PoolView } from "../engine/index.ts"
import { gatewayError, type ErrorBody } from "./errors.ts"

export const importColumns = ["sku", "node", "on_hand", "safety_stock"] as const
const requiredColumns = ["sku", "node", "on_hand"] as const

export const exportColumns = ["sku", "node", "on_hand", "safety_stock", "held", "allocated", "atp"] as const

/** A row's outcome in the import report. */
export interface RowResult {
  /** Line of the file (the header is line 1). */
  readonly row: number
  readonly sku: string
  readonly node: string
  readonly status: "applied" | "rejected"
  readonly error?: ErrorBody
}

export interface ParsedRow {
  readonly row: number
  readonly load: LoadRow
}

export type ParsedCsv =
  | { readonly ok: true; readonly rows: ReadonlyArray<ParsedRow>; readonly rejected: ReadonlyArray<RowResult> }
  | { readonly ok: false; readonly error: ErrorBody }

const wholeNumber = /^\d{1,15}$/

/** Parses and checks the file's shape; rows with a bad field, or a pool named twice, are rejected here. */
export const parseInventoryCsv = (text: string, rowsMax: number): ParsedCsv => {
  let records: Array<Array<string>>
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, trim: true, relax_column_count: true, max_record_size: 64 * 1024 }) as Array<Array<string>>
  } catch (e) {
    return { ok: false, error: gatewayError("invalid_csv", `the body is not valid CSV: ${e instanceof Error ? e.message : String(e)}`) }
  }
  if (records.length === 0) return { ok: false, error: gatewayError("invalid_csv", `the CSV is empty; its first line names the columns ${importColumns.join(",")}`) }
  const header = records[0].map((h) => h.toLowerCase())
  const unknown = header.filter((h) => !(importColumns as ReadonlyArray<string>).includes(h))
  const missing = requiredColumns.filter((c) => !header.includes(c))
  if (unknown.length > 0 || missing.length > 0 || new Set(header).size !== header.length) {
    return { ok: false, error: gatewayError("invalid_csv", `the header must name the columns ${importColumns.join(",")} (safety_stock optional), once each; got ${records[0].join(",")}`) }
  }
  if (records.length - 1 > rowsMax) return { ok: false, error: gatewayError("too_many_rows", `at most ${rowsMax} rows per import`) }
  const at = (name: string) => header.indexOf(name)
  const [iSku, iNode, iOnHand, iSafety] = [at("sku"), at("node"), at("on_hand"), at("safety_stock")]
  const rows: Array<ParsedRow> = []
  const rejected: Array<RowResult> = []
  const seen = new Set<string>()
  for (let i = 1; i < records.length; i++) {
    const r = records[i]
    const row = i + 1
    const sku = r[iSku] ?? ""
    const node = r[iNode] ?? ""
    const onHand = r[iOnHand] ?? ""
    const safety = iSafety >= 0 ? (r[iSafety] ?? "") : ""
    const refuse = (message: string, code: "invalid_row" | "duplicate_row" = "invalid_row") =>
      rejected.push({ row, sku, node, status: "rejected", error: { code, message } })
    if (r.length !== header.length) refuse(`the row has ${r.length} fields, the header ${header.length}`)
    else if (sku === "" || node === "") refuse("sku and node are required")
    else if (!wholeNumber.test(onHand)) refuse(`on_hand must be a whole number >= 0, got ${JSON.stringify(onHand)}`)
    else if (safety !== "" && !wholeNumber.test(safety)) refuse(`safety_stock must be empty or a whole number >= 0, got ${JSON.stringify(safety)}`)
    else if (seen.has(`${sku}\u0000${node}`)) refuse(`${sku} at ${node} is already on an earlier row`, "duplicate_row")
    else {
      seen.add(`${sku}\u0000${node}`)
      rows.push({ row, load: { sku, nodeId: node, onHand: Number(onHand), ...(safety !== "" ? { safetyStock: Number(safety) } : {}) } })
    }
  }
  return { ok: true, rows, rejected }
}

/** The import's row errors besides the engine's own codes. */
export const rowErrorCodes = {
  invalid_row: "a field of the row is missing or not a whole number, or the row has more or fewer fields than the header",
  duplicate_row: "the pool (sku, node) is on an earlier row of the same file; only the first applies"
} as const

export const inventoryCsv = (pools: ReadonlyArray<PoolView>): string =>
  stringify(
    pools.map((p) => [p.sku, p.nodeId, p.onHand, p.safetyStock, p.held, p.allocated, p.atp]),
    { header: true, columns: [...exportColumns] }
  )
