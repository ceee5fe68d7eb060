/**
 * Delivers one client command to the actor that owns it, synchronously,
 * inside a batch. Who owns a command, and by which of its fields it is found,
 * is the ownership table (domain/ownership.ts): network commands go to the
 * Network actor, inventory and hold commands to the StockPool actors
 * (pool/pool-commands.ts) of the SKU's partition, order commands to the Order
 * actor (order/order-actor.ts) in its partition. This module finds the
 * partition, gives the actor its context (the clock reading, the pools and
 * orders it may touch, a way to journal) and carries the messages between
 * actors (an order reserving at pools, a node outage re-routing orders, stock
 * arrival re-trying backorders) before the command's reply is set, so a
 * batch always ends with every actor settled. The actors' rules live with
 * the actors.
 */
import type { EngineConfig } from "../config.ts"
import type { ClaimSplit, Command, MarkNotificationsDelivered, NetworkCommand, PlaceOrder, ReleaseSplit } from "../domain/commands.ts"
import { reject } from "../domain/errors.ts"
import type { EngineEvent, OrderEvent, PoolEvent } from "../domain/events.ts"
import { ownerOf, type Ownership } from "../domain/ownership.ts"
import type { Accepted, PoolView, Reply } from "../domain/replies.ts"
import { decideNetwork, evolveNetwork, nodeById, type NetworkState } from "../network/network-actor.ts"
import * as Orders from "../order/index.ts"
import { externalKey, ordersOpenAt, partitionOfOrder, promiseTimerTarget } from "../order/order-book.ts"
import type { OrderState } from "../order/order-state.ts"
import { claimSplit, releaseSplit } from "../order/split-claim.ts"
import { dueHoldExpiries, partitionOfHold, poolSlot } from "../pool/pool-actor.ts"
import { executePoolCommand, poolPort, poolView, type PoolCommand, type PoolContext, type PoolPort } from "../pool/index.ts"
import type { CapacityLookup, Router, StockLookup } from "../routing/types.ts"
import { NodeLoad } from "./node-load.ts"
import { partitionOf, type Partition, type StreamLog } from "./partition.ts"

export { capacityShare } from "./node-load.ts"

/** Everything a batch works on: the network, the partitions, the clock reading of this batch. */
export class Dispatcher {
  now = 0
  /** Orders with undelivered notifications, by partition. */
  readonly outboxOrders: Array<Set<string>>
  private readonly skuPartition = new Map<string, number>()
  /** Shipments routed to each node today, and what routing reads of node capacity. */
  private readonly load: NodeLoad
  private readonly poolContext: PoolContext
  /** What Order actors send to StockPool actors. */
  private readonly pools: PoolPort
  private readonly orderContexts: Array<Orders.OrderContext>
  /** SKUs whose on hand went up during the current command: their backorders are re-tried. */
  private arrivals: Array<string> = []

  constructor(
    readonly config: EngineConfig,
    readonly net: NetworkState,
    readonly netLog: StreamLog,
    readonly partitions: ReadonlyArray<Partition>,
    private readonly router: Router,
    /**
     * Cluster mode: the one partition this engine owns. Each partition sees
     * only its own routings, so it may use only its share of a node's daily
     * capacity (capacityShare); the shares of all partitions add up to the
     * node's capacity, so the cluster never routes a node past it.
     */
    readonly owned?: number
  ) {
    this.load = new NodeLoad(net, partitions.length, owned, () => this.now)
    this.capacity = this.load.capacity
    this.outboxOrders = partitions.map(() => new Set())
    this.poolContext = this.makePoolContext()
    this.pools = poolPort(this.poolContext)
    this.orderContexts = partitions.map((p) => this.orderContext(p))
  }

  // ---- addressing ----------------------------------------------------------------------

  partitionOfSku(sku: string): Partition {
    let p = this.skuPartition.get(sku)
    if (p === undefined) {
      p = partitionOf(sku, this.partitions.length)
      if (this.net.skuIndex.has(sku)) this.skuPartition.set(sku, p)
    }
    return this.partitions[p]
  }

  partitionOfOrderId(orderId: unknown): Partition | undefined {
    if (typeof orderId !== "string") return undefined
    return this.partitions[partitionOfOrder(orderId)]
  }

  // ---- emitting events (journal + evolve) ---------------------------------------------------

