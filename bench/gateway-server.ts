/**
 * The server side of `npm run bench -- gateway`, run as its own process so the
 * load generator and the server each get a core:
 *
 *   gateway  the engine on the embedded store (a temporary DATA_DIR; with
 *            BENCH_STORE=postgres a fresh database of the local PostgreSQL) with the
 *            demo network topped up to 100,000 units per pool, and the gateway
 *            on an ephemeral port on 127.0.0.1 with demo keys
 *   echo     a bare uWebSockets.js app answering each JSON frame
 *            `{ id, op, ... }` with `{ id, ok: true, result: {} }` (the ceiling
 *            for the same client)
 *
 * Prints `{"url": ...}` when listening. On stdin: `mem` prints
 * `{"mem": {rss, heapUsed}}` after a full GC (run with --expose-gc); `cpu`
 * prints `{"cpu": {user, system}}` (µs of CPU used by the process so far, all
 * its threads, the embedded database's included); `settle`
 * runs a last-resort collection, which also returns freed pages to the system,
 * and prints `{"settled": true}`; EOF stops it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { PerformanceObserver } from "node:perf_hooks"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import uWS from "uWebSockets.js"
import { demoCommands, demoNetwork, Engine, loadConfig, openJournalStore, Queries, route, tuneGarbageCollection } from "../engine/index.ts"
import { freshDatabase } from "../engine/testing/postgres.ts"
import { loadGatewayConfig } from "../gateway/config.ts"
import { LocalEngine } from "../gateway/engine-access.ts"
import { demoKeys, makeKeyRing } from "../gateway/keys.ts"
import { startGateway } from "../gateway/server.ts"

// tuned as the gateway's own process is (engine/runtime/gc-tuning.ts)
tuneGarbageCollection()
const mode = process.argv[2] ?? "gateway"
let close: () => Promise<void>
let url: string

if (mode === "echo") {
  const app = uWS.App()
  app.ws("/v1/ws", {
    maxPayloadLength: 1024 * 1024,
    compression: uWS.DISABLED,
    message: (ws, message) => {
      const frame = JSON.parse(Buffer.from(message).toString("utf8")) as { id: unknown }
      ws.send(JSON.stringify({ id: frame.id, ok: true, result: {} }), false)
    }
  })
  // the HTTP ceiling: the gateway's own availability answer (passed in by the bench), with no work behind it
  const fixed = process.env.BENCH_ECHO_HTTP_BODY ?? "{}"
  app.get("/v1/availability", (res) => {
    res.cork(() => {
      res.writeHeader("content-type", "application/json")
      res.end(fixed)
    })
  })
  const socket = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
    app.listen("127.0.0.1", 0, (s) => (s ? resolve(s) : reject(new Error("echo: cannot listen")))))
  url = `http://127.0.0.1:${uWS.us_socket_local_port(socket as unknown as uWS.us_socket)}`
  close = async () => uWS.us_listen_socket_close(socket)
} else {
  const dataDir = mkdtempSync(join(tmpdir(), "oms-bench-gateway-"))
  // BENCH_STORE=postgres: a fresh database of the local PostgreSQL (DATABASE_URL), dropped afterwards
  const db = process.env.BENCH_STORE === "postgres" ? await freshDatabase() : undefined
  const { store, close: closeStore } = await openJournalStore(db ? { backend: "postgres", url: db.url } : { backend: "embedded", dataDir })
  const engine = await Engine.open({ store, config: loadConfig({ holdTtlMsDefault: 3_600_000 }, {}), router: route })
  for (const c of demoCommands()) {
    const r = await engine.submit(c)
    if (!r.ok) throw new Error(`${c.type}: ${r.code}`)
  }
  const rows = demoNetwork().inventory.map((r) => ({ ...r, onHand: 100_000 }))
  const topUp = await engine.submit({ type: "inventory.load", rows, reference: "bench top-up" })
  if (!topUp.ok) throw new Error(`top-up: ${topUp.code}`)
  const channels = Queries.channels(engine.view).map((c) => c.channel)
  const nodeIds = Queries.nodes(engine.view).map((n) => n.nodeId)
  const gateway = await startGateway({
    // the bench measures throughput through one secret key: its rate limits (production defaults 10,000/s) are lifted
    config: loadGatewayConfig({
      host: "127.0.0.1", port: 0, subscriptionsPerConnectionMax: 1_000, requestsInFlightPerConnectionMax: 4_096,
      secretKeyRequestsPerSec: 1e9, secretKeyRequestsBurst: 1e9, secretConnectionRequestsPerSec: 1e9, secretConnectionRequestsBurst: 1e9
    }, {}),
    keys: makeKeyRing(demoKeys(channels, nodeIds)),
    engine: new LocalEngine(engine, store)
  })
  url = gateway.url
  close = async () => {
    await gateway.close()
    await engine.close()
    await closeStore()
    rmSync(dataDir, { recursive: true, force: true })
    await db?.drop()
  }
}

// GATEWAY_GC_LOG=FILE (gateway mode): every collection as "monotonic-ms-start duration-ms kind" (CLOCK_MONOTONIC, shared with the bench's GATEWAY_LATENCY_LOG), written at exit, for diagnosis
const gcLog: Array<string> = []
const monotonicOffsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now()
if (process.env.GATEWAY_GC_LOG && mode === "gateway") {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcLog.push(`${(monotonicOffsetMs + e.startTime).toFixed(2)} ${e.duration.toFixed(3)} ${((e as { detail?: { kind?: number } }).detail)?.kind ?? "?"}`)
  }).observe({ entryTypes: ["gc"] })
  // and the main thread's stalls: a 1 ms timer that fired 3 ms or more late, as "start duration stall"
  let last = performance.now()
  setInterval(() => {
    const now = performance.now()
    if (now - last >= 4) gcLog.push(`${(monotonicOffsetMs + last).toFixed(2)} ${(now - last - 1).toFixed(3)} stall`)
    last = now
  }, 1).unref()
}

console.log(JSON.stringify({ url }))
const gc = (globalThis as { gc?: (options?: { type: string; execution: string; flavor: string }) => void }).gc
createInterface({ input: process.stdin }).on("line", (line) => {
  const what = line.trim()
  if (what === "settle") {
    // a last-resort collection hands the pages freed since start back to the system, so later RSS readings compare
    gc?.({ type: "major", execution: "sync", flavor: "last-resort" })
    console.log(JSON.stringify({ settled: true }))
    return
  }
  if (what === "cpu") {
    console.log(JSON.stringify({ cpu: process.cpuUsage() }))
    return
  }
  if (what !== "mem") return
  // last-resort collections also hand freed pages back, so that RSS readings compare
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" })
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" })
  const m = process.memoryUsage()
  console.log(JSON.stringify({ mem: { rss: m.rss, heapUsed: m.heapUsed } }))
})
process.stdin.on("end", () => {
  void close().finally(() => {
    if (process.env.GATEWAY_GC_LOG && mode === "gateway") {
      try {
        writeFileSync(process.env.GATEWAY_GC_LOG, gcLog.join("\n") + "\n")
      } catch (e) {
        console.error(`GATEWAY_GC_LOG: cannot write ${process.env.GATEWAY_GC_LOG}: ${String(e)}`)
      }
    }
    process.exit(0)
  })
})
