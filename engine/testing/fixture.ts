/**
 * A small, fully known network for engine tests: four nodes around Texas and
 * Ohio, three SKUs, two channels; an engine opened on a given store with a
 * clock the test moves by hand.
 */
import { loadConfig, type EngineConfig } from "../config.ts"
import type { Command } from "../domain/commands.ts"
import type { Reply } from "../domain/replies.ts"
import { route } from "../routing/index.ts"
import { Engine } from "../runtime/engine.ts"
import type { JournalStore } from "../store/journal.ts"

export const places = {
  dallas: { lat: 32.7767, lon: -96.797 },
  houston: { lat: 29.7604, lon: -95.3698 },
  austin: { lat: 30.2672, lon: -97.7431 },
  columbus: { lat: 39.9612, lon: -82.9988 },
  cleveland: { lat: 41.4993, lon: -81.6944 }
} as const

export const fixtureCommands: ReadonlyArray<Command> = [
  { type: "node.upsert", nodeId: "WH-DAL", name: "Dallas DC", kind: "warehouse", location: places.dallas, capacityPerDay: 1000, groups: ["south"] },
  { type: "node.upsert", nodeId: "WH-COL", name: "Columbus DC", kind: "warehouse", location: places.columbus, capacityPerDay: 1000, groups: ["east"] },
  { type: "node.upsert", nodeId: "ST-HOU", name: "Houston store", kind: "store", location: places.houston, capacityPerDay: 50, groups: ["south"] },
  { type: "node.upsert", nodeId: "ST-AUS", name: "Austin store", kind: "store", location: places.austin, capacityPerDay: 50, groups: ["south"] },
  { type: "sku.upsert", sku: "TV-55", name: "55 inch TV", weightGrams: 15000 },
  { type: "sku.upsert", sku: "HDMI", name: "HDMI cable", weightGrams: 100 },
  { type: "sku.upsert", sku: "SOUNDBAR", name: "Soundbar", weightGrams: 4000 },
  { type: "channel.upsert", channel: "web" },
  { type: "channel.upsert", channel: "marketplace", policy: { shipFromStore: false, maxSplits: 1 } }
]

export class ManualClock {
  constructor(public t = Date.UTC(2026, 10, 27, 5, 0, 0)) {}
  readonly now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

export const testConfig = (overrides: Partial<EngineConfig> = {}): EngineConfig =>
  loadConfig({ partitions: 4, snapshotEveryEvents: 1_000_000, journalRetainEvents: 10_000_000, ...overrides }, {})

export const openEngine = (store: JournalStore, clock: ManualClock, overrides: Partial<EngineConfig> = {}) =>
  Engine.open({ store, config: testConfig(overrides), router: route, clock: clock.now, timerPollMs: 5, log: () => {} })

/** Submits commands one after another, failing loudly if one is refused. */
export const run = async (engine: Engine, commands: ReadonlyArray<Command>): Promise<Array<Reply>> => {
  const replies: Array<Reply> = []
  for (const c of commands) {
    const r = await engine.submit(c)
    if (!r.ok) throw new Error(`${c.type} refused: ${r.code} ${r.message}`)
    replies.push(r)
  }
  return replies
}
