/**
 * The Network actor's decide in isolation, on a hand-built network: node
 * upserts (new, changed, with a status change) and node status changes, each
 * checked by the events it decides; evolve applies them.
 */
import { describe, expect, it } from "vitest"
import type { UpsertNode } from "../domain/commands.ts"
import { actorConfig, fixtureNetwork } from "../testing/actors.ts"
import { places } from "../testing/fixture.ts"
import { decideNetwork, emptyNetwork, evolveNetwork, nodeById, type NetworkDecision, type NetworkState } from "./network-actor.ts"

const config = actorConfig()
const now = Date.UTC(2026, 10, 27, 5)
const store: UpsertNode = { type: "node.upsert", nodeId: "ST-DAL", name: "Dallas store", kind: "store", location: places.dallas, capacityPerDay: 40 }
const events = (d: NetworkDecision) => ("ok" in d ? d : d.events)
const apply = (net: NetworkState, d: NetworkDecision) => {
  if ("ok" in d) throw new Error(d.code)
  for (const e of d.events) evolveNetwork(net, e)
}

describe("node.upsert", () => {
  it("adds a node with its defaults: online, priority 1, a store ships and offers pickup", () => {
    const net = emptyNetwork()
    const d = decideNetwork(net, store, now, config)
    expect(events(d)).toEqual([{ type: "NodeUpserted", node: expect.objectContaining({ nodeId: "ST-DAL", status: "online", priority: 1, services: ["ship", "pickup"], groups: [] }) }])
    apply(net, d)
    expect(nodeById(net, "ST-DAL")).toMatchObject({ kind: "store", capacityPerDay: 40 })
  })

  it("changes an existing node's status only through NodeStatusChanged, so an outage re-routes its work", () => {
    const net = fixtureNetwork(config)
    expect(events(decideNetwork(net, { ...store, nodeId: "ST-HOU", location: places.houston, status: "offline" }, now, config))).toEqual([
      { type: "NodeUpserted", node: expect.objectContaining({ nodeId: "ST-HOU", status: "online", capacityPerDay: 40 }) },
      { type: "NodeStatusChanged", nodeId: "ST-HOU", status: "offline", reason: "node.upsert", at: now }
    ])
  })

  it("refuses a malformed node and decides nothing", () => {
    const net = emptyNetwork()
    expect(decideNetwork(net, { ...store, kind: "depot" as never }, now, config)).toMatchObject({ ok: false, code: "malformed_command" })
    expect(decideNetwork(net, { ...store, location: { lat: 200, lon: 0 } }, now, config)).toMatchObject({ ok: false, code: "invalid_location" })
    expect(decideNetwork(net, { ...store, capacityPerDay: 0 }, now, config)).toMatchObject({ ok: false, code: "malformed_command" })
    expect(decideNetwork(net, { ...store, timeZone: "Mars/Olympus" }, now, config)).toMatchObject({ ok: false, code: "malformed_command" })
    expect(net.nodes).toEqual([])
  })
})

describe("node.setStatus", () => {
  it("pauses, takes offline and brings back a node; the same status again changes nothing", () => {
    const net = fixtureNetwork(config)
    const paused = decideNetwork(net, { type: "node.setStatus", nodeId: "WH-DAL", status: "paused", reason: "x".repeat(300) }, now, config)
    expect(events(paused)).toEqual([{ type: "NodeStatusChanged", nodeId: "WH-DAL", status: "paused", reason: "x".repeat(200), at: now }])
    apply(net, paused)
    expect(nodeById(net, "WH-DAL")!.status).toBe("paused")
    expect(events(decideNetwork(net, { type: "node.setStatus", nodeId: "WH-DAL", status: "paused" }, now, config))).toEqual([])
    expect(decideNetwork(net, { type: "node.setStatus", nodeId: "NOPE", status: "offline" }, now, config)).toMatchObject({ ok: false, code: "unknown_node" })
    expect(decideNetwork(net, { type: "node.setStatus", nodeId: "WH-DAL", status: "gone" as never }, now, config)).toMatchObject({ ok: false, code: "malformed_command" })
  })
})
