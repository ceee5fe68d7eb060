/**
 * The Network actor: fulfillment nodes, the SKU catalog and the channels with
 * their routing policies. One per engine, journaled in its own stream ("net").
 * Every partition reads it (it changes rarely); only this actor changes it.
 *
 * Order: state, decide (command handlers), evolve.
 */
import type { EngineConfig } from "../config.ts"
import type { NetworkCommand, SetNodeStatus, UpsertCarrier, UpsertChannel, UpsertNode, UpsertSku } from "../domain/commands.ts"
import { reject, type Rejection } from "../domain/errors.ts"
import type { NetworkEvent } from "../domain/events.ts"
import {
  defaultPolicy, defaultWeights, isLatLon, weekdaysMonToFri,
  type Carrier, type Channel, type FulfillmentNode, type NodeService, type RoutingPolicy, type ServiceBand, type ServiceLevel, type Sku, type Weekday
} from "../domain/network.ts"
import { checkId, isCount } from "../domain/validate.ts"
import { isTimeZone, parseClock } from "../promise/calendar.ts"

/** Bounds of carrier configuration. */
export const carriersMax = 64
export const servicesPerCarrierMax = 16
export const bandsPerServiceMax = 16
export const transitDaysMax = 60

// ---- state -------------------------------------------------------------------

export interface NetworkState {
  /** Nodes in the order they were first declared; a node's index never changes. */
  readonly nodes: Array<FulfillmentNode>
  readonly nodeIndex: Map<string, number>
  /** SKUs in the order they were first declared; a SKU's number never changes. */
  readonly skus: Array<Sku>
  readonly skuIndex: Map<string, number>
  readonly channels: Map<string, Channel>
  /** Carriers and their service levels, by carrier id. */
  readonly carriers: Map<string, Carrier>
  /** The same, as a list (what promise computation reads); rebuilt on every carrier change. */
  carrierList: ReadonlyArray<Carrier>
}

export const emptyNetwork = (): NetworkState => ({
  nodes: [],
  nodeIndex: new Map(),
  skus: [],
  skuIndex: new Map(),
  channels: new Map(),
  carriers: new Map(),
  carrierList: []
})

/** Whether some carrier offers the service level code. */
export const serviceOffered = (net: NetworkState, service: string): boolean =>
  net.carrierList.some((c) => c.services.some((s) => s.service === service))

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
  if (c.pickupCutoff !== undefined && parseClock(c.pickupCutoff) === undefined) return reject("malformed_command", "pickupCutoff must be a local time HH:MM (00:00..23:59)")
  if (c.timeZone !== undefined && !isTimeZone(c.timeZone)) return reject("malformed_command", "timeZone must be an IANA time zone such as America/Chicago")
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
    groups: [...groups],
    ...(c.pickupCutoff !== undefined ? { pickupCutoff: c.pickupCutoff } : {}),
    ...(c.timeZone !== undefined ? { timeZone: c.timeZone } : {})
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

const isWeekdays = (x: unknown): x is ReadonlyArray<Weekday> =>
  Array.isArray(x) && x.length > 0 && x.length <= 7 && x.every((d) => isCount(d) && d <= 6) && new Set(x).size === x.length

const checkBand = (b: ServiceBand | undefined, previousKm: number): string | undefined => {
  if (typeof b !== "object" || b === null) return "each band is an object"
  if (!isNonNegative(b.upToKm) || b.upToKm <= previousKm) return "bands need upToKm > 0, in ascending order"
  if (!isCount(b.days) || b.days > transitDaysMax) return `days must be a whole number in 0..${transitDaysMax}`
  if (!isNonNegative(b.baseCents) || !isNonNegative(b.perKgCents)) return "baseCents and perKgCents must be numbers >= 0"
  return undefined
}

