/**
 * `npm run bench -- compare`: the same workload (bench/compare-workload.ts)
 * against four contenders, one after another, each built as its users would
 * build it (bench/contenders/):
 *
 *   engine             the engine in this process, embedded store
 *   engine-gateway     the gateway (child process) over real WebSockets
 *   postgres-row-lock  a transaction per request locking the SKU x node rows (local PostgreSQL)
 *   redis-lua          a Lua script per request checking and reserving (local Redis)
 *
 * Each gets the same request sequence (same seed) from the same number of
 * concurrent clients (closed loop: a client sends its next request when the
 * previous one is answered) for the same time. Every acknowledgement goes in
 * a client-side ledger; after the run each contender is audited the same
 * way from its own final state: oversold units and acknowledgements missing.
 *
 * throughput = requests answered (acknowledged or refused, e.g. sold out) per
 * second; p50/p99 from sending a request to its answer, at that full load.
 *
 * Options: --seconds N per contender (default 9), --clients N (64),
 * --skus N (1000), --nodes N (20), --seed N, --only a,b (a subset, in order).
 */
import { parseOptions } from "./options.ts"
import { percentile, round, type BenchResult } from "./report.ts"
import { compareWorkload, type Ack, type Audit, type CompareRequest, type CompareWorkloadOptions, type Contender, type Outcome } from "./compare-workload.ts"

export const contenderNames = ["engine", "engine-gateway", "postgres-row-lock", "redis-lua"] as const
export type ContenderName = (typeof contenderNames)[number]

const factories: Record<ContenderName, () => Promise<{ contender: () => Contender }>> = {
  engine: () => import("./contenders/engine.ts"),
  "engine-gateway": () => import("./contenders/engine-gateway.ts"),
  "postgres-row-lock": () => import("./contenders/postgres-row-lock.ts"),
  "redis-lua": () => import("./contenders/redis-lua.ts")
}

/** One row of the side-by-side table (and of the JSON `contenders` array), exactly these keys. */
export interface ContenderFigures {
  readonly name: ContenderName
  /** Requests answered per second (acknowledged or refused). */
  readonly throughput: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly oversold: number
  readonly lostAcks: number
  readonly durability: string
  /** throughput / the engine's throughput (null when the engine did not run). */
  readonly ratioToEngine: number | null
}

/** What the table does not show, per contender: for the readable output and the HTML page. */
export interface ContenderDetails {
  readonly name: ContenderName
  readonly requests: number
  readonly acknowledged: number
  readonly refused: number
  readonly errors: number
  readonly acknowledgedPerSec: number
  readonly refusalsByCode: Readonly<Record<string, number>>
  readonly ackedUnits: number
  readonly audit: Audit
  readonly seconds: number
  readonly setupSeconds: number
  readonly auditSeconds: number
}

export interface CompareResult extends BenchResult {
  readonly figures: { readonly contenders: ReadonlyArray<ContenderFigures> }
  readonly details: ReadonlyArray<ContenderDetails>
  readonly workload: CompareWorkloadOptions & { readonly clients: number; readonly secondsPerContender: number }
  /** The side-by-side table, as printed. */
  readonly table: string
}

/** Answers that are not a decision about the request (the contender failed to answer it). */
const errorCodes = new Set([
  "store_error", "error", "timeout", "disconnected", "store_unavailable", "engine_overloaded", "engine_stopped", "internal", "no_hold_in_reply", "no_order_in_reply"
])

/** `--only A,B`: the contenders named (already checked by the option's check). */
const contendersOf = (only: string | undefined): ReadonlyArray<ContenderName> => {
  if (only === undefined) return contenderNames
  const wanted = only.split(",").filter((s) => s !== "")
  return contenderNames.filter((n) => wanted.includes(n))
}

interface Loop {
  readonly requests: number
  readonly acknowledged: number
  readonly refused: number
  readonly errors: number
  readonly refusalsByCode: Record<string, number>
  readonly acks: Array<Ack>
  readonly latencies: Float64Array
  readonly seconds: number
}

/** `clients` concurrent clients, each sending its next request when the last one is answered, for `durationMs`. */
const closedLoop = async (c: Contender, next: () => CompareRequest, clients: number, durationMs: number): Promise<Loop> => {
  let latencies = new Float64Array(1 << 16)
  let count = 0
  let acknowledged = 0
  let refused = 0
  let errors = 0
  const refusalsByCode: Record<string, number> = {}
  const acks: Array<Ack> = []
  let thrown = 0
  const started = performance.now()
  const deadline = started + durationMs
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    while (performance.now() < deadline) {
      const r = next()
      const t0 = performance.now()
      let o: Outcome
      try {
        o = await c.handle(r, client)
      } catch (e) {
        if (thrown++ < 3) console.error(`${c.name}: ${r.kind} ${r.id} threw: ${String(e)}`)
        o = { ok: false, code: "error" }
      }
      const t1 = performance.now()
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2)
        grown.set(latencies)
        latencies = grown
      }
      latencies[count++] = t1 - t0
      if (o.ok) {
        acknowledged++
        acks.push({ kind: r.kind, ref: o.ref, units: o.units })
      } else if (errorCodes.has(o.code)) {
        errors++
      } else {
        refused++
        refusalsByCode[o.code] = (refusalsByCode[o.code] ?? 0) + 1
      }
    }
  }))
  return { requests: count, acknowledged, refused, errors, refusalsByCode, acks, latencies: latencies.subarray(0, count), seconds: (performance.now() - started) / 1000 }
}

const gc = () => (globalThis as { gc?: () => void }).gc?.()

const fmt = (x: number): string => x.toLocaleString("en-US")

