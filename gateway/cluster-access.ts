/**
 * A gateway in cluster mode (ENGINE_MODE=cluster): it owns no engine; it is a
 * client-only member of the engine cluster. Commands go as cluster messages
 * to the partition that owns them, batched per partition
 * (engine/cluster/partition-client.ts); reads go to the partition that holds
 * the data; changes arrive through Redis, published by every runner for the
 * partitions it hosts (as an edge gateway hears the owner today).
 *
 * Orders whose lines lie in several partitions are placed as legs, one
 * ordinary order per partition, and commands and reads on their composite id
 * go to every leg (gateway/split-orders.ts, engine/cluster/legs.ts).
 *
 * `cluster()` is what the ops feed shows: the runners (health, last
 * heartbeat) from the cluster's tables, and which runner owns each stream
 * with its owner epoch.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import type { EngineConfig } from "../engine/config.ts"
import { PartitionClient } from "../engine/cluster/partition-client.ts"
import { entityIds } from "../engine/cluster/partition-entity.ts"
import type { ClusterSettings } from "../engine/cluster/settings.ts"
import type { Command } from "../engine/domain/commands.ts"
import type { Carrier } from "../engine/domain/network.ts"
import type { JournaledEvent } from "../engine/domain/events.ts"
import type { HoldView, PoolView } from "../engine/domain/replies.ts"
import type { HistoryEntry, OrderView } from "../engine/order/order-state.ts"
import { partitionOfOrder } from "../engine/order/order-book.ts"
import { partitionOfHold } from "../engine/pool/pool-actor.ts"
import type { EngineStats } from "../engine/runtime/engine.ts"
import { networkStream, partitionOf, partitionStream } from "../engine/runtime/partition.ts"
import type * as Queries from "../engine/runtime/queries.ts"
import { pgClientOptions } from "../engine/store/sql-journal.ts"
import { homePartitionOf, legIdsOf, splitClaimOf, splitOrder } from "../engine/cluster/legs.ts"
import { placeSplit, readGroup, readGroupHistory, readGroupTimeline, submitToLegs, viewOfLegs, type LegAccess } from "./split-orders.ts"
import type { AvailabilityRequest, EngineAccess, EngineHealth, EngineReply, OrderTimeline } from "./engine-access.ts"
import type { JournalReport } from "../engine/reports/reader.ts"

export interface ClusterView {
  readonly runners: ReadonlyArray<{ readonly address: string; readonly healthy: boolean; readonly lastHeartbeat: string; readonly streams: ReadonlyArray<string> }>
  readonly streams: ReadonlyArray<{ readonly stream: string; readonly owner: string; readonly epoch: number; readonly claimedAt: string }>
}

export class ClusterEngine implements EngineAccess {
  private constructor(
    private readonly client: PartitionClient,
    private readonly config: EngineConfig,
    private readonly sql: PgClient.PgClient,
    private readonly scope: Scope.Closeable,
    private readonly reportTimeoutMs: number
  ) {}

  /** `reportTimeoutMs`: how long a report may take (it reads every partition's journal); default the cluster call timeout. */
  static async connect(settings: ClusterSettings, config: EngineConfig, reportTimeoutMs = settings.callTimeoutMs): Promise<ClusterEngine> {
    const client = await PartitionClient.connect(settings, config)
    const scope = Effect.runSync(Scope.make())
    const sql = await Effect.runPromise(
      PgClient.make({ ...pgClientOptions({ url: settings.databaseUrl, maxConnections: 2 }), minConnections: 0 }).pipe(
        Scope.provide(scope),
        Effect.provide(Reactivity.layer)
      )
    )
    return new ClusterEngine(client, config, sql, scope, reportTimeoutMs)
  }

  private skuStream(sku: string): string {
    return partitionStream(partitionOf(sku, this.config.partitions))
  }

  private valid(p: number): string | undefined {
    return p >= 0 && p < this.config.partitions ? partitionStream(p) : undefined
  }

  /** Single-partition commands and reads of one leg, for the split-order logic. */
  private readonly legs: LegAccess = {
    submitOne: (c) => this.client.submit(c) as Promise<EngineReply>,
    order: (id) => this.legOrder(id),
    orderHistory: (id) => this.legRead(id, "orderHistory"),
    orderTimeline: (id) => this.legRead(id, "orderTimeline")
  }

  submit(command: Command): Promise<EngineReply> {
    if (command.type === "order.place") {
      const split = splitOrder(command, this.config.partitions)
      if ("ok" in split) return Promise.resolve(split)
      if (split.kind === "legs") {
        return placeSplit(this.legs, splitClaimOf(command, split.legs), split.legs, (undo, r) =>
          console.error("legId" in undo
            ? `gateway: leg ${undo.legId} of order ${command.channel}/${command.externalId} could not be compensated (${r.ok ? "ok" : r.code}); it stays until the order is retried`
            : `gateway: the claim of order ${command.channel}/${command.externalId} could not be released (${r.ok ? "ok" : r.code}); it stays until the order is retried with the same lines`))
      }
    } else if (command.type === "notifications.delivered") {
      return this.notificationsDelivered(command)
    } else {
      const legIds = legIdsOf((command as { orderId?: unknown }).orderId)
      if (legIds) return submitToLegs(this.legs, command as Command & { orderId: string }, legIds)
    }
    return this.client.submit(command) as Promise<EngineReply>
  }

  /** Delivered notifications reported for orders of several partitions: one command per partition, counts summed. */
  private async notificationsDelivered(c: Command & { type: "notifications.delivered" }): Promise<EngineReply> {
    if (!Array.isArray(c.ids)) return this.client.submit(c) as Promise<EngineReply>
    const byPartition = new Map<number, Array<string>>()
    for (const id of c.ids) {
      const p = typeof id === "string" ? partitionOfOrder(id) : 0
      let list = byPartition.get(p)
      if (!list) byPartition.set(p, (list = []))
      list.push(id)
    }
    if (byPartition.size <= 1) return this.client.submit(c) as Promise<EngineReply>
    const replies = await Promise.all([...byPartition.values()].map((ids) => this.client.submit({ type: "notifications.delivered", ids }) as Promise<EngineReply>))
    const refused = replies.find((r) => !r.ok)
    return refused ?? { ok: true, delivered: replies.reduce((n, r) => n + (r.ok ? r.delivered ?? 0 : 0), 0) }
  }

  private async legOrder(orderId: string): Promise<OrderView | null> {
    const s = this.valid(partitionOfOrder(orderId))
    return s ? this.client.read(s, "order", [orderId]) : null
  }

  private async legRead<A>(orderId: string, method: "orderHistory" | "orderTimeline"): Promise<A | null> {
    const s = this.valid(partitionOfOrder(orderId))
    return s ? this.client.read(s, method, [orderId]) : null
  }

  async availability(requests: ReadonlyArray<AvailabilityRequest>): Promise<Array<Queries.Availability | null>> {
    const byStream = new Map<string, Array<number>>()
    requests.forEach((r, i) => {
      const s = this.skuStream(r.sku)
      let list = byStream.get(s)
      if (!list) byStream.set(s, (list = []))
      list.push(i)
    })
    const out = new Array<Queries.Availability | null>(requests.length).fill(null)
    await Promise.all([...byStream].map(async ([stream, indexes]) => {
      const answers = await this.client.read<Array<Queries.Availability | null>>(stream, "availability", [indexes.map((i) => requests[i])])
      indexes.forEach((i, k) => (out[i] = answers[k]))
    }))
    return out
  }

  async hold(holdId: string): Promise<HoldView | null> {
    const s = this.valid(partitionOfHold(holdId))
    return s ? this.client.read(s, "hold", [holdId]) : null
  }

  /** An order by id; a composite id (the legs of a split order) reads every leg and answers the group view. */
  async order(orderId: string): Promise<OrderView | null> {
    const legIds = legIdsOf(orderId)
    return legIds ? readGroup(this.legs, legIds) : this.legOrder(orderId)
  }

  /**
   * The order with this external id, from its home partition: the ordinary
   * order there, or else the legs of the split order that claimed the external
   * id there, read in the partitions the claim names (the legs found; none: null).
   */
  async orderByExternal(channel: string, externalId: string): Promise<OrderView | null> {
    const home = partitionStream(homePartitionOf(channel, externalId, this.config.partitions))
    const use = await this.client.read<Queries.ExternalIdUse | null>(home, "externalIdUse", [channel, externalId])
    if (use === null) return null
    if ("order" in use) return use.order
    const found = await Promise.all(use.split.map((p) =>
      this.client.read<OrderView | null>(partitionStream(p), "orderLegByExternal", [channel, externalId, p])))
    const legs = found.filter((v): v is OrderView => v !== null)
    return legs.length > 0 ? viewOfLegs(legs) : null
  }

  async orderHistory(orderId: string): Promise<ReadonlyArray<HistoryEntry> | null> {
    const legIds = legIdsOf(orderId)
    return legIds ? readGroupHistory(this.legs, legIds) : this.legRead(orderId, "orderHistory")
  }

  /** Ops: the order with this id, and the order with this external id in each channel (each asked of its own partition). */
  async orderSearch(query: string): Promise<Array<OrderView>> {
    const channels = (await this.channels()) as Array<{ channel: string }>
    const found = await Promise.all([this.order(query), ...channels.map((c) => this.orderByExternal(c.channel, query))])
    const out: Array<OrderView> = []
    for (const o of found) if (o && !out.some((x) => x.orderId === o.orderId)) out.push(o)
    return out
  }

  async orderTimeline(orderId: string): Promise<OrderTimeline | null> {
    const legIds = legIdsOf(orderId)
    return legIds ? readGroupTimeline(this.legs, legIds) : this.legRead(orderId, "orderTimeline")
  }

  /** Every partition's pools (each partition holds the pools of its SKUs). */
  async pools(nodeId: string | null): Promise<Array<PoolView>> {
    const lists = await Promise.all(entityIds(this.config.partitions).slice(1).map((s) => this.client.read<Array<PoolView>>(s, "pools", [nodeId])))
    return lists.flat()
  }

  /** Reports read every partition's journal from the shared database; the first partition's runner does the reading. */
  report(from: number, to: number): Promise<JournalReport> {
    return this.client.read(partitionStream(0), "report", [from, to], this.reportTimeoutMs)
  }

  pool(sku: string, nodeId: string): Promise<PoolView | null> {
    return this.client.read(this.skuStream(sku), "pool", [sku, nodeId])
  }

  poolHistory(sku: string, nodeId: string, limit: number): Promise<Array<JournaledEvent>> {
    return this.client.read(this.skuStream(sku), "poolHistory", [sku, nodeId, limit])
  }

  /** Nodes from the network owner; shipments today summed over the partitions that answer. */
  async nodes(): Promise<Array<Queries.NodeLoadView>> {
    const nodes = await this.client.read<Array<Queries.NodeLoadView>>(networkStream, "nodes")
    const loads = await Promise.all(entityIds(this.config.partitions).slice(1).map((s) =>
      this.client.read<Array<Queries.NodeLoadView>>(s, "nodes").catch(() => [] as Array<Queries.NodeLoadView>)))
    const today = new Map<string, number>()
    for (const list of loads) for (const n of list) today.set(n.nodeId, (today.get(n.nodeId) ?? 0) + n.shipmentsToday)
    return nodes.map((n) => ({ ...n, shipmentsToday: today.get(n.nodeId) ?? 0 }))
  }

  /** The carriers and their services, from the network owner. */
  carriers(): Promise<ReadonlyArray<Carrier>> {
    return this.client.read(networkStream, "carriers")
  }

  /** The channels, from the network owner. */
  channels(): Promise<Array<unknown>> {
    return this.client.read(networkStream, "channels")
  }

  async health(): Promise<EngineHealth> {
    try {
      const s = await this.client.read<EngineStats>(networkStream, "stats")
      return { engine: s.state === "moved" ? "recovering" : s.state, store: true }
    } catch {
      return { engine: "unreachable", store: false }
    }
  }

  /** Every partition's stats summed; the state is the worst of them. */
  async stats(): Promise<EngineStats | null> {
    const all = await Promise.all(entityIds(this.config.partitions).map((s) => this.client.read<EngineStats>(s, "stats").catch(() => null)))
    const answered = all.filter((s): s is EngineStats => s !== null)
    if (answered.length === 0) return null
    const sum = (k: "pools" | "holds" | "orders" | "ordersPlaced" | "orderLoads" | "ordersLoaded" | "snapshots" | "orderVersionsStored" | "mailbox" | "batches" | "events") =>
      answered.reduce((n, s) => n + (s[k] ?? 0), 0)
    return {
      partitions: this.config.partitions,
      pools: sum("pools"), holds: sum("holds"), orders: sum("orders"), ordersPlaced: sum("ordersPlaced"), orderLoads: sum("orderLoads"),
      ordersLoaded: sum("ordersLoaded"), snapshots: sum("snapshots"), orderVersionsStored: sum("orderVersionsStored"),
      snapshotPauseMaxMs: Math.max(...answered.map((s) => s.snapshotPauseMaxMs ?? 0)),
      mailbox: sum("mailbox"), batches: sum("batches"), events: sum("events"),
      state: answered.length < all.length || answered.some((s) => s.state !== "running") ? "recovering" : "running",
      lastCommitMs: Math.max(...answered.map((s) => s.lastCommitMs))
    }
  }

  /** Runners, their health and which streams each owns (for the ops feed). */
  async cluster(): Promise<ClusterView> {
    const sql = this.sql
    const [runners, streams] = await Effect.runPromise(Effect.all([
      sql<{ address: string; healthy: boolean; last_heartbeat: Date }>`SELECT address, healthy, last_heartbeat FROM cluster_runners ORDER BY address`,
      sql<{ stream: string; owner: string; epoch: string; claimed_at: Date }>`SELECT stream, owner, epoch::text AS epoch, claimed_at FROM stream_owner ORDER BY stream`
    ]))
    return {
      runners: runners.map((r) => ({
        address: r.address, healthy: r.healthy, lastHeartbeat: new Date(r.last_heartbeat).toISOString(),
        streams: streams.filter((s) => s.owner === r.address).map((s) => s.stream)
      })),
      streams: streams.map((s) => ({ stream: s.stream, owner: s.owner, epoch: Number(s.epoch), claimedAt: new Date(s.claimed_at).toISOString() }))
    }
  }

  async close(): Promise<void> {
    await this.client.close()
    await Effect.runPromise(Scope.close(this.scope, Exit.void))
  }
}
