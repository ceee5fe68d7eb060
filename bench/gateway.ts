/**
 * `npm run bench -- gateway`: the gateway in its own process (engine on the
 * embedded store, demo network, 100,000 units per pool) driven from this one
 * over 127.0.0.1:
 *
 * 1. 10,000 idle WS connections with one availability subscription each: the
 *    server's resident memory per connection (after a full GC; first, on the
 *    fresh process);
 * 2. WS reservations: N connections of the lean load driver (ws-driver.ts),
 *    each keeping a window of hold.create requests in flight, one request per
 *    frame, every reply durable;
 * 3. latency: an open loop of WS reservations at half the measured rate, sent
 *    every millisecond, a warm-up not counted (1 s; the server is still
 *    collecting the closed loop's garbage), then p50/p99 from send to reply;
 * 4. HTTP availability reads with autocannon;
 * 5. the same WS client against a bare uWebSockets.js JSON echo (the ceiling
 *    of client + transport), for the ratio;
 * 6. the same autocannon against a bare uWebSockets.js route answering, with
 *    no work, the very body the gateway answered in 4 (the HTTP ceiling of
 *    client + transport), for the ratio.
 *
 * Options: --seconds N (per throughput phase, default 5), --connections N (WS
 * load connections, default 32), --idle N (idle connections, default 10000),
 * --half-warmup N (seconds of half load before it is measured, default 1),
 * --store postgres (the engine's journal on a fresh database of the local
 * PostgreSQL, DATABASE_URL, instead of the embedded PGlite).
 * Bounded to about a minute and a half.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { writeFileSync } from "node:fs"
import { createInterface } from "node:readline"
import autocannon from "autocannon"
import WebSocket from "ws"
import { v8PoolSizeFlag } from "../engine/index.ts"
import { parseOptions, storeOption } from "./options.ts"
import { percentile, round, type BenchResult } from "./report.ts"
import { isPush, openDriverSocket, replyId, replyOk, type DriverSocket } from "./ws-driver.ts"

interface Server {
  readonly url: string
  readonly child: ChildProcess
  mem(): Promise<{ rss: number; heapUsed: number }>
  /** A last-resort collection in the server: freed pages go back to the system. */
  settle(): Promise<void>
  /** CPU time the server process has used so far (all threads), in µs. */
  cpu(): Promise<number>
  stop(): Promise<void>
}

/**
 * Extra Node flags for the server process, for diagnosis: GATEWAY_SERVER_PROFILE=DIR
 * writes a CPU profile there, GATEWAY_SERVER_NODE_FLAGS adds any others
 * (space-separated, e.g. "--trace-gc").
 */