  emitPool(p: Partition, e: PoolEvent): void {
    // stock that becomes available again may serve orders waiting on it
    let freed: string | undefined
    switch (e.type) {
      case "StockReceived":
      case "StockRestocked":
      case "SafetyStockSet":
        freed = e.sku
        break
      case "StockAdjusted":
        if (e.delta > 0) freed = e.sku
        break
      case "HoldEnded":
        if (e.reason !== "converted") freed = e.sku
        break
      case "ReservationReleased":
        freed = e.sku
        break
    }
    p.appendPool(this.net, e)
    if (freed !== undefined && this.anyBackorders(freed)) this.arrivals.push(freed)
  }

  private anyBackorders(sku: string): boolean {
    for (const p of this.partitions) if ((p.orders.backorders.get(sku)?.size ?? 0) > 0) return true
    return false
  }

  emitOrder(p: Partition, e: OrderEvent): OrderState {
    const seq = p.log.append(e)
    const o = p.applyOrder(e, seq)
    if (e.type === "OrderRouted") this.load.add(e.shipments, e.at)
    if (o.outbox.length > 0) this.outboxOrders[p.id].add(o.orderId)
    else this.outboxOrders[p.id].delete(o.orderId)
    return o
  }

  /**
   * Every order of the partition that may be pinned (order/residency.ts, isPinned), from the
   * indexes that follow live work: notifications waiting, backorders, payment deadlines
   * (entries of orders paid since are still in the heap: the caller checks each order).
   */
  *pinnedCandidates(p: Partition): Iterable<string> {
    yield* this.outboxOrders[p.id]
    for (const waiting of p.orders.backorders.values()) yield* waiting
    const deadlines: Array<string> = []
    p.orders.paymentDeadlines.forEachDue(Infinity, (_, id) => deadlines.push(id))
    yield* deadlines
  }

  /** Rebuilds the derived cross-partition indexes after recovery. */
  rebuildDerived(): void {
    this.load.rebuild(this.partitions)
    for (const p of this.partitions) {
      this.outboxOrders[p.id].clear()
      for (const o of p.orders.orders.values()) if (o.outbox.length > 0) this.outboxOrders[p.id].add(o.orderId)
    }
  }

  // ---- what routing reads ---------------------------------------------------------------------

  private static readonly noStock = () => 0

  readonly stock: Required<StockLookup> = {
    atp: (sku, nodeId) => {
      const p = this.partitionOfSku(sku)
      return p.stock.pools.atp(poolSlot(p.stock, this.net, sku, nodeId))
    },
    row: (sku) => {
      const skuNo = this.net.skuIndex.get(sku)
      if (skuNo === undefined) return Dispatcher.noStock
      const pools = this.partitionOfSku(sku).stock.pools
      const slots = pools.slotsOf(skuNo)
      if (slots === undefined) return Dispatcher.noStock
      return (nodeNo) => (nodeNo < slots.length && slots[nodeNo] > 0 ? pools.atp(slots[nodeNo] - 1) : 0)
    }
  }

  /** Today's capacity of a node counted as used (NodeLoad). */
  readonly capacity: CapacityLookup

  /** Shipments routed to the node today. */
  usedToday(nodeId: string): number {
    return this.load.usedToday(nodeId)
  }

  // ---- contexts of the actors --------------------------------------------------------------

  private makePoolContext(): PoolContext {
    const self = this
    return {
      get now() { return self.now },
      config: this.config,
      net: this.net,
      stockOf: (sku) => self.partitionOfSku(sku).stock,
      stockOfHold: (holdId) => self.partitions[partitionOfHold(holdId)]?.stock,
      emit: (e) => self.emitPool(self.partitionOfSku(e.sku), e),
      stock: this.stock,
      capacity: this.capacity,
      route: this.router
    }
  }

  private orderContext(p: Partition): Orders.OrderContext {
    const self = this
    return {
      get now() { return self.now },
      config: this.config,
      net: this.net,
      stock: this.stock,
      capacity: this.capacity,
      route: this.router,
      pools: this.pools,
      emit: (e) => self.emitOrder(p, e),
      placeOrder: (c) => self.placeOrder(c)
    }
  }

  // ---- timers ---------------------------------------------------------------------------------

  /**
   * Fires the hold expiries, payment deadlines and promise deadlines due by
   * `now`, until performance.now() passes `until`: false when some are left
   * (the clock jumped far ahead, a restart after downtime), for the next
   * batch, which runs them before any command.
   */
  runTimers(until = Infinity): boolean {
    const done = this.fireTimers(until)
    this.settleArrivals()
    return done
  }

