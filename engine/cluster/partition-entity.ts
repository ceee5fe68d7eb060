/**
 * The partition as an effect/cluster entity. Its id is the journal stream it
 * owns: "net" for the network actor, "p<k>" for partition k. Its message is a
 * batch of commands (`Execute`), answered with one reply per command; `Read`
 * answers the gateway's reads (availability, holds, orders, pools, stats).
 *
 * When the cluster activates the entity on a runner, it opens an Engine in
 * cluster mode on that stream: it claims the stream (a new owner epoch),
 * restores the newest snapshot and the journal after it, and only then takes
 * the message. If the engine steps down (its append was refused because
 * another runner claimed the stream, or the store failed), the entity
 * answers `partition_moved` for `reclaimAfterMs`, then opens a fresh engine
 * (claim and reload) for the next message: by then a runner that really lost
 * the shard has noticed and let the entity go.
 */
import { Context, Effect, Schema } from "effect"
import { Entity } from "effect/cluster"
import { Rpc } from "effect/rpc"
import type { EngineConfig } from "../config.ts"
import type { Command } from "../domain/commands.ts"
import { reject } from "../domain/errors.ts"
import type { Reply } from "../domain/replies.ts"
import { route } from "../routing/index.ts"
import { Engine } from "../runtime/engine.ts"
import { partitionStream, networkStream } from "../runtime/partition.ts"
import * as Queries from "../runtime/queries.ts"
import { oneReportAtATime } from "../reports/reader.ts"
import type { JournalStore } from "../store/journal.ts"

export const Execute = Rpc.make("Execute", {
  payload: { commands: Schema.Array(Schema.Unknown) },
  success: Schema.Array(Schema.Unknown)
})

export const Read = Rpc.make("Read", {
  payload: { method: Schema.String, args: Schema.Array(Schema.Unknown) },
  success: Schema.Unknown
})

export const EnginePartition = Entity.make("EnginePartition", [Execute, Read])

/** Every entity of a cluster with `partitions` partitions. */
export const entityIds = (partitions: number): Array<string> => [networkStream, ...Array.from({ length: partitions }, (_, k) => partitionStream(k))]

/** What a runner gives its partition entities. */
export class PartitionHost extends Context.Service<PartitionHost, {
  readonly store: JournalStore
  readonly config: EngineConfig
  /** This runner's name, recorded with the owner epoch of each stream it claims. */
  readonly runner: string
  readonly reclaimAfterMs: number
  /** Called with each engine opened (to publish its committed events); returns how to stop. */
  readonly opened: (stream: string, engine: Engine) => () => void
  readonly log: (message: string) => void
}>()("oms/engine/cluster/PartitionHost") {}

/** Reports asked of this runner, one after another. */
const reportInRunner = oneReportAtATime()

/** The reads a partition answers, by name (the gateway's EngineAccess reads). */
const reads: Record<string, (engine: Engine, args: ReadonlyArray<any>) => unknown> = {
  availability: (e, [requests]) => Queries.availabilityOf(e.view, e.now(), requests),
  hold: (e, [holdId]) => Queries.hold(e.view, holdId) ?? null,
  order: async (e, [orderId]) => (await Queries.order(e, orderId)) ?? null,
  orderByExternal: async (e, [channel, externalId]) => (await Queries.orderByExternal(e, channel, externalId)) ?? null,
  // the home partition of an external id: its ordinary order, or the partitions of the split order that claimed it
  externalIdUse: async (e, [channel, externalId]) => (await Queries.externalIdUse(e, channel, externalId)) ?? null,
  orderLegByExternal: async (e, [channel, externalId, partition]) => (await Queries.orderLegByExternal(e, channel, externalId, partition)) ?? null,
  orderHistory: async (e, [orderId]) => {
    const h = await Queries.orderHistory(e, orderId)
    return h ? [...h] : null
  },
  pool: (e, [sku, nodeId]) => Queries.pool(e.view, sku, nodeId) ?? null,
  poolHistory: (e, [sku, nodeId, limit]) => Queries.poolHistory(e, sku, nodeId, limit),
  orderTimeline: (e, [orderId]) => Queries.orderTimeline(e, orderId),
  ordersByPrefix: (e, [prefix, limit]) => Queries.ordersByPrefix(e.view, prefix, limit),
  nodeShipments: (e, [nodeId, limit, scanMax]) => Queries.nodeShipments(e, nodeId, limit, scanMax),
  nodes: (e) => Queries.nodes(e.view),
  pools: (e, [nodeId]) => Queries.pools(e.view, nodeId ?? undefined),
  // any partition's engine reads every partition's journal from the shared store; one report at a time per runner
  report: (e, [from, to]) => reportInRunner(e, { from, to }),
  catalog: (e) => Queries.catalog(e.view),
  channels: (e) => Queries.channels(e.view),
  carriers: (e) => Queries.carriers(e.view),
  stats: (e) => e.stats()
}

