/**
 * The one workload `npm run bench -- compare` drives every contender with, and
 * the small interface each contender implements (bench/contenders/*.ts).
 *
 * Built on bench/workload.ts (nodes at real US cities, Zipf-skewed catalog,
 * the 5 most popular SKUs are doorbusters with little stock), plus:
 *
 * - a request stream: single-line holds (qty 1, "the nearest node that has
 *   it") and three-line paid orders (three distinct SKUs, qty 1 each), each
 *   for a customer at a real city (Zipf-weighted); the same seed gives the
 *   same sequence of requests to every contender;
 * - for each customer city, the nodes by distance (nearest first): the
 *   candidate list the PostgreSQL and Redis contenders route over (the engine
 *   computes distances itself);
 * - the reference routing those two contenders implement, the rule the
 *   engine's cost model reduces to on this network (equal node priorities, no
 *   capacity pressure): an order ships from the nearest node that has every
 *   line; otherwise each line from the nearest node that has it (at most 3
 *   shipments); a line no node has is backordered, and the order is still
 *   accepted;
 * - the validation the engine applies to these two commands (ids, quantities,
 *   line count, distinct and known SKUs), for the contenders that have to do
 *   it themselves;
 * - the audit every contender is checked with: oversold units from the
 *   contender's own final state, and acknowledgements missing from it.
 */
import { distanceKm, isLatLon, type Command, type LatLon } from "../engine/index.ts"
import { prng, workload, zipf, type Workload } from "./workload.ts"

export interface CompareWorkloadOptions {
  /** Fulfillment nodes (the first fifth are warehouses, the rest stores). */
  readonly nodes: number
  readonly skus: number
  /** Units on hand in each pool (SKU x node) of an ordinary SKU. */
  readonly stockPerPool: number
  /** Units on hand in each pool of the 5 doorbusters (small: they sell out during the run). */
  readonly doorbusterStock: number
  /** Share of requests that are three-line orders; the rest are single-line holds. */
  readonly orderShare: number
  readonly seed: number
  readonly zipfS: number
}

export const compareDefaults: CompareWorkloadOptions = {
  nodes: 20,
  skus: 1_000,
  stockPerPool: 1_000_000,
  doorbusterStock: 5,
  orderShare: 0.2,
  seed: 7,
  zipfS: 1.1
}

/** The channel every request comes from (default routing policy: up to 2 splits, ship from store). */
export const channel = "web"

/** Bounds the engine enforces on these commands (engine/config.ts defaults), for contenders that validate themselves. */
export const limits = { idLengthMax: 128, quantityMax: 100_000, orderLinesMax: 200 } as const

export interface Line {
  readonly sku: string
  readonly qty: number
}

export interface HoldRequest {
  readonly kind: "hold"
  readonly seq: number
  /** The client's id for this request: the reservation id where the contender takes one. */
  readonly id: string
  readonly sku: string
  readonly qty: number
  readonly customer: number
  readonly location: LatLon
}

export interface OrderRequest {
  readonly kind: "order"
  readonly seq: number
  /** The order's external id (idempotency key within the channel). */
  readonly id: string
  readonly lines: ReadonlyArray<Line>
  readonly customer: number
  readonly location: LatLon
}

export type CompareRequest = HoldRequest | OrderRequest

/** A contender's answer: acknowledged (with what to look for in its final state), or refused with a code. */
export type Outcome =
  | { readonly ok: true; readonly ref: string; readonly units: number }
  | { readonly ok: false; readonly code: string }

/** One acknowledgement in the client-side ledger. */
export interface Ack {
  readonly kind: CompareRequest["kind"]
  /** The contender's id of what it acknowledged (hold / reservation id, order id). */
  readonly ref: string
  /** Units it said it reserved (hold qty; order units routed to a node, not backordered). */
  readonly units: number
}

