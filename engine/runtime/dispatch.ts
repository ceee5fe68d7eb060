/**
 * Delivers one client command to the actor that owns it, synchronously,
 * inside a batch: network commands to the Network actor, inventory and hold
 * commands to the StockPool actor of (SKU, node) in the SKU's partition,
 * order commands to the Order actor in its partition. Messages between actors
 * (an order reserving at pools, a node outage re-routing orders, stock
 * arrival re-trying backorders) go through the same functions before the
 * command's reply is set, so a batch always ends with every actor settled.
 */
import type { EngineConfig } from "../config.ts"
import { commandTypes, type Command, type CreateHold, type InventoryCommand, type LoadInventory } from "../domain/commands.ts"
import { invariant, reject, type Rejection } from "../domain/errors.ts"
import type { EngineEvent, OrderEvent, PoolEvent } from "../domain/events.ts"
import { isLatLon, policyAllows } from "../domain/network.ts"
import type { Accepted, HoldView, PoolView, Reply } from "../domain/replies.ts"
import { checkId, checkQty, checkText, isCount } from "../domain/validate.ts"
import { decideNetwork, evolveNetwork, nodeById, type NetworkState } from "../network/network-actor.ts"
import * as Orders from "../order/order-actor.ts"
import { dayOf, externalKey, ordersOpenAt, partitionOfOrder, promiseTimerTarget } from "../order/order-book.ts"
import { claimSplit, releaseSplit } from "../order/split-claim.ts"
import { orderView, type OrderState } from "../order/order-state.ts"
import {
  decideAdjust, decideExtendHold, decidePlaceHold, decideReceive, decideReleaseHold, decideReserve, decideSafetyStock,
  dueHoldExpiries, findHoldByKey, holdById, liveHold, partitionOfHold, poolSlot, type Hold
} from "../pool/pool-actor.ts"
import type { CapacityLookup, Router, StockLookup } from "../routing/types.ts"
import { partitionOf, type Partition, type StreamLog } from "./partition.ts"

const knownCommands: ReadonlySet<string> = new Set(commandTypes)

/**
 * Partition `partition`'s share of a node's daily capacity in cluster mode:
 * an equal part, the remainder going one unit each to `capacity mod
 * partitions` partitions, chosen by node number so that no partition is
 * always the one left short. The shares of all partitions add up to the
 * capacity.
 */
export const capacityShare = (capacity: number, nodeNo: number, partition: number, partitions: number): number =>
  Math.floor(capacity / partitions) + ((partition + nodeNo) % partitions < capacity % partitions ? 1 : 0)

