/**
 * The ops feed's per-node counters (shipments rejected, picks short) since
 * the journal began, kept per stream so that they survive a restart and
 * follow a partition to its next runner: each stream's counts are read from
 * the store (table ops_counter) when its engine is attached, and written back
 * (absolute values, only the streams that changed) once per tick. A stream's
 * counts are written only after they were read, so a slow read never
 * overwrites them with fewer. At most a tick's counts are lost if the process
 * dies; without a store (tests) they count from when the process started.
 */
import type { OpsHistoryStore } from "../engine/index.ts"

export type NodeCounter = "rejections" | "short_picks"

interface StreamCounts {
  readonly counts: Map<string, number>
  loaded: boolean
  dirty: boolean
}

const nameOf = (counter: NodeCounter, nodeId: string): string => `${counter}:${nodeId}`

export class NodeCounters {
  private readonly streams = new Map<string, StreamCounts>()
  private failing = false

  constructor(private readonly store?: OpsHistoryStore) {}

  /** Starts counting a stream, adding what the store kept of it. */
  attach(stream: string): void {
    if (this.streams.has(stream)) return
    const s: StreamCounts = { counts: new Map(), loaded: this.store === undefined, dirty: false }
    this.streams.set(stream, s)
    this.store?.loadCounters(stream).then(
      (rows) => {
        for (const r of rows) s.counts.set(r.name, (s.counts.get(r.name) ?? 0) + r.value)
        s.loaded = true
      },
      (e: unknown) => {
        // counted from zero until the next attach: never written, so the stored counts stay as they were
        console.error(`gateway: ops counters of ${stream} could not be read: ${String(e)}`)
      }
    )
  }

  /** Stops counting a stream (its partition moved): what changed is written first. */
  detach(stream: string): void {
    void this.save(stream)
    this.streams.delete(stream)
  }

  add(stream: string, counter: NodeCounter, nodeId: string): void {
    const s = this.streams.get(stream)
    if (!s) return
    const name = nameOf(counter, nodeId)
    s.counts.set(name, (s.counts.get(name) ?? 0) + 1)
    s.dirty = true
  }

  /** A node's count over every stream attached. */
  total(counter: NodeCounter, nodeId: string): number {
    const name = nameOf(counter, nodeId)
    let n = 0
    for (const s of this.streams.values()) n += s.counts.get(name) ?? 0
    return n
  }

  /** Writes the streams that changed (once a tick, and on closing); resolves when written (or failed, which is logged). */
  saveAll(): Promise<void> {
    return Promise.all([...this.streams.keys()].map((stream) => this.save(stream))).then(() => undefined)
  }

  private save(stream: string): Promise<void> {
    const s = this.streams.get(stream)
    if (!this.store || !s || !s.loaded || !s.dirty) return Promise.resolve()
    s.dirty = false
    const rows = [...s.counts].map(([name, value]) => ({ name, value }))
    return this.store.saveCounters(stream, rows).then(
      () => {
        this.failing = false
      },
      (e: unknown) => {
        s.dirty = true
        if (!this.failing) console.error(`gateway: ops counters could not be written: ${String(e)}`)
        this.failing = true
      }
    )
  }
}
