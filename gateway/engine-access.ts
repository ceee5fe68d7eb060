/**
 * How a gateway reaches the engine: every command and read it needs, as one
 * async interface with two implementations.
 *
 *   LocalEngine  - this process owns the engine (and its store): calls go
 *                  straight to Engine.submit and the read models in Queries.
 *   RemoteEngine - an edge gateway: each call is POSTed as { method, args }
 *                  to the owner's internal route (/internal/v1/engine, the
 *                  internal token), see http-api.ts.
 *
 * Replies are the engine's, except that an edge which cannot reach the owner
 * answers `engine_unreachable` (retryable).
 */
import {
  oneReportAtATime,
  Queries,
  type Accepted,
  type Carrier,
  type Channel,
  type Command,
  type Engine,
  type EngineStats,
  type HistoryEntry,
  type HoldView,
  type JournaledEvent,
  type JournalReport,
  type JournalStore,
  type OpsRecordStore,
  type OrderTimeline,
  type OrderView,
  type PoolView
} from "../engine/index.ts"
import type { AvailabilityVersions } from "./availability-cache.ts"
import type { OpsHistoryAnswer } from "./ops-feed-types.ts"
import type { OpsHistory } from "./ops-history.ts"

export type { OrderTimeline, TimelineNotification } from "../engine/index.ts"

export type AvailabilityRequest = Queries.AvailabilityRequest

export interface Refusal {
  readonly ok: false
  readonly code: string
  readonly message: string
}

export type EngineReply = Accepted | Refusal

export interface EngineHealth {
  readonly engine: EngineStats["state"] | "unreachable"
  readonly store: boolean
}

/** Orders listed for one ops search at most. */
export const orderSearchMax = 20
/** Orders looked at for one node's open shipments at most (GET /v1/ops/nodes/:nodeId/shipments). */
export const nodeShipmentsScanMax = 5_000

/**
 * Orders a search term may name: the order id, or an external id in any
 * channel (exactly, wherever the order is), then the orders in memory whose
 * id or external id starts with the term, ignoring case; at most orderSearchMax.
 */
const searchOrders = async (engine: Engine, query: string): Promise<Array<OrderView>> => {
  const out: Array<OrderView> = []
  const add = (o: OrderView | undefined) => {
    if (o && out.length < orderSearchMax && !out.some((x) => x.orderId === o.orderId)) out.push(o)
  }
  add(await Queries.order(engine, query))
  for (const c of Queries.channels(engine.view)) add(await Queries.orderByExternal(engine, c.channel, query))
  for (const o of Queries.ordersByPrefix(engine.view, query, orderSearchMax)) add(o)
  return out
}


export interface EngineAccess {
  submit(command: Command): Promise<EngineReply>
  /** One answer per request, null for an unknown SKU. */
  availability(requests: ReadonlyArray<AvailabilityRequest>): Promise<Array<Queries.Availability | null>>
  hold(holdId: string): Promise<HoldView | null>
  order(orderId: string): Promise<OrderView | null>
  orderByExternal(channel: string, externalId: string): Promise<OrderView | null>
  orderHistory(orderId: string): Promise<ReadonlyArray<HistoryEntry> | null>
  /** Ops: orders named by an order id or an external id (any channel). */
  orderSearch(query: string): Promise<Array<OrderView>>
  /** Ops: an order with its events and notifications. */
  orderTimeline(orderId: string): Promise<OrderTimeline | null>
  /** Ops: the shipments open at a node, oldest first, at most `limit`. */
  nodeShipments(nodeId: string, limit: number): Promise<Queries.NodeShipments>
  pool(sku: string, nodeId: string): Promise<PoolView | null>
  poolHistory(sku: string, nodeId: string, limit: number): Promise<Array<JournaledEvent>>
  nodes(): Promise<Array<Queries.NodeLoadView>>
  /** Every pool, or one node's (inventory export). */
  pools(nodeId: string | null): Promise<Array<PoolView>>
  /** A report over [from, to) read from the journal. */
  report(from: number, to: number): Promise<JournalReport>
  carriers(): Promise<ReadonlyArray<Carrier>>
  /** The sales channels and their routing policies. */
  channels(): Promise<ReadonlyArray<Channel>>
  health(): Promise<EngineHealth>
  stats(): Promise<EngineStats | null>
  /** Ops: the charts' history over the last `seconds` (ops-history.ts), kept where the ops ticks are made; null where none is kept. */
  opsHistory(seconds: number): Promise<OpsHistoryAnswer | null>
}

