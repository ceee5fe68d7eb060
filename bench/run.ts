/**
 * `npm run bench -- NAME [--json]`: runs one benchmark (or `all`), prints its
 * table, and with --json ends with one JSON object on the last line. `all`
 * runs every benchmark and writes bench/results/latest.json and latest.html.
 */
import { printTable, machine, type BenchResult } from "./report.ts"
import { tuneGarbageCollection } from "../engine/index.ts"

// the benchmarks run engines in this process, tuned as the engine's own processes are (engine/runtime/gc-tuning.ts)
tuneGarbageCollection()

const benches: Record<string, () => Promise<{ run: (args: ReadonlyArray<string>) => Promise<BenchResult> }>> = {
  engine: () => import("./engine.ts"),
  gateway: () => import("./gateway.ts"),
  compare: () => import("./compare.ts"),
  cluster: () => import("./cluster.ts"),
  latency: () => import("./latency.ts"),
  soak: () => import("./soak.ts")
}

const args = process.argv.slice(2)
const json = args.includes("--json")
const names = args.filter((a) => !a.startsWith("--"))
const name = names[0]
if (!name || (name !== "all" && !benches[name])) {
  console.error(`usage: npm run bench -- <${[...Object.keys(benches), "all"].join("|")}> [--json]`)
  process.exit(2)
}
const results: Array<BenchResult> = []
for (const n of name === "all" ? Object.keys(benches) : [name]) {
  const result = await (await benches[n]()).run(args)
  printTable(result)
  // a benchmark may bring a table of its own (compare: one row per contender)
  const table = (result as { table?: unknown }).table
  if (typeof table === "string") console.log(`\n${table}`)
  results.push(result)
}
const out = results.length === 1 && name !== "all"
  ? { ...results[0].figures, machine: machine() }
  : { benches: Object.fromEntries(results.map((r) => [r.name, r.figures])), machine: machine() }
if (name === "all") {
  const { writeResults } = await import("./results.ts")
  const files = writeResults(results, out)
  console.log(`\nwrote ${files.json} and ${files.html}`)
}
if (json) console.log(JSON.stringify(out))
process.exit(0)
