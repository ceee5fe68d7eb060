/**
 * The engine: a mailbox of client commands, a batch loop that delivers them to
 * the actors synchronously, and a group commit that makes each batch's events
 * durable in one journal append before any of its replies is released.
 *
 *   submit -> mailbox -> batch (timers, then up to batchCommandsMax commands)
 *          -> events per stream -> ONE append (all streams, one transaction)
 *          -> replies resolved, committed events published
 *
 * One append is in flight at a time. Commands that arrive meanwhile are not
 * left waiting in the mailbox: they are processed at once, batch after batch,
 * and everything processed while the append was in flight goes into the next
 * append, one row per stream (classic group commit). A command therefore waits
 * for the append in flight and its own, not a third, as long as fewer than
 * batchCommandsMax commands arrive during one append: up to batchCommandsMax
 * processed commands wait for an append, then the mailbox holds the rest. If an append fails, its
 * commands are answered `store_unavailable` when it surely did not commit, or
 * `outcome_unknown` when it may have (the connection was lost after it was
 * sent, or no answer came within storeAppendTimeoutMs: append-outcome.ts);
 * the batches waiting behind it were never sent: `store_unavailable`. The
 * in-memory state (which ran ahead of the journal) is dropped, and the engine
 * reloads from the store once it answers again, which settles an append in
 * doubt (its events are published then if it committed).
 *
 * Cluster mode (`ownership`): the engine writes ONE stream, the network's or a
 * partition's, as a cluster entity on a runner (engine/cluster/). It claims
 * the stream (a new owner epoch) before it loads it, fences every append with
 * that epoch, refuses commands of other streams, reads the network stream as
 * it grows, and steps down (answers `partition_moved`, serves nothing more)
 * when an append is refused because another runner claimed the stream or the
 * store failed: the entity opens a fresh engine, which claims and loads again.
 *
 * Longer than the ~450 lines other files keep to: the batch loop, group
 * commit, the failure paths and cluster mode's fencing all work on the same
 * in-flight state (the mailbox, processed batches waiting for an append, the
 * stream logs), and split apart they would have to share it. What does not
 * touch that state lives beside it: recovery (recovery.ts), snapshots
 * (snapshots.ts), orders in and out of memory (order-loads.ts, prefetch.ts).
 */
import type { EngineConfig } from "../config.ts"
import type { Command } from "../domain/commands.ts"
import { InvariantViolation, isStoreError, reject } from "../domain/errors.ts"
import type { EngineEvent, JournaledEvent } from "../domain/events.ts"
import type { Reply } from "../domain/replies.ts"
import { emptyNetwork, snapshotNetwork, type NetworkState } from "../network/network-actor.ts"
import type { Router } from "../routing/types.ts"
import { streamOf } from "../cluster/scope.ts"
import type { JournalBatch, JournalStore, OrderKey, ReportLedgerStore } from "../store/journal.ts"
import { decodeEvents, encodeEvents, encodeValue } from "./codec.ts"
import { Deliveries } from "./deliveries.ts"
import { readPage, recoverState } from "./recovery.ts"
import { Dispatcher } from "./dispatch.ts"
import { networkStream, replayNetwork, StreamLog, type Partition } from "./partition.ts"
import { isEmpty, type Missing } from "./prefetch.ts"
import { appendWithin, AppendsInDoubt, outcomeUnknown } from "./append-outcome.ts"
import { OrderLoads } from "./order-loads.ts"
import { PartitionSnapshots } from "./snapshots.ts"
import type { OrderState } from "../order/order-state.ts"

export interface EngineOptions {
  readonly store: JournalStore
  readonly config: EngineConfig
  readonly router: Router
  /** The engine clock in epoch milliseconds; tests pass a clock they move by hand. */
  readonly clock?: () => number
  /** How often the engine looks for due timers when idle. */
  readonly timerPollMs?: number
  /** Where the engine reports store failures and faults (default: standard error). */
  readonly log?: (message: string) => void
  /** Cluster mode: the one stream this engine owns and writes; without it the engine owns every stream. */
  readonly ownership?: Ownership
  /** Called after each batch ran (benchmarks, metrics): how long the loop spent on it, and its commands. */
  readonly onBatch?: (ms: number, commands: number) => void
}

export interface Ownership {
  /** "net" (the network actor) or "p<k>" (partition k). */
  readonly stream: string
  /** Who claims the stream (the runner's address), kept with the owner epoch. */
  readonly owner: string
}

export type EngineState = "running" | "recovering" | "stopped" | "moved"

export interface CommittedBatch {
  readonly events: ReadonlyArray<JournaledEvent>
}

