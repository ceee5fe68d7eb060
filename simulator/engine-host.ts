/**
 * The engine and gateway a simulation runs against when it is not given
 * `--target`: a fresh engine on the embedded store (PGlite) in a new temp
 * data folder, served by the real gateway on 127.0.0.1 (ephemeral port) with
 * the simulator's keys. The network is not loaded here: the simulator
 * provisions it through the gateway's admin and inventory routes, as it does
 * for a target it does not own.
 *
 * In process (tests) or in a child process (the CLI default, so the engine,
 * the gateway and the simulator's clients do not share one event loop). Run
 * as a script it is that child: it reads SIM_KEYS and SIM_DATA_DIR, prints
 * one line `{"url": ...}` when listening and stops on SIGTERM or when stdin
 * closes.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { createInterface } from "node:readline"
import { Engine, loadConfig, openJournalStore, route, v8PoolSizeFlag } from "../engine/index.ts"
import { loadGatewayConfig } from "../gateway/config.ts"
import { LocalEngine } from "../gateway/engine-access.ts"
import { makeKeyRing, type KeysConfig } from "../gateway/keys.ts"
import { startGateway } from "../gateway/server.ts"

export interface LocalTarget {
  /** http://127.0.0.1:port */
  readonly httpUrl: string
  /** ws://127.0.0.1:port/v1/ws */
  readonly wsUrl: string
  readonly dataDir: string
  /** CPU seconds the engine and gateway used so far (null when unknown: in process, or no /proc). */
  cpuSeconds(): number | null
  close(): Promise<void>
}

/** User + system CPU seconds of a process, from /proc (Linux). */
const procCpuSeconds = (pid: number | undefined): number | null => {
  if (pid === undefined) return null
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return null
  }
}

const wsOf = (httpUrl: string) => `${httpUrl.replace("http://", "ws://")}/v1/ws`

/** Opens a fresh engine on the embedded store in `dataDir` and serves it; returns its URL and how to close both. */
const serve = async (keys: KeysConfig, dataDir: string): Promise<{ url: string; close: () => Promise<void> }> => {
  const { store, close: closeStore } = await openJournalStore({ backend: "embedded", dataDir })
  const engine = await Engine.open({ store, config: loadConfig(), router: route, timerPollMs: 50 })
  const gateway = await startGateway({
    config: loadGatewayConfig({ host: "127.0.0.1", port: 0 }),
    keys: makeKeyRing(keys),
    engine: new LocalEngine(engine, store)
  })
  return {
    url: gateway.url,
    close: async () => {
      await gateway.close()
      await engine.close()
      await closeStore()
    }
  }
}

const freshDataDir = () => mkdtempSync(path.join(tmpdir(), "oms-sim-"))

export const startLocalTarget = async (keys: KeysConfig, options: { readonly inProcess: boolean }): Promise<LocalTarget> => {
  const dataDir = freshDataDir()
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true })
  if (options.inProcess) {
    const served = await serve(keys, dataDir).catch((e) => {
      removeDir()
      throw e
    })
    return {
      httpUrl: served.url, wsUrl: wsOf(served.url), dataDir,
      cpuSeconds: () => null,
      close: async () => {
        await served.close()
        removeDir()
      }
    }
  }
  // SIM_ENGINE_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") go to the engine's process only.
  const nodeArgs = (process.env.SIM_ENGINE_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")
  const child = spawn(process.execPath, [v8PoolSizeFlag(), ...nodeArgs, "--import", "tsx", fileURLToPath(import.meta.url)], {
    env: { ...process.env, SIM_KEYS: JSON.stringify(keys), SIM_DATA_DIR: dataDir },
    stdio: ["pipe", "pipe", "inherit"]
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on("line", (line) => {
      try {
        const m = JSON.parse(line) as { url?: string }
        if (m.url) resolve(m.url)
      } catch {
        // not our line
      }
    })
    child.once("exit", (code) => reject(new Error(`the engine process exited (${code}) before it served`)))
  }).catch((e) => {
    removeDir()
    throw e
  })
  return {
    httpUrl: url, wsUrl: wsOf(url), dataDir,
    cpuSeconds: () => procCpuSeconds(child.pid),
    close: async () => {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
      await exited
      clearTimeout(timer)
      removeDir()
    }
  }
}

// ---- as a child process ----------------------------------------------------------------------

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const keys = JSON.parse(process.env.SIM_KEYS ?? "{}") as KeysConfig
  const served = await serve(keys, process.env.SIM_DATA_DIR ?? freshDataDir())
  console.log(JSON.stringify({ url: served.url }))
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await served.close()
    process.exit(0)
  }
  process.on("SIGTERM", () => void stop())
  process.on("SIGINT", () => void stop())
  process.stdin.on("close", () => void stop())
  process.stdin.resume()
}
