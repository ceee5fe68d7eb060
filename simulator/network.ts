/**
 * The network a scenario runs on: the demo network of engine/demo/network.ts
 * (fulfillment nodes at real US cities, a catalog with weights and prices,
 * four channels with their routing policies, two carriers, stock), sized by the scenario,
 * with the scenario's doorbuster stock, and the keys the simulator's gateway
 * is started with (one storefront key per channel, one node key per node,
 * an ops token).
 */
import {
  demoNetwork,
  type DemoCatalogItem,
  type LoadRow,
  type UpsertCarrier,
  type UpsertChannel,
  type UpsertNode,
  type UpsertSku
} from "../engine/index.ts"
import type { KeysConfig } from "../gateway/keys.ts"
import type { Scenario } from "./scenario.ts"

export interface SimNetwork {
  readonly nodes: ReadonlyArray<UpsertNode>
  readonly skus: ReadonlyArray<UpsertSku>
  readonly catalog: ReadonlyArray<DemoCatalogItem>
  readonly channels: ReadonlyArray<UpsertChannel>
  /** The demo's carriers, provisioned when the gateway has none (delivery promises need them). */
  readonly carriers: ReadonlyArray<UpsertCarrier>
  /** Absolute on-hand counts loaded before the day starts. */
  readonly stock: ReadonlyArray<LoadRow>
  readonly doorbusters: ReadonlyArray<string>
  /** Regular (non-doorbuster) SKUs, most popular first (Zipf rank order). */
  readonly regular: ReadonlyArray<string>
}

export const buildNetwork = (s: Scenario): SimNetwork => {
  const demo = demoNetwork({
    seed: s.network.seed ?? 7,
    warehouses: s.network.warehouses ?? 5,
    stores: s.network.stores ?? 40,
    skus: s.catalog.skus,
    doorbusters: s.doorbusters.count
  })
  const doorbusters = demo.catalog.filter((c) => c.doorbuster).map((c) => c.sku)
  const isDoorbuster = new Set(doorbusters)
  let stock: Array<LoadRow> = [...demo.inventory]
  const { unitsPerWarehouse, unitsPerStore } = s.doorbusters
  if (unitsPerWarehouse !== undefined || unitsPerStore !== undefined) {
    stock = stock.filter((r) => !isDoorbuster.has(r.sku))
    for (const sku of doorbusters) {
      for (const n of demo.nodes) {
        const units = n.kind === "warehouse" ? unitsPerWarehouse : unitsPerStore
        if (units !== undefined && units > 0) stock.push({ sku, nodeId: n.nodeId, onHand: units })
      }
    }
  }
  return {
    nodes: demo.nodes,
    skus: demo.skus,
    catalog: demo.catalog,
    channels: demo.channels,
    carriers: demo.carriers,
    stock,
    doorbusters,
    regular: demo.catalog.filter((c) => !c.doorbuster).map((c) => c.sku)
  }
}

export interface SimKeys {
  /** channel -> storefront key */
  readonly storefront: Readonly<Record<string, string>>
  /** node id -> node key */
  readonly node: Readonly<Record<string, string>>
  readonly ops: string
}

/** Keys for a gateway the simulator starts itself. */
export const simKeys = (network: SimNetwork): SimKeys => ({
  storefront: Object.fromEntries(network.channels.map((c) => [c.channel, `sim-sf-${c.channel}`])),
  node: Object.fromEntries(network.nodes.map((n) => [n.nodeId, `sim-nk-${n.nodeId}`])),
  ops: "sim-ops-token"
})

/** The same keys as the gateway's key file (gateway/keys.ts). */
export const keysConfigOf = (k: SimKeys): KeysConfig => ({
  storefronts: Object.fromEntries(Object.entries(k.storefront).map(([channel, key]) => [key, channel])),
  nodes: Object.fromEntries(Object.entries(k.node).map(([nodeId, key]) => [key, nodeId])),
  ops: k.ops,
  internal: "sim-internal-token"
})

/** Keys of a running gateway from its key file (as GATEWAY_KEYS), for `--target`. */
export const simKeysFromConfig = (c: KeysConfig): SimKeys => {
  const ops = c.ops === undefined ? undefined : typeof c.ops === "string" ? c.ops : Array.isArray(c.ops) ? c.ops[0] : Object.keys(c.ops)[0]
  if (ops === undefined) throw new Error("the keys file has no ops token; the simulator needs one (admin routes, node status, audit)")
  return {
    storefront: Object.fromEntries(Object.entries(c.storefronts ?? {}).map(([key, channel]) => [channel, key])),
    node: Object.fromEntries(Object.entries(c.nodes ?? {}).map(([key, nodeId]) => [nodeId, key])),
    ops
  }
}

/** The demo keys `npm start` prints (gateway/keys.ts demoKeys), for `--target` without `--keys`. */
export const demoSimKeys = (network: SimNetwork): SimKeys => ({
  storefront: Object.fromEntries(network.channels.map((c) => [c.channel, `sf-demo-${c.channel}`])),
  node: Object.fromEntries(network.nodes.map((n) => [n.nodeId, `nk-demo-${n.nodeId}`])),
  ops: "ops-demo-token"
})
