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
