/**
 * The Network actor: fulfillment nodes, the SKU catalog and the channels with
 * their routing policies. One per engine, journaled in its own stream ("net").
 * Every partition reads it (it changes rarely); only this actor changes it.
 *
 * Order: state, decide (command handlers), evolve.
 */
import type { EngineConfig } from "../config.ts"
import type { NetworkCommand, SetNodeStatus, UpsertChannel, UpsertNode, UpsertSku } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { NetworkEvent } from "../domain/events.ts"
import {
  defaultPolicy, defaultWeights, isLatLon,
  type Channel, type FulfillmentNode, type NodeService, type RoutingPolicy, type Sku
} from "../domain/network.ts"
import { checkId, isCount } from "../domain/validate.ts"

// ---- state -------------------------------------------------------------------

export interface NetworkState {
  /** Nodes in the order they were first declared; a node's index never changes. */
  readonly nodes: Array<FulfillmentNode>
  readonly nodeIndex: Map<string, number>
  /** SKUs in the order they were first declared; a SKU's number never changes. */
  readonly skus: Array<Sku>
  readonly skuIndex: Map<string, number>
  readonly channels: Map<string, Channel>
}

export const emptyNetwork = (): NetworkState => ({
  nodes: [],
  nodeIndex: new Map(),
  skus: [],
  skuIndex: new Map(),
  channels: new Map()
})

export const nodeById = (net: NetworkState, nodeId: string): FulfillmentNode | undefined => {
  const i = net.nodeIndex.get(nodeId)
  return i === undefined ? undefined : net.nodes[i]
}

export const skuById = (net: NetworkState, sku: string): Sku | undefined => {
  const i = net.skuIndex.get(sku)
  return i === undefined ? undefined : net.skus[i]
}

// ---- decide -------------------------------------------------------------------

export type NetworkDecision = { readonly events: ReadonlyArray<NetworkEvent> } | Rejection

const services: ReadonlyArray<NodeService> = ["ship", "pickup"]

const upsertNode = (net: NetworkState, c: UpsertNode, now: number, config: EngineConfig): NetworkDecision => {
  const bad = checkId(c.nodeId, config) ?? checkId(c.name, config)
  if (bad) return bad
  if (c.kind !== "warehouse" && c.kind !== "store") return reject("malformed_command", "kind must be warehouse or store")
  if (!isLatLon(c.location)) return reject("invalid_location", "node location needs lat in -90..90 and lon in -180..180")
  if (!isCount(c.capacityPerDay) || c.capacityPerDay < 1) return reject("malformed_command", "capacityPerDay must be a positive whole number")
  const priority = c.priority ?? 1
  if (!isCount(priority) || priority < 1 || priority > 100) return reject("malformed_command", "priority must be a whole number in 1..100")
  const nodeServices = c.services ?? (c.kind === "warehouse" ? ["ship"] : ["ship", "pickup"])
  if (!Array.isArray(nodeServices) || nodeServices.some((s) => !services.includes(s))) {
    return reject("malformed_command", "services must be a list of ship, pickup")
  }
  const groups = c.groups ?? []
  if (!Array.isArray(groups) || groups.some((g) => checkId(g, config) !== undefined)) return reject("malformed_command", "groups must be a list of ids")
  const existing = nodeById(net, c.nodeId)
  if (!existing && net.nodes.length >= config.nodesMax) return reject("too_many_lines", `at most ${config.nodesMax} nodes`)
  const wanted = c.status ?? existing?.status ?? "online"
  if (wanted !== "online" && wanted !== "paused" && wanted !== "offline") return reject("malformed_command", "status must be online, paused or offline")
  // an existing node changes status only through NodeStatusChanged, so an outage re-routes its work whichever command said it
  const status = existing ? existing.status : wanted
  const node: FulfillmentNode = {
    nodeId: c.nodeId,
    name: c.name,
    kind: c.kind,
    location: { lat: c.location.lat, lon: c.location.lon },
    status,
    capacityPerDay: c.capacityPerDay,
    priority,
    services: [...nodeServices],
    groups: [...groups]
  }
  if (!existing || existing.status === wanted) return { events: [{ type: "NodeUpserted", node }] }
  return { events: [{ type: "NodeUpserted", node }, { type: "NodeStatusChanged", nodeId: c.nodeId, status: wanted, reason: "node.upsert", at: now }] }
}

const setNodeStatus = (net: NetworkState, c: SetNodeStatus, now: number): NetworkDecision => {
  const node = nodeById(net, c.nodeId)
  if (!node) return reject("unknown_node")
  if (c.status !== "online" && c.status !== "paused" && c.status !== "offline") return reject("malformed_command", "status must be online, paused or offline")
  if (node.status === c.status) return { events: [] }
  return { events: [{ type: "NodeStatusChanged", nodeId: c.nodeId, status: c.status, reason: typeof c.reason === "string" ? c.reason.slice(0, 200) : "", at: now }] }
}

