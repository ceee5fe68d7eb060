/**
 * How every benchmark reports: a readable table on stdout, the machine it ran
 * on, and with --json one JSON object as the very last line.
 */
import { cpus, totalmem } from "node:os"

export interface BenchResult {
  readonly name: string
  /** Rows of the readable table: [what, value, unit / note]. */
  readonly rows: ReadonlyArray<readonly [string, string | number, string]>
  /** The figures for --json. */
  readonly figures: Readonly<Record<string, unknown>>
}

export const machine = () => ({
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString()
})

export const printTable = (r: BenchResult): void => {
  const m = machine()
  const width = Math.max(...r.rows.map(([what]) => what.length), 10)
  const valueWidth = Math.max(...r.rows.map(([, v]) => String(v).length), 6)
  console.log(`\n${r.name} — ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.date}`)
  console.log(`${"".padEnd(width + valueWidth + 20, "-")}`)
  for (const [what, value, unit] of r.rows) console.log(`${what.padEnd(width)}  ${String(value).padStart(valueWidth)}  ${unit}`)
}

/** Percentile of an unsorted sample (nearest rank), as the gateway's metrics compute it. */
export { percentile } from "../gateway/metrics.ts"

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

// ---- command-line options shared by the benchmarks ----------------------------------------

/** The value after `--name`, if the option is given. */
export const option = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}

/** `--name N`: a number of at least `min` (default 0), else `fallback` when the option is absent. */
export const numberOption = (args: ReadonlyArray<string>, name: string, fallback: number, min = 0): number => {
  const given = option(args, name)
  if (given === undefined) return fallback
  const v = Number(given)
  if (!Number.isFinite(v) || v < min) throw new Error(`--${name} needs a number of at least ${min}, got ${given}`)
  return v
}

/** `--store postgres`: the journal on the local PostgreSQL; else the embedded PGlite store. */
export const storeOption = (args: ReadonlyArray<string>): "postgres" | "embedded" =>
  option(args, "store") === "postgres" ? "postgres" : "embedded"