export const engineMethods = [
  "submit", "availability", "hold", "order", "orderByExternal", "orderHistory", "orderSearch", "orderTimeline", "nodeShipments", "pool",
  "poolHistory", "nodes", "pools", "carriers", "channels", "report", "health", "stats", "opsHistory"
] as const satisfies ReadonlyArray<keyof EngineAccess>

export type EngineMethod = (typeof engineMethods)[number]

const storePingMs = 2_000

/** The engine in this process. */
export class LocalEngine implements EngineAccess {
  private readonly reports = oneReportAtATime()

  /** The ops feed's history, once the ops feed keeps it (ops-feed.ts). */
  history: OpsHistory | undefined

  constructor(readonly engine: Engine, readonly store: JournalStore) {}

  /** The store's ops records (alert groups, audit log), when it keeps them. */
  opsRecords(): OpsRecordStore | undefined {
    return this.store.opsRecords
  }

  async submit(command: Command): Promise<EngineReply> {
    try {
      return await this.engine.submit(command)
    } catch (e) {
      return { ok: false, code: "internal_error", message: `engine submit failed: ${String(e)}` }
    }
  }

  async availability(requests: ReadonlyArray<AvailabilityRequest>) {
    return Queries.availabilityOf(this.engine.view, this.engine.now(), requests)
  }

  /** What versions an availability answer, for the cache of encoded answers (gateway/availability-cache.ts). */
  readonly availabilityVersions: AvailabilityVersions = {
    state: () => this.engine.view,
    network: () => this.engine.view.netLog.seq,
    sku: (sku) => Queries.availabilityStamp(this.engine.view, sku)
  }

  /** The same, without a promise: for the availability feed of the owner process. */
  availabilityNow(r: AvailabilityRequest): Queries.Availability | null {
    return Queries.availability(this.engine.view, r.sku, { channel: r.channel, location: r.location, nodesMax: r.nodesMax }) ?? null
  }

  async hold(holdId: string) {
    return Queries.hold(this.engine.view, holdId) ?? null
  }

  async order(orderId: string) {
    return (await Queries.order(this.engine, orderId)) ?? null
  }

  async orderByExternal(channel: string, externalId: string) {
    return (await Queries.orderByExternal(this.engine, channel, externalId)) ?? null
  }

  async orderHistory(orderId: string) {
    const h = await Queries.orderHistory(this.engine, orderId)
    return h ? [...h] : null
  }

  async orderSearch(query: string) {
    return searchOrders(this.engine, query)
  }

  async orderTimeline(orderId: string) {
    return Queries.orderTimeline(this.engine, orderId)
  }

  nodeShipments(nodeId: string, limit: number) {
    return Queries.nodeShipments(this.engine, nodeId, limit, nodeShipmentsScanMax)
  }

  async pool(sku: string, nodeId: string) {
    return Queries.pool(this.engine.view, sku, nodeId) ?? null
  }

  poolHistory(sku: string, nodeId: string, limit: number) {
    return Queries.poolHistory(this.engine, sku, nodeId, limit)
  }

  async nodes() {
    return Queries.nodes(this.engine.view)
  }

  async pools(nodeId: string | null) {
    return Queries.pools(this.engine.view, nodeId ?? undefined)
  }

  /** Reports run one at a time on the engine owner (engine/reports/reader.ts). */
  report(from: number, to: number): Promise<JournalReport> {
    return this.reports(this.engine, { from, to })
  }

  async channels() {
    return Queries.channels(this.engine.view)
  }

  async carriers() {
    return Queries.carriers(this.engine.view)
  }

  async health(): Promise<EngineHealth> {
    const state = this.engine.stats().state
    let timer: ReturnType<typeof setTimeout> | undefined
    const store = await Promise.race([
      this.store.ping().then(() => true, () => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), storePingMs)))
    ])
    clearTimeout(timer)
    return { engine: state, store }
  }

  async stats() {
    return this.engine.stats()
  }

  async opsHistory(seconds: number) {
    return this.history?.answer(seconds) ?? null
  }
}

export class EngineUnreachable extends Error {
  override readonly name = "EngineUnreachable"
  /** Whether the owner may have received the request (a timeout or a lost answer) or surely did not (refused connection). */
  constructor(message: string, readonly maybeApplied: boolean) {
    super(message)
  }
}

/** A connection that was refused or could not be opened: nothing reached the owner. */
const neverSent = (e: unknown): boolean => {
  const code = (e as { cause?: { code?: string } })?.cause?.code
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH"
}

