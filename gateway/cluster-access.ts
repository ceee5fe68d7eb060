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
 * go to every leg: the engine's saga (engine/cluster/split-orders.ts, pure
 * parts in engine/cluster/legs.ts), given this client's single-partition
 * commands and reads.
 *
 * `cluster()` is what the ops feed shows: the runners (health, last
 * heartbeat) from the cluster's tables, and which runner owns each stream
 * with its owner epoch (engine/cluster/cluster-status.ts).
 */
import {
  ClusterStatusReader,
  entityIds,
  externalIdStream,
  holdStream,
  legIdsOf,
  networkStream,
  orderStream,
  PartitionClient,
  partitionStream,
  readGroup,
  readGroupHistory,
  readGroupTimeline,
  skuStream,
  submitAcrossPartitions,
  viewOfLegs,
  type Carrier,
  type Channel,
  type ClusterSettings,
  type Command,
  type EngineConfig,
  type EngineStats,
  type HistoryEntry,
  type HoldView,
  type JournaledEvent,
  type JournalReport,
  type LegAccess,
  type OrderView,
  type PlaceOrder,
  type PoolView,
  type Queries
} from "../engine/index.ts"
import { nodeShipmentsScanMax, orderSearchMax, type AvailabilityRequest, type EngineAccess, type EngineHealth, type EngineReply, type OrderTimeline } from "./engine-access.ts"
import type { ClusterView } from "./ops-feed-types.ts"

export class ClusterEngine implements EngineAccess {
  private constructor(
    private readonly client: PartitionClient,
    private readonly config: EngineConfig,
    private readonly status: ClusterStatusReader,
    private readonly reportTimeoutMs: number
  ) {}

  /** `reportTimeoutMs`: how long a report may take (it reads every partition's journal); default the cluster call timeout. */
  static async connect(settings: ClusterSettings, config: EngineConfig, reportTimeoutMs = settings.callTimeoutMs): Promise<ClusterEngine> {
    const client = await PartitionClient.connect(settings, config)
    const status = await ClusterStatusReader.connect(settings)
    return new ClusterEngine(client, config, status, reportTimeoutMs)
  }

  private skuStream(sku: string): string {
    return skuStream(sku, this.config.partitions)
  }

  /** Single-partition commands and reads of one leg, for the engine's split-order saga. */
  private readonly legs: LegAccess = {
    submitOne: (c) => this.client.submit(c) as Promise<EngineReply>,
    order: (id) => this.legOrder(id),
    orderHistory: (id) => this.legRead(id, "orderHistory"),
    orderTimeline: (id) => this.legRead(id, "orderTimeline")
  }

  submit(command: Command): Promise<EngineReply> {
    const across = submitAcrossPartitions(this.legs, command, this.config.partitions, (undo, r) => {
      const c = command as PlaceOrder // only a placement is undone
      console.error("legId" in undo
        ? `gateway: leg ${undo.legId} of order ${c.channel}/${c.externalId} could not be compensated (${r.ok ? "ok" : r.code}); it stays until the order is retried`
        : `gateway: the claim of order ${c.channel}/${c.externalId} could not be released (${r.ok ? "ok" : r.code}); it stays until the order is retried with the same lines`)
    })
    return across ?? (this.client.submit(command) as Promise<EngineReply>)
  }

  private async legOrder(orderId: string): Promise<OrderView | null> {
    const s = orderStream(orderId, this.config.partitions)
    return s ? this.client.read(s, "order", [orderId]) : null
  }

  private async legRead<A>(orderId: string, method: "orderHistory" | "orderTimeline"): Promise<A | null> {
    const s = orderStream(orderId, this.config.partitions)
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
    const s = holdStream(holdId, this.config.partitions)
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
    const home = externalIdStream(channel, externalId, this.config.partitions)
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
    const channels = await this.channels()
    const found = await Promise.all([this.order(query), ...channels.map((c) => this.orderByExternal(c.channel, query))])
    // then the orders in each partition's memory whose id or external id starts with the term, ignoring case
    const byPrefix = await Promise.all(this.partitionStreams().map((stream) =>
      this.client.read<Array<OrderView>>(stream, "ordersByPrefix", [query, orderSearchMax])))
    const out: Array<OrderView> = []
    const prefixed = byPrefix.flat().sort((a, b) => b.placedAt - a.placedAt)
    for (const o of [...found, ...prefixed]) if (o && out.length < orderSearchMax && !out.some((x) => x.orderId === o.orderId)) out.push(o)
    return out
  }

  /** Ops: the shipments open at a node, asked of every partition (each scans at most nodeShipmentsScanMax / partitions orders). */
  async nodeShipments(nodeId: string, limit: number): Promise<Queries.NodeShipments> {
    const streams = this.partitionStreams()
    const parts = await Promise.all(streams.map((stream) =>
      this.client.read<Queries.NodeShipments>(stream, "nodeShipments", [nodeId, limit, Math.ceil(nodeShipmentsScanMax / streams.length)])))
    const shipments = parts.flatMap((p) => p.shipments).sort((a, b) => a.routedAt - b.routedAt).slice(0, limit)
    return { nodeId, open: parts.reduce((n, p) => n + p.open, 0), complete: parts.every((p) => p.complete), shipments }
  }

  private partitionStreams(): Array<string> {
    return Array.from({ length: this.config.partitions }, (_, p) => partitionStream(p))
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

  /** The channels and their policies, from the network owner. */
  channels(): Promise<ReadonlyArray<Channel>> {
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
  /** A cluster gateway answers from the history it keeps itself (ops-feed.ts); the runners keep none. */
  async opsHistory(): Promise<null> {
    return null
  }

  async stats(): Promise<EngineStats | null> {
    const all = await Promise.all(entityIds(this.config.partitions).map((s) => this.client.read<EngineStats>(s, "stats").catch(() => null)))
    const answered = all.filter((s): s is EngineStats => s !== null)
    if (answered.length === 0) return null
    const sum = (k: "pools" | "holds" | "orders" | "ordersPlaced" | "orderLoads" | "ordersLoaded" | "backpressured" | "timersDeferred" | "snapshots" | "orderVersionsStored" | "mailbox" | "batches" | "events") =>
      answered.reduce((n, s) => n + (s[k] ?? 0), 0)
    return {
      partitions: this.config.partitions,
      pools: sum("pools"), holds: sum("holds"), orders: sum("orders"), ordersPlaced: sum("ordersPlaced"), orderLoads: sum("orderLoads"),
      ordersLoaded: sum("ordersLoaded"), backpressured: sum("backpressured"), timersDeferred: sum("timersDeferred"), snapshots: sum("snapshots"), orderVersionsStored: sum("orderVersionsStored"),
      snapshotPauseMaxMs: Math.max(...answered.map((s) => s.snapshotPauseMaxMs ?? 0)),
      mailbox: sum("mailbox"), batches: sum("batches"), events: sum("events"),
      state: answered.length < all.length || answered.some((s) => s.state !== "running") ? "recovering" : "running",
      lastCommitMs: Math.max(...answered.map((s) => s.lastCommitMs))
    }
  }

  /** Runners, their health and which streams each owns (for the ops feed). */
  cluster(): Promise<ClusterView> {
    return this.status.read()
  }

  async close(): Promise<void> {
    await this.client.close()
    await this.status.close()
  }
}