  private fireTimers(until: number): boolean {
    const chunk = 256
    for (const p of this.partitions) {
      for (;;) {
        const due = dueHoldExpiries(p.stock, this.now, chunk)
        for (const e of due) this.emitPool(p, e)
        if (due.length < chunk) break
        if (performance.now() > until) return false
      }
      const deadlines = p.orders.paymentDeadlines
      for (let n = 1; deadlines.peekTime() <= this.now; n++) {
        if (n % chunk === 0 && performance.now() > until) return false
        const o = p.orders.orders.get(deadlines.pop())
        if (o) Orders.expirePayment(o, this.orderContexts[p.id])
      }
      const promises = p.orders.promiseDeadlines
      for (let n = 1; promises.peekTime() <= this.now; n++) {
        if (n % chunk === 0 && performance.now() > until) return false
        const { orderId, shipmentId } = promiseTimerTarget(promises.pop())
        const o = p.orders.orders.get(orderId)
        if (o) Orders.promiseDue(o, shipmentId, this.orderContexts[p.id])
      }
    }
    return true
  }

  /** The earliest timer of any partition (Infinity when none). */
  nextTimer(): number {
    let t = Infinity
    for (const p of this.partitions) {
      t = Math.min(t, p.stock.holdExpiry.peekTime(), p.orders.paymentDeadlines.peekTime(), p.orders.promiseDeadlines.peekTime())
    }
    return t
  }

  // ---- commands -------------------------------------------------------------------------------

  execute(c: Command): Reply {
    if (typeof c !== "object" || c === null || typeof c.type !== "string") return reject("malformed_command")
    const owner = ownerOf(c.type)
    if (!owner) return reject("unknown_command", `no command has type ${JSON.stringify(c.type).slice(0, 80)}`)
    const reply = this.deliver(c, owner)
    this.settleArrivals()
    return reply
  }

  /** Runs the owning actor's handler on the command, in the partition its address names. */
  private deliver(c: Command, owner: Ownership): Reply {
    switch (owner.actor) {
      case "network":
        return this.network(c as NetworkCommand)
      case "pool":
        // the pool's handlers validate the command before they look its pools up (PoolContext.stockOf, stockOfHold)
        return executePoolCommand(c as PoolCommand, this.poolContext)
      case "split":
        return this.splitClaim(c as ClaimSplit | ReleaseSplit)
      case "order":
        switch (owner.address) {
          case "placement":
            return this.placeOrder(c as PlaceOrder)
          case "notificationIds":
            return this.notificationsDelivered(c as MarkNotificationsDelivered)
          case "orderId": {
            const p = this.partitionOfOrderId((c as { orderId?: unknown }).orderId)
            if (!p) return reject("order_not_found")
            return Orders.executeOrderCommand(p.orders, c as Orders.OrderCommand, this.orderContexts[p.id])
          }
          default:
            return reject("unknown_command", `no order command is addressed by ${owner.address}`)
        }
    }
  }

  private settleArrivals() {
    while (this.arrivals.length > 0) {
      const skus = [...new Set(this.arrivals)]
      this.arrivals = []
      for (const sku of skus) this.retryBackorders(sku)
    }
  }

  /** Stock of a SKU arrived: orders waiting on it, in every partition, oldest first, are routed again. */
  private retryBackorders(sku: string) {
    const waiting: Array<[OrderState, Partition]> = []
    for (const p of this.partitions) {
      for (const o of Orders.backorderedOn(p.orders, sku)) if (o.routeAttempts < this.config.routeAttemptsMax) waiting.push([o, p])
    }
    waiting.sort(([a], [b]) => Orders.byPlacement(a, b))
    for (const [o, p] of waiting) {
      const ctx = this.orderContexts[p.id]
      if (!Orders.anyAtp(ctx, sku)) return
      Orders.routeOrder(o, "backorder_retry", ctx)
    }
  }

  /** A placement goes to the partition of a leg of a split order, else to the hash of (channel, external id). */
  placeOrder(c: PlaceOrder): Reply {
    if (typeof c.channel !== "string" || typeof c.externalId !== "string") return reject("invalid_id")
    // a leg of a split order lives in the partition it names (checked by the order actor), any other order where its key hashes
    const legPartition = (c.leg as { partition?: unknown } | undefined)?.partition
    if (c.leg !== undefined && (typeof legPartition !== "number" || !this.partitions[legPartition])) {
      return reject("invalid_leg", `leg partition must be 0..${this.partitions.length - 1}`)
    }
    const p = this.partitions[c.leg !== undefined ? (legPartition as number) : partitionOf(`${c.channel}\u0000${c.externalId}`, this.partitions.length)]
    return Orders.placeOrder(p.orders, c, this.orderContexts[p.id])
  }

