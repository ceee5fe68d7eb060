/**
 * The engine: a mailbox of client commands, a batch loop that delivers them to
 * the actors synchronously, and a group commit that makes each batch's events
 * durable in one journal append before any of its replies is released.
 *
 *   submit -> mailbox -> batch (timers, then up to batchCommandsMax commands)
 *          -> events per stream -> ONE append (all streams, one transaction)
 *          -> replies resolved, committed events published
 *
 * At most two batches are outstanding: one committing while the next is
 * processed. If an append fails, the batches in flight are answered with
 * `store_unavailable`, the in-memory state (which ran ahead of the journal) is
 * dropped, and the engine reloads from the store once it answers again.
 */
import type { EngineConfig } from "../config.ts"
import type { Command } from "../domain/commands.ts"
import { InvariantViolation, reject } from "../domain/errors.ts"
import type { EngineEvent, JournaledEvent } from "../domain/events.ts"
import type { Reply } from "../domain/replies.ts"
import { emptyNetwork, restoreNetwork, snapshotNetwork, type NetworkSnapshot, type NetworkState } from "../network/network-actor.ts"
import type { Router } from "../routing/types.ts"
import type { JournalBatch, JournalStore } from "../store/journal.ts"
import { decodeEvents, decodeValue, encodeEvents, encodeValue } from "./codec.ts"
import { Dispatcher } from "./dispatch.ts"
import { networkStream, Partition, replayNetwork, StreamLog, type PartitionSnapshot } from "./partition.ts"

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
}

export interface CommittedBatch {
  readonly events: ReadonlyArray<JournaledEvent>
}

export interface EngineStats {
  readonly partitions: number
  readonly pools: number
  readonly holds: number
  readonly orders: number
  readonly mailbox: number
  readonly batches: number
  readonly events: number
  readonly state: "running" | "recovering" | "stopped"
  readonly lastCommitMs: number
}

interface Ticket {
  readonly command: Command
  readonly resolve: (reply: Reply) => void
}

const readPage = 512

export class Engine {
  private net: NetworkState = emptyNetwork()
  private netLog = new StreamLog(networkStream)
  private partitions: Array<Partition> = []
  private dispatcher!: Dispatcher
  private mailbox: Array<Ticket> = []
  private scheduled = false
  private outstanding = 0
  private commitChain: Promise<void> = Promise.resolve()
  private state: "running" | "recovering" | "stopped" = "recovering"
  private readonly listeners = new Set<(batch: CommittedBatch) => void>()
  private readonly clock: () => number
  private timer: ReturnType<typeof setInterval> | undefined
  private batches = 0
  private events = 0
  private lastCommitMs = 0
  private snapshotting: Promise<void> = Promise.resolve()

  private readonly log: (message: string) => void

