/**
 * `npm run gateway`: the engine and its gateway in one process. Opens the
 * engine on the embedded store in DATA_DIR (./data), or PostgreSQL with
 * DATABASE_URL; loads the demo network on an empty store; starts the gateway
 * on PORT (8080); prints the URLs and the keys. Ctrl-C closes it cleanly.
 *
 * With ENGINE_MODE=cluster it is a client of an engine cluster (runners
 * started with `npm run runner`, same DATABASE_URL and ENGINE_PARTITIONS):
 * commands and reads go to the partitions as cluster messages, changes come
 * through REDIS_URL (required), the ops feed shows the runners and merges
 * the figures they publish (gateway/ops-merge.ts).
 *
 * With GATEWAY_ENGINE_URL (the owner's http://host:port) it starts an EDGE
 * gateway instead: no engine here, every command and read forwarded to the
 * owner, changes heard through REDIS_URL (required for edges).
 *
 * Keys: GATEWAY_KEYS / GATEWAY_KEYS_FILE, else demo keys (printed).
 * Webhooks: GATEWAY_WEBHOOKS. Redis channel: GATEWAY_REDIS_CHANNEL (default
 * oms:changes). Limits: gateway/config.ts (GATEWAY_*).
 */
import {
  demoCommands,
  demoNetwork,
  Engine,
  entityIds,
  loadClusterSettings,
  loadConfig,
  openJournalStore,
  Queries,
  route,
  tuneGarbageCollection
} from "../engine/index.ts"
import { loadGatewayConfig } from "./config.ts"
import { ClusterEngine } from "./cluster-access.ts"
import { LocalEngine, RemoteEngine, type EngineAccess } from "./engine-access.ts"
import { demoKeys, keysFromEnv, makeKeyRing, type KeysConfig } from "./keys.ts"
import { startGateway } from "./server.ts"
import { shopifyShopsFromEnv } from "./shopify.ts"
import { webhookTargetsFromEnv } from "./webhook-targets.ts"

// before anything allocates much: the gateway's per-request objects must not be pretenured (engine/runtime/gc-tuning.ts)
tuneGarbageCollection()
const config = loadGatewayConfig()
const webhooks = webhookTargetsFromEnv()
const shopify = shopifyShopsFromEnv()
const redisUrl = process.env.REDIS_URL?.trim() || undefined
const ownerUrl = process.env.GATEWAY_ENGINE_URL?.trim() || undefined
const configuredKeys = keysFromEnv()

let engineAccess: EngineAccess
let closeEngine = async () => {}
let nodeIds: Array<string>
let channels: Array<string>
let cluster: (() => Promise<unknown>) | undefined
let clusterStreams: ReadonlyArray<string> | undefined
const engineMode = process.env.ENGINE_MODE?.trim() || "embedded"
if (engineMode !== "embedded" && engineMode !== "cluster") throw new Error(`ENGINE_MODE must be embedded or cluster, got ${engineMode}`)

if (engineMode === "cluster") {
  if (!redisUrl) throw new Error("a gateway in cluster mode (ENGINE_MODE=cluster) needs REDIS_URL to hear the partitions' changes")
  const clusterEngine = await ClusterEngine.connect(loadClusterSettings(), loadConfig(), config.reportTimeoutMs)
  engineAccess = clusterEngine
  closeEngine = () => clusterEngine.close()
  cluster = () => clusterEngine.cluster()
  clusterStreams = entityIds(loadConfig().partitions)
  nodeIds = (await clusterEngine.nodes()).map((n) => n.nodeId)
  channels = (await clusterEngine.channels()).map((c) => c.channel)
  console.log(`cluster gateway: ${nodeIds.length} nodes; runners: ${JSON.stringify((await clusterEngine.cluster()).runners.map((r) => r.address))}`)
} else if (ownerUrl) {
  if (!redisUrl) throw new Error("an edge gateway (GATEWAY_ENGINE_URL set) needs REDIS_URL to hear changes")
  const internal = configuredKeys ? makeKeyRing(configuredKeys).internalToken : "internal-demo-token"
  engineAccess = new RemoteEngine(ownerUrl.replace(/\/$/, ""), internal, config.engineCallTimeoutMs, config.reportTimeoutMs)
  const health = await engineAccess.health()
  if (health.engine === "unreachable") throw new Error(`the engine owner at ${ownerUrl} does not answer`)
  nodeIds = (await engineAccess.nodes()).map((n) => n.nodeId)
  channels = demoNetwork({ stores: 0, skus: 1 }).channels.map((c) => c.channel)
  console.log(`edge gateway: forwarding to the engine owner at ${ownerUrl}`)
} else {
  const { store, close } = await openJournalStore()
  console.log(`journal store: ${store.describe}`)
  const engine = await Engine.open({ store, config: loadConfig(), router: route })
  if (Queries.nodes(engine.view).length === 0) {
    const commands = demoCommands()
    console.log(`empty store: loading the demo network (${commands.length} commands)`)
    for (const c of commands) {
      const r = await engine.submit(c)
      if (!r.ok) throw new Error(`demo ${c.type} refused: ${r.code} ${r.message}`)
    }
  }
  engineAccess = new LocalEngine(engine, store)
  closeEngine = async () => {
    await engine.close()
    await close()
  }
  nodeIds = Queries.nodes(engine.view).map((n) => n.nodeId)
  channels = Queries.channels(engine.view).map((c) => c.channel)
  const s = engine.stats()
  console.log(`engine ready: ${nodeIds.length} nodes, ${Queries.catalog(engine.view).length} SKUs, ${s.pools} pools, ${s.orders} orders, ${s.partitions} partitions`)
}

