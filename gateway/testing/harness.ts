/**
 * A gateway for tests: an engine on the in-memory journal with the engine's
 * fixture network (four nodes, three SKUs, channels web and marketplace),
 * started on an ephemeral port on 127.0.0.1 with known test keys; plus small
 * helpers for real clients (ws, fetch).
 */
import WebSocket from "ws"
import { Engine as EngineClass, loadConfig, MemoryJournal, route, type Command, type Engine, type EngineConfig } from "../../engine/index.ts"
import { fixtureCommands, run } from "../../engine/testing/fixture.ts"
import { loadGatewayConfig, type GatewayConfig } from "../config.ts"
import { LocalEngine } from "../engine-access.ts"
import { makeKeyRing, type KeysConfig } from "../keys.ts"
import { startGateway, type Gateway } from "../server.ts"
import type { ShopifyShops } from "../shopify.ts"
import type { WebhookTargets } from "../webhook-targets.ts"

export const testKeys: KeysConfig = {
  storefronts: { "sf-test-web": "web", "sf-test-marketplace": "marketplace" },
  publishable: { "pk-test-web": "web", "pk-test-marketplace": "marketplace" },
  nodes: { "nk-test-WH-DAL": "WH-DAL", "nk-test-WH-COL": "WH-COL", "nk-test-ST-HOU": "ST-HOU", "nk-test-ST-AUS": "ST-AUS" },
  ops: "ops-test-token",
  internal: "internal-test-token"
}

export const keys = {
  web: "sf-test-web",
  marketplace: "sf-test-marketplace",
  /** Publishable (browser) keys: availability and holds only. */
  webPublishable: "pk-test-web",
  marketplacePublishable: "pk-test-marketplace",
  dallas: "nk-test-WH-DAL",
  columbus: "nk-test-WH-COL",
  ops: "ops-test-token",
  internal: "internal-test-token"
} as const

export interface TestGateway {
  readonly gateway: Gateway
  readonly engine: Engine
  readonly store: MemoryJournal
  readonly url: string
  readonly wsUrl: string
  close(): Promise<void>
}

export const startTestGateway = async (
  options: {
    config?: Partial<GatewayConfig>; stock?: ReadonlyArray<[string, string, number]>; webhooks?: WebhookTargets; redisUrl?: string; redisChannel?: string
    commands?: ReadonlyArray<Command>; shopify?: ShopifyShops; clock?: () => number; dashboardDir?: string
    /** How the gateway reaches the engine (default: a LocalEngine); a subclass may watch or hold back calls. */
    engineAccess?: (engine: Engine, store: MemoryJournal) => LocalEngine
    /** Engine settings other than the test defaults. */
    engine?: Partial<EngineConfig>
  } = {}
): Promise<TestGateway> => {
  const store = new MemoryJournal()
  const engine = await EngineClass.open({
    store, config: loadConfig({ partitions: 4, snapshotEveryEvents: 1_000_000, journalRetainEvents: 10_000_000, ...options.engine }, {}), router: route, timerPollMs: 20,
    ...(options.clock ? { clock: options.clock } : {})
  })
  await run(engine, options.commands ?? fixtureCommands)
  if (options.stock && options.stock.length > 0) {
    await run(engine, [{ type: "inventory.load", rows: options.stock.map(([sku, nodeId, onHand]) => ({ sku, nodeId, onHand })) }])
  }
  const gateway = await startGateway({
    config: loadGatewayConfig({ host: "127.0.0.1", port: 0, ...options.config }, {}),
    keys: makeKeyRing(testKeys),
    engine: options.engineAccess ? options.engineAccess(engine, store) : new LocalEngine(engine, store),
    webhooks: options.webhooks,
    redisUrl: options.redisUrl,
    redisChannel: options.redisChannel,
    shopify: options.shopify,
    dashboardDir: options.dashboardDir
  })
  return {
    gateway,
    engine,
    store,
    url: gateway.url,
    wsUrl: gateway.url.replace("http://", "ws://") + "/v1/ws",
    close: async () => {
      await gateway.close()
      await engine.close()
    }
  }
}

/** A raw `ws` client that collects every frame it receives. */
export class FrameClient {
  readonly frames: Array<Record<string, unknown>> = []
  private waiters: Array<() => void> = []
  closeCode: number | undefined

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.frames.push(JSON.parse(String(data)) as Record<string, unknown>)
      for (const w of this.waiters.splice(0)) w()
    })
    ws.on("close", (code) => {
      this.closeCode = code
      for (const w of this.waiters.splice(0)) w()
    })
  }

  static open(url: string): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url)
      const client = new FrameClient(ws)
      ws.once("open", () => resolve(client))
      ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })))
      ws.once("error", reject)
    })
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data)
  }

  /** Waits for the first frame (from now on or already received) matching `pred`. */
  async waitFor(pred: (f: Record<string, unknown>) => boolean, timeoutMs = 5_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.frames.find(pred)
      if (found) return found
      if (this.closeCode !== undefined) throw new Error(`connection closed (${this.closeCode}) while waiting`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for a frame; have ${JSON.stringify(this.frames.slice(-5))}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Sends a request frame and waits for its reply. */
  async request(id: string | number, op: string, fields: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    this.ws.send(JSON.stringify({ id, op, ...fields }))
    return this.waitFor((f) => f.id === id)
  }

  async waitClosed(timeoutMs = 5_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    while (this.closeCode === undefined) {
      if (Date.now() > deadline) throw new Error("connection did not close")
      await new Promise((r) => setTimeout(r, 10))
    }
    return this.closeCode
  }

  close(): void {
    this.ws.close()
  }
}

/** fetch with a key and a JSON body; resolves with status, parsed body and headers. */
export const call = async (
  base: string, method: string, path: string, key?: string, body?: unknown
): Promise<{ status: number; body: any; headers: Headers }> => {
  const headers: Record<string, string> = {}
  if (key !== undefined) headers.authorization = `Bearer ${key}`
  if (body !== undefined) headers["content-type"] = "application/json"
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // plain text (metrics)
  }
  return { status: res.status, body: parsed, headers: res.headers }
}
