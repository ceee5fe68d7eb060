/**
 * Contender `engine-gateway`: end to end through the gateway over real
 * WebSockets. The gateway and its engine (embedded store) run in a child
 * process, as they would in production and as bench/gateway.ts runs them;
 * this process is the storefronts: one connection per client with the typed
 * client (gateway/client.ts), one request in flight per connection, every
 * reply durable.
 *
 * Audit: the child is stopped cleanly, then its data folder is opened here
 * (recovery from the journal) and checked like the `engine` contender.
 *
 * Run as `node --import tsx bench/contenders/engine-gateway.ts serve <data dir> <workload options JSON>`
 * this file is the child: it loads the workload into a fresh engine, starts
 * the gateway on 127.0.0.1 on a free port, prints `{"url": ...}`, and stops
 * when its stdin ends.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Engine, openJournalStore, route, v8PoolSizeFlag } from "../../engine/index.ts"
import { GatewayClient, GatewayError } from "../../gateway/client.ts"
import { loadGatewayConfig } from "../../gateway/config.ts"
import { LocalEngine } from "../../gateway/engine-access.ts"
import { demoKeys, makeKeyRing } from "../../gateway/keys.ts"
import { startGateway } from "../../gateway/server.ts"
import { channel, compareWorkload, type Ack, type Audit, type CompareRequest, type CompareWorkload, type CompareWorkloadOptions, type Contender, type Outcome } from "../compare-workload.ts"
import { auditDataDir, embeddedDurability, engineConfig, loadWorkload, routedUnits } from "./engine.ts"

const thisFile = fileURLToPath(import.meta.url)
const storefrontKey = `sf-demo-${channel}`

interface Child {
  readonly url: string
  stop(): Promise<void>
}

const startChild = (dataDir: string, options: CompareWorkloadOptions): Promise<Child> =>
  new Promise((resolvePromise, reject) => {
    const child: ChildProcess = spawn(process.execPath, [v8PoolSizeFlag(), "--import", "tsx", thisFile, "serve", dataDir, JSON.stringify(options)], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error("the gateway process did not start in 120 s"))
    }, 120_000)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the gateway process exited with ${code} before listening`))
    })
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return
      const msg = JSON.parse(line) as { url?: string }
      if (msg.url === undefined) return
      clearTimeout(timer)
      child.removeAllListeners("exit")
      resolvePromise({
        url: msg.url,
        stop: () => new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done()
          const kill = setTimeout(() => child.kill("SIGKILL"), 30_000)
          child.once("exit", () => {
            clearTimeout(kill)
            done()
          })
          child.stdin!.end()
        })
      })
    })
  })

export class EngineGatewayContender implements Contender {
  readonly name = "engine-gateway"
  private dir = ""
  private child: Child | undefined
  private clients: Array<GatewayClient> = []
  private w: CompareWorkload | undefined

  durability(): string {
    return `${embeddedDurability}; reply sent after the commit`
  }

  async setup(w: CompareWorkload, clients: number): Promise<void> {
    this.w = w
    this.dir = mkdtempSync(join(tmpdir(), "oms-compare-gateway-"))
    this.child = await startChild(this.dir, w.options)
    const url = `${this.child.url.replace("http://", "ws://")}/v1/ws`
    for (let i = 0; i < clients; i += 32) {
      const batch = await Promise.all(Array.from({ length: Math.min(32, clients - i) }, () =>
        GatewayClient.connect({ url, key: storefrontKey, requestTimeoutMs: 30_000 })))
      this.clients.push(...batch)
    }
  }

  async handle(r: CompareRequest, client: number): Promise<Outcome> {
    const c = this.clients[client % this.clients.length]
    try {
      if (r.kind === "hold") {
        const { hold } = await c.request("hold.create", { sku: r.sku, qty: r.qty, location: r.location })
        return { ok: true, ref: hold.holdId, units: hold.qty }
      }
      const { order } = await c.request("order.place", {
        externalId: r.id, payment: "authorised", lines: r.lines, customer: { location: r.location }
      })
      return { ok: true, ref: order.orderId, units: routedUnits(order.shipments) }
    } catch (e) {
      if (e instanceof GatewayError) return { ok: false, code: e.code }
      throw e
    }
  }

  private async disconnect(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close()))
    await this.child?.stop()
    this.child = undefined
  }

  async audit(acks: ReadonlyArray<Ack>): Promise<Audit> {
    await this.disconnect()
    return auditDataDir(this.dir, this.w!, acks)
  }

  async close(): Promise<void> {
    await this.disconnect()
    if (this.dir !== "") rmSync(this.dir, { recursive: true, force: true })
  }
}

export const contender = (): Contender => new EngineGatewayContender()

// ---- the child process ------------------------------------------------------------------------

const serve = async (dataDir: string, options: CompareWorkloadOptions): Promise<void> => {
  const w = compareWorkload(options)
  const { store, close: closeStore } = await openJournalStore({ backend: "embedded", dataDir })
  const engine = await Engine.open({ store, config: engineConfig(), router: route })
  await loadWorkload(engine, w)
  const gateway = await startGateway({
    // the comparison drives one secret key as fast as it goes: its rate limits (production defaults 10,000/s) are lifted
    config: loadGatewayConfig({
      host: "127.0.0.1", port: 0,
      secretKeyRequestsPerSec: 1e9, secretKeyRequestsBurst: 1e9, secretConnectionRequestsPerSec: 1e9, secretConnectionRequestsBurst: 1e9
    }, {}),
    keys: makeKeyRing(demoKeys([channel], w.nodeIds)),
    engine: new LocalEngine(engine, store)
  })
  console.log(JSON.stringify({ url: gateway.url }))
  process.stdin.resume()
  process.stdin.on("end", () => {
    void (async () => {
      await gateway.close()
      await engine.close()
      await closeStore()
    })().then(() => process.exit(0), (e: unknown) => {
      console.error(e)
      process.exit(1)
    })
  })
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === thisFile && process.argv[2] === "serve") {
  await serve(process.argv[3], JSON.parse(process.argv[4]) as CompareWorkloadOptions)
}
