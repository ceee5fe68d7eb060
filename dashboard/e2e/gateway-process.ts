/**
 * The gateway as an operator runs it (`gateway/main.ts` in its own process,
 * the embedded store in DATA_DIR, the demo network and demo keys on first
 * start), for tests that stop it the way Ctrl-C does (SIGINT: its own clean
 * close, then the process exits) and start it again on the same data and port.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { createServer } from "node:net"

export interface GatewayProcess {
  readonly url: string
  /** SIGINT, as Ctrl-C sends it; resolves when the process has exited. */
  stop(): Promise<void>
}

/** The demo keys gateway/main.ts uses without GATEWAY_KEYS (gateway/keys.ts demoKeys). */
export const demoOpsToken = "ops-demo-token"
export const demoWebKey = "sf-demo-web"

/** A port free right now on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.on("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

const startedWithin = 120_000

export const startGatewayProcess = async (dataDir: string, port: number, env: Readonly<Record<string, string>> = {}): Promise<GatewayProcess> => {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !["DATABASE_URL", "ENGINE_MODE", "GATEWAY_ENGINE_URL", "REDIS_URL", "GATEWAY_KEYS", "GATEWAY_KEYS_FILE"].includes(k)))
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "gateway/main.ts"], {
    env: { ...clean, DATA_DIR: dataDir, PORT: String(port), GATEWAY_HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start within ${startedWithin} ms:\n${output}`)), startedWithin)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("gateway listening on")) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", (c: Buffer) => (output += c.toString()))
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the gateway exited (${code}) before it started:\n${output}`))
    })
  })
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGINT")
      await exited
    }
  }
}