const upsertCarrier = (net: NetworkState, c: UpsertCarrier, config: EngineConfig): NetworkDecision => {
  const bad = checkId(c.carrier, config)
  if (bad) return bad
  if (typeof c.name !== "string" || c.name.length > 200) return reject("malformed_command", "name must be a string of at most 200 characters")
  if (!net.carriers.has(c.carrier) && net.carriers.size >= carriersMax) return reject("too_many_lines", `at most ${carriersMax} carriers`)
  if (!Array.isArray(c.services) || c.services.length === 0 || c.services.length > servicesPerCarrierMax) {
    return reject("malformed_command", `services must be a list of 1..${servicesPerCarrierMax} service levels`)
  }
  const pickupDays = c.pickupDays ?? weekdaysMonToFri
  const deliveryDays = c.deliveryDays ?? weekdaysMonToFri
  if (!isWeekdays(pickupDays) || !isWeekdays(deliveryDays)) return reject("malformed_command", "pickupDays and deliveryDays are non-empty lists of distinct weekdays 0 (Sunday) .. 6 (Saturday)")
  const services: Array<ServiceLevel> = []
  for (const s of c.services as ReadonlyArray<ServiceLevel>) {
    if (typeof s !== "object" || s === null) return reject("malformed_command", "each service level is an object")
    const badCode = checkId(s.service, config)
    if (badCode) return reject("malformed_command", "each service level needs a service code (an id)")
    if (services.some((x) => x.service === s.service)) return reject("duplicate_line", `service ${s.service} appears twice`)
    const name = s.name ?? s.service
    if (typeof name !== "string" || name.length > 200) return reject("malformed_command", "a service name is a string of at most 200 characters")
    if (!Array.isArray(s.bands) || s.bands.length === 0 || s.bands.length > bandsPerServiceMax) {
      return reject("malformed_command", `service ${s.service}: bands must be a list of 1..${bandsPerServiceMax} distance bands`)
    }
    let previous = 0
    for (const b of s.bands) {
      const why = checkBand(b, previous)
      if (why) return reject("malformed_command", `service ${s.service}: ${why}`)
      previous = b.upToKm
    }
    services.push({
      service: s.service, name,
      bands: s.bands.map((b) => ({ upToKm: b.upToKm, days: b.days, baseCents: b.baseCents, perKgCents: b.perKgCents }))
    })
  }
  const carrier: Carrier = {
    carrier: c.carrier, name: c.name, services,
    pickupDays: [...pickupDays].sort((a, b) => a - b), deliveryDays: [...deliveryDays].sort((a, b) => a - b)
  }
  return { events: [{ type: "CarrierUpserted", carrier }] }
}

export const decideNetwork = (net: NetworkState, c: NetworkCommand, now: number, config: EngineConfig): NetworkDecision => {
  switch (c.type) {
    case "node.upsert": return upsertNode(net, c, now, config)
    case "node.setStatus": return setNodeStatus(net, c, now)
    case "sku.upsert": return upsertSku(c, config)
    case "channel.upsert": return upsertChannel(net, c, config)
    case "carrier.upsert": return upsertCarrier(net, c, config)
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
    case "CarrierUpserted":
      net.carriers.set(e.carrier.carrier, e.carrier)
      net.carrierList = [...net.carriers.values()]
      return
  }
}

// ---- snapshot ------------------------------------------------------------------

export interface NetworkSnapshot {
  readonly nodes: ReadonlyArray<FulfillmentNode>
  readonly skus: ReadonlyArray<Sku>
  readonly channels: ReadonlyArray<Channel>
  /** Absent in snapshots taken before carriers existed. */
  readonly carriers?: ReadonlyArray<Carrier>
}

export const snapshotNetwork = (net: NetworkState): NetworkSnapshot => ({
  nodes: net.nodes,
  skus: net.skus,
  channels: [...net.channels.values()],
  carriers: net.carrierList
})

export const restoreNetwork = (s: NetworkSnapshot): NetworkState => {
  const net = emptyNetwork()
  for (const node of s.nodes) evolveNetwork(net, { type: "NodeUpserted", node })
  for (const sku of s.skus) evolveNetwork(net, { type: "SkuUpserted", sku })
  for (const channel of s.channels) evolveNetwork(net, { type: "ChannelUpserted", channel })
  for (const carrier of s.carriers ?? []) evolveNetwork(net, { type: "CarrierUpserted", carrier })
  return net
}
