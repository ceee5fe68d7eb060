/**
 * How the reports panel writes each figure of a report (GET /v1/reports):
 * money in dollars, distances in km, rates as percents, ages as durations and
 * instants as ISO times (UTC), by the figure's name, so that "Every figure"
 * reads like the headline rather than raw floats and epoch milliseconds.
 */

const int = (n: number): string => Math.round(n).toLocaleString("en-US")
const fixed = (n: number, digits: number): string => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })

/** A duration in ms as "2 d 3 h", "1 h 30 min", "4 min 5 s" or "850 ms". */
export const fmtDuration = (ms: number): string => {
  if (ms < 1_000) return `${int(ms)} ms`
  const s = Math.round(ms / 1_000)
  const parts: Array<[number, string]> = [[Math.floor(s / 86_400), "d"], [Math.floor((s % 86_400) / 3_600), "h"], [Math.floor((s % 3_600) / 60), "min"], [s % 60, "s"]]
  const first = parts.findIndex(([n]) => n > 0)
  return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, u]) => `${n} ${u}`).join(" ")
}

/** One figure, by its dotted path in the report (its last name decides the unit). */
export const formatFigure = (path: string, value: unknown): string => {
  if (value === null || value === undefined) return "–"
  if (typeof value === "boolean") return value ? "yes" : "no"
  if (typeof value !== "number") return String(value)
  const name = path.slice(path.lastIndexOf(".") + 1)
  if (name === "from" || name === "to" || name === "retainedFrom") return new Date(value).toISOString()
  if (name.endsWith("Cents")) return `$${fixed(value / 100, 2)}`
  if (name.endsWith("Km")) return `${fixed(value, 1)} km`
  if (name.endsWith("Rate") || name === "utilisation") return `${fixed(value * 100, 1)} %`
  if (name.endsWith("AgeMs")) return fmtDuration(value)
  if (name === "averageRating") return `${fixed(value, 2)} / 5`
  return Number.isInteger(value) ? int(value) : fixed(value, 1)
}

/** Every leaf of the report as (dotted path, formatted value), in the order the CSV lists them. */
export const reportRows = (x: unknown, path = "", out: Array<[string, string]> = []): Array<[string, string]> => {
  if (x !== null && typeof x === "object") {
    for (const [k, v] of Object.entries(x)) reportRows(v, path === "" ? k : `${path}.${k}`, out)
  } else out.push([path, formatFigure(path, x)])
  return out
}
