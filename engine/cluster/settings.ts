/**
 * Cluster mode settings, read once from the environment, and the
 * effect/cluster layer they make: `NodeClusterSocket` runners (or a
 * client-only member, for gateways and tools) with PostgreSQL storage for
 * runners, shard locks and messages. Every runner and client of one cluster
 * must use the same database, the same shard count and ENGINE_PARTITIONS.
 *
 * Failover is bounded by the shard lock expiry (a runner that stops
 * refreshing loses its shards after it) and by how soon the others notice a
 * dead runner (health checks, and its lock session dropped by PostgreSQL
 * when its process dies): defaults here are tuned for a few seconds.
 */
import { NodeClusterSocket } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Duration, Layer, Option, Redacted } from "effect"
import { RunnerAddress, ShardingConfig } from "effect/cluster"

export interface ClusterSettings {
  /** PostgreSQL shared by the journal and the cluster (runners, shard locks, messages). */
  readonly databaseUrl: string
  /** The host other runners and clients use to reach this runner. */
  readonly runnerHost: string
  readonly runnerPort: number
  /** Where this runner listens (default: runnerHost). */
  readonly listenHost: string
  /** Shards of the entity group; the same on every member. */
  readonly shards: number
  readonly lockRefreshMs: number
  readonly lockExpirationMs: number
  readonly healthCheckMs: number
  /** How long a client waits for a partition's answer before it reports the outcome unknown. */
  readonly callTimeoutMs: number
  /** How long a partition that stepped down refuses commands before it claims its stream again. */
  readonly reclaimAfterMs: number
}

export const clusterEnvNames = {
  databaseUrl: "DATABASE_URL",
  runnerHost: "CLUSTER_RUNNER_HOST",
  runnerPort: "CLUSTER_RUNNER_PORT",
  listenHost: "CLUSTER_LISTEN_HOST",
  shards: "CLUSTER_SHARDS",
  lockRefreshMs: "CLUSTER_LOCK_REFRESH_MS",
  lockExpirationMs: "CLUSTER_LOCK_EXPIRATION_MS",
  healthCheckMs: "CLUSTER_HEALTH_CHECK_MS",
  callTimeoutMs: "CLUSTER_CALL_TIMEOUT_MS",
  reclaimAfterMs: "CLUSTER_RECLAIM_AFTER_MS"
} as const satisfies Record<keyof ClusterSettings, string>

export const clusterDefaults: Omit<ClusterSettings, "databaseUrl"> = {
  runnerHost: "127.0.0.1",
  runnerPort: 34431,
  listenHost: "",
  shards: 64,
  lockRefreshMs: 1_000,
  lockExpirationMs: 4_000,
  healthCheckMs: 1_000,
  callTimeoutMs: 15_000,
  reclaimAfterMs: 4_000
}

/** Settings from the environment, then `overrides`; a bad value throws naming its variable. */
export const loadClusterSettings = (overrides: Partial<ClusterSettings> = {}, env: NodeJS.ProcessEnv = process.env): ClusterSettings => {
  const num = (key: keyof typeof clusterDefaults & keyof ClusterSettings, min: number, max: number): number => {
    const raw = env[clusterEnvNames[key]]?.trim()
    const value = raw === undefined || raw === "" ? (clusterDefaults[key] as number) : Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${clusterEnvNames[key]} must be a whole number in ${min}..${max}, got ${raw}`)
    return value
  }
  const databaseUrl = overrides.databaseUrl ?? env.DATABASE_URL?.trim() ?? ""
  if (databaseUrl === "") throw new Error("cluster mode needs DATABASE_URL (PostgreSQL shared by every runner and gateway)")
  const runnerHost = overrides.runnerHost ?? (env[clusterEnvNames.runnerHost]?.trim() || clusterDefaults.runnerHost)
  const s: ClusterSettings = {
    databaseUrl,
    runnerHost,
    runnerPort: num("runnerPort", 1, 65535),
    listenHost: env[clusterEnvNames.listenHost]?.trim() || runnerHost,
    shards: num("shards", 1, 4096),
    lockRefreshMs: num("lockRefreshMs", 100, 600_000),
    lockExpirationMs: num("lockExpirationMs", 1_000, 3_600_000),
    healthCheckMs: num("healthCheckMs", 100, 600_000),
    callTimeoutMs: num("callTimeoutMs", 100, 600_000),
    reclaimAfterMs: num("reclaimAfterMs", 0, 3_600_000),
    ...overrides
  }
  if (s.lockRefreshMs * 2 > s.lockExpirationMs) throw new Error(`CLUSTER_LOCK_REFRESH_MS (${s.lockRefreshMs}) must be at most half of CLUSTER_LOCK_EXPIRATION_MS (${s.lockExpirationMs})`)
  return s
}

/** The runner's name as other members see it (and as recorded with a stream's owner epoch). */
export const runnerName = (s: ClusterSettings): string => `${s.runnerHost}:${s.runnerPort}`

export const shardingConfigOf = (s: ClusterSettings): Partial<ShardingConfig.ShardingConfig["Service"]> => ({
  runnerAddress: Option.some(RunnerAddress.make(s.runnerHost, s.runnerPort)),
  runnerListenAddress: Option.some(RunnerAddress.make(s.listenHost, s.runnerPort)),
  shardsPerGroup: s.shards,
  shardLockRefreshInterval: Duration.millis(s.lockRefreshMs),
  shardLockExpiration: Duration.millis(s.lockExpirationMs),
  runnerHealthCheckInterval: Duration.millis(s.healthCheckMs),
  refreshAssignmentsInterval: Duration.millis(Math.min(1_000, s.lockRefreshMs)),
  // a partition holds its state in memory: it stays active until its shard moves
  entityMaxIdleTime: Duration.days(3650),
  entityTerminationTimeout: Duration.seconds(5),
  // messages are volatile (the journal is the durable record), so the engine sees no extra round trips
  simulateRemoteSerialization: false
})

/** The PostgreSQL client the cluster keeps its runners, locks and messages in. */
export const clusterSqlLayer = (s: ClusterSettings) =>
  PgClient.layer({ url: Redacted.make(s.databaseUrl), maxConnections: 8, applicationName: "oms-cluster" })

/** A runner: serves its shards' entities on runnerHost:runnerPort. */
export const runnerLayer = (s: ClusterSettings) =>
  NodeClusterSocket.layer({ shardingConfig: shardingConfigOf(s) }).pipe(Layer.provide(clusterSqlLayer(s)))

/** A client-only member (gateways, benchmarks): sends to entities, hosts none. */
export const clientLayer = (s: ClusterSettings) =>
  NodeClusterSocket.layer({ clientOnly: true, shardingConfig: shardingConfigOf(s) }).pipe(Layer.provide(clusterSqlLayer(s)))