const keys: KeysConfig = configuredKeys ?? demoKeys(channels, nodeIds)
const redisChannel = process.env.GATEWAY_REDIS_CHANNEL?.trim() || undefined
const gateway = await startGateway({ config, keys: makeKeyRing(keys), engine: engineAccess, webhooks, redisUrl, redisChannel, shopify, cluster, clusterStreams })

const wsUrl = `${gateway.url.replace("http://", "ws://")}/v1/ws`
console.log(`gateway listening on ${gateway.url} (${gateway.owner ? "engine owner" : "edge"}${redisUrl ? ", Redis fan-out" : ""})`)
console.log(`  storefront WS API   ${wsUrl}?key=<publishable key (browsers) or secret storefront key (servers)>`)
console.log(`  HTTP API            ${gateway.url}/v1/...   (Authorization: Bearer <key>)`)
console.log(`  ops feed            socket.io ${gateway.url}/ops   (auth: { token: <ops token> })`)
console.log(`  health              ${gateway.url}/healthz  ${gateway.url}/readyz  ${gateway.url}/metrics`)
console.log(`  ops dashboard       ${gateway.url}/dashboard/   (sign in with the ops token)`)
if (gateway.healthPort !== undefined) console.log(`  health (HTTP/1.0)   port ${gateway.healthPort}: /healthz /readyz`)
console.log(`  connections         at most ${config.connectionsMax} (${config.connectionsReserved} kept for health and node routes)`)
if (!configuredKeys) {
  console.log("demo keys (set GATEWAY_KEYS or GATEWAY_KEYS_FILE for real ones):")
  for (const [key, channel] of Object.entries(keys.storefronts ?? {})) console.log(`  storefront ${channel.padEnd(12)} ${key}   (secret: servers only)`)
  for (const [key, channel] of Object.entries(keys.publishable ?? {})) console.log(`  publishable ${channel.padEnd(11)} ${key}   (browsers: availability and holds)`)
  console.log(`  ops token               ${keys.ops}   (dashboard: ${gateway.url}/dashboard/#token=${keys.ops})`)
  console.log(`  node keys               nk-demo-<nodeId>, e.g. ${nodeIds.slice(0, 2).map((n) => `nk-demo-${n}`).join(", ")}`)
  const web = Object.entries(keys.storefronts ?? {}).find(([, c]) => c === "web")?.[0]
  if (web) console.log(`try: curl -H "Authorization: Bearer ${web}" "${gateway.url}/v1/availability?skus=SKU-0001,SKU-0002&lat=39.74&lon=-104.99"`)
}
for (const [shop, s] of Object.entries(shopify.byDomain)) console.log(`shopify ${shop}: orders into channel ${s.channel}`)
for (const [channel, t] of Object.entries(webhooks.byChannel)) console.log(`webhook ${channel}: ${t.url}${t.secret ? " (signed)" : ""}`)

let stopping = false
const stop = async (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`${signal}: closing the gateway and the engine`)
  await gateway.close()
  await closeEngine()
  process.exit(0)
}
process.on("SIGINT", () => void stop("SIGINT"))
process.on("SIGTERM", () => void stop("SIGTERM"))