export interface Audit {
  /** Sum over pools of max(0, reserved - initial stock), from the contender's own final state. */
  readonly oversold: number
  /** Acknowledgements missing from the final state. */
  readonly lostAcks: number
  /** Units reserved over all pools in the final state. */
  readonly reservedUnits: number
  /** Doorbuster SKUs with nothing left at any node. */
  readonly soldOutDoorbusters: number
}

/**
 * What each contender implements. `client` is the number (0..clients-1) of the
 * concurrent client sending the request: contenders with a connection per
 * client use it to pick the connection.
 */
export interface Contender {
  readonly name: string
  /** What an acknowledgement survives, in words (for the table). */
  durability(): string
  setup(w: CompareWorkload, clients: number): Promise<void>
  handle(request: CompareRequest, client: number): Promise<Outcome>
  /** Checks the final state against the ledger of acknowledgements. Called once, after the run. */
  audit(acks: ReadonlyArray<Ack>): Promise<Audit>
  close(): Promise<void>
}

export interface Pool {
  readonly sku: string
  readonly nodeId: string
  readonly onHand: number
}

export interface CompareWorkload {
  readonly options: CompareWorkloadOptions
  /** Network, catalog, channel and stock as engine commands (node.upsert, sku.upsert, channel.upsert, inventory.load). */
  readonly commands: ReadonlyArray<Command>
  readonly nodes: ReadonlyArray<{ readonly nodeId: string; readonly location: LatLon }>
  readonly nodeIds: ReadonlyArray<string>
  readonly skus: ReadonlyArray<string>
  readonly knownSku: ReadonlySet<string>
  readonly doorbusters: ReadonlyArray<string>
  /** Every pool with its initial stock. */
  readonly pools: ReadonlyArray<Pool>
  initialStock(sku: string, nodeId: string): number
  readonly customers: ReadonlyArray<LatLon>
  /** Node ids by distance from the customer's city, nearest first. */
  candidates(customer: number): ReadonlyArray<string>
  /** A fresh request stream: the same seed always yields the same sequence. */
  requests(): () => CompareRequest
}

export const compareWorkload = (options: Partial<CompareWorkloadOptions> = {}): CompareWorkload => {
  const o: CompareWorkloadOptions = { ...compareDefaults, ...options }
  const base: Workload = workload({ nodes: o.nodes, skus: o.skus, stockPerPool: o.stockPerPool, doorbusterStock: o.doorbusterStock, seed: o.seed, zipfS: o.zipfS })
  const nodes = base.setup
    .filter((c): c is Command & { type: "node.upsert" } => c.type === "node.upsert")
    .map((c) => ({ nodeId: c.nodeId, location: c.location }))
  const stock = new Map<string, number>()
  const pools: Array<Pool> = []
  for (const c of base.loads) {
    if (c.type !== "inventory.load") continue
    for (const r of c.rows) {
      const onHand = r.onHand
      stock.set(`${r.sku}\u0000${r.nodeId}`, onHand)
      pools.push({ sku: r.sku, nodeId: r.nodeId, onHand })
    }
  }
  const byDistance = base.customers.map((loc) =>
    nodes.map((n) => ({ nodeId: n.nodeId, d: distanceKm(loc, n.location) })).sort((a, b) => a.d - b.d).map((x) => x.nodeId)
  )
  return {
    options: o,
    commands: [...base.setup, ...base.loads],
    nodes,
    nodeIds: base.nodeIds,
    skus: base.skus,
    knownSku: new Set(base.skus),
    doorbusters: base.skus.slice(0, Math.min(5, base.skus.length)),
    pools,
    initialStock: (sku, nodeId) => stock.get(`${sku}\u0000${nodeId}`) ?? 0,
    customers: base.customers,
    candidates: (customer) => byDistance[customer],
    requests: () => {
      const random = prng(o.seed * 7919 + 17)
      const pickSku = zipf(base.skus.length, o.zipfS, random)
      const pickCustomer = zipf(base.customers.length, 0.8, random)
      const linesPerOrder = Math.min(3, base.skus.length)
      let seq = 0
      return (): CompareRequest => {
        const n = ++seq
        const customer = pickCustomer()
        const location = base.customers[customer]
        if (random() < o.orderShare) {
          const skus = new Set<string>()
          while (skus.size < linesPerOrder) skus.add(base.skus[pickSku()])
          return { kind: "order", seq: n, id: `O-${o.seed}-${n}`, lines: [...skus].map((sku) => ({ sku, qty: 1 })), customer, location }
        }
        return { kind: "hold", seq: n, id: `H-${o.seed}-${n}`, sku: base.skus[pickSku()], qty: 1, customer, location }
      }
    }
  }
}