export interface EngineStats {
  readonly partitions: number
  readonly pools: number
  readonly holds: number
  /** Orders in memory (the rest are in the store until a command or a read needs them). */
  readonly orders: number
  /** Orders placed since the engine was created (every partition's order counter). */
  readonly ordersPlaced: number
  /** Loads of orders from the store before a batch (one round trip each), and the orders they brought back. */
  readonly orderLoads: number
  readonly ordersLoaded: number
  /** Turns of the loop on which commands waited because changed orders waited for the store. */
  readonly backpressured: number
  /** Batches whose due timers took all of batchTimeMaxMs: the rest ran in the next batches, before any command. */
  readonly timersDeferred: number
  /** Partition snapshots started, order versions stored, and the longest time snapshotting held the loop, ms. */
  readonly snapshots: number
  readonly orderVersionsStored: number
  readonly snapshotPauseMaxMs: number
  /** Commands not answered yet and not in the append in flight: waiting for a batch, or processed and waiting for the next append. */
  readonly mailbox: number
  readonly batches: number
  readonly events: number
  readonly state: EngineState
  readonly lastCommitMs: number
  /** Cluster mode: the stream owned and its owner epoch. */
  readonly owns?: { readonly stream: string; readonly epoch: number }
}

interface Ticket {
  readonly command: Command
  readonly resolve: (reply: Reply) => void
}

/** A processed batch: its replies wait for the append that carries its events. */
interface Processed {
  readonly tickets: ReadonlyArray<Ticket>
  readonly replies: ReadonlyArray<Reply>
  /** Events per stream, with the sequence number of the first. */
  readonly streams: ReadonlyArray<{ readonly log: StreamLog; readonly seqFrom: number; readonly events: ReadonlyArray<EngineEvent> }>
  readonly published: ReadonlyArray<JournaledEvent>
  readonly snapshots: ReadonlyArray<{ stream: string; seq: number; payload: Uint8Array }>
}

export class Engine {
  private net: NetworkState = emptyNetwork()
  private netLog = new StreamLog(networkStream)
  private partitions: Array<Partition> = []
  private dispatcher!: Dispatcher
  private mailbox: Array<Ticket> = []
  private scheduled = false
  /** Processed batches not answered yet (appending or waiting for the next append). */
  private outstanding = 0
  /** Processed batches waiting for the next append, and their commands. */
  private unappended: Array<Processed> = []
  private unappendedCommands = 0
  /** The append in flight (settled, never rejecting), for flush(); resolved when none is. */
  private commitChain: Promise<void> = Promise.resolve()
  private appending = false
  private state: EngineState = "recovering"
  /** Cluster mode: the owner epoch every append is fenced with. */
  private epoch = 0
  /** Cluster mode, partition owners: network events read from the journal, applied at the start of the next batch. */
  private netInbox: Array<{ readonly seq: number; readonly event: EngineEvent }> = []
  private netQueuedSeq = 0
  /** Cluster mode, partition owners: the network changed (or the partition was just loaded): re-check orders against it. */
  private netDirty = false
  private readonly listeners = new Set<(batch: CommittedBatch) => void>()
  private readonly clock: () => number
  private timer: ReturnType<typeof setInterval> | undefined
  /** Commands at the head of the mailbox that the last batch left for lack of time (their orders are in memory). */
  private leftByTime = 0
  /** Batches whose due timers took all their time (the rest ran in the next ones, before any command). */
  private timersDeferred = 0
  private batches = 0
  private events = 0
  private lastCommitMs = 0
  private snapshotting: Promise<void> = Promise.resolve()
  private readonly snapshots: PartitionSnapshots
  private readonly orderLoads: OrderLoads
  /** Turns on which no batch ran because changed orders waited for the store (storeBehind). */
  private backpressured = 0
  private snapshotStepScheduled = false
  /** A partition's snapshot is due: it is taken in the next turn, before the next batch. */
  private takeBeforeNextBatch = false
  private readonly inDoubt = new AppendsInDoubt()
  /** Committed answers, handed back a slice at a time. */
  private readonly deliveries = new Deliveries()

  private readonly log: (message: string) => void

  private constructor(private readonly options: EngineOptions) {
    this.clock = options.clock ?? Date.now
    this.log = options.log ?? ((message) => console.error(`[engine] ${message}`))
    this.orderLoads = new OrderLoads(options.store, options.config, () => this.partitions)
    this.snapshots = new PartitionSnapshots({
      store: options.store,
      config: options.config,
      log: (message) => this.log(message),
      stored: () => {
        this.orderLoads.evictDue = true
        if (this.mailbox.length > 0) this.schedule()
      },
      pinnedCandidates: (p) => this.dispatcher.pinnedCandidates(p)
    })
  }

