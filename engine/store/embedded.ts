/**
 * The embedded database, the default store when no PostgreSQL is configured:
 * PGlite (Postgres compiled to WASM) persisted in a data folder, running in a
 * worker thread and served on a local socket (a unix socket in the data
 * folder, else a free loopback TCP port) by pglite-wire.ts. The engine connects
 * to it with the same client and SQL as to a real PostgreSQL.
 *
 * PGlite executes one statement at a time; the socket server queues what its
 * connections send, so clients gain nothing from more than one connection.
 *
 * One process at a time may open a data folder: a lock file holds the owner's
 * pid. Opening costs ~4 s the first time (initdb) or after a crash (recovery),
 * well under a second after a clean close, so always close().
 *
 * The first time, the cluster is created by a thread of its own, which then
 * ends: PGlite keeps what initdb used (about 400 MB) for as long as the
 * instance that ran it lives, and the serving thread lives as long as the
 * engine.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import type { EmbeddedWorkerCommand, EmbeddedWorkerData, EmbeddedWorkerReport } from "./embedded-worker.ts"

export interface EmbeddedPostgresOptions {
  /** The data folder; PGlite's files go in its `pglite` sub-folder. */
  readonly dataDir: string
  /** How clients reach the server; default a unix socket in the data folder when its path is short enough. */
  readonly transport?: "unix" | "tcp" | undefined
  /** Connections the socket server accepts at once (queued onto PGlite's one); default 4. */
  readonly maxConnections?: number | undefined
}

export interface EmbeddedPostgres {
  /** A postgres:// URL for @effect/sql-pg (user postgres, database postgres, no password). */
  readonly url: string
  /** Where clients connect, for logs: a socket path or host:port. */
  readonly address: string
  readonly dataDir: string
  /** Time PGlite took to open the data folder (recovery included). */
  readonly openMs: number
  /** Time the cluster's creation (initdb, in a thread of its own) took; undefined when the folder held one. */
  readonly initMs: number | undefined
  /** Stops the server and shuts PGlite down cleanly, then ends its thread. */
  close(): Promise<void>
}

const openFolders = new Set<string>()

/** Longest unix socket path every platform accepts (sun_path is 104 or 108 bytes). */
const socketPathBytesMax = 100

const closeTimeoutMs = 60_000

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Takes the data folder's lock file, or throws if a live process holds it. */
const lockDataFolder = (dataDir: string): () => void => {
  if (openFolders.has(dataDir)) throw new Error(`the embedded database in ${dataDir} is already open in this process`)
  const lockPath = path.join(dataDir, "embedded.lock")
  try {
    writeFileSync(lockPath, String(process.pid), { flag: "wx" })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    const owner = Number(readFileSync(lockPath, "utf8").trim())
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
      throw new Error(`the embedded database in ${dataDir} is in use by process ${owner} (lock file ${lockPath})`)
    }
    writeFileSync(lockPath, String(process.pid))
  }
  openFolders.add(dataDir)
  return () => {
    openFolders.delete(dataDir)
    rmSync(lockPath, { force: true })
  }
}

/** tsx's ESM API (`require.resolve` would give its CommonJS build, which cannot register hooks from a worker). */
const tsxApiPath = (): string => {
  const manifestPath = createRequire(import.meta.url).resolve("tsx/package.json")
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    readonly exports: { readonly "./esm/api": { readonly import: { readonly default: string } } }
  }
  return path.join(path.dirname(manifestPath), manifest.exports["./esm/api"].import.default)
}

/**
 * Starts the worker. Under tsx or vitest this module is TypeScript, which a
 * worker thread cannot load by itself on Node 20 (loader hooks given in
 * execArgv do not reach it), so the worker boots through tsx's API instead.
 */