const serverNodeFlags = (): Array<string> => [
  ...(process.env.GATEWAY_SERVER_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.GATEWAY_SERVER_PROFILE}`] : []),
  ...(process.env.GATEWAY_SERVER_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "")
]

/** `httpBody`: the echo's fixed HTTP answer (the gateway's own availability answer, so both cost the client the same to read). */
export const startServer = (mode: "gateway" | "echo", httpBody?: string, store: "embedded" | "postgres" = "embedded"): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [v8PoolSizeFlag(), ...serverNodeFlags(), "--expose-gc", "--import", "tsx", "bench/gateway-server.ts", mode], {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, ...(httpBody === undefined ? {} : { BENCH_ECHO_HTTP_BODY: httpBody }), ...(store === "postgres" ? { BENCH_STORE: "postgres" } : {}) }
    })
    const memWaiters: Array<(m: { rss: number; heapUsed: number }) => void> = []
    const settleWaiters: Array<() => void> = []
    const cpuWaiters: Array<(us: number) => void> = []
    const timer = setTimeout(() => reject(new Error(`${mode} server did not start in 120 s`)), 120_000)
    child.once("exit", (code) => reject(new Error(`${mode} server exited with ${code}`)))
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return void process.stderr.write(`${mode}: ${line}\n`)
      const msg = JSON.parse(line) as { url?: string; mem?: { rss: number; heapUsed: number }; settled?: boolean; cpu?: { user: number; system: number } }
      if (msg.mem) memWaiters.shift()?.(msg.mem)
      if (msg.cpu) cpuWaiters.shift()?.(msg.cpu.user + msg.cpu.system)
      if (msg.settled) settleWaiters.shift()?.()
      if (msg.url) {
        clearTimeout(timer)
        resolve({
          url: msg.url,
          child,
          mem: () => new Promise((r) => {
            memWaiters.push(r)
            child.stdin!.write("mem\n")
          }),
          settle: () => new Promise((r) => {
            settleWaiters.push(r)
            child.stdin!.write("settle\n")
          }),
          cpu: () => new Promise((r) => {
            cpuWaiters.push(r)
            child.stdin!.write("cpu\n")
          }),
          stop: () => new Promise((r) => {
            child.removeAllListeners("exit")
            child.once("exit", () => r())
            child.stdin!.end()
            setTimeout(() => child.kill("SIGKILL"), 15_000).unref()
          })
        })
      }
    })
  })

const openSockets = async (url: string, count: number, parallel = 256): Promise<Array<WebSocket>> => {
  const sockets: Array<WebSocket> = []
  for (let i = 0; i < count; i += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false })
      ws.once("open", () => resolve(ws))
      ws.once("error", reject)
    })))
    sockets.push(...batch)
  }
  return sockets
}

const closeSockets = async (sockets: ReadonlyArray<WebSocket>) => {
  await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve()
    ws.once("close", () => resolve())
    ws.close()
    setTimeout(() => {
      ws.terminate()
      resolve()
    }, 2_000).unref()
  })))
}

export const openDrivers = async (url: string, count: number): Promise<Array<DriverSocket>> =>
  Promise.all(Array.from({ length: count }, () => openDriverSocket(url)))

export const closeDrivers = (sockets: ReadonlyArray<DriverSocket>) => Promise.all(sockets.map((s) => s.close()))

interface LoopResult {
  readonly perSec: number
  readonly refusedPerSec: number
  readonly latencies: Array<number>
}

/** Every socket keeps `window` requests in flight for `durationMs`: replies per second. */
const closedLoop = async (sockets: ReadonlyArray<DriverSocket>, frame: (id: number) => string, window: number, durationMs: number): Promise<LoopResult> => {
  let ok = 0
  let refused = 0
  const started = performance.now()
  const deadline = started + durationMs
  await Promise.all(sockets.map((ws) => new Promise<void>((done) => {
    let nextId = 1
    let outstanding = 0
    ws.onMessage = (data) => {
      if (isPush(data)) return
      outstanding--
      if (replyOk(data)) ok++
      else refused++
      if (performance.now() < deadline) {
        outstanding++
        ws.send(frame(nextId++))
      } else if (outstanding === 0) {
        ws.onMessage = () => undefined
        done()
      }
    }
    for (let i = 0; i < window; i++) {
      outstanding++
      ws.send(frame(nextId++))
    }
    ws.flush()
  })))
  const seconds = (performance.now() - started) / 1000
  return { perSec: ok / seconds, refusedPerSec: refused / seconds, latencies: [] }
}

/**
 * Sends `perSec` requests spread over the sockets, every millisecond what is
 * due, for `warmUpMs` (answers not counted: the server settles after the phase
 * before, whose in-flight garbage it is still collecting) and then for
 * `durationMs`; latency from send to reply.
 */
export const openLoop = async (sockets: ReadonlyArray<DriverSocket>, frame: (id: number) => string, perSec: number, durationMs: number, warmUpMs: number): Promise<LoopResult> => {
  const latencies: Array<number> = []
  // GATEWAY_LATENCY_LOG=FILE: every measured request as "monotonic-ms-sent latency-ms" (CLOCK_MONOTONIC, shared with the server's GATEWAY_GC_LOG), for diagnosis
  const monotonicOffsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now()
  const latencyLog: Array<string> | undefined = process.env.GATEWAY_LATENCY_LOG ? [] : undefined
  const sentAt = sockets.map(() => new Map<number, number>())
  let ok = 0
  let refused = 0
  let measuring = false
  sockets.forEach((ws, k) => {
    ws.onMessage = (data) => {
      if (isPush(data)) return
      const id = replyId(data)
      const t0 = sentAt[k].get(id)
      if (t0 === undefined) return
      sentAt[k].delete(id)
      if (t0 < 0) return // sent during the warm-up
      const latency = performance.now() - t0
      latencies.push(latency)
      latencyLog?.push(`${(monotonicOffsetMs + t0).toFixed(2)} ${latency.toFixed(3)}`)
      if (replyOk(data)) ok++
      else refused++
    }
  })
  const tickMs = 1
  const started = performance.now()
  let sent = 0
  let nextId = 1_000_000
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now()
      if (now - started >= warmUpMs + durationMs) return done()
      measuring = now - started >= warmUpMs
      const due = Math.floor(((now - started) / 1000) * perSec)
      while (sent < due) {
        const k = sent % sockets.length
        const id = nextId++
        sentAt[k].set(id, measuring ? performance.now() : -1)
        sockets[k].send(frame(id))
        sent++
      }
      for (const ws of sockets) ws.flush()
      setTimeout(tick, tickMs)
    }
    tick()
  })
  const drainUntil = performance.now() + 5_000
  while (sentAt.some((m) => m.size > 0) && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 10))
  for (const ws of sockets) ws.onMessage = () => undefined
  if (latencyLog) writeFileSync(process.env.GATEWAY_LATENCY_LOG!, latencyLog.join("\n") + "\n")
  return { perSec: ok / (durationMs / 1000), refusedPerSec: refused / (durationMs / 1000), latencies }
}

const availabilityUrl = (base: string) => `${base}/v1/availability?skus=SKU-0001,SKU-0002&lat=39.74&lon=-104.99`

/** The HTTP read phase: autocannon, 64 connections, against the gateway or the bare echo. */
const availabilityReads = (base: string, durationMs: number) =>
  autocannon({ url: availabilityUrl(base), headers: { authorization: "Bearer sf-demo-web" }, connections: 64, duration: durationMs / 1000 })

/**
 * The same reads, each from another customer location (a distinct question
 * every time): no answer is reused, so every request is computed and encoded.
 */
const availabilityReadsComputed = (base: string, durationMs: number) => {
  let n = 0
  return autocannon({
    url: availabilityUrl(base),
    headers: { authorization: "Bearer sf-demo-web" },
    connections: 64,
    duration: durationMs / 1000,
    requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/availability?skus=SKU-0001,SKU-0002&lat=${(39 + (n++ % 1_000_000) / 1_000_000).toFixed(6)}&lon=-104.99` }) }]
  })
}