export const formatTable = (rows: ReadonlyArray<ContenderFigures>): string => {
  const head = ["contender", "throughput (ops/s)", "p50 (ms)", "p99 (ms)", "oversold", "lost acks", "ratio to engine", "durability"]
  const body = rows.map((r) => [
    r.name, fmt(r.throughput), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), String(r.oversold), String(r.lostAcks),
    r.ratioToEngine === null ? "-" : r.ratioToEngine.toFixed(3), r.durability
  ])
  const widths = head.map((h, i) => (i === head.length - 1 ? 0 : Math.max(h.length, ...body.map((b) => b[i].length))))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ")
  return [line(head), line(widths.map((w, i) => (i === head.length - 1 ? "----------" : "".padEnd(w, "-")))), ...body.map(line)].join("\n")
}

export const options = {
  seconds: { type: "number", default: 9, min: 0.1, help: "seconds per contender" },
  clients: { type: "number", default: 64, min: 1, help: "concurrent clients (closed loop)" },
  skus: { type: "number", default: 1_000, min: 1, help: "SKUs of the workload" },
  nodes: { type: "number", default: 20, min: 1, help: "nodes of the workload" },
  seed: { type: "number", default: 7, min: 1, help: "seed of the workload" },
  only: {
    type: "string", placeholder: "A,B", help: `contenders to run, separated by commas (${contenderNames.join(", ")}; default all)`,
    check: (given: string) => {
      const unknown = given.split(",").find((n) => n !== "" && !(contenderNames as ReadonlyArray<string>).includes(n))
      return unknown === undefined ? undefined : `--only: unknown contender ${unknown} (${contenderNames.join(", ")})`
    }
  }
} as const

export const run = async (args: ReadonlyArray<string>): Promise<CompareResult> => {
  const o = parseOptions(options, args).values
  const seconds = o.seconds
  const clients = Math.floor(o.clients)
  const asked: Partial<CompareWorkloadOptions> = { skus: Math.floor(o.skus), nodes: Math.floor(o.nodes), seed: Math.floor(o.seed) }
  const names = contendersOf(o.only)
  const measured: Array<{ name: ContenderName; figures: Omit<ContenderFigures, "ratioToEngine">; details: ContenderDetails }> = []
  let workloadOptions: CompareWorkloadOptions | undefined
  for (const name of names) {
    const w = compareWorkload(asked) // a fresh one each time: the same request sequence for every contender
    workloadOptions = w.options
    const c = (await factories[name]()).contender()
    gc()
    try {
      let t = performance.now()
      await c.setup(w, clients)
      const setupSeconds = (performance.now() - t) / 1000
      const loop = await closedLoop(c, w.requests(), clients, seconds * 1000)
      t = performance.now()
      const audit = await c.audit(loop.acks)
      const auditSeconds = (performance.now() - t) / 1000
      const answered = loop.acknowledged + loop.refused
      measured.push({
        name,
        figures: {
          name,
          throughput: Math.round(answered / loop.seconds),
          p50Ms: round(percentile(loop.latencies, 50)),
          p99Ms: round(percentile(loop.latencies, 99)),
          oversold: audit.oversold,
          lostAcks: audit.lostAcks,
          durability: c.durability()
        },
        details: {
          name,
          requests: loop.requests,
          acknowledged: loop.acknowledged,
          refused: loop.refused,
          errors: loop.errors,
          acknowledgedPerSec: Math.round(loop.acknowledged / loop.seconds),
          refusalsByCode: loop.refusalsByCode,
          ackedUnits: loop.acks.reduce((s, a) => s + a.units, 0),
          audit,
          seconds: round(loop.seconds),
          setupSeconds: round(setupSeconds, 1),
          auditSeconds: round(auditSeconds, 1)
        }
      })
    } finally {
      await c.close()
    }
  }
  const engine = measured.find((m) => m.name === "engine")
  const contenders: Array<ContenderFigures> = measured.map((m) => ({
    ...m.figures,
    ratioToEngine: engine === undefined || engine.figures.throughput === 0 ? null : round(m.figures.throughput / engine.figures.throughput, 3)
  }))
  const details = measured.map((m) => m.details)
  const wo = workloadOptions ?? compareWorkload(asked).options
  const rows: Array<readonly [string, string | number, string]> = [
    ["workload", `${wo.nodes} nodes x ${wo.skus} SKUs`, `Zipf s=${wo.zipfS}, 5 doorbusters with ${wo.doorbusterStock}/node, others ${fmt(wo.stockPerPool)}/node; ${Math.round((1 - wo.orderShare) * 100)}% 1-line holds, ${Math.round(wo.orderShare * 100)}% 3-line paid orders; seed ${wo.seed}`],
    ["load", `${clients} clients`, `closed loop, ${seconds} s per contender, 127.0.0.1 only`]
  ]
  for (const d of details) {
    const refusals = Object.entries(d.refusalsByCode).map(([code, n]) => `${code} ${fmt(n)}`).join(", ") || "none"
    rows.push([`${d.name}`, fmt(d.acknowledgedPerSec), `acks/s; ${fmt(d.requests)} requests: ${fmt(d.acknowledged)} acked, ${fmt(d.refused)} refused (${refusals}), ${d.errors} errors`])
    rows.push([`  ${d.name} audit`, fmt(d.audit.reservedUnits), `units reserved in final state (acked units ${fmt(d.ackedUnits)}); doorbusters sold out ${d.audit.soldOutDoorbusters}/5; setup ${d.setupSeconds} s, audit ${d.auditSeconds} s`])
  }
  return {
    name: "compare",
    figures: { contenders },
    details,
    workload: { ...wo, clients, secondsPerContender: seconds },
    rows,
    table: formatTable(contenders)
  }
}