/** Everything a batch works on: the network, the partitions, the clock reading of this batch. */
export class Dispatcher {
  now = 0
  /** Shipments routed to each node today, summed over partitions (derived from OrderRouted). */
  readonly nodeLoadToday = new Map<string, { day: number; shipments: number }>()
  /** Orders with undelivered notifications, by partition. */
  readonly outboxOrders: Array<Set<string>>
  private readonly skuPartition = new Map<string, number>()
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
    this.outboxOrders = partitions.map(() => new Set())
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
    if (e.type === "OrderRouted") this.addNodeLoad(e.shipments, e.at)
    if (o.outbox.length > 0) this.outboxOrders[p.id].add(o.orderId)
    else this.outboxOrders[p.id].delete(o.orderId)
    return o
  }

  private addNodeLoad(shipments: ReadonlyArray<{ readonly nodeId: string }>, at: number) {
    const day = dayOf(at)
    for (const s of shipments) {
      const load = this.nodeLoadToday.get(s.nodeId)
      if (!load || load.day !== day) this.nodeLoadToday.set(s.nodeId, { day, shipments: 1 })
      else load.shipments++
    }
  }

  /** Rebuilds the derived cross-partition indexes after recovery. */
  rebuildDerived(): void {
    this.nodeLoadToday.clear()
    for (const p of this.partitions) {
      for (const [nodeId, load] of p.orders.nodeLoad) {
        const total = this.nodeLoadToday.get(nodeId)
        if (!total || total.day < load.day) this.nodeLoadToday.set(nodeId, { ...load })
        else if (total.day === load.day) total.shipments += load.shipments
      }
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

  /** Today's capacity of a node counted as used: its shipments routed today, plus (cluster mode) the other partitions' shares. */
  readonly capacity: CapacityLookup = {
    usedAt: (nodeNo) => this.takenToday(this.net.nodes[nodeNo], nodeNo),
    remaining: (nodeId) => {
      const nodeNo = this.net.nodeIndex.get(nodeId)
      return nodeNo === undefined ? 0 : Math.max(0, this.net.nodes[nodeNo].capacityPerDay - this.takenToday(this.net.nodes[nodeNo], nodeNo))
    },
    usedShare: (nodeId) => {
      const nodeNo = this.net.nodeIndex.get(nodeId)
      return nodeNo === undefined ? 1 : Math.min(1, this.takenToday(this.net.nodes[nodeNo], nodeNo) / this.net.nodes[nodeNo].capacityPerDay)
    }
  }

  private takenToday(node: { readonly nodeId: string; readonly capacityPerDay: number }, nodeNo: number): number {
    const used = this.usedToday(node.nodeId)
    return this.owned === undefined ? used : used + node.capacityPerDay - capacityShare(node.capacityPerDay, nodeNo, this.owned, this.partitions.length)
  }

  usedToday(nodeId: string): number {
    const load = this.nodeLoadToday.get(nodeId)
    return load && load.day === dayOf(this.now) ? load.shipments : 0
  }

  // ---- messages from orders to pools --------------------------------------------------------

  private readonly pools: Orders.PoolPort = {
    findHold: (holdId, channel) => {
      const p = this.partitions[partitionOfHold(holdId)]
      return p ? liveHold(p.stock, holdId, channel, this.now) : reject("hold_not_found")
    },
    endHold: (holdId, reason) => {
      const p = this.partitions[partitionOfHold(holdId)]
      const hold = holdById(p.stock, holdId)!
      this.emitPool(p, { type: "HoldEnded", holdId, sku: hold.sku, nodeId: hold.nodeId, reason, at: this.now })
    },
    reserve: (reservationId, orderId, sku, nodeId, qty, stage, convertedQty) => {
      const p = this.partitionOfSku(sku)
      const d = decideReserve(p.stock, this.net, reservationId, orderId, sku, nodeId, qty, stage, convertedQty)
      if ("ok" in d) return d
      this.emitPool(p, d)
      return undefined
    },
    allocate: (reservationId, sku) => {
      const p = this.partitionOfSku(sku)
      this.emitPool(p, { type: "ReservationAllocated", reservationId, sku, nodeId: this.reservationNode(p, reservationId) })
    },
    release: (reservationId, sku, qty, reason) => {
      const p = this.partitionOfSku(sku)
      this.emitPool(p, { type: "ReservationReleased", reservationId, sku, nodeId: this.reservationNode(p, reservationId), qty, reason })
    },
    ship: (reservationId, sku, qty) => {
      const p = this.partitionOfSku(sku)
      this.emitPool(p, { type: "StockShipped", reservationId, sku, nodeId: this.reservationNode(p, reservationId), qty })
    },
    writeOff: (sku, nodeId, qty, reason) => {
      this.emitPool(this.partitionOfSku(sku), { type: "StockAdjusted", sku, nodeId, delta: -qty, reason, at: this.now })
    },
    restock: (sku, nodeId, qty, orderId, returnId) => {
      this.emitPool(this.partitionOfSku(sku), { type: "StockRestocked", sku, nodeId, qty, orderId, returnId })
    }
  }

  private reservationNode(p: Partition, reservationId: string): string {
    const r = p.stock.reservations.get(reservationId)
    invariant(r !== undefined, () => `no reservation ${reservationId} in ${p.stream}`)
    return r!.nodeId
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

  /** Fires every hold expiry and payment deadline due by `now`. */
  runTimers(): void {
    for (const p of this.partitions) {
      for (const e of dueHoldExpiries(p.stock, this.now)) this.emitPool(p, e)
      const deadlines = p.orders.paymentDeadlines
      while (deadlines.peekTime() <= this.now) {
        const o = p.orders.orders.get(deadlines.pop())
        if (o) Orders.expirePayment(o, this.orderContexts[p.id])
      }
      const promises = p.orders.promiseDeadlines
      while (promises.peekTime() <= this.now) {
        const { orderId, shipmentId } = promiseTimerTarget(promises.pop())
        const o = p.orders.orders.get(orderId)
        if (o) Orders.promiseDue(o, shipmentId, this.orderContexts[p.id])
      }
    }
    this.settleArrivals()
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
    if (!knownCommands.has(c.type)) return reject("unknown_command", `no command has type ${JSON.stringify(c.type).slice(0, 80)}`)
    const reply = this.route(c)
    this.settleArrivals()
    return reply
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

  private route(c: Command): Reply {
    switch (c.type) {
      case "node.upsert":
      case "node.setStatus":
      case "sku.upsert":
      case "channel.upsert":
      case "carrier.upsert":
        return this.network(c)
      case "inventory.receive":
      case "inventory.adjust":
      case "inventory.setSafetyStock":
        return this.inventory(c)
      case "inventory.load":
        return this.load(c)
      case "hold.create":
        return this.createHold(c)
      case "hold.extend":
      case "hold.release": {
        if (typeof c.holdId !== "string") return reject("invalid_id")
        const p = this.partitions[partitionOfHold(c.holdId)]
        if (!p) return reject("hold_not_found")
        const bad = c.type === "hold.extend" ? this.checkTtl(c.ttlMs) : undefined
        if (bad) return bad
        const d = c.type === "hold.extend"
          ? decideExtendHold(p.stock, c.holdId, c.channel, c.ttlMs, this.now)
          : decideReleaseHold(p.stock, c.holdId, c.channel, this.now)
        if ("ok" in d) return d
        // read before the event: a released hold leaves the book; the book's holds are copies, so an extension is applied here
        const hold = holdById(p.stock, c.holdId)!
        this.emitPool(p, d)
        return { ok: true, hold: holdView(d.type === "HoldExtended" ? { ...hold, expiresAt: d.expiresAt } : hold) }
      }
      case "order.place":
        return this.placeOrder(c)
      case "order.claimSplit":
      case "order.releaseSplit":
        return this.splitClaim(c)
      case "notifications.delivered": {
        if (!Array.isArray(c.ids) || c.ids.some((id) => typeof id !== "string")) return reject("malformed_command", "ids must be a list of strings")
        if (c.ids.length > this.config.bulkRowsMax) return reject("too_many_lines")
        let delivered = 0
        for (const p of this.partitions) {
          const mine = c.ids.filter((id) => partitionOfOrder(id) === p.id)
          if (mine.length > 0) delivered += Orders.markDelivered(p.orders, mine, this.orderContexts[p.id])
        }
        return { ok: true, delivered }
      }
      default: {
        const p = this.partitionOfOrderId((c as { orderId?: unknown }).orderId)
        if (!p) return reject("order_not_found")
        const ctx = this.orderContexts[p.id]
        switch (c.type) {
          case "order.payment": return Orders.recordPayment(p.orders, c, ctx)
          case "order.cancel": return Orders.cancel(p.orders, c, ctx)
          case "order.exchange": return Orders.exchange(p.orders, c, ctx)
          case "order.feedback": return Orders.recordFeedback(p.orders, c, ctx)
          case "return.request": return Orders.requestReturn(p.orders, c, ctx)
          case "return.receive": return Orders.receiveReturn(p.orders, c, ctx)
          case "shipment.accept":
          case "shipment.reject":
          case "shipment.pick":
          case "shipment.pack":
          case "shipment.ship":
          case "shipment.deliver":
            return Orders.shipmentEvent(p.orders, c, ctx)
          case "shipment.track":
            return Orders.trackShipment(p.orders, c, ctx)
          default:
            return reject("unknown_command", `no command has type ${JSON.stringify((c as { type: unknown }).type)}`)
        }
      }
    }
  }

  placeOrder(c: Command & { type: "order.place" }): Reply {
    if (typeof c.channel !== "string" || typeof c.externalId !== "string") return reject("invalid_id")
    // a leg of a split order lives in the partition it names (checked by the order actor), any other order where its key hashes
    const legPartition = (c.leg as { partition?: unknown } | undefined)?.partition
    if (c.leg !== undefined && (typeof legPartition !== "number" || !this.partitions[legPartition])) {
      return reject("invalid_leg", `leg partition must be 0..${this.partitions.length - 1}`)
    }
    const p = this.partitions[c.leg !== undefined ? (legPartition as number) : partitionOf(`${c.channel}\u0000${c.externalId}`, this.partitions.length)]
    return Orders.placeOrder(p.orders, c, this.orderContexts[p.id])
  }

  /** A split order's claim of its external id, or its release, in the order's home partition (where an ordinary order of it lives). */
  private splitClaim(c: Command & { type: "order.claimSplit" | "order.releaseSplit" }): Reply {
    if (typeof c.channel !== "string" || typeof c.externalId !== "string") return reject("invalid_id")
    const p = this.partitions[partitionOf(externalKey(c.channel, c.externalId), this.partitions.length)]
    const d = c.type === "order.claimSplit"
      ? claimSplit(p.orders, c, this.net, this.config, this.now)
      : releaseSplit(p.orders, c, this.net, this.config, this.now)
    if (d.event) p.appendSplit(d.event)
    return d.reply
  }

  private network(c: Command & { type: "node.upsert" | "node.setStatus" | "sku.upsert" | "channel.upsert" | "carrier.upsert" }): Reply {
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

  // ---- inventory ------------------------------------------------------------------------------

  private checkPool(sku: unknown, nodeId: unknown): Rejection | undefined {
    const bad = checkId(sku, this.config) ?? checkId(nodeId, this.config)
    if (bad) return bad
    if (!this.net.skuIndex.has(sku as string)) return reject("unknown_sku", `unknown SKU ${String(sku)}`)
    if (!this.net.nodeIndex.has(nodeId as string)) return reject("unknown_node", `unknown node ${String(nodeId)}`)
    return undefined
  }

  private inventory(c: Exclude<InventoryCommand, LoadInventory>): Reply {
    const bad = this.checkPool(c.sku, c.nodeId)
    if (bad) return bad
    const p = this.partitionOfSku(c.sku)
    let d: PoolEvent | Rejection
    switch (c.type) {
      case "inventory.receive": {
        const badQty = checkQty(c.qty, this.config) ?? checkText(c.reference ?? "", "reference")
        if (badQty) return badQty
        d = decideReceive(p.stock, this.net, c.sku, c.nodeId, c.qty, c.reference ?? "", this.now, this.config)
        break
      }
      case "inventory.adjust": {
        const badReason = checkText(c.reason, "reason")
        if (badReason) return badReason
        const hasDelta = c.delta !== undefined
        if (hasDelta === (c.count !== undefined)) return reject("malformed_command", "give either delta or count")
        let delta: number
        if (hasDelta) {
          if (typeof c.delta !== "number" || !Number.isInteger(c.delta) || c.delta === 0) return reject("quantity_must_be_positive", "delta is a non-zero whole number")
          if (Math.abs(c.delta) > this.config.quantityMax) return reject("quantity_too_large")
          delta = c.delta
        } else {
          if (!isCount(c.count)) return reject("quantity_must_be_positive", "count is a whole number >= 0")
          if (c.count > this.config.onHandMax) return reject("on_hand_too_large")
          delta = c.count - (p.stock.pools.onHand[poolSlot(p.stock, this.net, c.sku, c.nodeId)] ?? 0)
          if (delta === 0) return { ok: true, pool: this.poolView(c.sku, c.nodeId) }
        }
        d = decideAdjust(p.stock, this.net, c.sku, c.nodeId, delta, c.reason, this.now, this.config)
        break
      }
      case "inventory.setSafetyStock": {
        if (!isCount(c.qty) || c.qty > this.config.onHandMax) return reject("quantity_must_be_positive", "safety stock is a whole number >= 0")
        d = decideSafetyStock(c.sku, c.nodeId, c.qty)
        break
      }
    }
    if ("ok" in d) return d
    this.emitPool(p, d)
    return { ok: true, pool: this.poolView(c.sku, c.nodeId) }
  }

  /** A bulk load of absolute counts: every row is checked first, then all apply. */
  private load(c: LoadInventory): Reply {
    if (!Array.isArray(c.rows) || c.rows.length === 0) return reject("malformed_command", "rows must be a non-empty list")
    if (c.rows.length > this.config.bulkRowsMax) return reject("too_many_lines", `at most ${this.config.bulkRowsMax} rows`)
    const badRef = checkText(c.reference ?? "", "reference")
    if (badRef) return badRef
    const seen = new Set<string>()
    for (const [i, row] of c.rows.entries()) {
      const where = `row ${i + 1}: `
      if (typeof row !== "object" || row === null) return reject("malformed_command", `${where}not an object`)
      const bad = this.checkPool(row.sku, row.nodeId)
      if (bad) return reject(bad.code, where + bad.message)
      const key = `${row.sku}\u0000${row.nodeId}`
      if (seen.has(key)) return reject("duplicate_line", `${where}${row.sku} at ${row.nodeId} appears twice`)
      seen.add(key)
      if (!isCount(row.onHand) || row.onHand > this.config.onHandMax) return reject("quantity_must_be_positive", `${where}onHand is a whole number in 0..${this.config.onHandMax}`)
      if (row.safetyStock !== undefined && (!isCount(row.safetyStock) || row.safetyStock > this.config.onHandMax)) {
        return reject("quantity_must_be_positive", `${where}safetyStock is a whole number >= 0`)
      }
      const p = this.partitionOfSku(row.sku)
      const slot = poolSlot(p.stock, this.net, row.sku, row.nodeId)
      const promised = slot < 0 ? 0 : p.stock.pools.held[slot] + p.stock.pools.allocated[slot]
      if (row.onHand < promised) return reject("below_reserved", `${where}on hand ${row.onHand} is below the ${promised} held and allocated`)
    }
    const reason = `load${c.reference ? `:${c.reference}` : ""}`
    for (const row of c.rows) {
      const p = this.partitionOfSku(row.sku)
      const slot = poolSlot(p.stock, this.net, row.sku, row.nodeId)
      const delta = row.onHand - (slot < 0 ? 0 : p.stock.pools.onHand[slot])
      if (delta !== 0) this.emitPool(p, { type: "StockAdjusted", sku: row.sku, nodeId: row.nodeId, delta, reason, at: this.now })
      if (row.safetyStock !== undefined && (slot < 0 || p.stock.pools.safety[slot] !== row.safetyStock)) {
        this.emitPool(p, { type: "SafetyStockSet", sku: row.sku, nodeId: row.nodeId, qty: row.safetyStock })
      }
    }
    return { ok: true }
  }

  // ---- holds ------------------------------------------------------------------------------------

  private checkTtl(ttlMs: unknown): Rejection | undefined {
    return typeof ttlMs === "number" && Number.isInteger(ttlMs) && ttlMs >= this.config.holdTtlMsMin && ttlMs <= this.config.holdTtlMsMax
      ? undefined
      : reject("ttl_out_of_range", `ttlMs must be a whole number in ${this.config.holdTtlMsMin}..${this.config.holdTtlMsMax}`)
  }

  private createHold(c: CreateHold): Reply {
    const bad = checkId(c.channel, this.config) ?? checkId(c.sku, this.config) ?? checkQty(c.qty, this.config) ??
      (c.key !== undefined ? checkId(c.key, this.config) : undefined) ??
      this.checkTtl(c.ttlMs ?? this.config.holdTtlMsDefault)
    if (bad) return bad
    const channel = this.net.channels.get(c.channel)
    if (!channel) return reject("unknown_channel")
    if (!this.net.skuIndex.has(c.sku)) return reject("unknown_sku", `unknown SKU ${c.sku}`)
    const p = this.partitionOfSku(c.sku)
    if (c.key !== undefined) {
      const existing = findHoldByKey(p.stock, c.channel, c.key)
      if (existing) {
        const same = existing.sku === c.sku && existing.qty === c.qty && (c.nodeId === undefined || c.nodeId === existing.nodeId)
        return same ? { ok: true, hold: holdView(existing), existing: true } : reject("exists_with_different_lines", "a hold with this key exists for another SKU, quantity or node")
      }
    }
    let nodeId: string
    if (c.nodeId !== undefined) {
      const node = typeof c.nodeId === "string" ? nodeById(this.net, c.nodeId) : undefined
      if (!node) return reject("unknown_node")
      if (node.status !== "online") return reject("node_not_available", `${node.nodeId} is ${node.status}`)
      if (!policyAllows(channel.policy, node)) return reject("node_not_available", `channel ${c.channel} may not sell from ${node.nodeId}`)
      nodeId = node.nodeId
    } else {
      if (c.location !== undefined && !isLatLon(c.location)) return reject("invalid_location")
      const best = this.bestNodeForHold(c)
      if (!best) return reject("insufficient_stock", `no node the channel may use has ${c.qty} of ${c.sku}`)
      nodeId = best
    }
    const d = decidePlaceHold(p.stock, this.net, c.channel, c.sku, nodeId, c.qty, c.ttlMs ?? this.config.holdTtlMsDefault, c.key ?? null, this.now)
    if ("ok" in d) return d
    this.emitPool(p, d)
    return { ok: true, hold: holdView(p.stock.holds.get(p.stock.nextHoldNo - 1)!) }
  }

  /** "Best node for this customer": the node routing would ship the line from (by location), else the one with most stock. */
  private bestNodeForHold(c: CreateHold): string | undefined {
    const policy = this.net.channels.get(c.channel)!.policy
    if (c.location !== undefined) {
      const sku = this.net.skus[this.net.skuIndex.get(c.sku)!]
      const result = this.router(
        { lines: [{ lineNo: 1, sku: c.sku, qty: c.qty, weightGrams: sku.weightGrams }], destination: c.location, fulfillment: "ship", pickupNodeId: null, policy, excludedNodeIds: new Set() },
        this.net.nodes, this.stock, this.capacity
      )
      const s = result.shipments[0]
      return s && s.lines[0].qty === c.qty ? s.nodeId : undefined
    }
    // one read of the SKU's row of pools, then node numbers: no SKU or node lookup per node
    const atpAt = this.stock.row(c.sku)
    const nodes = this.net.nodes
    let best: string | undefined
    let bestAtp = c.qty - 1
    for (let nodeNo = 0; nodeNo < nodes.length; nodeNo++) {
      const node = nodes[nodeNo]
      if (node.status !== "online") continue
      const atp = atpAt(nodeNo)
      if (atp > bestAtp && policyAllows(policy, node)) {
        best = node.nodeId
        bestAtp = atp
      }
    }
    return best
  }

  // ---- read models ---------------------------------------------------------------------------------

  poolView(sku: string, nodeId: string): PoolView {
    const p = this.partitionOfSku(sku)
    const slot = poolSlot(p.stock, this.net, sku, nodeId)
    const t = p.stock.pools
    return slot < 0
      ? { sku, nodeId, onHand: 0, safetyStock: 0, held: 0, allocated: 0, atp: 0 }
      : { sku, nodeId, onHand: t.onHand[slot], safetyStock: t.safety[slot], held: t.held[slot], allocated: t.allocated[slot], atp: t.atp(slot) }
  }

  orderById(orderId: string): OrderState | undefined {
    return this.partitionOfOrderId(orderId)?.orders.orders.get(orderId)
  }

  orderView(orderId: string): Accepted["order"] {
    const o = this.orderById(orderId)
    return o ? orderView(o) : undefined
  }
}

export const holdView = (h: Hold): HoldView => ({
  holdId: h.holdId, channel: h.channel, sku: h.sku, nodeId: h.nodeId, qty: h.qty, expiresAt: h.expiresAt
})

export type { EngineEvent }