  /** Opens the engine on a store: loads each stream's newest snapshot, replays the journal after it, starts the loop. */
  static async open(options: EngineOptions): Promise<Engine> {
    const engine = new Engine(options)
    await engine.load()
    engine.state = "running"
    engine.timer = setInterval(() => {
      if (engine.state === "running" && engine.dispatcher.nextTimer() <= engine.clock()) engine.schedule()
    }, options.timerPollMs ?? 100)
    engine.timer.unref?.()
    return engine
  }

  get config(): EngineConfig {
    return this.options.config
  }

  /** The engine clock now (epoch ms): what reads that depend on time (delivery promises) use. */
  now(): number {
    return this.clock()
  }

  /** The actors' state, for queries (see runtime/queries.ts). Reads may include the batch being committed. */
  get view(): Dispatcher {
    return this.dispatcher
  }

  // ---- commands -------------------------------------------------------------------------------

  /** Queues a command; the reply comes once its effects are durable (or it was refused). */
  submit(command: Command): Promise<Reply> {
    if (this.state !== "running") {
      return Promise.resolve(
        this.state === "recovering" ? reject("store_unavailable", "the engine is reloading from its journal; retry")
        : this.state === "moved" ? reject("partition_moved")
        : reject("engine_stopped")
      )
    }
    if (this.mailbox.length >= this.options.config.mailboxCommandsMax) return Promise.resolve(reject("engine_overloaded"))
    return new Promise((resolve) => {
      this.mailbox.push({ command, resolve })
      this.schedule()
    })
  }

  /** Runs a batch now (timers included) and resolves when everything submitted so far is answered. */
  async flush(): Promise<void> {
    if (this.state !== "running") return
    this.schedule()
    await new Promise<void>((resolve) => setImmediate(resolve))
    // once the engine stopped (a fault), only the append in flight is still to be answered
    while (this.state === "running" ? this.mailbox.length > 0 || this.outstanding > 0 : this.outstanding > 0 && this.appending) {
      this.schedule()
      await this.commitChain.catch(() => undefined)
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    await this.deliveries.idle()
  }

  /** Resolves when the store answers (readiness checks); rejects with its error otherwise. */
  ping(): Promise<void> {
    return this.options.store.ping()
  }

  /** Committed events, in commit order, batch by batch. */
  subscribe(listener: (batch: CommittedBatch) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  stats(): EngineStats {
    let pools = 0
    let holds = 0
    let orders = 0
    let ordersPlaced = 0
    for (const p of this.partitions) {
      pools += p.stock.pools.size
      holds += p.stock.holds.size
      orders += p.orders.orders.size
      ordersPlaced += p.orders.nextOrderNo - 1
    }
    const snap = this.snapshots.figures()
    return {
      partitions: this.partitions.length, pools, holds, orders, ordersPlaced, orderLoads: this.orderLoads.loads, ordersLoaded: this.orderLoads.loaded, backpressured: this.backpressured, timersDeferred: this.timersDeferred,
      snapshots: snap.taken, orderVersionsStored: snap.versionsStored, snapshotPauseMaxMs: snap.pauseMaxMs, mailbox: this.mailbox.length + this.unappendedCommands,
      batches: this.batches, events: this.events, state: this.state, lastCommitMs: this.lastCommitMs,
      ...(this.options.ownership ? { owns: { stream: this.options.ownership.stream, epoch: this.epoch } } : {})
    }
  }

  /** Cluster mode: the state of this engine, for the entity that hosts it. */
  get lifecycle(): EngineState {
    return this.state
  }

  async close(): Promise<void> {
    if (this.state === "stopped") return
    if (this.state === "moved") {
      this.state = "stopped"
      clearInterval(this.timer)
      return
    }
    if (this.state === "running") await this.flush()
    this.state = "stopped"
    clearInterval(this.timer)
    await this.snapshots.settled()
    await this.snapshotting.catch(() => undefined)
    for (const t of this.mailbox.splice(0)) t.resolve(reject("engine_stopped"))
  }

  // ---- the batch loop ---------------------------------------------------------------------------

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.runBatch())
  }