export const readMethods = Object.keys(reads)

/** The engine of one stream on this runner, opened on demand, replaced after it stepped down. */
class EngineSlot {
  private engine: Engine | undefined
  private stopPublishing: () => void = () => {}
  private opening: Promise<Engine> | undefined
  private movedSince = 0

  constructor(private readonly host: PartitionHost["Service"], readonly stream: string) {}

  async current(): Promise<Engine> {
    const e = this.engine
    if (e !== undefined && e.lifecycle === "running") return e
    if (e !== undefined) {
      if (this.movedSince === 0) this.movedSince = Date.now()
      if (Date.now() - this.movedSince < this.host.reclaimAfterMs) throw new Error("stepped down")
      await this.drop()
    }
    return (this.opening ??= this.open().finally(() => (this.opening = undefined)))
  }

  private async open(): Promise<Engine> {
    const { store, config, runner } = this.host
    const started = Date.now()
    const engine = await Engine.open({ store, config, router: route, ownership: { stream: this.stream, owner: runner }, log: this.host.log })
    await engine.syncNetwork()
    this.engine = engine
    this.movedSince = 0
    this.stopPublishing = this.host.opened(this.stream, engine)
    const s = engine.stats()
    this.host.log(`${this.stream} active on ${runner} at epoch ${s.owns?.epoch} (restored in ${Date.now() - started} ms: ${s.pools} pools, ${s.holds} holds, ${s.orders} orders)`)
    return engine
  }

  async drop(): Promise<void> {
    const e = this.engine
    this.engine = undefined
    this.stopPublishing()
    this.stopPublishing = () => {}
    if (e) await e.close().catch(() => undefined)
  }

  async execute(commands: ReadonlyArray<unknown>): Promise<Array<Reply>> {
    let engine: Engine
    try {
      engine = await this.current()
      await engine.syncNetwork()
    } catch (e) {
      const refusal = this.engine !== undefined
        ? reject("partition_moved", `${this.stream} stepped down on this runner; retry`)
        : reject("store_unavailable", `${this.stream} could not be restored: ${e instanceof Error ? e.message : String(e)}`)
      return commands.map(() => refusal)
    }
    return Promise.all(commands.map((c) => engine.submit(c as Command)))
  }

  async read(method: string, args: ReadonlyArray<unknown>): Promise<unknown> {
    const f = reads[method]
    if (!f) throw new Error(`no read named ${method}`)
    const engine = await this.current()
    await engine.syncNetwork()
    return f(engine, args)
  }
}

/** The partition entities of this runner. */
export const partitionEntityLayer = EnginePartition.toLayer(
  Effect.gen(function*() {
    const host = yield* PartitionHost
    const address = yield* Entity.CurrentAddress
    const slot = new EngineSlot(host, address.entityId)
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => slot.drop()).pipe(Effect.andThen(Effect.sync(() => host.log(`${slot.stream} released by ${host.runner}`)))))
    return EnginePartition.of({
      Execute: ({ payload }) => Effect.promise(() => slot.execute(payload.commands)),
      Read: ({ payload }) =>
        Effect.tryPromise({ try: () => slot.read(payload.method, payload.args), catch: (e) => e }).pipe(
          Effect.orDie,
          Rpc.fork
        )
    })
  }),
  { concurrency: "unbounded", maxIdleTime: "3650 days" }
)
