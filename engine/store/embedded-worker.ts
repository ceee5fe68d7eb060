/**
 * The embedded database's thread: opens PGlite (Postgres in WASM) on a data
 * folder and serves it on a local socket with pglite-socket, so the engine's
 * thread talks to it over the PostgreSQL protocol like to any server, while
 * the database work runs on another CPU core.
 *
 * Started by embedded.ts; speaks to it with the messages below. Closing stops
 * the socket server and shuts PGlite down cleanly (checkpoint), which keeps the
 * next open fast.
 */
import { parentPort, workerData } from "node:worker_threads"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"

export interface EmbeddedWorkerData {
  /** Folder of the PGlite cluster (created if missing). */
  readonly clusterDir: string
  /** Unix socket path to listen on; a free loopback TCP port when absent. */
  readonly socketPath: string | undefined
  readonly maxConnections: number
}

export type EmbeddedWorkerReport =
  | { readonly type: "ready"; readonly host: string; readonly port: number; readonly socketPath: string | undefined; readonly openMs: number }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "closed" }

export type EmbeddedWorkerCommand = { readonly type: "close" }

const port = parentPort
if (port === null) throw new Error("embedded-worker.ts must run in a worker thread")
const data = workerData as EmbeddedWorkerData
const report = (message: EmbeddedWorkerReport) => port.postMessage(message)

const errorText = (error: unknown): string => (error instanceof Error ? error.stack ?? error.message : String(error))

let db: PGlite | undefined
let server: PGLiteSocketServer | undefined

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
  const extra = (process.env.PGLITE_EXTRA ?? "").split(" ").filter(Boolean).flatMap((kv) => ["-c", kv])
  const { PGlite: P } = await import("@electric-sql/pglite")
  const defaults = ["--single","-F","-O","-j","-c","search_path=public","-c","exit_on_error=false","-c","log_checkpoints=false","-c","max_worker_processes=0","-c","max_parallel_workers=0","-c","max_parallel_workers_per_gather=0","-c","io_method=sync","-c","max_parallel_maintenance_workers=0"]
  db = await P.create({ dataDir: data.clusterDir, ...(extra.length ? { startParams: [...defaults, ...extra] } : {}) })
  if (extra.length) console.error("settings", extra, (await db.query("show wal_init_zero")).rows, (await db.query("show max_wal_size")).rows)
  server = new PGLiteSocketServer(
    data.socketPath !== undefined
      ? { db, path: data.socketPath, maxConnections: data.maxConnections }
      : { db, host: "127.0.0.1", port: 0, maxConnections: data.maxConnections }
  )
  await server.start()
  const address = server.getServerConn()
  const tcpPort = data.socketPath === undefined ? Number(address.slice(address.lastIndexOf(":") + 1)) : 0
  report({
    type: "ready",
    host: "127.0.0.1",
    port: tcpPort,
    socketPath: data.socketPath,
    openMs: Math.round(performance.now() - started)
  })
} catch (error) {
  await shutDown().catch(() => undefined)
  report({ type: "failed", message: `opening PGlite in ${data.clusterDir} failed: ${errorText(error)}` })
  port.close()
}