  private runBatch(): void {
    this.scheduled = false
    // a snapshot due at the end of the last batch is taken in a turn of its own, before the next batch: the
    // state is still as of that batch, and the copy does not add to the batch's time
    if (this.takeBeforeNextBatch && this.state === "running") {
      this.takeBeforeNextBatch = false
      const p = this.duePartition()
      if (p !== undefined) this.snapshots.take(p)
      this.stepSnapshots()
      this.schedule()
      return
    }
    // processed commands waiting for an append are bounded: past it the mailbox holds the rest (and bounds it)
    if (this.state !== "running" || this.orderLoads.loading || this.unappendedCommands >= this.options.config.batchCommandsMax) return
    if (this.storeBehind()) return
    const d = this.dispatcher
    const started = performance.now()
    d.now = this.clock()
    const owned = this.options.ownership?.stream
    // the commands a batch left for lack of time found their orders in memory, and no order leaves until they ran:
    // they run next, alone, their needs not collected again (the timers' are)
    const leftover = this.leftByTime > 0
    if (!leftover) this.orderLoads.evictIfDue()
    const room = this.options.config.batchCommandsMax - this.unappendedCommands
    const take = Math.min(room, this.mailbox.length, leftover ? this.leftByTime : Infinity)
    this.leftByTime = 0
    // prefetch: every order the timers and these commands need, loaded in one round trip before the batch runs
    const missing = this.orderLoads.missing(
      d.now, this.mailbox, leftover ? 0 : take, (c) => this.mine(c),
      owned !== undefined && (this.netInbox.length > 0 || this.netDirty) ? () => this.offlineNodes() : undefined
    )
    if (!isEmpty(missing)) {
      this.loadOrders(missing, take)
      return
    }
    const tickets = this.mailbox.length === take ? this.mailbox.splice(0) : this.mailbox.splice(0, take)
    let replies: Array<Reply> = new Array(tickets.length)
    const streams: Array<{ log: StreamLog; seqFrom: number; events: ReadonlyArray<EngineEvent> }> = []
    const published: Array<JournaledEvent> = []
    let snapshots: Array<{ stream: string; seq: number; payload: Uint8Array }>
    let timersDone = true
    try {
      if (owned !== undefined) this.applyNetInbox()
      const until = started + this.options.config.batchTimeMaxMs
      // timers due run before any command; those left for lack of time run in the next batch, before its commands
      timersDone = d.runTimers(until)
      if (!timersDone) this.timersDeferred++
      // orders only leave memory between batches, so what the prefetch found stays; only a node
      // going offline in this batch can make a later command need orders it did not collect
      let recheck = false
      for (let i = 0; i < tickets.length; i++) {
        const c = tickets[i].command
        // past the batch's time, or an earlier command of this batch changed what this one needs: the rest waits
        if (!timersDone || (i > 0 && (performance.now() > until || (recheck && this.mine(c) && !this.orderLoads.ready(c))))) {
          if (!recheck) this.leftByTime = tickets.length - i
          this.mailbox.unshift(...tickets.splice(i))
          replies = replies.slice(0, i)
          break
        }
        if (typeof c === "object" && c !== null && c.type === "node.setStatus") recheck = true
        if (owned === undefined) {
          replies[i] = d.execute(c)
          continue
        }
        const where = streamOf(c, this.partitions.length)
        replies[i] = !("stream" in where) ? where
          : where.stream !== owned ? reject("spans_partitions", `the command belongs to ${where.stream}, this engine owns ${owned}`)
          : d.execute(c)
      }
      // orders loaded for commands this batch left for lack of time stay until those have run
      this.orderLoads.batchRan(this.leftByTime === 0)
      for (const log of [this.netLog, ...this.partitions.map((p) => p.log)]) {
        if (owned !== undefined && log.stream !== owned && log.pending.length > 0) {
          throw new InvariantViolation(`a command of ${owned} wrote to ${log.stream}, which this engine does not own`)
        }
        if (log.pending.length === 0) continue
        const seqFrom = log.seq - log.pending.length + 1
        const events = log.drain()
        streams.push({ log, seqFrom, events })
        if (this.listeners.size > 0) for (let i = 0; i < events.length; i++) published.push({ stream: log.stream, seq: seqFrom + i, event: events[i] })
      }
      snapshots = this.takeDueSnapshots(streams)
    } catch (e) {
      this.fatal(e, tickets)
      return
    }
    this.stepSnapshots()
    this.options.onBatch?.(performance.now() - started, tickets.length)
    if (!timersDone || this.takeBeforeNextBatch) this.schedule()
    if (tickets.length === 0 && streams.length === 0) return
    this.outstanding++
    this.unappended.push({ tickets, replies, streams, published, snapshots })
    this.unappendedCommands += tickets.length
    this.startAppend()
    if (this.mailbox.length > 0) this.schedule()
  }

  /**
   * Backpressure: changed orders may not leave memory until a snapshot stored
   * them, so when more than ordersResidentMax of them wait (the store is
   * slower than the commands), no batch runs until snapshots caught up; every
   * partition with changed orders is snapshotted now. Commands wait in the
   * mailbox meanwhile (bounded by mailboxCommandsMax), and memory stays
   * bounded whatever the store's speed.
   */
  private storeBehind(): boolean {
    let waiting = 0
    for (const p of this.partitions) waiting += p.orders.dirty.size + p.orders.storing.size
    if (waiting <= this.options.config.ordersResidentMax) return false
    const owned = this.options.ownership?.stream
    for (const p of this.partitions) {
      if ((owned === undefined || owned === p.stream) && p.orders.dirty.size > 0 && !this.snapshots.inProgressFor(p)) this.snapshots.take(p)
    }
    this.stepSnapshots()
    this.backpressured++
    return true
  }

