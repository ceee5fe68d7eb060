/**
 * The order versions of the journal store (table `order_state`, see
 * OrderStore in journal.ts) over the same effect/sql client as the journal:
 * written by snapshots, read by id or by placement key when an order comes
 * back into memory or is read while out of it.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { SequenceConflict, StaleOwner } from "../domain/errors.ts"
import { orderKeyHash, type OrderKey, type OrderRow, type OrderStore } from "./journal.ts"

const checkSeq = (what: string, seq: number): bigint => {
  if (!Number.isSafeInteger(seq)) throw new TypeError(`${what} must be a safe integer, got ${seq}`)
  return BigInt(seq)
}

interface OrderStateRow {
  readonly order_id: string
  readonly seq: bigint
  readonly stream: string
  readonly channel: string
  readonly external_id: string
  readonly leg: number
  readonly keyed: boolean
  readonly placed_at: bigint
  readonly payload: Uint8Array
}

/** Rows written by one statement: a few hundred KB, so appends waiting behind it do not wait long. */
const orderRowsPerInsert = 250

const orderRowOf = (ownBytes: (b: Uint8Array) => Uint8Array) => (row: OrderStateRow): OrderRow => ({
  orderId: row.order_id, stream: row.stream, seq: Number(row.seq), channel: row.channel, externalId: row.external_id,
  leg: row.leg, keyed: row.keyed, placedAt: Number(row.placed_at), payload: ownBytes(row.payload)
})

/** The order versions of the `order_state` table (see OrderStore in journal.ts). */
export const sqlOrderStore = (
  sql: SqlClient,
  run: <A>(operation: string, effect: () => Effect.Effect<A, SqlError | SequenceConflict | StaleOwner>) => Promise<A>,
  ownBytes: (bytes: Uint8Array) => Uint8Array
): OrderStore => {
  const rowOf = orderRowOf(ownBytes)
  return {
  saveOrders: (rows) =>
    run("saveOrders", () =>
      Effect.gen(function*() {
        for (let from = 0; from < rows.length; from += orderRowsPerInsert) {
          const part = rows.slice(from, from + orderRowsPerInsert)
          yield* sql`
            INSERT INTO order_state (order_id, seq, stream, channel, external_id, leg, key_hash, keyed, placed_at, payload)
            SELECT * FROM unnest(
              ${part.map((r) => r.orderId)}::text[], ${part.map((r) => BigInt(r.seq))}::int8[], ${part.map((r) => r.stream)}::text[],
              ${part.map((r) => r.channel)}::text[], ${part.map((r) => r.externalId)}::text[], ${part.map((r) => r.leg)}::int4[],
              ${part.map((r) => BigInt(orderKeyHash(r)))}::int8[], ${part.map((r) => r.keyed)}::bool[], ${part.map((r) => BigInt(r.placedAt))}::int8[], ${part.map((r) => r.payload)}::bytea[])
            ON CONFLICT (order_id, seq) DO NOTHING`
        }
      })),
  loadOrders: (orderIds, atMostSeq = Number.MAX_SAFE_INTEGER) =>
    run("loadOrders", () =>
      orderIds.length === 0 ? Effect.succeed([]) : Effect.map(
        sql<OrderStateRow>`
          SELECT DISTINCT ON (order_id) order_id, seq, stream, channel, external_id, leg, keyed, placed_at, payload
          FROM order_state WHERE order_id = ANY(${[...orderIds]}::text[]) AND seq <= ${checkSeq("atMostSeq", atMostSeq)}
          ORDER BY order_id, seq DESC`,
        (rows) => rows.map(rowOf)
      )),
  findOrders: (keys: ReadonlyArray<OrderKey>) =>
    run("findOrders", () =>
      keys.length === 0 ? Effect.succeed([]) : Effect.map(
        sql<OrderStateRow>`
          SELECT DISTINCT ON (o.order_id) o.order_id, o.seq, o.stream, o.channel, o.external_id, o.leg, o.keyed, o.placed_at, o.payload
          FROM order_state o
          WHERE o.order_id IN (SELECT order_id FROM order_state WHERE key_hash = ANY(${keys.map((k) => BigInt(orderKeyHash(k)))}::int8[]))
          ORDER BY o.order_id, o.seq DESC`,
        // the newest version says whether the key is still the order's; a hash shared with another key is told apart here
        (rows) => {
          const wanted = new Set(keys.map((k) => `${k.channel}\u0000${k.externalId}\u0000${k.leg}`))
          return rows.filter((row) => row.keyed && wanted.has(`${row.channel}\u0000${row.external_id}\u0000${row.leg}`)).map(rowOf)
        }
      )),
  pruneOrders: (versions) =>
    run("pruneOrders", () =>
      Effect.gen(function*() {
        for (let from = 0; from < versions.length; from += orderRowsPerInsert) {
          const part = versions.slice(from, from + orderRowsPerInsert)
          yield* sql`
            DELETE FROM order_state
            WHERE order_id = ANY(${part.map((v) => v.orderId)}::text[])
              AND (order_id, seq) NOT IN (SELECT * FROM unnest(${part.map((v) => v.orderId)}::text[], ${part.map((v) => BigInt(v.seq))}::int8[]))`
        }
      }))
}
}
