/**
 * Contender `redis-lua`: the flash-sale strategy. Stock lives in Redis, one
 * hash per SKU with one field per node: the units left to sell there (loaded
 * with the on-hand count, decremented by each reservation); one Lua script
 * per request checks and reserves atomically (Redis runs a script alone),
 * with EVALSHA:
 *
 * - hold: HMGET the candidate nodes passed in ARGV (nearest first, computed by
 *   the client from the customer's location); the first with left >= qty gets
 *   HINCRBY -qty, and the hold is recorded (HSET holds <id> "<node>|<qty>");
 * - order: the same reference routing as the PostgreSQL contender
 *   (bench/compare-workload.ts routeNearest), written in Lua: the nearest node
 *   with every line, else each line at its nearest node with it, else
 *   backordered; idempotent on the external id (HGET orders <id> first).
 *
 * The `redis` package, one connection per client; validation in the client,
 * as for PostgreSQL. Every key of a run has its own prefix and is deleted at
 * close (the local Redis is shared).
 *
 * Units reserved at a pool, for the audit: initial stock - units left (a
 * negative count left would be an oversell).
 *
 * Durability: whatever the server has, read at setup (CONFIG GET save,
 * appendonly). Here: no RDB, no AOF, so a restart of Redis loses every
 * reservation it acknowledged.
 */
import { createClient } from "redis"
import {
  auditPools, validate,
  type Ack, type Audit, type CompareRequest, type CompareWorkload, type Contender, type Outcome
} from "../compare-workload.ts"

export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"

/** KEYS[1] pool hash, KEYS[2] holds hash; ARGV[1] hold id, ARGV[2] qty, ARGV[3..] candidate nodes, nearest first. */
export const holdScript = `
local qty = tonumber(ARGV[2])
local left = redis.call('HMGET', KEYS[1], unpack(ARGV, 3))
for i = 1, #left do
  local n = tonumber(left[i])
  if n and n >= qty then
    local node = ARGV[i + 2]
    redis.call('HINCRBY', KEYS[1], node, -qty)
    redis.call('HSET', KEYS[2], ARGV[1], node .. '|' .. qty)
    return node
  end
end
return false
`

/**
 * KEYS[1..L] the pool hash of each line, KEYS[L+1] orders hash;
 * ARGV[1] external id, ARGV[2] L, ARGV[3..2+L] qty of each line, then the candidate nodes, nearest first.
 * Returns "<units routed>|<node or - per line>".
 */
export const orderScript = `
local L = tonumber(ARGV[2])
local orders = KEYS[L + 1]
local prev = redis.call('HGET', orders, ARGV[1])
if prev then return prev end
local first = 3 + L
local n = #ARGV - first + 1
local qty = {}
local left = {}
for l = 1, L do
  qty[l] = tonumber(ARGV[2 + l])
  local v = redis.call('HMGET', KEYS[l], unpack(ARGV, first))
  for i = 1, n do v[i] = tonumber(v[i]) or 0 end
  left[l] = v
end
local single = nil
for i = 1, n do
  local all = true
  for l = 1, L do
    if left[l][i] < qty[l] then all = false break end
  end
  if all then single = i break end
end
local units = 0
local parts = {}
for l = 1, L do
  local pick = single
  if not pick then
    for i = 1, n do
      if left[l][i] >= qty[l] then pick = i break end
    end
  end
  if pick then
    local node = ARGV[first + pick - 1]
    redis.call('HINCRBY', KEYS[l], node, -qty[l])
    units = units + qty[l]
    parts[l] = node
  else
    parts[l] = '-'
  end
end
local record = units .. '|' .. table.concat(parts, ',')
redis.call('HSET', orders, ARGV[1], record)
return record
`

const newClient = () => createClient({ url: redisUrl, socket: { connectTimeout: 3_000, reconnectStrategy: false } })
type Client = ReturnType<typeof newClient>

const connect = async (): Promise<Client> => {
  const client = newClient()
  client.on("error", () => undefined)
  await client.connect()
  return client
}

export class RedisLuaContender implements Contender {
  readonly name = "redis-lua"
  private clients: Array<Client> = []
  private w: CompareWorkload | undefined
  private prefix = `oms-compare:${process.pid}-${Date.now().toString(36)}:`
  private holdSha = ""
  private orderSha = ""
  private settings = "unknown"
  private errorsLogged = 0