  /** Cluster mode: only commands of the owned stream are prefetched for (the others are refused). */
  private mine(c: Command): boolean {
    const owned = this.options.ownership?.stream
    if (owned === undefined) return true
    const where = streamOf(c, this.partitions.length)
    return "stream" in where && where.stream === owned
  }

  /** Nodes offline now or going offline with the network events waiting to be applied (cluster mode). */
  private offlineNodes(): Set<string> {
    const nodes = new Set<string>()
    for (const n of this.net.nodes) if (n.status === "offline") nodes.add(n.nodeId)
    for (const { event } of this.netInbox) if (event.type === "NodeStatusChanged" && event.status === "offline") nodes.add(event.nodeId)
    return nodes
  }

  // ---- orders in and out of memory ---------------------------------------------------------------

  /** Loads what the next batch needs from the store (one round trip), then runs it. */
  private loadOrders(missing: Missing, take: number): void {
    this.orderLoads.load(missing).then(
      () => {
        if (this.state === "running") this.schedule()
      },
      (error) => {
        if (this.state !== "running") return
        // the commands that needed orders cannot run now: refused (retryable), nothing of them applied; the others go on
        const message = `orders could not be loaded from the store: ${error instanceof Error ? error.message : String(error)}`
        this.log(message)
        const kept: Array<Ticket> = []
        for (const t of this.mailbox.splice(0, take)) {
          if (this.mine(t.command) && !this.orderLoads.ready(t.command)) t.resolve(reject("store_unavailable", message))
          else kept.push(t)
        }
        this.mailbox.unshift(...kept)
        this.schedule()
      }
    )
  }

  /** Encodes a slice of the order versions of snapshots in progress; again on a later turn while work is left. */
  private stepSnapshots(): void {
    if (this.snapshotStepScheduled || !this.snapshots.step()) return
    this.snapshotStepScheduled = true
    setImmediate(() => {
      this.snapshotStepScheduled = false
      this.stepSnapshots()
    })
  }

  /** An order by id: from memory, or from its stored version when it left memory (without bringing it back). */
  order(orderId: string): Promise<OrderState | undefined> {
    return this.orderLoads.order(orderId, this.dispatcher.partitionOfOrderId(orderId))
  }

  /** The order a placement key names (see Queries.orderByExternal), from memory or the store. */
  orderByKey(partition: number, key: OrderKey): Promise<OrderState | undefined> {
    return this.orderLoads.orderByKey(this.partitions[partition], key)
  }

  /** Starts the next append with every batch processed since the last one started, unless one is in flight. */
  private startAppend(): void {
    if (this.appending || this.unappended.length === 0) return
    const group = this.unappended
    this.unappended = []
    this.unappendedCommands = 0
    const owned = this.options.ownership?.stream
    let batches: Array<JournalBatch>
    try {
      batches = this.journalBatches(group)
    } catch (e) {
      this.outstanding -= group.length
      this.fatal(e, group.flatMap((g) => g.tickets))
      return
    }
    this.appending = true
    const started = performance.now()
    const fence = owned !== undefined ? { stream: owned, epoch: this.epoch } : undefined
    const appended = batches.length > 0 ? this.options.store.append(batches, fence) : Promise.resolve()
    const commit = batches.length > 0 ? appendWithin(appended, this.options.config.storeAppendTimeoutMs) : appended
    this.commitChain = commit.then(() => undefined, () => undefined)
    commit.then(
      () => {
        this.appending = false
        this.lastCommitMs = performance.now() - started
        for (const g of group) {
          this.outstanding--
          this.batches++
          for (const st of g.streams) {
            this.events += st.events.length
            st.log.durableSeq = st.seqFrom + st.events.length - 1
          }
          // subscribers first: a caller that sees its answer finds the events published
          if (g.published.length > 0) this.publish(g.published)
          this.deliveries.push(g.tickets, g.replies)
          if (g.snapshots.length > 0) this.saveSnapshots(g.snapshots)
        }
        if (this.state === "running") this.startAppend()
        this.stepSnapshots()
        if (this.mailbox.length > 0) this.schedule()
      },
      (error: unknown) => {
        this.appending = false
        // the batches waiting for the next append ran on state that is now in doubt: they fail with this one,
        // never sent (store_unavailable), while this one's commands may have been applied when its outcome is unknown
        const waiting = this.unappended
        this.unappended = []
        this.unappendedCommands = 0
        this.outstanding -= group.length + waiting.length
        const unknown = outcomeUnknown(error)
        const message = `journal append failed: ${error instanceof Error ? error.message : String(error)}`
        const refusal = reject("store_unavailable", message)
        if (owned !== undefined) {
          this.stepDown(error, [...group, ...waiting].flatMap((g) => g.tickets), unknown ? group.flatMap((g) => g.tickets) : [])
          return
        }
        if (unknown) this.inDoubt.doubt(appended, [this.netLog, ...this.partitions.map((p) => p.log)])
        for (const g of group) for (const t of g.tickets) t.resolve(unknown ? reject("outcome_unknown", message) : refusal)
        for (const g of waiting) for (const t of g.tickets) t.resolve(refusal)
        this.storeFailed(message)
      }
    )
  }