/** The engine of another gateway process (the owner), over its internal route. */
export class RemoteEngine implements EngineAccess {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs: number,
    /** Reports read the journal: they get their own, longer, bound. */
    private readonly reportTimeoutMs: number = timeoutMs
  ) {}

  /** The owner's address (the ops console forwards alert reads and actions to it, ops-console.ts). */
  get ownerUrl(): string {
    return this.baseUrl
  }

  /** Records an ops action done through this edge in the owner's audit log (POST /internal/v1/audit). */
  async recordAudit(entry: { readonly who: string; readonly action: string; readonly target: string; readonly reason: string; readonly detail: string }): Promise<void> {
    const res = await fetch(`${this.baseUrl}/internal/v1/audit`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify(entry),
      signal: AbortSignal.timeout(this.timeoutMs)
    })
    if (!res.ok) throw new Error(`the engine owner answered the audit entry with ${res.status}`)
  }

  private async call<T>(method: EngineMethod, args: ReadonlyArray<unknown>, timeoutMs = this.timeoutMs): Promise<T> {
    let res: Response
    try {
      res = await fetch(`${this.baseUrl}/internal/v1/engine`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
        body: JSON.stringify({ method, args }),
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (e) {
      // the owner's address stays out of what clients are told
      console.error(`gateway: engine owner at ${this.baseUrl} did not answer ${method}: ${e instanceof Error ? e.message : String(e)}`)
      throw new EngineUnreachable("the engine owner did not answer", !neverSent(e))
    }
    const body = (await res.json().catch(() => undefined)) as { result?: T; error?: { message: string } } | undefined
    if (!res.ok || body === undefined || !("result" in body)) {
      console.error(`gateway: engine owner answered ${method} with ${res.status}: ${body?.error?.message ?? "no result"}`)
      throw new EngineUnreachable(`the engine owner answered ${res.status}`, res.status >= 500)
    }
    return body.result as T
  }

  async submit(command: Command): Promise<EngineReply> {
    try {
      return await this.call<EngineReply>("submit", [command])
    } catch (e) {
      const maybeApplied = e instanceof EngineUnreachable ? e.maybeApplied : true
      return maybeApplied
        ? { ok: false, code: "outcome_unknown", message: `${e instanceof Error ? e.message : String(e)}: the command may or may not have been applied` }
        : { ok: false, code: "engine_unreachable", message: e instanceof Error ? e.message : String(e) }
    }
  }

  availability(requests: ReadonlyArray<AvailabilityRequest>) {
    return this.call<Array<Queries.Availability | null>>("availability", [requests])
  }
  hold(holdId: string) {
    return this.call<HoldView | null>("hold", [holdId])
  }
  order(orderId: string) {
    return this.call<OrderView | null>("order", [orderId])
  }
  orderByExternal(channel: string, externalId: string) {
    return this.call<OrderView | null>("orderByExternal", [channel, externalId])
  }
  orderHistory(orderId: string) {
    return this.call<ReadonlyArray<HistoryEntry> | null>("orderHistory", [orderId])
  }
  orderSearch(query: string) {
    return this.call<Array<OrderView>>("orderSearch", [query])
  }
  orderTimeline(orderId: string) {
    return this.call<OrderTimeline | null>("orderTimeline", [orderId])
  }
  nodeShipments(nodeId: string, limit: number) {
    return this.call<Queries.NodeShipments>("nodeShipments", [nodeId, limit])
  }
  pool(sku: string, nodeId: string) {
    return this.call<PoolView | null>("pool", [sku, nodeId])
  }
  poolHistory(sku: string, nodeId: string, limit: number) {
    return this.call<Array<JournaledEvent>>("poolHistory", [sku, nodeId, limit])
  }
  nodes() {
    return this.call<Array<Queries.NodeLoadView>>("nodes", [])
  }
  pools(nodeId: string | null) {
    return this.call<Array<PoolView>>("pools", [nodeId])
  }
  report(from: number, to: number) {
    return this.call<JournalReport>("report", [from, to], this.reportTimeoutMs)
  }
  channels() {
    return this.call<ReadonlyArray<Channel>>("channels", [])
  }

  carriers() {
    return this.call<ReadonlyArray<Carrier>>("carriers", [])
  }
  async health(): Promise<EngineHealth> {
    try {
      return await this.call<EngineHealth>("health", [])
    } catch {
      return { engine: "unreachable", store: false }
    }
  }
  async stats() {
    return this.call<EngineStats | null>("stats", []).catch(() => null)
  }

  opsHistory(seconds: number) {
    return this.call<OpsHistoryAnswer | null>("opsHistory", [seconds])
  }
}
