/**
 * `npm run bench -- NAME [--json]`: runs one benchmark (or `all`), prints its
 * table, and with --json ends with one JSON object on the last line.
 */
import { printTable, machine, type BenchResult } from "./report.ts"

const benches: Record<string, () => Promise<{ run: (args: ReadonlyArray<string>) => Promise<BenchResult> }>> = {
  engine: () => import("./engine.ts"),
  gateway: () => import("./gateway.ts")
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
  results.push(result)
}
if (json) {
  const out = results.length === 1 ? { ...results[0].figures, machine: machine() } : { benches: Object.fromEntries(results.map((r) => [r.name, r.figures])), machine: machine() }
  console.log(JSON.stringify(out))
}
process.exit(0)