const startWorker = (workerData: EmbeddedWorkerData): Worker => {
  if (import.meta.url.endsWith(".js")) {
    return new Worker(new URL("./embedded-worker.js", import.meta.url), { workerData })
  }
  const tsx = pathToFileURL(tsxApiPath()).href
  const entry = new URL("./embedded-worker.ts", import.meta.url).href
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}))`
  return new Worker(boot, { eval: true, workerData, execArgv: [] })
}

/** The worker's next report, or a failure if it dies first. */
const nextReport = (worker: Worker, timeoutMs: number): Promise<EmbeddedWorkerReport> =>
  new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      worker.off("message", onMessage)
      worker.off("error", onError)
      worker.off("exit", onExit)
    }
    const onMessage = (report: EmbeddedWorkerReport) => {
      done()
      resolve(report)
    }
    const onError = (error: Error) => {
      done()
      reject(error)
    }
    const onExit = (code: number) => {
      done()
      reject(new Error(`the embedded database thread exited with code ${code}`))
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`the embedded database thread did not answer within ${timeoutMs} ms`))
    }, timeoutMs)
    worker.on("message", onMessage)
    worker.on("error", onError)
    worker.on("exit", onExit)
  })

/** Creates a PGlite cluster in `clusterDir` on a thread that then ends (see the header): how long it took. */
const initializeCluster = async (clusterDir: string): Promise<number> => {
  const worker = startWorker({ clusterDir, socketPath: undefined, maxConnections: 0, initializeOnly: true })
  try {
    const report = await nextReport(worker, 120_000)
    if (report.type !== "initialized") {
      throw new Error(report.type === "failed" ? report.message : `creating the embedded database in ${clusterDir}: unexpected ${report.type}`)
    }
    return report.initMs
  } finally {
    await worker.terminate()
  }
}

/** Opens PGlite in `dataDir` on its own thread and serves it on a local socket. */
export const startEmbeddedPostgres = async (options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> => {
  const dataDir = path.resolve(options.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const unlock = lockDataFolder(dataDir)
  try {
    const socketDir = dataDir
    const socketFile = path.join(socketDir, ".s.PGSQL.5432")
    const transport = options.transport ??
      (process.platform !== "win32" && Buffer.byteLength(socketFile) <= socketPathBytesMax ? "unix" : "tcp")
    if (transport === "unix") {
      if (Buffer.byteLength(socketFile) > socketPathBytesMax) {
        throw new Error(`the socket path ${socketFile} is too long for a unix socket; use transport "tcp"`)
      }
      // Left behind by a process that was killed; the lock says nobody uses it.
      if (existsSync(socketFile)) rmSync(socketFile, { force: true })
    }
    const clusterDir = path.join(dataDir, "pglite")
    const initMs = existsSync(path.join(clusterDir, "PG_VERSION")) ? undefined : await initializeCluster(clusterDir)
    const worker = startWorker({
      clusterDir,
      socketPath: transport === "unix" ? socketFile : undefined,
      maxConnections: options.maxConnections ?? 4
    })
    let report: EmbeddedWorkerReport
    try {
      report = await nextReport(worker, 120_000)
    } catch (error) {
      await worker.terminate()
      throw error
    }
    if (report.type !== "ready") {
      await worker.terminate()
      throw new Error(report.type === "failed" ? report.message : "the embedded database thread closed while opening")
    }
    const ready = report
    // Without a listener, an error thrown later in the thread would take the engine's process down with it.
    worker.on("error", (error) => console.error(`the embedded database thread failed (${dataDir}):`, error))
    const url = ready.socketPath !== undefined
      ? `postgres://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}`
      : `postgres://postgres@${ready.host}:${ready.port}/postgres`

    let closing: Promise<void> | undefined
    const close = async () => {
      try {
        if (worker.threadId !== -1) {
          const answer = nextReport(worker, closeTimeoutMs)
          worker.postMessage({ type: "close" } satisfies EmbeddedWorkerCommand)
          const closed = await answer.catch((error: Error) => ({ type: "failed", message: error.message }) as const)
          if (closed.type === "failed") {
            await worker.terminate()
            throw new Error(`the embedded database in ${dataDir} did not close cleanly: ${closed.message}`)
          }
          // PGlite is closed: nothing is left to lose by ending the thread now.
          await worker.terminate()
        }
      } finally {
        unlock()
      }
    }
    return {
      url,
      address: ready.socketPath ?? `${ready.host}:${ready.port}`,
      dataDir,
      openMs: ready.openMs,
      initMs,
      close: () => (closing ??= close())
    }
  } catch (error) {
    unlock()
    throw error
  }
}
