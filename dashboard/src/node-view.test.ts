import { describe, expect, it } from "vitest"
import type { NodeRow } from "./feed-types.ts"
import { visibleNodes, type NodeFilter } from "./node-view.ts"

const row = (nodeId: string, kind: string, status: string, load: number, rejections: number): NodeRow =>
  ({ nodeId, kind, status, load, rejections, shortPicks: 0, shipmentsToday: Math.round(load * 100), capacityPerDay: 100 })

const rows = [
  row("DC-10", "warehouse", "online", 0.5, 3),
  row("DC-2", "warehouse", "offline", 0.9, 0),
  row("ST-001", "store", "paused", 0.1, 7),
  row("ST-002", "store", "online", 0.9, 1)
]
const names = new Map([["DC-10", "Dallas DC"], ["DC-2", "Reno DC"], ["ST-001", "Austin Store"], ["ST-002", "Denver Store"]])
const all: NodeFilter = { text: "", status: "", kind: "" }
const ids = (r: ReadonlyArray<NodeRow>) => r.map((x) => x.nodeId)

describe("the node table's rows", () => {
  it("sorts node ids naturally, and by a figure either way, ties in network order", () => {
    expect(ids(visibleNodes(rows, names, all, { key: "node", descending: false }))).toEqual(["DC-2", "DC-10", "ST-001", "ST-002"])
    expect(ids(visibleNodes(rows, names, all, { key: "rejections", descending: true }))).toEqual(["ST-001", "DC-10", "ST-002", "DC-2"])
    expect(ids(visibleNodes(rows, names, all, { key: "load", descending: true }))).toEqual(["DC-2", "ST-002", "DC-10", "ST-001"])
    expect(ids(visibleNodes(rows, names, all, { key: "status", descending: true }))).toEqual(["DC-2", "ST-001", "DC-10", "ST-002"])
  })

  it("filters by status and kind, and searches id and name ignoring case", () => {
    const sort = { key: "node", descending: false } as const
    expect(ids(visibleNodes(rows, names, { ...all, status: "online" }, sort))).toEqual(["DC-10", "ST-002"])
    expect(ids(visibleNodes(rows, names, { ...all, kind: "store" }, sort))).toEqual(["ST-001", "ST-002"])
    expect(ids(visibleNodes(rows, names, { ...all, text: "denver" }, sort))).toEqual(["ST-002"])
    expect(ids(visibleNodes(rows, names, { ...all, text: "dc-" }, sort))).toEqual(["DC-2", "DC-10"])
    expect(ids(visibleNodes(rows, names, { text: "st", status: "paused", kind: "store" }, sort))).toEqual(["ST-001"])
    expect(visibleNodes(rows, names, { ...all, text: "nowhere" }, sort)).toEqual([])
  })
})
