/**
 * A gateway in cluster mode for tests: a fresh database of the local
 * PostgreSQL, runner processes sharing it (publishing changes and ops figures
 * on the local Redis, on a channel of the test's own), the catalog stocked at
 * WH-DAL through a cluster client, shard ownership settled, and a
 * cluster-mode gateway on an ephemeral port of 127.0.0.1 with the test keys.
 */
import { entityIds, loadClusterSettings, loadConfig, PartitionClient } from "../../engine/index.ts"
import { clusterTestEnv, freePort, RunnerProcess, settledOwners, stockCluster } from "../../engine/testing/cluster.ts"
import { freshDatabase } from "../../engine/testing/postgres.ts"
import { ClusterEngine } from "../cluster-access.ts"
import { loadGatewayConfig, type GatewayConfig } from "../config.ts"
import { makeKeyRing } from "../keys.ts"
import { startGateway, type Gateway } from "../server.ts"
import { testKeys } from "./harness.ts"
import { redisUrl } from "./redis.ts"

export interface ClusterGatewayOptions {
  readonly partitions: number
  /** Runner processes (default 2). */
  readonly runners?: number
  /** SKUs stocked (SKU-0, SKU-1, ...) and units of each at WH-DAL. */
  readonly skus: number
  readonly unitsPerSku: number
  /** The Redis channel of changes (each test its own, so parallel runs do not hear each other). */
  readonly channel: string
  /** More environment for the runners (webhooks, ops tick, ...). */
  readonly env?: Readonly<Record<string, string>>
  readonly gatewayConfig?: Partial<GatewayConfig>
  /** Tell the gateway every stream, so the ops feed names partitions no runner reports. */
  readonly namedStreams?: boolean
}

export interface ClusterGateway {
  readonly db: Awaited<ReturnType<typeof freshDatabase>>
  readonly runners: ReadonlyArray<RunnerProcess>
  readonly engine: ClusterEngine
  readonly gateway: Gateway
  /** The SKUs stocked. */
  readonly skus: ReadonlyArray<string>
  stop(): Promise<void>
}

export const startClusterGateway = async (o: ClusterGatewayOptions): Promise<ClusterGateway> => {
  const db = await freshDatabase()
  const runners: Array<RunnerProcess> = []
  let engine: ClusterEngine | undefined
  let gateway: Gateway | undefined
  const stop = async () => {
    await gateway?.close()
    await engine?.close()
    await Promise.all(runners.map((r) => r.stop()))
    await db.drop()
  }
  try {
    const env = { ...clusterTestEnv(o.partitions), REDIS_URL: redisUrl, GATEWAY_REDIS_CHANNEL: o.channel, ...o.env }
    for (let i = 0; i < (o.runners ?? 2); i++) runners.push(RunnerProcess.start({ databaseUrl: db.url, host: "127.0.0.1", port: await freePort(), env }))
    await Promise.all(runners.map((r) => r.waitFor(/Listening on/, 40_000)))
    const settings = loadClusterSettings({ databaseUrl: db.url, callTimeoutMs: 5_000 }, env)
    const setup = await PartitionClient.connect(settings, loadConfig({ partitions: o.partitions }, {}))
    const skus = await stockCluster(setup, o.skus, o.unitsPerSku)
    await setup.close()
    await settledOwners(db.url, o.partitions)
    const connected = await ClusterEngine.connect(settings, loadConfig({ partitions: o.partitions }, {}))
    engine = connected
    gateway = await startGateway({
      config: loadGatewayConfig({ port: 0, host: "127.0.0.1", ...o.gatewayConfig }, {}),
      keys: makeKeyRing(testKeys), engine: connected, redisUrl, redisChannel: o.channel,
      cluster: () => connected.cluster(),
      ...(o.namedStreams ? { clusterStreams: entityIds(o.partitions) } : {})
    })
    return { db, runners, engine: connected, gateway, skus, stop }
  } catch (e) {
    await stop().catch(() => undefined)
    throw e
  }
}
