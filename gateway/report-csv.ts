/**
 * Reports over HTTP: the range of a report from the query (`from`, `to`: ISO
 * dates or epoch milliseconds), and a report as CSV, one figure per row:
 * `metric,value`, the metric being the figure's path in the JSON report
 * (`orders.byChannel.web.units`, `nodes.WH-DAL.utilisation`, ...); an empty
 * value is n/a (null in JSON).
 */
import { stringify } from "csv-stringify/sync"
import type { JournalReport } from "../engine/index.ts"
import { gatewayError, type ErrorBody } from "./errors.ts"

const instant = (text: string | null): number | undefined => {
  if (text === null || text.trim() === "") return undefined
  const t = text.trim()
  if (/^-?\d+$/.test(t)) return Number(t)
  const ms = Date.parse(t)
  return Number.isFinite(ms) ? ms : undefined
}

export type ParsedRange = { readonly ok: true; readonly from: number; readonly to: number } | { readonly ok: false; readonly error: ErrorBody }

/** `from` and `to` from the query; `to` defaults to now. */
export const reportRange = (query: URLSearchParams, now: number): ParsedRange => {
  const from = instant(query.get("from"))
  const to = query.get("to") === null ? now : instant(query.get("to"))
  if (from === undefined || to === undefined || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from >= to) {
    return { ok: false, error: gatewayError("invalid_range", "give from (and optionally to, default now) as ISO dates or epoch milliseconds, from before to") }
  }
  return { ok: true, from, to }
}

const flatten = (prefix: string, value: unknown, out: Array<[string, string]>): void => {
  if (value === null || value === undefined) out.push([prefix, ""])
  else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const key = typeof item === "object" && item !== null && "nodeId" in item ? String((item as { nodeId: string }).nodeId) : String(i)
      if (typeof item === "object" && item !== null && "nodeId" in item) {
        const { nodeId: _nodeId, ...rest } = item as Record<string, unknown>
        flatten(`${prefix}.${key}`, rest, out)
      } else flatten(`${prefix}.${key}`, item, out)
    }
  } else if (typeof value === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(prefix === "" ? k : `${prefix}.${k}`, v, out)
  } else out.push([prefix, String(value)])
}

export const reportCsv = (report: JournalReport): string => {
  const rows: Array<[string, string]> = []
  flatten("", { ...report, fromIso: new Date(report.from).toISOString(), toIso: new Date(report.to).toISOString() }, rows)
  return stringify(rows, { header: true, columns: ["metric", "value"] })
}
