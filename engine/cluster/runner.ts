/**
 * Cluster mode: one engine runner, as a layer to launch. It joins the
 * cluster (effect/cluster `NodeClusterSocket` on the settings' runner host
 * and port, runners and shard locks in the PostgreSQL of `databaseUrl`),
 * hosts the partition entities of the shards it is given
 * (partition-entity.ts), and keeps every partition active: once a second it
 * asks each entity for its stats, so a partition whose runner died is
 * restored elsewhere at once (hold expiries and payment deadlines keep
 * firing) rather than at its next command.
 *
 * What the process does with each engine it opens (publish its committed
 * changes, deliver its notifications, fold its ops figures) is its `opened`
 * hook; the runner's process entry, `npm run runner` (gateway/runner-main.ts),
 * wires the gateway's pieces there.
 */
import { Effect, Layer, Schedule } from "effect"
import type { EngineConfig } from "../config.ts"
import type { Engine } from "../runtime/engine.ts"
import type { JournalStore } from "../store/journal.ts"
import { EnginePartition, entityIds, partitionEntityLayer, PartitionHost } from "./partition-entity.ts"
import { runnerLayer, runnerName, type ClusterSettings } from "./settings.ts"

export interface RunnerOptions {
  readonly settings: ClusterSettings
  readonly config: EngineConfig
  /** The shared PostgreSQL journal. */
  readonly store: JournalStore
  /** Called with each engine the runner opens (a partition activated here); returns what to do when it closes. */
  readonly opened: (stream: string, engine: Engine) => () => void
  readonly log: (message: string) => void
}

/** The runner: partition entities hosted here, every partition kept active. Leaving its scope leaves the cluster (shards handed over at once). */
export const runnerLive = (o: RunnerOptions) => {
  const host = PartitionHost.of({
    store: o.store,
    config: o.config,
    runner: runnerName(o.settings),
    reclaimAfterMs: o.settings.reclaimAfterMs,
    opened: o.opened,
    log: o.log
  })

  /** Asks every entity for its stats once a second: keeps every partition active somewhere. */
  const keepActive = Effect.gen(function*() {
    const client = yield* EnginePartition.client
    const ids = entityIds(o.config.partitions)
    yield* Effect.forEach(ids, (id) => client(id).Read({ method: "stats", args: [] }).pipe(Effect.timeout("5 seconds"), Effect.ignore), {
      concurrency: "unbounded",
      discard: true
    }).pipe(Effect.repeat(Schedule.spaced("1 second")))
  })

  return Layer.mergeAll(partitionEntityLayer, Layer.effectDiscard(Effect.forkScoped(keepActive))).pipe(
    Layer.provide(Layer.succeed(PartitionHost, host)),
    Layer.provide(runnerLayer(o.settings))
  )
}
