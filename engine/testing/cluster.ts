/**
 * Engine runners as real processes for cluster tests and the cluster
 * benchmark: each one the process of `npm run runner` (gateway/runner-main.ts:
 * the engine's runner with the gateway's change, notification and ops-figure
 * pieces; spawned by its path, never imported) on a free port of its own (or
 * a given host), on a database of the test's own; a steady stream of
 * keyed reservations that retries every unanswered or refused one with the
 * same key until it is answered for good; and the audit that checks the
 * journal afterwards (every acknowledged hold present once, nothing oversold,
 * owner epochs never going back within a stream).
 */
import { spawn, type ChildProcess } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { loadConfig, type EngineConfig } from "../config.ts"
import type { Command } from "../domain/commands.ts"
import type { Reply } from "../domain/replies.ts"
import { route } from "../routing/index.ts"
import { Engine } from "../runtime/engine.ts"
import { v8PoolSizeFlag } from "../runtime/gc-tuning.ts"
import { networkStream, partitionOf, partitionStream } from "../runtime/partition.ts"
import * as Queries from "../runtime/queries.ts"
import type { PartitionClient } from "../cluster/partition-client.ts"
import { openJournalStore } from "../store/layer.ts"
import { fixtureCommands } from "./fixture.ts"

const runnerMain = fileURLToPath(new URL("../../gateway/runner-main.ts", import.meta.url))

export const freePort = (host = "127.0.0.1"): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

/** Fast failover settings for tests and the benchmark (the runner defaults are the same but for the call timeout). */
export const clusterTestEnv = (partitions: number): Record<string, string> => ({
  ENGINE_PARTITIONS: String(partitions),
  CLUSTER_SHARDS: "64",
  CLUSTER_LOCK_REFRESH_MS: "1000",
  CLUSTER_LOCK_EXPIRATION_MS: "3000",
  CLUSTER_HEALTH_CHECK_MS: "1000",
  CLUSTER_RECLAIM_AFTER_MS: "4000"
})

export class RunnerProcess {
  readonly output: Array<string> = []
  private exited: Promise<void>