  private publish(events: ReadonlyArray<JournaledEvent>): void {
    for (const l of this.listeners) {
      try {
        l({ events })
      } catch (e) {
        this.log(`a subscriber failed on committed events: ${String(e)}`)
      }
    }
  }

  /** One journal row per stream for a group of processed batches: their events, in order, encoded once. */
  private journalBatches(group: ReadonlyArray<Processed>): Array<JournalBatch> {
    const byStream = new Map<StreamLog, { seqFrom: number; events: Array<EngineEvent> }>()
    for (const g of group) {
      for (const st of g.streams) {
        const row = byStream.get(st.log)
        if (row === undefined) {
          byStream.set(st.log, { seqFrom: st.seqFrom, events: group.length === 1 ? st.events as Array<EngineEvent> : [...st.events] })
          continue
        }
        if (st.seqFrom !== row.seqFrom + row.events.length) {
          throw new InvariantViolation(`${st.log.stream}: a batch starting at ${st.seqFrom} follows events up to ${row.seqFrom + row.events.length - 1}`)
        }
        for (const e of st.events) row.events.push(e)
      }
    }
    const batches: Array<JournalBatch> = []
    for (const [log, row] of byStream) {
      batches.push({ stream: log.stream, seqFrom: row.seqFrom, count: row.events.length, payload: encodeEvents(row.events) })
    }
    return batches
  }

  private logOf(stream: string): StreamLog {
    return stream === networkStream ? this.netLog : this.partitions[Number(stream.slice(1))].log
  }

  /** A bug: answer what is in hand, stop taking commands, keep the journal as the truth. */
  private fatal(e: unknown, tickets: ReadonlyArray<Ticket>): void {
    const message = e instanceof InvariantViolation ? `invariant violated: ${e.message}` : `engine fault: ${String(e)}`
    this.log(`${message}\n${e instanceof Error ? e.stack : ""}`)
    this.state = "stopped"
    // batches processed behind the append in flight will not be appended now: they are refused too
    const waiting = this.unappended
    this.unappended = []
    this.unappendedCommands = 0
    this.outstanding -= waiting.length
    for (const t of [...tickets, ...waiting.flatMap((g) => g.tickets), ...this.mailbox.splice(0)]) t.resolve(reject("engine_stopped", message))
  }

  // ---- cluster mode -------------------------------------------------------------------------------

  /**
   * An append of an owned stream failed: either another runner claimed the
   * stream (StaleOwner, SequenceConflict) or the store failed. Either way this
   * engine's memory may be ahead of the journal and its ownership is in
   * doubt: it answers every command in hand with a retryable refusal and
   * serves nothing more. The entity hosting it opens a fresh engine, which
   * claims the stream again and loads it from the journal.
   */
  private stepDown(error: unknown, tickets: ReadonlyArray<Ticket>, inDoubt: ReadonlyArray<Ticket> = []): void {
    const moved = isStoreError(error, "StaleOwner", "SequenceConflict")
    const message = `journal append failed: ${error instanceof Error ? error.message : String(error)}`
    const refusal = moved
      ? reject("partition_moved", `${this.options.ownership!.stream} was claimed by another runner; retry`)
      : reject("store_unavailable", message)
    // the append's own commands when it may have committed (the new owner's load settles it)
    const unknown = new Set(inDoubt)
    for (const t of tickets) t.resolve(unknown.has(t) ? reject("outcome_unknown", message) : refusal)
    if (this.state !== "running") return
    this.state = "moved"
    this.snapshots.abandon()
    clearInterval(this.timer)
    for (const t of this.mailbox.splice(0)) t.resolve(refusal)
    this.log(`${this.options.ownership!.stream} at epoch ${this.epoch}: stepping down (${refusal.message})`)
  }

