/**
 * The embedded database's thread: opens PGlite (Postgres in WASM) on a data
 * folder and serves it on a local socket (pglite-wire.ts), so the engine's
 * thread talks to it over the PostgreSQL protocol like to any server, while
 * the database work runs on another CPU core.
 *
 * Started by embedded.ts; speaks to it with the messages below. Closing stops
 * the socket server and shuts PGlite down cleanly (checkpoint), which keeps the
 * next open fast.
 *
 * With `initializeOnly`, the thread creates the cluster (initdb), closes it and
 * reports `initialized`; embedded.ts then ends it and starts the serving one.
 * PGlite keeps about 400 MB of what initdb used (the cluster's files and a
 * second WASM instance) reachable for as long as the instance that ran it
 * lives, so a database first created in its serving thread kept it for the
 * life of the process.
 */
import { parentPort, workerData } from "node:worker_threads"
import { PGlite } from "@electric-sql/pglite"
import { PGliteWireServer } from "./pglite-wire.ts"

export interface EmbeddedWorkerData {
  /** Folder of the PGlite cluster (created if missing). */
  readonly clusterDir: string
  /** Unix socket path to listen on; a free loopback TCP port when absent. */
  readonly socketPath: string | undefined
  readonly maxConnections: number
  /** Create the cluster (initdb), close it and report `initialized`; serve nothing. */
  readonly initializeOnly?: boolean | undefined
}

export type EmbeddedWorkerReport =
  | { readonly type: "ready"; readonly host: string; readonly port: number; readonly socketPath: string | undefined; readonly openMs: number }
  | { readonly type: "initialized"; readonly initMs: number }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "closed" }

export type EmbeddedWorkerCommand = { readonly type: "close" }

const port = parentPort
if (port === null) throw new Error("embedded-worker.ts must run in a worker thread")
const data = workerData as EmbeddedWorkerData
const report = (message: EmbeddedWorkerReport) => port.postMessage(message)

/**
 * Server settings on top of PGlite's own (which include fsync off):
 * - wal_init_zero=off: a new 16 MB WAL segment is created by extending the file, not
 *   by writing 16 MB of zeros. The zeros cost this thread 50 ms or more every few
 *   megabytes of journal, and every append waited meanwhile.
 * - shared_buffers=16MB (PGlite's default is 128 MB): the journal is written once
 *   and read back only by recovery and history reads, so a large buffer pool only
 *   grows the process by what it caches (its pages live in PGlite's WASM memory and
 *   are never given back). Measured: about 100 MB less peak RSS in the engine bench,
 *   the same throughput, recovery from a snapshot 1.4 - 1.9 s instead of 2.0 - 2.6 s,
 *   and shorter latency tails in the gateway (docs/performance.md).
 */
const startParams = ["-c", "wal_init_zero=off", "-c", "shared_buffers=16MB"]

const errorText = (error: unknown): string => (error instanceof Error ? error.stack ?? error.message : String(error))

let db: PGlite | undefined
let server: PGliteWireServer | undefined

const shutDown = async () => {
  try {
    await server?.stop()
  } finally {
    if (db !== undefined && !db.closed) await db.close()
  }
}

port.on("message", (command: EmbeddedWorkerCommand) => {
  if (command.type !== "close") return
  shutDown().then(
    () => report({ type: "closed" }),
    (error) => report({ type: "failed", message: `closing PGlite failed: ${errorText(error)}` })
  ).finally(() => port.close())
})

try {
  const started = performance.now()
  db = await PGlite.create({ dataDir: data.clusterDir, startParams: [...PGlite.defaultStartParams, ...startParams] })
  if (data.initializeOnly) {
    await db.close()
    report({ type: "initialized", initMs: Math.round(performance.now() - started) })
    // the thread ends, and with it everything initdb left behind
    port.close()
  } else {
    server = new PGliteWireServer({ db, maxConnections: data.maxConnections })
    const tcpPort = await server.listen(data.socketPath !== undefined ? { path: data.socketPath } : { host: "127.0.0.1", port: 0 })
    report({
      type: "ready",
      host: "127.0.0.1",
      port: tcpPort,
      socketPath: data.socketPath,
      openMs: Math.round(performance.now() - started)
    })
  }
} catch (error) {
  await shutDown().catch(() => undefined)
  report({ type: "failed", message: `opening PGlite in ${data.clusterDir} failed: ${errorText(error)}` })
  port.close()
}
