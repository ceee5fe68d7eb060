/**
 * Orders in and out of memory, as the batch loop sees them: what the next
 * batch needs that is not in memory (prefetch.ts), loading it in one round
 * trip, letting orders leave down to ordersResidentMax (order/residency.ts),
 * and reading an order that is not in memory without bringing it back.
 * The engine (engine.ts) decides when; this module does it.
 */
import type { EngineConfig } from "../config.ts"
import type { Command } from "../domain/commands.ts"
import { placementKey } from "../order/order-book.ts"
import type { OrderState } from "../order/order-state.ts"
import { EvictionSweep, installOrder, orderOfRow } from "../order/residency.ts"
import type { JournalStore, OrderKey } from "../store/journal.ts"
import type { Partition } from "./partition.ts"
import { noneMissing, Prefetch, type Missing } from "./prefetch.ts"

/** Time one turn of the loop may spend decoding loaded orders. */
const installSliceMs = 4

export class OrderLoads {
  readonly prefetch: Prefetch
  /** A load for the next batch is in flight: no batch runs until it is back. */
  loading = false
  /** Orders the last load brought back: they stay at least until the batch that needed them has run. */
  readonly justLoaded = new Set<string>()
  /** A snapshot stored versions (or the state was reloaded): orders may leave memory before the next batch. */
  evictDue = false
  /** The partition whose orders leave next while evictions are due, and its pass in progress. */
  private evictNext = 0
  private sweep: EvictionSweep | undefined
  /** Round trips and the orders they brought back. */
  loads = 0
  loaded = 0

  constructor(
    private readonly store: JournalStore,
    private readonly config: EngineConfig,
    private readonly partitions: () => ReadonlyArray<Partition>
  ) {
    this.prefetch = new Prefetch(partitions)
  }

  /**
   * Before a batch: lets orders leave if due (never the ones just loaded for
   * it), partition after partition, for about `sliceMs` a turn (a pass is
   * resumed on the next turn), so the loop never stops long for it; when
   * more than a quarter over ordersResidentMax, a partition's pass is
   * finished in one turn, so residency catches up with the loads.
   */
  evictIfDue(sliceMs = 4): void {
    if (!this.evictDue || this.justLoaded.size > 0) return
    const parts = this.partitions()
    let resident = 0
    for (const p of parts) resident += p.orders.orders.size
    // far behind (loads come faster than slices let orders leave): a partition's pass is finished at once
    const behind = resident > this.config.ordersResidentMax * 1.25
    const started = performance.now()
    const deadline = behind ? Number.POSITIVE_INFINITY : started + sliceMs
    const perPartition = Math.ceil(this.config.ordersResidentMax / parts.length)
    while (this.evictNext < parts.length) {
      this.sweep ??= new EvictionSweep(parts[this.evictNext].orders, perPartition)
      if (!this.sweep.step(deadline, this.justLoaded)) return
      this.sweep = undefined
      this.evictNext++
      if (performance.now() > started + sliceMs) return
    }
    this.evictNext = 0
    this.evictDue = false
  }

  /** What the timers due at `now` and the first `count` queued commands need that is not in memory (commands `mine` says are this engine's). */
  missing(
    now: number, queued: ReadonlyArray<{ readonly command: Command }>, count: number, mine: (c: Command) => boolean, offlineNodes?: () => Iterable<string>
  ): Missing {
    const m = noneMissing()
    if (offlineNodes !== undefined) this.prefetch.needOpenAt(offlineNodes(), m)
    this.prefetch.collectTimers(now, m)
    for (let i = 0; i < count; i++) if (mine(queued[i].command)) this.prefetch.collect(queued[i].command, m)
    return m
  }

  /** True when command `c` has everything it needs in memory now. */
  ready(c: Command): boolean {
    return this.prefetch.collect(c, noneMissing())
  }

  /**
   * A batch ran; `windowDone`: every command the last load was for has run
   * (a batch out of time leaves some for the next, whose orders must stay).
   */
  batchRan(windowDone = true): void {
    for (const p of this.partitions()) p.orders.useClock++
    if (!windowDone) return
    this.prefetch.settle()
    this.justLoaded.clear()
  }

  /** The engine's state was reloaded from the store. */
  reset(): void {
    this.batchRan()
    this.sweep = undefined
    this.evictNext = 0
    this.evictDue = true
  }

  /** Loads what is missing (ids and placement keys, one round trip); what the store does not have is remembered as absent until the batch has run. */
  async load(missing: Missing): Promise<void> {
    this.loading = true
    this.loads++
    const ids = [...missing.ids]
    const keys = [...missing.keys]
    try {
      const [byId, byKey] = await Promise.all([
        ids.length > 0 ? this.store.loadOrders(ids) : [],
        keys.length > 0 ? this.store.findOrders(keys.map(([, k]) => k)) : []
      ])
      const parts = this.partitions()
      const rows = [...byId, ...byKey]
      // decoded a slice at a time, other work (sockets, timers) going on between slices
      let sliceStarted = performance.now()
      for (const row of rows) {
        if (performance.now() - sliceStarted > installSliceMs) {
          await new Promise((resume) => setImmediate(resume))
          sliceStarted = performance.now()
        }
        const p = parts[Number(row.stream.slice(1))]
        if (p === undefined || p.orders.orders.has(row.orderId)) continue
        installOrder(p.orders, orderOfRow(row), false)
        this.justLoaded.add(row.orderId)
        this.loaded++
      }
      for (const id of ids) if (!this.justLoaded.has(id) && !parts.some((p) => p.orders.orders.has(id))) this.prefetch.absentIds.add(id)
      for (const [key] of keys) if (!parts.some((p) => p.orders.byExternal.has(key))) this.prefetch.absentKeys.add(key)
    } finally {
      this.loading = false
    }
  }

  /** An order by id: from memory, or from its stored version when it left memory (without bringing it back). */
  async order(orderId: string, partition: Partition | undefined): Promise<OrderState | undefined> {
    if (partition === undefined) return undefined
    const resident = partition.orders.orders.get(orderId)
    if (resident !== undefined) return resident
    const [row] = await this.store.loadOrders([orderId])
    // it may have come back and changed meanwhile: memory wins
    return partition.orders.orders.get(orderId) ?? (row ? orderOfRow(row) : undefined)
  }

  /** The order a placement key names in partition `p`, from memory or the store. */
  async orderByKey(p: Partition | undefined, key: OrderKey): Promise<OrderState | undefined> {
    if (p === undefined) return undefined
    const bookKey = placementKey({ channel: key.channel, externalId: key.externalId, leg: key.leg < 0 ? null : { partition: key.leg, lineNos: [] } })
    const id = p.orders.byExternal.get(bookKey)
    if (id !== undefined) return p.orders.orders.get(id)
    const found = (await this.store.findOrders([key])).find((r) => r.stream === p.stream)
    if (found === undefined) return undefined
    return p.orders.orders.get(found.orderId) ?? orderOfRow(found)
  }
}
