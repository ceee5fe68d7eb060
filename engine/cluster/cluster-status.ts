/**
 * Cluster mode: what the cluster looks like now, read from its tables in the
 * shared PostgreSQL: the runners (health, last heartbeat, the streams each
 * owns) and every stream's owner with its owner epoch. The ops feed shows it
 * (the gateway's `cluster` message).
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { pgClientOptions } from "../store/sql-journal.ts"
import type { ClusterSettings } from "./settings.ts"

export interface ClusterStatus {
  readonly runners: ReadonlyArray<{ readonly address: string; readonly healthy: boolean; readonly lastHeartbeat: string; readonly streams: ReadonlyArray<string> }>
  readonly streams: ReadonlyArray<{ readonly stream: string; readonly owner: string; readonly epoch: number; readonly claimedAt: string }>
}

/** Reads the cluster's status over a small connection pool of its own (at most 2 connections). */
export class ClusterStatusReader {
  private constructor(private readonly sql: PgClient.PgClient, private readonly scope: Scope.Closeable) {}

  static async connect(settings: Pick<ClusterSettings, "databaseUrl">): Promise<ClusterStatusReader> {
    const scope = Effect.runSync(Scope.make())
    const sql = await Effect.runPromise(
      PgClient.make({ ...pgClientOptions({ url: settings.databaseUrl, maxConnections: 2 }), minConnections: 0 }).pipe(
        Scope.provide(scope),
        Effect.provide(Reactivity.layer)
      )
    )
    return new ClusterStatusReader(sql, scope)
  }

  async read(): Promise<ClusterStatus> {
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
    await Effect.runPromise(Scope.close(this.scope, Exit.void))
  }
}
