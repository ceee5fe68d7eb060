/**
 * Hand-built contexts for testing actors in isolation, without the runtime:
 * the fixture network as a NetworkState, a StockPool context around one
 * partition's StockState, and an Order context around one OrderBook whose
 * messages to the pools are recorded (and accepted) rather than carried out.
 * Events are applied with the actors' own evolve, and kept for the test to read.
 */
import type { EngineConfig } from "../config.ts"
import type { NetworkCommand } from "../domain/commands.ts"
import { reject } from "../domain/errors.ts"
import type { OrderEvent, PoolEvent } from "../domain/events.ts"
import { decideNetwork, emptyNetwork, evolveNetwork, type NetworkState } from "../network/network-actor.ts"
import { placeOrder } from "../order/capture.ts"
import { applyOrderEvent, emptyOrderBook, type OrderBook } from "../order/order-book.ts"
import type { OrderContext } from "../order/order-context.ts"
import { emptyStock, evolvePool, partitionOfHold, poolAtp, type Hold, type StockState } from "../pool/pool-actor.ts"
import type { PoolContext } from "../pool/pool-context.ts"
import type { PoolPort } from "../pool/pool-port.ts"
import { route } from "../routing/index.ts"
import type { CapacityLookup } from "../routing/types.ts"
import { fixtureCommands, testConfig } from "./fixture.ts"

/** One partition, so every SKU, hold and order of a test lives in the one state built. */
export const actorConfig = (): EngineConfig => testConfig({ partitions: 1 })

/** The fixture network (four nodes, three SKUs, two channels), built by the Network actor's own decide and evolve. */
export const fixtureNetwork = (config: EngineConfig = actorConfig(), now = 0): NetworkState => {
  const net = emptyNetwork()
  for (const c of fixtureCommands) {
    const d = decideNetwork(net, c as NetworkCommand, now, config)
    if ("ok" in d) throw new Error(`${c.type} refused: ${d.code}`)
    for (const e of d.events) evolveNetwork(net, e)
  }
  return net
}

/** Every node can take more shipments today. */
export const unlimitedCapacity: CapacityLookup = { remaining: () => 1_000_000, usedShare: () => 0 }

export interface PoolHarness {
  readonly ctx: PoolContext
  readonly stock: StockState
  readonly events: Array<PoolEvent>
  /** Moves the clock. */
  now: number
}

export const poolHarness = (net: NetworkState = fixtureNetwork(), config: EngineConfig = actorConfig()): PoolHarness => {
  const stock = emptyStock(0, config)
  const h: PoolHarness = {
    stock,
    events: [],
    now: Date.UTC(2026, 10, 27, 5),
    ctx: {
      get now() { return h.now },
      config,
      net,
      stockOf: () => stock,
      stockOfHold: (holdId) => (partitionOfHold(holdId) === 0 ? stock : undefined),
      emit: (e) => {
        h.events.push(e)
        evolvePool(stock, net, e)
      },
      stock: {
        atp: (sku, nodeId) => poolAtp(stock, net, sku, nodeId),
        row: (sku) => (nodeNo) => poolAtp(stock, net, sku, net.nodes[nodeNo].nodeId)
      },
      capacity: unlimitedCapacity,
      route
    }
  }
  return h
}

/** A message an Order actor sent to the pools: the method and its arguments. */
export type PoolMessage = readonly [keyof PoolPort, ...Array<unknown>]

export interface OrderHarness {
  readonly ctx: OrderContext
  readonly book: OrderBook
  /** Order events emitted, oldest first. */
  readonly events: Array<OrderEvent>
  /** Messages sent to the pools, oldest first. */
  readonly messages: Array<PoolMessage>
  /** ATP routing sees, by "sku@node". */
  readonly atp: Map<string, number>
  /** Cart holds the pools know, by id. */
  readonly holds: Map<string, Hold>
  now: number
}

/** An Order context whose pools accept every reservation and record every message. */
export const orderHarness = (net: NetworkState = fixtureNetwork(), config: EngineConfig = actorConfig()): OrderHarness => {
  const book = emptyOrderBook(0)
  let seq = 0
  const record = (...m: PoolMessage): undefined => {
    h.messages.push(m)
    return undefined
  }
  const pools: PoolPort = {
    findHold: (holdId, channel) => {
      const hold = h.holds.get(holdId)
      return hold && hold.channel === channel ? hold : reject("hold_not_found")
    },
    endHold: (...a) => record("endHold", ...a),
    reserve: (...a) => record("reserve", ...a),
    allocate: (...a) => record("allocate", ...a),
    release: (...a) => record("release", ...a),
    ship: (...a) => record("ship", ...a),
    writeOff: (...a) => record("writeOff", ...a),
    restock: (...a) => record("restock", ...a)
  }
  const h: OrderHarness = {
    book,
    events: [],
    messages: [],
    atp: new Map(),
    holds: new Map(),
    now: Date.UTC(2026, 10, 27, 5),
    ctx: {
      get now() { return h.now },
      config,
      net,
      stock: { atp: (sku, nodeId) => h.atp.get(`${sku}@${nodeId}`) ?? 0 },
      capacity: unlimitedCapacity,
      route,
      pools,
      emit: (e) => {
        h.events.push(e)
        return applyOrderEvent(book, e, ++seq, config)
      },
      placeOrder: (c) => placeOrder(book, c, h.ctx)
    }
  }
  return h
}
