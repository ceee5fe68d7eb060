/**
 * `npm run bench -- latency`: WS reservation latency against offered load, the
 * gateway beside a bare uWebSockets.js echo driven the same way.
 *
 * The gateway bench gives one latency figure, at half of its maximum. This one
 * draws the curve beneath it: an open loop of `hold.create` frames (the lean
 * WS driver, 32 connections, every millisecond what is due) at each rate of
 * `--rates`, 1 s of warm-up not counted, then `--seconds` measured; p50, p90,
 * p99, p99.9 and max from send to reply, and the CPU the server process used
 * meanwhile (all its threads: the engine's, the embedded database's, V8's).
 * The same open loop against the bare echo says what the machine, the load
 * generator and the loopback cost alone: where the gateway's tail is already
 * long at a small fraction of its maximum while the echo's is short, the time
 * goes to the server; where both are long, to the machine.
 *
 * Options: --rates A,B,C (requests/s, default 2000,5000,10000,20000),
 * --seconds N (measured per rate, default 5), --connections N (default 32),
 * --store postgres (the journal on a fresh database of the local PostgreSQL).
 */
import { parseOptions, storeOption } from "./options.ts"
import { percentile, round, type BenchResult } from "./report.ts"
import { closeDrivers, holdFrames, openDrivers, openLoop, startServer } from "./gateway.ts"

interface Point {
  readonly offeredPerSec: number
  readonly achievedPerSec: number
  readonly refusedPerSec: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
  /** CPU the server process used during the rate's run (warm-up included), in % of one core. */
  readonly serverCpuPercent: number
}

const sweep = async (mode: "gateway" | "echo", store: "embedded" | "postgres", rates: ReadonlyArray<number>, connections: number, durationMs: number): Promise<Array<Point>> => {
  const server = await startServer(mode, undefined, store)
  const points: Array<Point> = []
  try {
    const url = `${server.url.replace("http://", "ws://")}/v1/ws${mode === "gateway" ? "?key=sf-demo-web" : ""}`
    const sockets = await openDrivers(url, connections)
    const frame = holdFrames()
    for (const rate of rates) {
      const cpu0 = await server.cpu()
      const t0 = performance.now()
      const r = await openLoop(sockets, frame, rate, durationMs, 1_000)
      const cpu1 = await server.cpu()
      const wallUs = (performance.now() - t0) * 1000
      let max = 0
      for (const l of r.latencies) max = Math.max(max, l)
      points.push({
        offeredPerSec: rate,
        achievedPerSec: Math.round(r.perSec),
        refusedPerSec: Math.round(r.refusedPerSec),
        p50Ms: round(percentile(r.latencies, 50)),
        p90Ms: round(percentile(r.latencies, 90)),
        p99Ms: round(percentile(r.latencies, 99)),
        p999Ms: round(percentile(r.latencies, 99.9)),
        maxMs: round(max),
        serverCpuPercent: Math.round(((cpu1 - cpu0) / wallUs) * 100)
      })
    }
    await closeDrivers(sockets)
  } finally {
    await server.stop()
  }
  return points
}

const parseRates = (given: string): ReadonlyArray<number> => given.split(",").map((r) => (r.trim() === "" ? NaN : Number(r)))

export const options = {
  rates: {
    type: "string", default: "2000,5000,10000,20000", placeholder: "A,B,C", help: "offered loads, requests/s, separated by commas",
    check: (given: string) => parseRates(given).every((r) => Number.isFinite(r) && r > 0) ? undefined : `--rates needs positive numbers separated by commas, got ${JSON.stringify(given)}`
  },
  seconds: { type: "number", default: 5, min: 0.1, help: "seconds measured per rate" },
  connections: { type: "number", default: 32, min: 1, help: "WS connections" },
  store: storeOption
} as const

export const run = async (args: ReadonlyArray<string>): Promise<BenchResult> => {
  const o = parseOptions(options, args).values
  const rates = parseRates(o.rates)
  const durationMs = o.seconds * 1000
  const connections = o.connections
  const store = o.store
  const gateway = await sweep("gateway", store, rates, connections, durationMs)
  const echo = await sweep("echo", store, rates, connections, durationMs)
  const row = (what: string, p: Point): readonly [string, string, string] => [
    `${what} at ${p.offeredPerSec}/s`,
    `${p.p50Ms} / ${p.p99Ms}`,
    `ms p50 / p99 (p90 ${p.p90Ms}, p99.9 ${p.p999Ms}, max ${p.maxMs}); ${p.achievedPerSec}/s answered${p.refusedPerSec > 0 ? `, ${p.refusedPerSec}/s refused` : ""}, server CPU ${p.serverCpuPercent} %`
  ]
  return {
    name: "latency",
    figures: { store, connections, secondsPerRate: durationMs / 1000, gateway, echo },
    rows: [
      ...gateway.map((p) => row(`WS reservation (${store === "postgres" ? "PostgreSQL" : "embedded PGlite"})`, p)),
      ...echo.map((p) => row("bare uWS JSON echo", p))
    ]
  }
}