  private constructor(private readonly options: EngineOptions) {
    this.clock = options.clock ?? Date.now
    this.log = options.log ?? ((message) => console.error(`[engine] ${message}`))
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
      return Promise.resolve(this.state === "recovering" ? reject("store_unavailable", "the engine is reloading from its journal; retry") : reject("engine_stopped"))
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
    while (this.mailbox.length > 0 || this.outstanding > 0) {
      this.schedule()
      await this.commitChain.catch(() => undefined)
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
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
    for (const p of this.partitions) {
      pools += p.stock.pools.size
      holds += p.stock.holds.size
      orders += p.orders.orders.size
    }
    return {
      partitions: this.partitions.length, pools, holds, orders, mailbox: this.mailbox.length,
      batches: this.batches, events: this.events, state: this.state, lastCommitMs: this.lastCommitMs
    }
  }

  async close(): Promise<void> {
    if (this.state === "stopped") return
    if (this.state === "running") await this.flush()
    this.state = "stopped"
    clearInterval(this.timer)
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
    if (this.state !== "running" || this.outstanding >= 2) return
    const d = this.dispatcher
    d.now = this.clock()
    const tickets = this.mailbox.length <= this.options.config.batchCommandsMax
      ? this.mailbox.splice(0)
      : this.mailbox.splice(0, this.options.config.batchCommandsMax)
    const replies: Array<Reply> = new Array(tickets.length)
    const batches: Array<JournalBatch> = []
    const published: Array<JournaledEvent> = []
    let snapshots: Array<{ stream: string; seq: number; payload: Uint8Array }>
    try {
      d.runTimers()
      for (let i = 0; i < tickets.length; i++) replies[i] = d.execute(tickets[i].command)
      for (const log of [this.netLog, ...this.partitions.map((p) => p.log)]) {
        if (log.pending.length === 0) continue
        const seqFrom = log.seq - log.pending.length + 1
        const events = log.drain()
        batches.push({ stream: log.stream, seqFrom, count: events.length, payload: encodeEvents(events) })
        if (this.listeners.size > 0) for (let i = 0; i < events.length; i++) published.push({ stream: log.stream, seq: seqFrom + i, event: events[i] })
      }
      snapshots = this.takeDueSnapshots(batches)
    } catch (e) {
      this.fatal(e, tickets)
      return
    }
    const started = performance.now()
    const commit = this.commitChain.then(() => (batches.length > 0 ? this.options.store.append(batches) : undefined))
    this.commitChain = commit
    this.outstanding++
    commit.then(
      () => {
        this.outstanding--
        this.lastCommitMs = performance.now() - started
        this.batches++
        for (const b of batches) {
          this.events += b.count
          this.logOf(b.stream).durableSeq = b.seqFrom + b.count - 1
        }
        for (let i = 0; i < tickets.length; i++) tickets[i].resolve(replies[i])
        if (published.length > 0) {
          for (const l of this.listeners) {
            try {
              l({ events: published })
            } catch (e) {
              this.log(`a subscriber failed on committed events: ${String(e)}`)
            }
          }
        }
        if (snapshots.length > 0) this.saveSnapshots(snapshots)
        if (this.mailbox.length > 0) this.schedule()
      },
      (error: unknown) => {
        this.outstanding--
        const message = `journal append failed: ${error instanceof Error ? error.message : String(error)}`
        for (const t of tickets) t.resolve(reject("store_unavailable", message))
        this.storeFailed(message)
      }
    )
    if (this.mailbox.length > 0) this.schedule()
  }

  private logOf(stream: string): StreamLog {
    return stream === networkStream ? this.netLog : this.partitions[Number(stream.slice(1))].log
  }

  /** A bug: answer what is in hand, stop taking commands, keep the journal as the truth. */
  private fatal(e: unknown, tickets: ReadonlyArray<Ticket>): void {
    const message = e instanceof InvariantViolation ? `invariant violated: ${e.message}` : `engine fault: ${String(e)}`
    this.log(`${message}\n${e instanceof Error ? e.stack : ""}`)
    this.state = "stopped"
    for (const t of [...tickets, ...this.mailbox.splice(0)]) t.resolve(reject("engine_stopped", message))
  }

  // ---- store failure and self-recovery ------------------------------------------------------------

  private storeFailed(message: string): void {
    if (this.state !== "running") return
    this.state = "recovering"
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
        await this.load()
        if (this.state !== "recovering") return
        this.commitChain = Promise.resolve()
        this.state = "running"
        this.log("store reachable again: engine state reloaded from the journal")
        return
      } catch {
        // still down: try again after storeRetryMs
      }
    }
  }

  // ---- snapshots --------------------------------------------------------------------------------------

  /** Encodes the state of every stream that passed snapshotEveryEvents, as of the end of this batch. */
  private takeDueSnapshots(batches: ReadonlyArray<JournalBatch>): Array<{ stream: string; seq: number; payload: Uint8Array }> {
    const due: Array<{ stream: string; seq: number; payload: Uint8Array }> = []
    for (const b of batches) {
      const log = this.logOf(b.stream)
      if (log.seq - log.snapshotSeq < this.options.config.snapshotEveryEvents) continue
      due.push({ stream: b.stream, seq: log.seq, payload: this.encodeSnapshot(b.stream) })
      log.snapshotSeq = log.seq
    }
    return due
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
    const logs = [this.netLog, ...this.partitions.map((p) => p.log)]
    if (this.state !== "running" || this.outstanding > 0 || logs.some((l) => l.pending.length > 0 || l.seq !== l.durableSeq)) {
      throw new Error("no snapshot: the engine's state is not exactly what the journal holds (recovering, stopped or busy)")
    }
    const snapshots = [this.netLog, ...this.partitions.map((p) => p.log)]
      .filter((log) => log.seq > log.snapshotSeq)
      .map((log) => {
        log.snapshotSeq = log.seq
        return { stream: log.stream, seq: log.seq, payload: this.encodeSnapshot(log.stream) }
      })
    this.saveSnapshots(snapshots)
    await this.snapshotting
  }

  private encodeSnapshot(stream: string): Uint8Array {
    return stream === networkStream
      ? encodeValue(snapshotNetwork(this.net))
      : encodeValue(this.partitions[Number(stream.slice(1))].snapshot())
  }

  // ---- recovery ------------------------------------------------------------------------------------------

  /** Rebuilds every actor from the newest snapshot of each stream and the journal after it. */
  private async load(): Promise<void> {
    const { store, config } = this.options
    const streams = await store.streams()
    for (const s of streams) {
      if (s !== networkStream && !(s.startsWith("p") && Number(s.slice(1)) < config.partitions)) {
        throw new Error(`the journal has stream ${s}, which ${config.partitions} partitions do not cover: the data was written with another ENGINE_PARTITIONS`)
      }
    }
    const netLog = new StreamLog(networkStream)
    const netSnap = await store.loadSnapshot(networkStream)
    const net = netSnap ? restoreNetwork(decodeValue<NetworkSnapshot>(netSnap.payload)) : emptyNetwork()
    if (netSnap) netLog.seq = netLog.snapshotSeq = netSnap.seq
    await this.replay(networkStream, netLog, (e) => replayNetwork(net, e))
    const partitions: Array<Partition> = []
    for (let id = 0; id < config.partitions; id++) {
      const p = new Partition(id, config)
      const snap = await store.loadSnapshot(p.stream)
      if (snap) {
        p.restore(decodeValue<PartitionSnapshot>(snap.payload))
        p.log.seq = p.log.snapshotSeq = snap.seq
      }
      await this.replay(p.stream, p.log, (e, seq) => p.replay(net, e, seq))
      partitions.push(p)
    }
    this.net = net
    this.netLog = netLog
    this.partitions = partitions
    this.dispatcher = new Dispatcher(config, net, netLog, partitions, this.options.router)
    this.dispatcher.now = this.clock()
    this.dispatcher.rebuildDerived()
  }

  private async replay(stream: string, log: StreamLog, apply: (e: EngineEvent, seq: number) => void): Promise<void> {
    const store = this.options.store
    let next = store.readBatches(stream, log.seq, readPage)
    for (;;) {
      const page = await next
      // fetch the next page while this one is decoded and applied: the store works on the other core
      if (page.length === readPage) {
        const last = page[page.length - 1]
        next = store.readBatches(stream, last.seqFrom + last.count - 1, readPage)
      }
      for (const b of page) {
        const events = decodeEvents(b.payload)
        for (let i = 0; i < events.length; i++) {
          const seq = b.seqFrom + i
          if (seq <= log.seq) continue
          apply(events[i], seq)
          log.seq = seq
        }
      }
      if (page.length < readPage) break
    }
    log.durableSeq = log.seq
  }

  /** Events of a stream from the journal, newest first, for audit trails read from the end. */
  async *journalBackward(stream: string): AsyncGenerator<JournaledEvent> {
    let before = Number.MAX_SAFE_INTEGER
    for (;;) {
      const page = await this.options.store.readBatchesBackward(stream, before, readPage)
      for (const b of page) {
        const events = decodeEvents(b.payload)
        for (let i = events.length - 1; i >= 0; i--) yield { stream, seq: b.seqFrom + i, event: events[i] }
        before = b.seqFrom
      }
      if (page.length < readPage) return
    }
  }
}
