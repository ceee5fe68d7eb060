/**
 * `npm run runner`: the process of one engine runner of a cluster. The
 * engine's runner (engine/cluster/runner.ts: join the cluster, host the
 * partition entities of the shards it is given, keep every partition
 * active) with, for each partition engine it opens, the gateway's pieces
 * that an engine owner's gateway runs in embedded mode:
 *
 * - it publishes every committed batch's changes on Redis (REDIS_URL,
 *   channel GATEWAY_REDIS_CHANNEL or oms:changes) so that every gateway hears
 *   every partition;
 * - it delivers the customer notifications of the partitions it hosts to the
 *   webhooks of GATEWAY_WEBHOOKS (outbox-pump.ts): a partition has one owner
 *   at a time, so one process delivers its notifications, and a new owner
 *   delivers again what the old one had not reported delivered (at least
 *   once, same idempotency key);
 * - it aggregates the ops feed's figures of the partitions it hosts (the
 *   same fold as an owner gateway's, ops-aggregator.ts EngineOps) and
 *   publishes them once per GATEWAY_OPS_TICK_MS as a partial tick on
 *   `<channel>:ops-partials`; cluster gateways merge every runner's into the
 *   tick their viewers get (ops-merge.ts).
 *
 * Settings: engine/cluster/settings.ts and docs/operations.md.
 * SIGINT/SIGTERM leave the cluster cleanly (shards handed over at once).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import {
  loadClusterSettings,
  loadConfig,
  networkStream,
  openJournalStore,
  runnerLive,
  runnerName,
  tuneGarbageCollection,
  type Engine
} from "../engine/index.ts"
import { ChangeHub, EngineChangeSource } from "./changes.ts"
import { loadGatewayConfig } from "./config.ts"
import { LocalEngine } from "./engine-access.ts"
import { GatewayMetrics } from "./metrics.ts"
import { EngineOps } from "./ops-aggregator.ts"
import { OutboxPump } from "./outbox-pump.ts"
import { RedisFanout } from "./redis-fanout.ts"
import { webhookTargetsFromEnv } from "./webhook-targets.ts"

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

const ops = new EngineOps(gatewayConfig, store.opsHistory)
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

const opened = (stream: string, engine: Engine): (() => void) => {
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
}

log(`joining the cluster (${config.partitions} partitions, ${settings.shards} shards, lock expiry ${settings.lockExpirationMs} ms)`)
Layer.launch(runnerLive({ settings, config, store, opened, log })).pipe(
  Effect.ensuring(Effect.promise(async () => {
    await fanout?.close()
    await close()
  })),
  NodeRuntime.runMain
)
