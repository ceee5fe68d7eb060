/**
 * `npm run bench -- NAME [options] [--json]`: runs one benchmark (or `all`),
 * prints its table, and with --json ends with one JSON object on the last
 * line. `all` runs every benchmark and writes bench/results/latest.json and
 * latest.html. `npm run bench -- NAME --help` lists the benchmark's options.
 * Options are parsed (node:util parseArgs, bench/options.ts) before anything
 * runs: an unknown option or a malformed value exits with status 2.
 */
import { printTable, machine, type BenchResult } from "./report.ts"
import { argsFor, optionsHelp, parseOptions, UsageError, type OptionSpecs } from "./options.ts"
import { tuneGarbageCollection } from "../engine/index.ts"

// the benchmarks run engines in this process, tuned as the engine's own processes are (engine/runtime/gc-tuning.ts)
tuneGarbageCollection()

interface Bench {
  readonly options: OptionSpecs
  readonly run: (args: ReadonlyArray<string>) => Promise<BenchResult>
}

const benches: Record<string, () => Promise<Bench>> = {
  engine: () => import("./engine.ts"),
  gateway: () => import("./gateway.ts"),
  compare: () => import("./compare.ts"),
  cluster: () => import("./cluster.ts"),
  latency: () => import("./latency.ts"),
  decode: () => import("./command-decode.ts"),
  soak: () => import("./soak.ts")
}

const common = {
  json: { type: "boolean", help: "end with one JSON object on the last line" },
  help: { type: "boolean", short: "h", help: "this text" }
} as const satisfies OptionSpecs

const names = [...Object.keys(benches), "all"]
const usage = (name?: string, loaded: ReadonlyArray<readonly [string, Bench]> = []): string => {
  const head = `usage: npm run bench -- ${name ?? `<${names.join("|")}>`} [options]`
  if (name === undefined) return `${head}\n\n${optionsHelp(common)}\n\n  npm run bench -- NAME --help lists the options of a benchmark`
  const own = loaded.map(([n, b]) => `${loaded.length > 1 ? `${n}:\n` : ""}${optionsHelp(b.options)}`)
  return [head, ...own, optionsHelp(common)].join("\n\n")
}

const refuse = (message: string, name?: string, loaded?: ReadonlyArray<readonly [string, Bench]>): never => {
  console.error(`bench: ${message}\n\n${usage(name, loaded)}`)
  process.exit(2)
}

const args = process.argv.slice(2)
// the benchmark is the first argument that is not an option (`--json engine` works as `engine --json`)
const name = args.find((a) => !a.startsWith("-"))
if (name === undefined) {
  const asked = args.includes("--help") || args.includes("-h")
  asked ? console.log(usage()) : console.error(usage())
  process.exit(asked ? 0 : 2)
}
if (!names.includes(name)) refuse(`no benchmark ${JSON.stringify(name)}`)
const rest = args.filter((a, i) => i !== args.indexOf(name))

const chosen = name === "all" ? Object.keys(benches) : [name]
const loaded = await Promise.all(chosen.map(async (n) => [n, await benches[n]()] as const))
const all: OptionSpecs = Object.assign({}, common, ...loaded.map(([, b]) => b.options))
// every benchmark's options are checked before the first one runs
const argsOf = new Map<string, Array<string>>()
let json = false
try {
  const { values, positionals } = parseOptions(all, rest)
  const flags = values as { readonly json?: boolean; readonly help?: boolean }
  if (flags.help) {
    console.log(usage(name, loaded))
    process.exit(0)
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
  json = flags.json === true
  for (const [n, bench] of loaded) {
    const own = argsFor(bench.options, all, rest)
    parseOptions(bench.options, own)
    argsOf.set(n, own)
  }
} catch (e) {
  if (e instanceof UsageError) refuse(e.message, name, loaded)
  throw e
}

const results: Array<BenchResult> = []
for (const [n, bench] of loaded) {
  const result = await bench.run(argsOf.get(n)!)
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
