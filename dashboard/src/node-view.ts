/**
 * Which nodes the node table shows, and in what order: filtered by status,
 * kind and a search over node id and name (ignoring case), sorted by a
 * column. Pure functions of the feed's rows, so a network of hundreds of
 * nodes stays readable and the rules are tested without a browser.
 */
import type { NodeRow } from "./feed-types.ts"

export type NodeSortKey = "node" | "kind" | "status" | "load" | "rejections" | "shortPicks"

export interface NodeSort {
  readonly key: NodeSortKey
  readonly descending: boolean
}

export interface NodeFilter {
  /** Matched against node id and name, ignoring case; "" matches every node. */
  readonly text: string
  /** "" for any. */
  readonly status: string
  /** "" for any. */
  readonly kind: string
}

/** Worst first when sorting by status descending. */
const statusRank: Readonly<Record<string, number>> = { online: 0, paused: 1, offline: 2 }

const compareBy: Readonly<Record<NodeSortKey, (a: NodeRow, b: NodeRow) => number>> = {
  node: (a, b) => a.nodeId.localeCompare(b.nodeId, "en", { numeric: true }),
  kind: (a, b) => a.kind.localeCompare(b.kind),
  status: (a, b) => (statusRank[a.status] ?? 3) - (statusRank[b.status] ?? 3),
  load: (a, b) => a.load - b.load,
  rejections: (a, b) => a.rejections - b.rejections,
  shortPicks: (a, b) => a.shortPicks - b.shortPicks
}

export const matchesNode = (r: NodeRow, name: string | undefined, f: NodeFilter): boolean => {
  if (f.status !== "" && r.status !== f.status) return false
  if (f.kind !== "" && r.kind !== f.kind) return false
  const q = f.text.trim().toLowerCase()
  return q === "" || r.nodeId.toLowerCase().includes(q) || (name ?? "").toLowerCase().includes(q)
}

/** The rows to show, in order; ties keep network order (node id for the node column). */
export const visibleNodes = (
  rows: ReadonlyArray<NodeRow>, names: ReadonlyMap<string, string>, filter: NodeFilter, sort: NodeSort
): Array<NodeRow> => {
  const shown = rows.filter((r) => matchesNode(r, names.get(r.nodeId), filter))
  const cmp = compareBy[sort.key]
  const order = new Map(rows.map((r, i) => [r.nodeId, i]))
  return shown.sort((a, b) => (sort.descending ? cmp(b, a) : cmp(a, b)) || order.get(a.nodeId)! - order.get(b.nodeId)!)
}