/** The gateway's availability cache counters, from /metrics. */
const cacheCounters = async (base: string): Promise<{ hits: number; misses: number }> => {
  const text = await (await fetch(`${base}/metrics`)).text()
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN)
  return { hits: read("gateway_availability_cache_hits_total"), misses: read("gateway_availability_cache_misses_total") }
}

const demoSkus = Array.from({ length: 200 }, (_, i) => `SKU-${String(i + 1).padStart(4, "0")}`)

/** `hold.create` frames of one unit each, over the demo catalog in a fixed pseudo-random order. */
export const holdFrames = (): ((id: number) => string) => {
  let rnd = 1
  const nextSku = () => demoSkus[(rnd = (rnd * 48271) % 2147483647) % demoSkus.length]
  return (id) => `{"id":${id},"op":"hold.create","sku":"${nextSku()}","qty":1}`
}

export const options = {
  seconds: { type: "number", default: 5, min: 0.1, help: "seconds per throughput phase" },
  connections: { type: "number", default: 32, min: 1, help: "WS load connections" },
  idle: { type: "number", default: 10_000, min: 1, help: "idle WS connections" },
  "half-warmup": { type: "number", default: 1, min: 0, help: "seconds of half load before it is measured" },
  store: storeOption
} as const

export const run = async (args: ReadonlyArray<string>): Promise<BenchResult> => {
  const o = parseOptions(options, args).values
  const durationMs = o.seconds * 1000
  const connections = o.connections
  const idleCount = o.idle
  const window = 64
  const halfWarmUpMs = o["half-warmup"] * 1000
  const hold = holdFrames()

  // ---- 1 to 4 against the gateway ------------------------------------------------------
  const store = o.store
  const gateway = await startServer("gateway", undefined, store)
  const wsUrl = `${gateway.url.replace("http://", "ws://")}/v1/ws?key=sf-demo-web`
  let reservations: LoopResult
  let half: LoopResult
  let http: autocannon.Result
  let httpComputed: autocannon.Result
  let cacheHitRate: { repeated: number; distinct: number }
  let availabilityAnswer = ""
  let idle: { bytesPerConnection: number; heapBytesPerConnection: number; opened: number }
  try {
    // idle connections first, on the fresh process, so the load phases' heap does not blur the memory delta;
    // the pages the start-up's garbage held are returned first, or their return later reads as negative growth
    // and a first cohort of subscribers comes and goes, so that what the first connections compile and cache is not counted
    const subscribe = (sockets: ReadonlyArray<WebSocket>) => Promise.all(sockets.map((ws, i) => new Promise<void>((resolve) => {
      ws.once("message", () => resolve())
      ws.send(`{"id":1,"op":"availability.subscribe","skus":["${demoSkus[i % demoSkus.length]}"],"nodesMax":3}`)
    })))
    const warmCohort = await openSockets(wsUrl, Math.min(1_000, idleCount))
    await subscribe(warmCohort)
    await closeSockets(warmCohort)
    await gateway.settle()
    const before = await gateway.mem()
    const idleSockets = await openSockets(wsUrl, idleCount)
    await subscribe(idleSockets)
    const after = await gateway.mem()
    idle = {
      opened: idleSockets.length,
      bytesPerConnection: Math.round((after.rss - before.rss) / idleSockets.length),
      heapBytesPerConnection: Math.round((after.heapUsed - before.heapUsed) / idleSockets.length)
    }
    await closeSockets(idleSockets)

    const load = await openDrivers(wsUrl, connections)
    await closedLoop(load, hold, window, Math.min(1_000, durationMs)) // warm-up
    reservations = await closedLoop(load, hold, window, durationMs)
    half = await openLoop(load, hold, reservations.perSec / 2, durationMs, halfWarmUpMs)
    await closeDrivers(load)

    availabilityAnswer = await (await fetch(availabilityUrl(gateway.url), { headers: { authorization: "Bearer sf-demo-web" } })).text()
    const c0 = await cacheCounters(gateway.url)
    http = await availabilityReads(gateway.url, durationMs)
    const c1 = await cacheCounters(gateway.url)
    httpComputed = await availabilityReadsComputed(gateway.url, durationMs)
    const c2 = await cacheCounters(gateway.url)
    const rate = (a: { hits: number; misses: number }, b: { hits: number; misses: number }) => round((b.hits - a.hits) / Math.max(1, b.hits - a.hits + b.misses - a.misses), 3)
    cacheHitRate = { repeated: rate(c0, c1), distinct: rate(c1, c2) }
  } finally {
    await gateway.stop()
  }

  // ---- 5: the same client against a bare uWS echo -----------------------------------------------
  const echo = await startServer("echo", availabilityAnswer)
  let echoLoop: LoopResult
  let httpEcho: autocannon.Result
  try {
    const load = await openDrivers(`${echo.url.replace("http://", "ws://")}/v1/ws`, connections)
    await closedLoop(load, hold, window, Math.min(1_000, durationMs))
    echoLoop = await closedLoop(load, hold, window, durationMs)
    await closeDrivers(load)
    httpEcho = await availabilityReads(echo.url, durationMs)
  } finally {
    await echo.stop()
  }

  const figures = {
    wsReservationsPerSec: Math.round(reservations.perSec),
    wsReservationsRefusedPerSec: Math.round(reservations.refusedPerSec),
    wsEchoPerSec: Math.round(echoLoop.perSec),
    wsReservationsToEchoRatio: round(reservations.perSec / echoLoop.perSec, 3),
    httpAvailabilityPerSec: Math.round(http.requests.average),
    httpAvailabilityP99Ms: http.latency.p99,
    httpEchoPerSec: Math.round(httpEcho.requests.average),
    httpAvailabilityToEchoRatio: round(http.requests.average / httpEcho.requests.average, 3),
    httpNon2xx: http.non2xx,
    httpAvailabilityCacheHitRate: cacheHitRate.repeated,
    httpAvailabilityComputedPerSec: Math.round(httpComputed.requests.average),
    httpAvailabilityComputedP99Ms: httpComputed.latency.p99,
    httpAvailabilityComputedCacheHitRate: cacheHitRate.distinct,
    httpComputedNon2xx: httpComputed.non2xx,
    halfLoadPerSec: Math.round(half.perSec),
    p50Ms: round(percentile(half.latencies, 50)),
    p99Ms: round(percentile(half.latencies, 99)),
    idleConnections: idle.opened,
    bytesPerIdleConnection: idle.bytesPerConnection,
    heapBytesPerIdleConnection: idle.heapBytesPerConnection,
    wsConnections: connections,
    wsWindowPerConnection: window,
    secondsPerPhase: durationMs / 1000,
    store
  }
  return {
    name: "gateway",
    figures,
    rows: [
      ["WS reservations (hold.create)", figures.wsReservationsPerSec, `/s durable (${store === "postgres" ? "PostgreSQL" : "embedded PGlite"}), ${connections} connections x ${window} in flight (+${figures.wsReservationsRefusedPerSec}/s refused)`],
      ["bare uWS JSON echo, same client", figures.wsEchoPerSec, `/s (ratio ${figures.wsReservationsToEchoRatio})`],
      ["HTTP availability reads", figures.httpAvailabilityPerSec, `/s autocannon, 64 connections, p99 ${figures.httpAvailabilityP99Ms} ms, non-2xx ${figures.httpNon2xx}`],
      ["  answers served from the cache", `${Math.round(figures.httpAvailabilityCacheHitRate * 100)} %`, "(the same question repeated: a product page reloaded)"],
      ["HTTP availability, a new location each request", figures.httpAvailabilityComputedPerSec, `/s every answer computed (cache hits ${Math.round(figures.httpAvailabilityComputedCacheHitRate * 100)} %), p99 ${figures.httpAvailabilityComputedP99Ms} ms, non-2xx ${figures.httpComputedNon2xx}`],
      ["bare uWS fixed JSON answer, same autocannon", figures.httpEchoPerSec, `/s (ratio ${figures.httpAvailabilityToEchoRatio})`],
      ["WS reservation p50 / p99 at half load", `${figures.p50Ms} / ${figures.p99Ms}`, `ms at ${figures.halfLoadPerSec}/s`],
      ["idle WS connections, 1 subscription each", figures.idleConnections, "open at once"],
      ["  server memory per idle connection", figures.bytesPerIdleConnection, `bytes RSS (${figures.heapBytesPerIdleConnection} bytes JS heap)`]
    ]
  }
}
