/**
 * Contender `postgres-row-lock`: the strategy open-source commerce platforms
 * use for stock (Saleor allocates this way: lock the candidate stock rows,
 * choose in application code, update, insert, commit).
 *
 * A fresh database on the local PostgreSQL, one row per SKU x node:
 *
 *   stock_pool(sku, node_id, on_hand, reserved)   PRIMARY KEY (sku, node_id)
 *   reservation(id, channel, sku, node_id, qty)   one row per hold
 *   orders(id, channel, external_id UNIQUE per channel, lat, lon)
 *   order_line(order_id, line_no, sku, qty, node_id)   node_id NULL: backordered
 *
 * Per request, one transaction on the client's own connection (a pool of one
 * connection per client, through @effect/sql-pg's PgClient, the driver this
 * project uses):
 *
 *   BEGIN
 *   SELECT node_id, on_hand, reserved FROM stock_pool WHERE sku IN (...)
 *     ORDER BY sku, node_id FOR UPDATE        -- every candidate row, in key order (no deadlocks)
 *   (choose the nearest node with stock: bench/compare-workload.ts routeNearest)
 *   INSERT INTO orders ... ON CONFLICT DO NOTHING   -- orders: idempotent on (channel, external id)
 *   UPDATE stock_pool SET reserved = reserved + qty WHERE sku = ... AND node_id = ...
 *   INSERT INTO reservation / order_line ...
 *   COMMIT                                      -- acknowledged when COMMIT returns
 *
 * Validation (ids, quantities, lines, known SKUs) is done in the client before
 * the transaction, as the engine does before touching stock. Durability: the
 * server's settings, read at setup (synchronous_commit, fsync).
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Redacted, Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { freshDatabase, serverUrl, withoutPassword } from "../../engine/testing/postgres.ts"
import {
  auditPools, channel, nearestWith, routeNearest, validate,
  type Ack, type Audit, type CompareRequest, type CompareWorkload, type Contender, type HoldRequest, type OrderRequest, type Outcome
} from "../compare-workload.ts"

interface PoolRow {
  readonly sku: string
  readonly node_id: string
  readonly on_hand: number
  readonly reserved: number
}

const schema = [
  `CREATE TABLE stock_pool (
     sku text NOT NULL, node_id text NOT NULL,
     on_hand integer NOT NULL, reserved integer NOT NULL DEFAULT 0,
     PRIMARY KEY (sku, node_id))`,
  `CREATE TABLE reservation (
     id text PRIMARY KEY, channel text NOT NULL, sku text NOT NULL, node_id text NOT NULL,
     qty integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE orders (
     id bigserial PRIMARY KEY, channel text NOT NULL, external_id text NOT NULL,
     lat double precision NOT NULL, lon double precision NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (channel, external_id))`,
  `CREATE TABLE order_line (
     order_id bigint NOT NULL REFERENCES orders (id), line_no integer NOT NULL,
     sku text NOT NULL, qty integer NOT NULL, node_id text,
     PRIMARY KEY (order_id, line_no))`
]

/** SQLSTATEs worth one more try: serialization failure, deadlock. */
const retryable = new Set(["40001", "40P01"])

const sqlState = (e: unknown): string | undefined => {
  for (let x = e; typeof x === "object" && x !== null; x = (x as { cause?: unknown }).cause) {
    const code = (x as { code?: unknown }).code
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code
  }
  return undefined
}

export class PostgresRowLockContender implements Contender {
  readonly name = "postgres-row-lock"
  private sql: PgClient.PgClient | undefined
  private scope: Scope.Closeable | undefined
  private drop: (() => Promise<void>) | undefined
  private w: CompareWorkload | undefined
  private settings = "unknown"
  private errorsLogged = 0

  durability(): string {
    return `COMMIT per request (${this.settings}, local)`
  }

  async setup(w: CompareWorkload, clients: number): Promise<void> {
    this.w = w
    const db = await freshDatabase()
    this.drop = db.drop
    this.scope = Effect.runSync(Scope.make())
    const sql = await Effect.runPromise(
      PgClient.make({
        url: Redacted.make(db.url),
        maxConnections: clients,
        minConnections: clients,
        connectTimeout: "5 seconds",
        idleTimeout: "10 minutes",
        applicationName: "oms-bench-postgres-row-lock"
      }).pipe(Scope.provide(this.scope), Effect.provide(Reactivity.layer))
    ).catch((e: unknown) => {
      throw new Error(`postgres-row-lock: cannot connect to ${withoutPassword(serverUrl)}: ${String(e)}`)
    })
    this.sql = sql
    await Effect.runPromise(Effect.gen(function*() {
      for (const statement of schema) yield* sql.unsafe(statement)
      const rows = w.pools.map((p) => ({ sku: p.sku, node_id: p.nodeId, on_hand: p.onHand, reserved: 0 }))
      for (let i = 0; i < rows.length; i += 5_000) {
        const chunk = rows.slice(i, i + 5_000)
        yield* sql`INSERT INTO stock_pool ${sql.insert(chunk as [typeof chunk[0], ...typeof chunk])}`
      }
      yield* sql.unsafe("ANALYZE")
    }))
    const settings = new Map((await Effect.runPromise(sql<{ name: string; setting: string }>`
      SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'server_version')`)).map((s) => [s.name, s.setting]))
    this.settings = `synchronous_commit=${settings.get("synchronous_commit") ?? "?"}, fsync=${settings.get("fsync") ?? "?"}; PostgreSQL ${(settings.get("server_version") ?? "?").split(" ")[0]}`
  }