  private poolKey(sku: string): string {
    return `${this.prefix}pool:${sku}`
  }

  private get holdsKey(): string {
    return `${this.prefix}holds`
  }

  private get ordersKey(): string {
    return `${this.prefix}orders`
  }

  durability(): string {
    return `none: in memory only, ${this.settings}; a Redis restart loses every acknowledged reservation`
  }

  async setup(w: CompareWorkload, clients: number): Promise<void> {
    this.w = w
    for (let i = 0; i < clients; i += 32) {
      this.clients.push(...await Promise.all(Array.from({ length: Math.min(32, clients - i) }, connect)))
    }
    const c = this.clients[0]
    try {
      const save = (await c.configGet("save")) as unknown as Record<string, string>
      const aof = (await c.configGet("appendonly")) as unknown as Record<string, string>
      this.settings = `Redis with save="${save.save ?? "?"}" (RDB ${save.save ? "on" : "off"}), appendonly=${aof.appendonly ?? "?"}`
    } catch {
      this.settings = "persistence settings unreadable (CONFIG GET refused)"
    }
    this.holdSha = await c.scriptLoad(holdScript)
    this.orderSha = await c.scriptLoad(orderScript)
    const bySku = new Map<string, Record<string, number>>()
    for (const p of w.pools) {
      let h = bySku.get(p.sku)
      if (h === undefined) bySku.set(p.sku, (h = {}))
      h[p.nodeId] = p.onHand
    }
    await Promise.all([...bySku].map(([sku, fields]) => c.hSet(this.poolKey(sku), fields)))
  }

  async handle(r: CompareRequest, client: number): Promise<Outcome> {
    const bad = validate(r, this.w!)
    if (bad !== undefined) return { ok: false, code: bad }
    const c = this.clients[client % this.clients.length]
    const candidates = this.w!.candidates(r.customer)
    try {
      if (r.kind === "hold") {
        const node = await c.evalSha(this.holdSha, { keys: [this.poolKey(r.sku), this.holdsKey], arguments: [r.id, String(r.qty), ...candidates] })
        return node === null ? { ok: false, code: "insufficient_stock" } : { ok: true, ref: r.id, units: r.qty }
      }
      const record = await c.evalSha(this.orderSha, {
        keys: [...r.lines.map((l) => this.poolKey(l.sku)), this.ordersKey],
        arguments: [r.id, String(r.lines.length), ...r.lines.map((l) => String(l.qty)), ...candidates]
      })
      return { ok: true, ref: r.id, units: parseInt(String(record), 10) }
    } catch (e) {
      if (this.errorsLogged++ < 3) console.error(`redis-lua: ${r.kind} ${r.id} failed: ${String(e)}`)
      return { ok: false, code: "store_error" }
    }
  }

  async audit(acks: ReadonlyArray<Ack>): Promise<Audit> {
    const c = this.clients[0]
    const w = this.w!
    const reserved = new Map<string, number>()
    await Promise.all(w.skus.map(async (sku) => {
      const h = (await c.hGetAll(this.poolKey(sku))) as unknown as Record<string, string>
      for (const [nodeId, left] of Object.entries(h)) reserved.set(`${sku}\u0000${nodeId}`, w.initialStock(sku, nodeId) - Number(left))
    }))
    const holds = (await c.hGetAll(this.holdsKey)) as unknown as Record<string, string>
    const orders = (await c.hGetAll(this.ordersKey)) as unknown as Record<string, string>
    let lostAcks = 0
    for (const a of acks) {
      const record = (a.kind === "hold" ? holds : orders)[a.ref]
      const units = record === undefined ? undefined : a.kind === "hold" ? Number(record.split("|")[1]) : parseInt(record, 10)
      if (units !== a.units) lostAcks++
    }
    return { ...auditPools(w, (sku, nodeId) => reserved.get(`${sku}\u0000${nodeId}`) ?? 0), lostAcks }
  }

  async close(): Promise<void> {
    const c = this.clients[0]
    if (c !== undefined && this.w !== undefined) {
      const keys = [...this.w.skus.map((sku) => this.poolKey(sku)), this.holdsKey, this.ordersKey]
      for (let i = 0; i < keys.length; i += 500) await c.unlink(keys.slice(i, i + 500)).catch(() => 0)
    }
    await Promise.all(this.clients.splice(0).map((x) => x.close().catch(() => x.destroy())))
  }
}

export const contender = (): Contender => new RedisLuaContender()
