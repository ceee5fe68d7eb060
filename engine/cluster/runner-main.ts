/**
 * `npm run runner`: one engine runner of a cluster. It joins the cluster
 * (effect/cluster `NodeClusterSocket` on CLUSTER_RUNNER_HOST:CLUSTER_RUNNER_PORT,
 * runners and shard locks in the PostgreSQL of DATABASE_URL), hosts the
 * partition entities of the shards it is given, and publishes every committed
 * batch's changes on Redis (REDIS_URL, channel GATEWAY_REDIS_CHANNEL or
 * oms:changes) so that every gateway hears every partition.
 *
 * It delivers the customer notifications of the partitions it hosts to the
 * webhooks of GATEWAY_WEBHOOKS (as the engine owner's gateway does in
 * embedded mode): a partition has one owner at a time, so one process
 * delivers its notifications, and a new owner delivers again what the old
 * one had not reported delivered (at least once, same idempotency key).
 *
 * It aggregates the ops feed's figures of the partitions it hosts (the same
 * fold as an owner gateway's, gateway/ops-aggregator.ts EngineOps) and
 * publishes them once per GATEWAY_OPS_TICK_MS as a partial tick on
 * `<channel>:ops-partials`; cluster gateways merge every runner's into the
 * tick their viewers get (gateway/ops-merge.ts).
 *
 * It also keeps every partition active: once a second it asks each entity
 * for its stats, so a partition whose runner died is restored elsewhere at
 * once (hold expiries and payment deadlines keep firing) rather than at its
 * next command. Settings: engine/cluster/settings.ts and docs/operations.md.
 * SIGINT/SIGTERM leave the cluster cleanly (shards handed over at once).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schedule } from "effect"
import { ChangeHub, EngineChangeSource } from "../../gateway/changes.ts"
import { loadGatewayConfig } from "../../gateway/config.ts"
import { LocalEngine } from "../../gateway/engine-access.ts"
import { GatewayMetrics } from "../../gateway/metrics.ts"
import { EngineOps } from "../../gateway/ops-aggregator.ts"
import { OutboxPump } from "../../gateway/outbox-pump.ts"
import { webhookTargetsFromEnv } from "../../gateway/webhook-targets.ts"
import { networkStream } from "../runtime/partition.ts"
import { RedisFanout } from "../../gateway/redis-fanout.ts"
import { loadConfig } from "../config.ts"
import { openJournalStore } from "../store/layer.ts"
import { EnginePartition, entityIds, partitionEntityLayer, PartitionHost } from "./partition-entity.ts"
import { loadClusterSettings, runnerLayer, runnerName } from "./settings.ts"
import { tuneGarbageCollection } from "../runtime/gc-tuning.ts"

// before anything allocates much (engine/runtime/gc-tuning.ts)
tuneGarbageCollection()
const settings = loadClusterSettings()
const config = loadConfig()
const runner = runnerName(settings)
const log = (message: string) => console.log(`[runner ${runner}] ${message}`)

const webhooks = webhookTargetsFromEnv()
const gatewayConfig = loadGatewayConfig()
const metrics = new GatewayMetrics()
const { store, close } = await openJournalStore({ backend: "postgres", url: settings.databaseUrl })
const hub = new ChangeHub()
const redisUrl = process.env.REDIS_URL?.trim() || undefined
const fanout = redisUrl ? await RedisFanout.connect(redisUrl, hub, true, process.env.GATEWAY_REDIS_CHANNEL?.trim() || undefined) : undefined
if (!fanout) log("REDIS_URL unset: committed changes and ops figures are not published to gateways")

const ops = new EngineOps(gatewayConfig)
if (fanout) {
  const publisher = fanout
  setInterval(() => {
    try {
      publisher.publishPartial(ops.partial(runner))
    } catch (e) {
      log(`ops partial tick failed: ${String(e)}`)
    }
  }, gatewayConfig.opsTickMs).unref()
}

const host = PartitionHost.of({
  store,
  config,
  runner,
  reclaimAfterMs: settings.reclaimAfterMs,
  opened: (stream, engine) => {
    const source = new EngineChangeSource(engine, hub)
    // the figures go out through Redis only: without it there is no one to fold them for
    const detachOps = fanout ? ops.attach(stream, engine) : () => {}
    const pump = stream === networkStream ? undefined : new OutboxPump(new LocalEngine(engine, store), hub, webhooks, gatewayConfig, metrics)
    pump?.start()
    return () => {
      source.close()
      detachOps()
      void pump?.stop()
    }
  },
  log
})

/** Asks every entity for its stats once a second: keeps every partition active somewhere. */
const keepActive = Effect.gen(function*() {
  const client = yield* EnginePartition.client
  const ids = entityIds(config.partitions)
  yield* Effect.forEach(ids, (id) => client(id).Read({ method: "stats", args: [] }).pipe(Effect.timeout("5 seconds"), Effect.ignore), {
    concurrency: "unbounded",
    discard: true
  }).pipe(Effect.repeat(Schedule.spaced("1 second")))
})

const RunnerLive = Layer.mergeAll(partitionEntityLayer, Layer.effectDiscard(Effect.forkScoped(keepActive))).pipe(
  Layer.provide(Layer.succeed(PartitionHost, host)),
  Layer.provide(runnerLayer(settings))
)

log(`joining the cluster (${config.partitions} partitions, ${settings.shards} shards, lock expiry ${settings.lockExpirationMs} ms)`)
Layer.launch(RunnerLive).pipe(
  Effect.ensuring(Effect.promise(async () => {
    await fanout?.close()
    await close()
  })),
  NodeRuntime.runMain
)
