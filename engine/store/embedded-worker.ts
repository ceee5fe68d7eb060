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
  db = await PGlite.create({ dataDir: data.clusterDir })
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
