/**
 * A cluster client of the engine (gateways, benchmarks, tests): commands are
 * addressed to the entity of their stream (engine/cluster/scope.ts), gathered
 * per partition while the event loop turns, and sent as one `Execute`
 * message per partition (at most batchCommandsMax commands); reads go to the
 * entity that owns the data.
 *
 * It hosts no entity (client-only member); it reads shard assignments from
 * the cluster's PostgreSQL and talks to runners directly over their sockets.
 *
 * Outcomes it adds to the engine's replies: `partition_moved` when the
 * cluster could not deliver the message (nothing was applied), and
 * `outcome_unknown` when the message may have reached a runner that never
 * answered (a timeout or a dropped connection): retry with the same key or
 * external id, which the engine recognises.
 */
import { Cause, Effect, ManagedRuntime } from "effect"
import type { EngineConfig } from "../config.ts"
import type { Command } from "../domain/commands.ts"
import { reject } from "../domain/errors.ts"
import type { Reply } from "../domain/replies.ts"
import { EnginePartition } from "./partition-entity.ts"
import { streamOf } from "./scope.ts"
import { clientLayer, type ClusterSettings } from "./settings.ts"

type EntityClient = (entityId: string) => {
  readonly Execute: (payload: { readonly commands: ReadonlyArray<unknown> }) => Effect.Effect<ReadonlyArray<unknown>, unknown>
  readonly Read: (payload: { readonly method: string; readonly args: ReadonlyArray<unknown> }) => Effect.Effect<unknown, unknown>
}

interface Ticket {
  readonly command: Command
  readonly resolve: (reply: Reply) => void
}

const undelivered: ReadonlySet<string> = new Set(["EntityNotAssignedToRunner", "MailboxFull", "AlreadyProcessingMessage", "RunnerUnavailable"])

/** The outcome of a message that did not come back with replies. */
const failedOutcome = (cause: Cause.Cause<unknown>): Reply => {
  const error = Cause.squash(cause) as { _tag?: string; message?: string } | undefined
  const tag = error?._tag ?? ""
  if (undelivered.has(tag)) return reject("partition_moved", `the partition could not take the message (${tag}); nothing was applied; retry`)
  return { ok: false, code: "outcome_unknown", message: `no answer from the partition (${tag || error?.message || "unknown"}): the command may or may not have been applied; retry with the same key` } as unknown as Reply
}

export class PartitionClient {
  private readonly queues = new Map<string, Array<Ticket>>()
  private scheduled = false
  private closed = false

  private constructor(
    private readonly runtime: ManagedRuntime.ManagedRuntime<any, any>,
    private readonly client: EntityClient,
    readonly config: EngineConfig,
    private readonly settings: ClusterSettings
  ) {}

  static async connect(settings: ClusterSettings, config: EngineConfig): Promise<PartitionClient> {
    const runtime = ManagedRuntime.make(clientLayer(settings))
    const client = await runtime.runPromise(EnginePartition.client) as unknown as EntityClient
    return new PartitionClient(runtime, client, config, settings)
  }

  /** The entity (stream) a command goes to, or why it has none. */
  target(command: Command) {
    return streamOf(command, this.config.partitions)
  }

  submit(command: Command): Promise<Reply> {
    if (this.closed) return Promise.resolve(reject("engine_stopped", "the cluster client is closed"))
    const where = this.target(command)
    if (!("stream" in where)) return Promise.resolve(where)
    return new Promise((resolve) => {
      let q = this.queues.get(where.stream)
      if (!q) this.queues.set(where.stream, (q = []))
      q.push({ command, resolve })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    for (const [stream, tickets] of this.queues) {
      this.queues.delete(stream)
      for (let i = 0; i < tickets.length; i += this.config.batchCommandsMax) this.send(stream, tickets.slice(i, i + this.config.batchCommandsMax))
    }
  }

  private send(stream: string, tickets: ReadonlyArray<Ticket>): void {
    const program = this.client(stream).Execute({ commands: tickets.map((t) => t.command) }).pipe(
      Effect.timeout(this.settings.callTimeoutMs)
    )
    void this.runtime.runPromiseExit(program).then((exit) => {
      if (exit._tag === "Success") {
        const replies = exit.value as ReadonlyArray<Reply>
        for (let i = 0; i < tickets.length; i++) tickets[i].resolve(replies[i])
      } else {
        const outcome = failedOutcome(exit.cause)
        for (const t of tickets) t.resolve(outcome)
      }
    })
  }

  /** A read answered by the entity of `stream` (see partition-entity.ts for the methods). */
  async read<A>(stream: string, method: string, args: ReadonlyArray<unknown> = [], timeoutMs = this.settings.callTimeoutMs): Promise<A> {
    return (await this.runtime.runPromise(
      this.client(stream).Read({ method, args }).pipe(Effect.timeout(timeoutMs))
    )) as A
  }

  async close(): Promise<void> {
    this.closed = true
    await this.runtime.dispose()
  }
}