  async handle(r: CompareRequest): Promise<Outcome> {
    const bad = validate(r, this.w!)
    if (bad !== undefined) return { ok: false, code: bad }
    for (let attempt = 1; ; attempt++) {
      try {
        return await Effect.runPromise(r.kind === "hold" ? this.hold(r) : this.order(r))
      } catch (e) {
        const state = sqlState(e)
        if (state !== undefined && retryable.has(state) && attempt < 3) continue
        if (this.errorsLogged++ < 3) console.error(`postgres-row-lock: ${r.kind} ${r.id} failed: ${String(e)}`)
        return { ok: false, code: "store_error" }
      }
    }
  }

  private hold(r: HoldRequest) {
    const sql = this.sql!
    const candidates = this.w!.candidates(r.customer)
    return sql.withTransaction(Effect.gen(function*() {
      const rows = yield* sql<PoolRow>`
        SELECT sku, node_id, on_hand, reserved FROM stock_pool
        WHERE sku = ${r.sku} ORDER BY sku, node_id FOR UPDATE`
      const atp = new Map(rows.map((p) => [p.node_id, p.on_hand - p.reserved]))
      const nodeId = nearestWith(r.sku, r.qty, candidates, (_, n) => atp.get(n) ?? 0)
      if (nodeId === undefined) return { ok: false, code: "insufficient_stock" } as Outcome
      yield* sql`UPDATE stock_pool SET reserved = reserved + ${r.qty} WHERE sku = ${r.sku} AND node_id = ${nodeId}`
      yield* sql`INSERT INTO reservation (id, channel, sku, node_id, qty) VALUES (${r.id}, ${channel}, ${r.sku}, ${nodeId}, ${r.qty})`
      return { ok: true, ref: r.id, units: r.qty } as Outcome
    }))
  }

  private order(r: OrderRequest) {
    const sql = this.sql!
    const candidates = this.w!.candidates(r.customer)
    return sql.withTransaction(Effect.gen(function*() {
      const rows = yield* sql<PoolRow>`
        SELECT sku, node_id, on_hand, reserved FROM stock_pool
        WHERE ${sql.in("sku", r.lines.map((l) => l.sku))} ORDER BY sku, node_id FOR UPDATE`
      const inserted = yield* sql<{ id: string }>`
        INSERT INTO orders (channel, external_id, lat, lon) VALUES (${channel}, ${r.id}, ${r.location.lat}, ${r.location.lon})
        ON CONFLICT (channel, external_id) DO NOTHING RETURNING id::text AS id`
      if (inserted.length === 0) {
        // A repeat of an order already placed: its lines as they were routed then.
        const units = yield* sql<{ units: number }>`
          SELECT coalesce(sum(l.qty) FILTER (WHERE l.node_id IS NOT NULL), 0)::int AS units
          FROM orders o JOIN order_line l ON l.order_id = o.id WHERE o.channel = ${channel} AND o.external_id = ${r.id}`
        return { ok: true, ref: r.id, units: units[0]?.units ?? 0 } as Outcome
      }
      const orderId = inserted[0].id
      const atp = new Map(rows.map((p) => [`${p.sku}\u0000${p.node_id}`, p.on_hand - p.reserved]))
      const nodes = routeNearest(r.lines, candidates, (sku, n) => atp.get(`${sku}\u0000${n}`) ?? 0)
      let units = 0
      const lines: Array<{ order_id: string; line_no: number; sku: string; qty: number; node_id: string | null }> = []
      for (let i = 0; i < r.lines.length; i++) {
        const l = r.lines[i]
        const nodeId = nodes[i]
        if (nodeId !== null) {
          yield* sql`UPDATE stock_pool SET reserved = reserved + ${l.qty} WHERE sku = ${l.sku} AND node_id = ${nodeId}`
          units += l.qty
        }
        lines.push({ order_id: orderId, line_no: i + 1, sku: l.sku, qty: l.qty, node_id: nodeId })
      }
      yield* sql`INSERT INTO order_line ${sql.insert(lines as [typeof lines[0], ...typeof lines])}`
      return { ok: true, ref: r.id, units } as Outcome
    }))
  }

  async audit(acks: ReadonlyArray<Ack>): Promise<Audit> {
    const sql = this.sql!
    const { pools, holds, orders } = await Effect.runPromise(Effect.gen(function*() {
      const pools = yield* sql<{ sku: string; node_id: string; reserved: number }>`SELECT sku, node_id, reserved FROM stock_pool`
      const holds = yield* sql<{ id: string; qty: number }>`SELECT id, qty FROM reservation`
      const orders = yield* sql<{ external_id: string; units: number }>`
        SELECT o.external_id, coalesce(sum(l.qty) FILTER (WHERE l.node_id IS NOT NULL), 0)::int AS units
        FROM orders o LEFT JOIN order_line l ON l.order_id = o.id
        WHERE o.channel = ${channel} GROUP BY o.external_id`
      return { pools, holds, orders }
    }))
    const reserved = new Map(pools.map((p) => [`${p.sku}\u0000${p.node_id}`, p.reserved]))
    const holdUnits = new Map(holds.map((h) => [h.id, h.qty]))
    const orderUnits = new Map(orders.map((o) => [o.external_id, o.units]))
    let lostAcks = 0
    for (const a of acks) {
      const units = (a.kind === "hold" ? holdUnits : orderUnits).get(a.ref)
      if (units !== a.units) lostAcks++
    }
    return { ...auditPools(this.w!, (sku, nodeId) => reserved.get(`${sku}\u0000${nodeId}`) ?? 0), lostAcks }
  }

  async close(): Promise<void> {
    const scope = this.scope
    this.scope = undefined
    this.sql = undefined
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
    const drop = this.drop
    this.drop = undefined
    await drop?.()
  }
}

export const contender = (): Contender => new PostgresRowLockContender()