  /**
   * Cluster mode, partition owners: reads the network stream past what this
   * engine has, so that the next batch applies it before its commands (a
   * node or channel the network owner acknowledged is seen by every command
   * sent after that acknowledgement).
   */
  syncNetwork(): Promise<void> {
    const owned = this.options.ownership?.stream
    if (owned === undefined || owned === networkStream || this.state !== "running") return Promise.resolve()
    // One read at a time, shared by every caller that arrives meanwhile; a caller arriving during a read
    // waits for the next one, which starts after its arrival, so it still sees every acknowledged change.
    if (this.netSyncNext) return this.netSyncNext
    if (!this.netSyncRunning) {
      this.netSyncRunning = this.readNetwork().finally(() => (this.netSyncRunning = undefined))
      return this.netSyncRunning
    }
    const next = this.netSyncRunning.catch(() => undefined).then(() => {
      this.netSyncNext = undefined
      this.netSyncRunning = this.readNetwork().finally(() => (this.netSyncRunning = undefined))
      return this.netSyncRunning
    })
    this.netSyncNext = next
    return next
  }

  private netSyncRunning: Promise<void> | undefined
  private netSyncNext: Promise<void> | undefined

  private async readNetwork(): Promise<void> {
    for (;;) {
      const after = Math.max(this.netLog.seq, this.netQueuedSeq)
      const page = await this.options.store.readBatches(networkStream, after, readPage)
      for (const b of page) {
        const events = decodeEvents(b.payload)
        for (let i = 0; i < events.length; i++) {
          const seq = b.seqFrom + i
          if (seq <= this.netQueuedSeq || seq <= this.netLog.seq) continue
          this.netInbox.push({ seq, event: events[i] })
          this.netQueuedSeq = seq
        }
      }
      if (page.length < readPage) break
    }
    if (this.netInbox.length > 0) this.schedule()
  }

  private applyNetInbox(): void {
    if (this.netInbox.length > 0) {
      for (const { seq, event } of this.netInbox.splice(0)) {
        if (seq <= this.netLog.seq) continue
        replayNetwork(this.net, event)
        this.netLog.seq = this.netLog.durableSeq = seq
      }
      this.netDirty = true
    }
    if (this.netDirty) {
      this.netDirty = false
      this.dispatcher.reconcileNetwork()
    }
  }

  // ---- store failure and self-recovery ------------------------------------------------------------

  private storeFailed(message: string): void {
    if (this.state !== "running") return
    this.state = "recovering"
    this.snapshots.abandon()
    this.log(`${message}; reloading from the journal when the store answers`)
    for (const t of this.mailbox.splice(0)) t.resolve(reject("store_unavailable", message))
    void this.recoverWhenStoreAnswers()
  }

  private async recoverWhenStoreAnswers(): Promise<void> {
    while (this.state === "recovering") {
      await new Promise((r) => setTimeout(r, this.options.config.storeRetryMs))
      if (this.outstanding > 0 || this.state !== "recovering") continue
      try {
        await this.options.store.ping()
        // an append in doubt may still be running in the store: the reload reads the journal once it ended
        await this.inDoubt.ended(this.options.config.storeCallTimeoutMs)
        await this.load()
        const settled = await this.inDoubt.settle(this.options.store, [this.netLog, ...this.partitions.map((p) => p.log)])
        if (this.state !== "recovering") return
        this.commitChain = Promise.resolve()
        this.state = "running"
        this.log(`store reachable again: engine state reloaded from the journal${settled.length > 0 ? `; ${settled.length} events of an append in doubt had committed` : ""}`)
        if (settled.length > 0) this.publish(settled)
        return
      } catch {
        // still down: try again after storeRetryMs
      }
    }
  }

  // ---- snapshots --------------------------------------------------------------------------------------

  /**
   * At the end of a batch: the network stream's snapshot when due (encoded
   * whole, it is small), and partition snapshots started when due (their
   * order versions are encoded between batches: snapshots.ts).
   */
  private takeDueSnapshots(streams: ReadonlyArray<{ readonly log: StreamLog }>): Array<{ stream: string; seq: number; payload: Uint8Array }> {
    const due: Array<{ stream: string; seq: number; payload: Uint8Array }> = []
    for (const { log } of streams) {
      if (log !== this.netLog || log.seq - log.snapshotSeq < this.options.config.snapshotEveryEvents) continue
      due.push({ stream: log.stream, seq: log.seq, payload: encodeValue(snapshotNetwork(this.net)) })
      log.snapshotSeq = log.seq
    }
    if (this.duePartition() !== undefined) this.takeBeforeNextBatch = true
    return due
  }

  /**
   * The partition whose snapshot starts next, if one is due: at most one starts at a time, the one furthest
   * behind (partitions under the same load come due together, and taking them all at once would add their
   * copies up in one pause).
   */
  private duePartition(): Partition | undefined {
    const owned = this.options.ownership?.stream
    let next: Partition | undefined
    for (const p of this.partitions) {
      if ((owned === undefined || owned === p.stream) && this.snapshots.due(p) && (next === undefined || this.snapshots.behind(p) > this.snapshots.behind(next))) next = p
    }
    return next
  }