  /** Delivered notifications leave the outboxes of their orders, in whichever partitions they live. */
  private notificationsDelivered(c: MarkNotificationsDelivered): Reply {
    const bad = Orders.checkDeliveredIds(c, this.config)
    if (bad) return bad
    const byPartition = new Map<number, Array<string>>()
    for (const id of c.ids) {
      const p = partitionOfOrder(id)
      if (this.partitions[p] === undefined) continue
      const mine = byPartition.get(p)
      if (mine === undefined) byPartition.set(p, [id])
      else mine.push(id)
    }
    let delivered = 0
    for (const p of this.partitions) {
      const mine = byPartition.get(p.id)
      if (mine !== undefined) delivered += Orders.markDelivered(p.orders, mine, this.orderContexts[p.id])
    }
    return { ok: true, delivered }
  }

  /** A split order's claim of its external id, or its release, in the order's home partition (where an ordinary order of it lives). */
  private splitClaim(c: ClaimSplit | ReleaseSplit): Reply {
    if (typeof c.channel !== "string" || typeof c.externalId !== "string") return reject("invalid_id")
    const p = this.partitions[partitionOf(externalKey(c.channel, c.externalId), this.partitions.length)]
    const d = c.type === "order.claimSplit"
      ? claimSplit(p.orders, c, this.net, this.config, this.now)
      : releaseSplit(p.orders, c, this.net, this.config, this.now)
    if (d.event) p.appendSplit(d.event)
    return d.reply
  }

  /** The Network actor decides; its events are journaled and applied, and a node's outage or return reaches the orders. */
  private network(c: NetworkCommand): Reply {
    const d = decideNetwork(this.net, c, this.now, this.config)
    if ("ok" in d) return d
    for (const e of d.events) {
      this.netLog.append(e)
      evolveNetwork(this.net, e)
      if (e.type === "NodeStatusChanged" && e.status === "online") {
        // a node back online may serve backorders again
        for (const p of this.partitions) for (const [sku, waiting] of p.orders.backorders) if (waiting.size > 0) this.arrivals.push(sku)
      }
      if (e.type === "NodeStatusChanged" && e.status === "offline") this.withdrawFrom(e.nodeId)
    }
    if (c.type === "node.upsert" || c.type === "node.setStatus") return { ok: true, node: nodeById(this.net, c.nodeId)! }
    return { ok: true }
  }

  /** Every shipment not yet picked at an offline node is withdrawn and routed again, oldest order first. */
  private withdrawFrom(nodeId: string): void {
    const open: Array<[OrderState, Partition]> = []
    for (const p of this.partitions) for (const o of ordersOpenAt(p.orders, nodeId)) open.push([o, p])
    open.sort(([a], [b]) => Orders.byPlacement(a, b))
    for (const [o, p] of open) Orders.nodeWithdrawn(o, nodeId, this.orderContexts[p.id])
  }

  /**
   * Cluster mode: the network arrived from the network owner's stream (or the
   * partition was just loaded). Orders are brought in line with it from the
   * state, not from the events, so a change is handled exactly once whatever
   * was journaled before a failover: open shipments at offline nodes are
   * withdrawn and routed again, and backorders are re-tried.
   */
  reconcileNetwork(): void {
    for (const node of this.net.nodes) if (node.status === "offline") this.withdrawFrom(node.nodeId)
    for (const p of this.partitions) for (const [sku, waiting] of p.orders.backorders) if (waiting.size > 0) this.arrivals.push(sku)
    this.settleArrivals()
  }

  // ---- read models ---------------------------------------------------------------------------------

  poolView(sku: string, nodeId: string): PoolView {
    return poolView(this.partitionOfSku(sku).stock, this.net, sku, nodeId)
  }

  orderById(orderId: string): OrderState | undefined {
    return this.partitionOfOrderId(orderId)?.orders.orders.get(orderId)
  }

  orderView(orderId: string): Accepted["order"] {
    const o = this.orderById(orderId)
    return o ? Orders.orderView(o) : undefined
  }
}

export type { EngineEvent }
