/**
 * Measures the journal store's append latency on both backends, the way the
 * engine's batch loop uses it: one append at a time, each a group commit of
 * one or more batches of 1,000 msgpack-packed events (~60 KB) per stream.
 * Also times opening the embedded PGlite: first open (initdb), after a clean
 * close, and after the owning process was killed with SIGKILL.
 *
 *   npx tsx bench/store-append.ts [--appends 300] [--skip-postgres] [--skip-open-times] [--help]
 *
 * PostgreSQL: DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test; the
 * bench runs in a database of its own, dropped afterwards.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { pack } from "msgpackr"
import { openJournalStore, startEmbeddedPostgres, type JournalBatch, type JournalLocation, type JournalStore } from "../engine/index.ts"
import { optionsHelp, parseOptions, UsageError } from "./options.ts"

const options = {
  appends: { type: "number", default: 300, min: 1, help: "appends timed per store" },
  "skip-postgres": { type: "boolean", help: "time the embedded store only" },
  "skip-open-times": { type: "boolean", help: "do not time opening the embedded store" },
  "hold-open": { type: "string", placeholder: "DIR", help: "(internal) fill the store in DIR, print \"open\" and wait to be killed" },
  help: { type: "boolean", short: "h", help: "this text" }
} as const

const parsed = (() => {
  try {
    return parseOptions(options, process.argv.slice(2)).values
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    console.error(`store-append: ${e.message}\n\n${optionsHelp(options)}`)
    process.exit(2)
  }
})()
if (parsed.help) {
  console.log(`usage: npx tsx bench/store-append.ts [options]\n\n${optionsHelp(options)}`)
  process.exit(0)
}
const appends = Math.floor(parsed.appends)

/** 1,000 events shaped like the engine's, packed: about 60 KB. */
const eventsPayload = (seqFrom: number): Uint8Array => {
  const events = Array.from({ length: 1000 }, (_, i) => ({
    type: "HoldPlaced",
    sku: `sku-${(seqFrom + i) % 5000}`,
    nodeId: `n-${i % 40}`,
    holdId: `h-${seqFrom + i}`,
    qty: 1 + (i % 7),
    at: 1_700_000_000_000 + seqFrom + i
  }))
  return pack(events)
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]

interface Run {
  readonly label: string
  readonly streams: number
}

const measure = async (store: JournalStore, run: Run, payloads: ReadonlyArray<Uint8Array>) => {
  const next = new Map<string, number>()
  for (let s = 0; s < run.streams; s++) next.set(`${run.label}-${s}`, (await store.lastSeq(`${run.label}-${s}`)) + 1)
  const append = async () => {
    const batches: Array<JournalBatch> = []
    for (const [stream, seqFrom] of next) {
      batches.push({ stream, seqFrom, count: 1000, payload: payloads[(seqFrom / 1000) % payloads.length | 0] })
      next.set(stream, seqFrom + 1000)
    }
    await store.append(batches)
  }
  for (let i = 0; i < 20; i++) await append() // warm-up
  const elu = performance.eventLoopUtilization()
  const started = performance.now()
  const latencies: Array<number> = []
  for (let i = 0; i < appends; i++) {
    const t = performance.now()
    await append()
    latencies.push(performance.now() - t)
  }
  const elapsed = performance.now() - started
  const busy = performance.eventLoopUtilization(elu).utilization
  latencies.sort((a, b) => a - b)
  const bytes = payloads[0].length * run.streams
  console.log(
    `  ${run.streams} batch(es) x 1,000 events (${(bytes / 1024).toFixed(0)} KB) per append: ` +
      `p50 ${percentile(latencies, 50).toFixed(2)} ms, p90 ${percentile(latencies, 90).toFixed(2)} ms, ` +
      `p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms; ` +
      `${(appends / (elapsed / 1000)).toFixed(0)} appends/s, engine thread busy ${(busy * 100).toFixed(0)}%`
  )
}

const benchAppends = async (name: string, location: JournalLocation) => {
  const opened = performance.now()
  const { store, close } = await openJournalStore(location)
  console.log(`${name} (${store.describe}), opened in ${(performance.now() - opened).toFixed(0)} ms, ${appends} appends each:`)
  try {
    const payloads = Array.from({ length: 8 }, (_, i) => eventsPayload(i * 1000 + 1))
    await measure(store, { label: "one", streams: 1 }, payloads)
    await measure(store, { label: "eight", streams: 8 }, payloads)
  } finally {
    await close()
  }
}

/** Runs this file as a child that opens the embedded store in `dataDir`, then waits to be killed. */
const openAndWait = (dataDir: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--hold-open", dataDir], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    child.stdout.on("data", (data: Buffer) => {
      if (data.toString().includes("open")) {
        child.kill("SIGKILL")
      }
    })
    child.on("exit", () => resolve())
    child.on("error", reject)
  })

const benchOpenTimes = async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "oms-open-"))
  try {
    const timeOpen = async (what: string) => {
      const started = performance.now()
      const server = await startEmbeddedPostgres({ dataDir })
      const total = performance.now() - started
      await server.close()
      console.log(`  ${what}: PGlite ${server.openMs} ms, with thread start ${total.toFixed(0)} ms`)
    }
    console.log("embedded PGlite open times:")
    await timeOpen("first open (initdb)")
    await timeOpen("after a clean close")
    await timeOpen("after a clean close")
    await openAndWait(dataDir)
    await timeOpen("after kill -9 of its process, having appended 1,000 x 1,000 events (70 MB)")
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const holdOpen = parsed["hold-open"]
if (holdOpen !== undefined) {
  const { store } = await openJournalStore({ backend: "embedded", dataDir: holdOpen })
  const payload = eventsPayload(1)
  for (let i = 0; i < 1000; i++) await store.append([{ stream: "killed", seqFrom: 1 + i * 1000, count: 1000, payload }])
  console.log("open")
  await new Promise(() => undefined)
}

if (!parsed["skip-open-times"]) await benchOpenTimes()

const dataDir = mkdtempSync(path.join(tmpdir(), "oms-bench-"))
try {
  await benchAppends("embedded PGlite", { backend: "embedded", dataDir })
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}

/** Runs one statement on the server, e.g. to create the bench's database. */
const runOn = (serverUrl: string, statement: string) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const sql = yield* PgClient.make({ url: Redacted.make(serverUrl), maxConnections: 1, connectTimeout: "3 seconds" })
      yield* sql.unsafe(statement)
    }).pipe(Effect.scoped, Effect.provide(Reactivity.layer))
  )

if (!parsed["skip-postgres"]) {
  const serverUrl = process.env.DATABASE_URL?.trim() || "postgres://postgres@127.0.0.1:5432/test"
  const database = `oms_bench_${Date.now().toString(36)}`
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  const created = await runOn(serverUrl, `CREATE DATABASE ${database}`).then(
    () => true,
    (error: Error) => {
      console.log(`PostgreSQL skipped: ${error.message}`)
      return false
    }
  )
  if (created) {
    try {
      await benchAppends("PostgreSQL", { backend: "postgres", url: url.toString() })
    } finally {
      await runOn(serverUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    }
  }
}