const upsertSku = (c: UpsertSku, config: EngineConfig): NetworkDecision => {
  const bad = checkId(c.sku, config)
  if (bad) return bad
  if (typeof c.name !== "string" || c.name.length > 200) return reject("malformed_command", "name must be a string of at most 200 characters")
  if (!isCount(c.weightGrams)) return reject("malformed_command", "weightGrams must be a whole number >= 0")
  return { events: [{ type: "SkuUpserted", sku: { sku: c.sku, name: c.name, weightGrams: c.weightGrams } }] }
}

const isNonNegative = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x >= 0

const upsertChannel = (net: NetworkState, c: UpsertChannel, config: EngineConfig): NetworkDecision => {
  const bad = checkId(c.channel, config)
  if (bad) return bad
  const base = net.channels.get(c.channel)?.policy ?? defaultPolicy
  const p = c.policy ?? {}
  if (typeof p !== "object" || p === null) return reject("malformed_command", "policy must be an object")
  for (const key of ["allowedNodeIds", "allowedGroups"] as const) {
    const list = p[key]
    if (list !== undefined && (!Array.isArray(list) || list.length > config.nodesMax || list.some((x) => typeof x !== "string"))) {
      return reject("malformed_command", `${key} must be a list of ids`)
    }
  }
  if (p.weights !== undefined && (typeof p.weights !== "object" || p.weights === null)) return reject("malformed_command", "weights must be an object")
  // only the known weights are kept: anything else in the request is ignored
  const weights = { ...base.weights }
  for (const key of Object.keys(defaultWeights) as Array<keyof typeof defaultWeights>) {
    const w = p.weights?.[key]
    if (w !== undefined) weights[key] = w
  }
  const policy: RoutingPolicy = {
    allowedNodeIds: [...(p.allowedNodeIds ?? base.allowedNodeIds)],
    allowedGroups: [...(p.allowedGroups ?? base.allowedGroups)],
    maxSplits: p.maxSplits ?? base.maxSplits,
    maxDistanceKm: p.maxDistanceKm ?? base.maxDistanceKm,
    shipFromStore: p.shipFromStore ?? base.shipFromStore,
    weights
  }
  if (!isCount(policy.maxSplits) || policy.maxSplits > 16) return reject("malformed_command", "maxSplits must be a whole number in 0..16")
  if (!isNonNegative(policy.maxDistanceKm)) return reject("malformed_command", "maxDistanceKm must be >= 0")
  if (typeof policy.shipFromStore !== "boolean") return reject("malformed_command", "shipFromStore must be true or false")
  for (const key of Object.keys(defaultWeights) as Array<keyof typeof defaultWeights>) {
    if (!isNonNegative(weights[key])) return reject("malformed_command", `weights.${key} must be a number >= 0`)
  }
  for (const id of [...policy.allowedNodeIds, ...policy.allowedGroups]) {
    const badId = checkId(id, config)
    if (badId) return badId
  }
  for (const id of policy.allowedNodeIds) if (!net.nodeIndex.has(id)) return reject("unknown_node", `policy names unknown node ${id}`)
  return { events: [{ type: "ChannelUpserted", channel: { channel: c.channel, policy } }] }
}

export const decideNetwork = (net: NetworkState, c: NetworkCommand, now: number, config: EngineConfig): NetworkDecision => {
  switch (c.type) {
    case "node.upsert": return upsertNode(net, c, now, config)
    case "node.setStatus": return setNodeStatus(net, c, now)
    case "sku.upsert": return upsertSku(c, config)
    case "channel.upsert": return upsertChannel(net, c, config)
  }
}

// ---- evolve --------------------------------------------------------------------

/** Replaces the entry with this id, or appends it: an entry's position never changes. */
const upsertIndexed = <A>(list: Array<A>, index: Map<string, number>, id: string, value: A): void => {
  const i = index.get(id)
  if (i === undefined) {
    index.set(id, list.length)
    list.push(value)
  } else list[i] = value
}

export const evolveNetwork = (net: NetworkState, e: NetworkEvent): void => {
  switch (e.type) {
    case "NodeUpserted":
      upsertIndexed(net.nodes, net.nodeIndex, e.node.nodeId, e.node)
      return
    case "NodeStatusChanged": {
      const i = net.nodeIndex.get(e.nodeId)!
      net.nodes[i] = { ...net.nodes[i], status: e.status }
      return
    }
    case "SkuUpserted":
      upsertIndexed(net.skus, net.skuIndex, e.sku.sku, e.sku)
      return
    case "ChannelUpserted":
      net.channels.set(e.channel.channel, e.channel)
      return
  }
}

// ---- snapshot ------------------------------------------------------------------

export interface NetworkSnapshot {
  readonly nodes: ReadonlyArray<FulfillmentNode>
  readonly skus: ReadonlyArray<Sku>
  readonly channels: ReadonlyArray<Channel>
}

export const snapshotNetwork = (net: NetworkState): NetworkSnapshot => ({
  nodes: net.nodes,
  skus: net.skus,
  channels: [...net.channels.values()]
})

export const restoreNetwork = (s: NetworkSnapshot): NetworkState => {
  const net = emptyNetwork()
  for (const node of s.nodes) evolveNetwork(net, { type: "NodeUpserted", node })
  for (const sku of s.skus) evolveNetwork(net, { type: "SkuUpserted", sku })
  for (const channel of s.channels) evolveNetwork(net, { type: "ChannelUpserted", channel })
  return net
}