  private constructor(readonly name: string, readonly child: ChildProcess) {
    child.stdout!.setEncoding("utf8").on("data", (d: string) => this.output.push(...d.split("\n").filter((l) => l !== "")))
    child.stderr!.setEncoding("utf8").on("data", (d: string) => this.output.push(...d.split("\n").filter((l) => l !== "")))
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()))
  }

  /** Starts a runner; `wrap` runs it under another command (e.g. `ip netns exec <ns>`). */
  static start(options: {
    readonly databaseUrl: string
    readonly host: string
    readonly port: number
    readonly env: Record<string, string>
    readonly wrap?: ReadonlyArray<string>
  }): RunnerProcess {
    const args = [...(options.wrap ?? []), process.execPath, v8PoolSizeFlag(), "--import", "tsx", runnerMain]
    const child = spawn(args[0], args.slice(1), {
      env: {
        ...process.env,
        ...options.env,
        DATABASE_URL: options.databaseUrl,
        CLUSTER_RUNNER_HOST: options.host,
        CLUSTER_RUNNER_PORT: String(options.port),
        REDIS_URL: options.env.REDIS_URL ?? ""
      },
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"]
    })
    return new RunnerProcess(`${options.host}:${options.port}`, child)
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  async waitFor(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.output.some((l) => pattern.test(l))) {
      if (!this.alive) throw new Error(`runner ${this.name} exited:\n${this.output.slice(-30).join("\n")}`)
      if (Date.now() > deadline) throw new Error(`runner ${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.output.slice(-30).join("\n")}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal)
  }

  async stop(): Promise<void> {
    if (!this.alive) return
    this.child.kill("SIGTERM")
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 8_000)
    await this.exited
    clearTimeout(timer)
  }
}

/** SKUs spread over the partitions, and the network and stock they need, sent through the cluster. */
export const stockCluster = async (client: PartitionClient, skus: number, unitsPerSku: number): Promise<Array<string>> => {
  const names = Array.from({ length: skus }, (_, i) => `SKU-${i}`)
  const commands: Array<Command> = [...fixtureCommands, ...names.map((sku): Command => ({ type: "sku.upsert", sku, name: sku, weightGrams: 500 }))]
  for (const c of commands) await answered(client, c)
  await Promise.all(names.map((sku) => answered(client, { type: "inventory.receive", sku, nodeId: "WH-DAL", qty: unitsPerSku })))
  return names
}

const retryable = new Set(["partition_moved", "store_unavailable", "engine_overloaded", "engine_stopped", "outcome_unknown"])

/** Submits until the answer is final (not retryable, not unknown); a keyed command is applied at most once. */
export const answered = async (client: PartitionClient, c: Command, giveUpMs = 60_000): Promise<Reply> => {
  const deadline = Date.now() + giveUpMs
  for (;;) {
    const r = await client.submit(c)
    if (r.ok || !retryable.has(r.code)) {
      if (!r.ok && r.code !== "insufficient_stock") throw new Error(`${c.type} refused: ${r.code} ${r.message}`)
      return r
    }
    if (Date.now() > deadline) throw new Error(`${c.type} still unanswered after ${giveUpMs} ms: ${r.code} ${r.message}`)
    await new Promise((res) => setTimeout(res, 50))
  }
}

export interface Ack {
  readonly key: string
  readonly sku: string
  readonly holdId: string
  /** When the answer came. */
  readonly at: number
  /** When the attempt that was answered was sent: a success sent after a runner died was served by the partition's new owner. */
  readonly sentAt: number
  readonly stream: string
}

/** A steady stream of keyed one-unit holds over `skus`, `inFlight` at a time, until stop(). */
export class ReservationStream {
  readonly acks: Array<Ack> = []
  readonly refusedForStock: Array<string> = []
  /** Every answer that was not final (retried with the same key), with when it came. */
  readonly retries: Array<{ readonly code: string; readonly at: number; readonly stream: string }> = []
  private running = true
  private workers: Array<Promise<void>> = []
  private n = 0

  constructor(
    private readonly client: PartitionClient,
    private readonly skus: ReadonlyArray<string>,
    private readonly partitions: number,
    /** Prefix of the hold keys, so that two streams on one cluster do not share keys. */
    private readonly keyPrefix = "r"
  ) {}

  start(inFlight: number): void {
    for (let w = 0; w < inFlight; w++) this.workers.push(this.work())
  }

  private async work(): Promise<void> {
    while (this.running) {
      const i = this.n++
      const sku = this.skus[i % this.skus.length]
      const key = `${this.keyPrefix}${i}`
      const stream = partitionStream(partitionOf(sku, this.partitions))
      const c: Command = { type: "hold.create", channel: "web", sku, nodeId: "WH-DAL", qty: 1, ttlMs: 3_600_000, key }
      for (;;) {
        const sentAt = Date.now()
        const r = await this.client.submit(c)
        if (r.ok) {
          this.acks.push({ key, sku, holdId: r.hold!.holdId, at: Date.now(), sentAt, stream })
          break
        }
        // no more units for this channel: the pool's answer (nothing applied), like a pool out of stock
        if (r.code === "insufficient_stock" || r.code === "hold_channel_share") {
          this.refusedForStock.push(key)
          break
        }
        if (!retryable.has(r.code)) throw new Error(`hold ${key} refused: ${r.code} ${r.message}`)
        this.retries.push({ code: r.code, at: Date.now(), stream })
        await new Promise((res) => setTimeout(res, 50))
      }
    }
  }

  /** Stops sending and waits until every reservation in flight has its final answer. */
  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.workers)
  }
}

export interface Audit {
  readonly missing: Array<string>
  readonly oversold: Array<string>
  readonly heldMismatch: Array<string>
  /** Streams where a batch was written under an older owner epoch than a batch before it. */
  readonly epochsBackward: Array<string>
  readonly epochs: Record<string, Array<number>>
}

/** Reads the whole journal back (one engine owning every stream) and checks it against what was acknowledged. */
export const auditCluster = async (databaseUrl: string, partitions: number, skus: ReadonlyArray<string>, acks: ReadonlyArray<Ack>): Promise<Audit> => {
  const { store, close } = await openJournalStore({ backend: "postgres", url: databaseUrl })
  const config: EngineConfig = loadConfig({ partitions }, {})
  const engine = await Engine.open({ store, config, router: route, log: () => {} })
  try {
    const missing: Array<string> = []
    for (const a of acks) {
      const h = Queries.hold(engine.view, a.holdId)
      if (!h || h.sku !== a.sku) missing.push(`${a.key} (${a.holdId})`)
    }
    const oversold: Array<string> = []
    const heldMismatch: Array<string> = []
    for (const sku of skus) {
      const p = Queries.pool(engine.view, sku, "WH-DAL")!
      if (p.held + p.allocated > p.onHand) oversold.push(`${sku}: held ${p.held} + allocated ${p.allocated} > on hand ${p.onHand}`)
      const acked = acks.filter((a) => a.sku === sku).length
      if (p.held !== acked) heldMismatch.push(`${sku}: ${p.held} held in the journal, ${acked} acknowledged`)
    }
    const epochs: Record<string, Array<number>> = {}
    const epochsBackward: Array<string> = []
    const rows = await journalEpochs(databaseUrl)
    for (const { stream, epoch } of rows) {
      const seen = (epochs[stream] ??= [])
      if (seen.length > 0 && epoch < seen[seen.length - 1]) epochsBackward.push(`${stream}: epoch ${epoch} after ${seen[seen.length - 1]}`)
      if (seen[seen.length - 1] !== epoch) seen.push(epoch)
    }
    return { missing, oversold, heldMismatch, epochsBackward, epochs }
  } finally {
    await engine.close()
    await close()
  }
}

/** (stream, epoch) of every journal batch in sequence order. */
const journalEpochs = async (databaseUrl: string): Promise<Array<{ stream: string; epoch: number }>> => {
  const { PgClient } = await import("@effect/sql-pg")
  const { Effect } = await import("effect")
  const Reactivity = await import("effect/reactivity/Reactivity")
  const { pgClientOptions } = await import("../store/sql-journal.ts")
  return Effect.runPromise(
    Effect.gen(function*() {
      const client = yield* PgClient.make({ ...pgClientOptions({ url: databaseUrl, maxConnections: 1 }), minConnections: 0 })
      const rows = yield* client<{ stream: string; epoch: string }>`SELECT stream, epoch::text AS epoch FROM journal ORDER BY stream, seq_from`
      return rows.map((r) => ({ stream: r.stream, epoch: Number(r.epoch) }))
    }).pipe(Effect.scoped, Effect.provide(Reactivity.layer))
  )
}

/** Which runner owns each stream now (from the owner epochs). */
export const owners = async (databaseUrl: string, partitions: number): Promise<Map<string, string>> => {
  const { store, close } = await openJournalStore({ backend: "postgres", url: databaseUrl })
  try {
    const out = new Map<string, string>()
    for (const s of [networkStream, ...Array.from({ length: partitions }, (_, k) => partitionStream(k))]) {
      const o = await store.ownerOf(s)
      if (o) out.set(s, o.owner)
    }
    return out
  } finally {
    await close()
  }
}

/** Owners once every stream is claimed and nothing changed for two seconds (runners that started together settle their shards). */
export const settledOwners = async (databaseUrl: string, partitions: number, timeoutMs = 30_000): Promise<Map<string, string>> => {
  const deadline = Date.now() + timeoutMs
  let last = ""
  let same = 0
  for (;;) {
    const now = await owners(databaseUrl, partitions)
    const text = JSON.stringify([...now])
    same = text === last && now.size === partitions + 1 ? same + 1 : 0
    last = text
    if (same >= 4 || Date.now() > deadline) return now
    await new Promise((r) => setTimeout(r, 500))
  }
}