// ---- what the PostgreSQL and Redis contenders do themselves ---------------------------------

const goodId = (id: unknown): boolean => typeof id === "string" && id.length > 0 && id.length <= limits.idLengthMax
const goodQty = (qty: unknown): boolean => typeof qty === "number" && Number.isInteger(qty) && qty > 0 && qty <= limits.quantityMax

/** The engine's checks on hold.create and order.place: a refusal code, or undefined when the request is fine. */
export const validate = (r: CompareRequest, w: CompareWorkload): string | undefined => {
  if (!goodId(r.id)) return "invalid_id"
  if (!isLatLon(r.location)) return "invalid_location"
  if (r.kind === "hold") {
    if (!goodId(r.sku)) return "invalid_id"
    if (!goodQty(r.qty)) return "quantity_must_be_positive"
    return w.knownSku.has(r.sku) ? undefined : "unknown_sku"
  }
  if (!Array.isArray(r.lines) || r.lines.length === 0) return "malformed_command"
  if (r.lines.length > limits.orderLinesMax) return "too_many_lines"
  const seen = new Set<string>()
  for (const l of r.lines) {
    if (!goodId(l.sku)) return "invalid_id"
    if (!goodQty(l.qty)) return "quantity_must_be_positive"
    if (!w.knownSku.has(l.sku)) return "unknown_sku"
    if (seen.has(l.sku)) return "duplicate_sku"
    seen.add(l.sku)
  }
  return undefined
}

/** The nearest candidate with at least `qty` of the SKU, or undefined. */
export const nearestWith = (sku: string, qty: number, candidates: ReadonlyArray<string>, atp: (sku: string, nodeId: string) => number): string | undefined => {
  for (const n of candidates) if (atp(sku, n) >= qty) return n
  return undefined
}

/**
 * The reference routing (see the top of this file): the node of each line,
 * or null where the line is backordered.
 */
export const routeNearest = (
  lines: ReadonlyArray<Line>,
  candidates: ReadonlyArray<string>,
  atp: (sku: string, nodeId: string) => number
): Array<string | null> => {
  for (const n of candidates) {
    let all = true
    for (const l of lines) {
      if (atp(l.sku, n) < l.qty) {
        all = false
        break
      }
    }
    if (all) return lines.map(() => n)
  }
  return lines.map((l) => nearestWith(l.sku, l.qty, candidates, atp) ?? null)
}

/**
 * The pool half of the audit, the same for every contender: `reserved` reads
 * the units reserved at a pool (held + allocated) in the contender's final
 * state.
 */
export const auditPools = (w: CompareWorkload, reserved: (sku: string, nodeId: string) => number): Omit<Audit, "lostAcks"> => {
  let oversold = 0
  let reservedUnits = 0
  const left = new Map<string, number>()
  for (const p of w.pools) {
    const r = reserved(p.sku, p.nodeId)
    reservedUnits += r
    if (r > p.onHand) oversold += r - p.onHand
    left.set(p.sku, (left.get(p.sku) ?? 0) + Math.max(0, p.onHand - r))
  }
  const soldOutDoorbusters = w.doorbusters.filter((sku) => (left.get(sku) ?? 0) === 0).length
  return { oversold, reservedUnits, soldOutDoorbusters }
}
