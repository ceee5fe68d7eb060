/**
 * Contender `engine`: the engine in this process on the embedded store
 * (Engine.open over PGlite in a worker thread, as bench/engine.ts and
 * `npm run engine` build it). A client is one submit in flight; a hold is
 * `hold.create` at "the best node for this customer location", an order is
 * `order.place` (paid), routed by the engine's own cost model.
 *
 * Audit: the engine is closed, then opened again on the same data folder
 * (recovery from the journal), and the recovered state is checked: pools
 * (held + allocated against the initial stock) and every acknowledged hold and
 * order.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Engine, loadConfig, openJournalStore, Queries, route, type Command, type Reply } from "../../engine/index.ts"
import { auditPools, channel, type Ack, type Audit, type CompareRequest, type CompareWorkload, type Contender, type Outcome } from "../compare-workload.ts"

/** Holds outlive the run (the other contenders' reservations do not expire either). */
export const engineConfig = () => loadConfig({ holdTtlMsDefault: 3_600_000 }, {})

export const embeddedDurability = "journal committed before the ack (group commit); embedded PGlite, fsync off: survives a killed process, not a power loss"

export interface OpenedEngine {
  readonly engine: Engine
  close(): Promise<void>
}

export const openEngine = async (dataDir: string): Promise<OpenedEngine> => {
  const { store, close } = await openJournalStore({ backend: "embedded", dataDir })
  try {
    const engine = await Engine.open({ store, config: engineConfig(), router: route })
    return { engine, close: async () => { await engine.close(); await close() } }
  } catch (e) {
    await close()
    throw e
  }
}

/** Network, catalog, channel and stock, every command acknowledged. */
export const loadWorkload = async (engine: Engine, w: CompareWorkload): Promise<void> => {
  for (const c of w.commands) {
    const r = await engine.submit(c)
    if (!r.ok) throw new Error(`${c.type}: ${r.code} ${r.message}`)
  }
}

/** The engine command for a request (the gateway sends the same fields). */
export const commandOf = (r: CompareRequest): Command =>
  r.kind === "hold"
    ? { type: "hold.create", channel, sku: r.sku, qty: r.qty, location: r.location }
    : { type: "order.place", channel, externalId: r.id, payment: "authorised", lines: r.lines, customer: { location: r.location } }

/** Units an order reply routed to nodes (the rest is backordered). */
export const routedUnits = (shipments: ReadonlyArray<{ readonly lines: ReadonlyArray<{ readonly qty: number }> }>): number => {
  let units = 0
  for (const s of shipments) for (const l of s.lines) units += l.qty
  return units
}

export const outcomeOf = (r: CompareRequest, reply: Reply): Outcome => {
  if (!reply.ok) return { ok: false, code: reply.code }
  if (r.kind === "hold") return reply.hold ? { ok: true, ref: reply.hold.holdId, units: reply.hold.qty } : { ok: false, code: "no_hold_in_reply" }
  return reply.order ? { ok: true, ref: reply.order.orderId, units: routedUnits(reply.order.shipments) } : { ok: false, code: "no_order_in_reply" }
}

/** Opens the data folder again (recovery from the journal) and checks the recovered state against the ledger. */
export const auditDataDir = async (dataDir: string, w: CompareWorkload, acks: ReadonlyArray<Ack>): Promise<Audit> => {
  const { engine, close } = await openEngine(dataDir)
  try {
    const d = engine.view
    const pools = auditPools(w, (sku, nodeId) => {
      const p = d.poolView(sku, nodeId)
      return p.held + p.allocated
    })
    let lostAcks = 0
    for (const a of acks) {
      if (a.kind === "hold") {
        const h = Queries.hold(d, a.ref)
        if (h === undefined || h.qty !== a.units) lostAcks++
      } else {
        const o = (await Queries.order(engine, a.ref))
        if (o === undefined || routedUnits(o.shipments) !== a.units) lostAcks++
      }
    }
    return { ...pools, lostAcks }
  } finally {
    await close()
  }
}

export class EngineContender implements Contender {
  readonly name = "engine"
  private dir = ""
  private opened: OpenedEngine | undefined
  private w: CompareWorkload | undefined

  durability(): string {
    return embeddedDurability
  }

  async setup(w: CompareWorkload): Promise<void> {
    this.w = w
    this.dir = mkdtempSync(join(tmpdir(), "oms-compare-engine-"))
    this.opened = await openEngine(this.dir)
    await loadWorkload(this.opened.engine, w)
  }

  async handle(r: CompareRequest): Promise<Outcome> {
    return outcomeOf(r, await this.opened!.engine.submit(commandOf(r)))
  }

  async audit(acks: ReadonlyArray<Ack>): Promise<Audit> {
    await this.opened?.close()
    this.opened = undefined
    return auditDataDir(this.dir, this.w!, acks)
  }

  async close(): Promise<void> {
    await this.opened?.close()
    this.opened = undefined
    if (this.dir !== "") rmSync(this.dir, { recursive: true, force: true })
  }
}

export const contender = (): Contender => new EngineContender()