  private saveSnapshots(snapshots: ReadonlyArray<{ stream: string; seq: number; payload: Uint8Array }>): void {
    const store = this.options.store
    const retain = this.options.config.journalRetainEvents
    this.snapshotting = this.snapshotting.then(async () => {
      for (const s of snapshots) {
        try {
          await store.saveSnapshot({ stream: s.stream, seq: s.seq, payload: s.payload, takenAt: Date.now() })
          if (s.seq > retain) await store.compact(s.stream, s.seq - retain)
        } catch (e) {
          // the journal still holds everything: the next snapshot will try again
          this.logOf(s.stream).snapshotSeq = 0
          this.log(`snapshot of ${s.stream} at ${s.seq} failed: ${String(e)}`)
        }
      }
    })
  }

  /** Takes a snapshot of every stream now (operations, tests, benchmarks) and waits until it is stored. */
  async snapshotNow(): Promise<void> {
    await this.flush()
    await this.snapshots.settled()
    const logs = [this.netLog, ...this.partitions.map((p) => p.log)]
    if (this.state !== "running" || this.outstanding > 0 || logs.some((l) => l.pending.length > 0 || l.seq !== l.durableSeq)) {
      throw new Error("no snapshot: the engine's state is not exactly what the journal holds (recovering, stopped or busy)")
    }
    if (this.netLog.seq > this.netLog.snapshotSeq) {
      this.netLog.snapshotSeq = this.netLog.seq
      this.saveSnapshots([{ stream: networkStream, seq: this.netLog.seq, payload: encodeValue(snapshotNetwork(this.net)) }])
    }
    const owned = this.options.ownership?.stream
    for (const p of this.partitions) {
      if ((owned === undefined || owned === p.stream) && (p.log.seq > p.log.snapshotSeq || p.orders.dirty.size > 0)) this.snapshots.take(p)
    }
    await this.snapshots.settled()
    await this.snapshotting
    this.orderLoads.evictDue = true
  }

  // ---- recovery ------------------------------------------------------------------------------------------

  /** Rebuilds every actor from the newest snapshot of each stream and the journal after it (recovery.ts). */
  private async load(): Promise<void> {
    const { config, ownership } = this.options
    this.snapshots.abandon()
    const r = await recoverState(this.options, (epoch) => (this.epoch = epoch))
    this.net = r.net
    this.netLog = r.netLog
    this.partitions = r.partitions
    const owned = ownership !== undefined && ownership.stream !== networkStream ? Number(ownership.stream.slice(1)) : undefined
    this.dispatcher = new Dispatcher(config, r.net, r.netLog, r.partitions, this.options.router, owned)
    this.dispatcher.now = this.clock()
    this.dispatcher.rebuildDerived()
    this.netInbox = []
    this.netQueuedSeq = r.netLog.seq
    this.netDirty = ownership !== undefined && ownership.stream !== networkStream
    this.orderLoads.reset()
    this.leftByTime = 0
  }

  /** The journal streams of the partitions (orders and pools), for readers of the whole journal. */
  /** The report ledger's rows and checkpoints (reports/ledger.ts), read from the store. */
  get reportLedgerStore(): ReportLedgerStore {
    return this.options.store
  }

  partitionStreams(): Array<string> {
    return this.partitions.map((p) => p.stream)
  }

  /**
   * Batches of a stream as the journal retains them, oldest first, decoded;
   * read `pageBatches` rows at a time, so a reader holds one page in memory.
   */
  async *journalForward(stream: string, pageBatches = readPage, afterSeq = 0): AsyncGenerator<{ readonly seqFrom: number; readonly events: ReadonlyArray<EngineEvent> }> {
    let after = afterSeq
    for (;;) {
      const page = await this.options.store.readBatches(stream, after, pageBatches)
      for (const b of page) {
        yield { seqFrom: b.seqFrom, events: decodeEvents(b.payload) }
        after = b.seqFrom + b.count - 1
      }
      if (page.length < pageBatches) return
    }
  }

  /**
   * The journaled batch holding event `seq` of a stream, decoded, or undefined
   * when the journal no longer has it (compacted behind a snapshot). If the
   * event is not durable yet, waits (at most `waitMs`) for its commit first.
   */
  async batchAt(stream: string, seq: number, waitMs = 2_000): Promise<{ readonly seqFrom: number; readonly events: ReadonlyArray<EngineEvent> } | undefined> {
    const log = this.logOf(stream)
    if (log.durableSeq < seq) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs)
        const off = this.subscribe(() => {
          if (log.durableSeq >= seq) done()
        })
        function done() {
          clearTimeout(timer)
          off()
          resolve()
        }
      })
    }
    const [b] = await this.options.store.readBatches(stream, seq - 1, 1)
    if (b === undefined || b.seqFrom > seq) return undefined
    return { seqFrom: b.seqFrom, events: decodeEvents(b.payload) }
  }
}
