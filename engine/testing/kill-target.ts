/**
 * A real engine process for the crash test: opens the engine on the embedded
 * store in the data folder given as argument, stocks the fixture network, then
 * makes reservations (holds) as fast as it can, 100 in flight at a time,
 * printing `SENT <n>` before submitting keys up to n and `ACK <key> <holdId>`
 * for each durable acknowledgement, until it is killed.
 */
import { loadConfig } from "../config.ts"
import { route } from "../routing/index.ts"
import { Engine } from "../runtime/engine.ts"
import { openJournalStore } from "../store/layer.ts"
import { fixtureCommands } from "./fixture.ts"

const dataDir = process.argv[2]
const { store } = await openJournalStore({ backend: "embedded", dataDir })
const engine = await Engine.open({ store, config: loadConfig({ partitions: 4 }, {}), router: route })
for (const c of fixtureCommands) await engine.submit(c)
await engine.submit({ type: "inventory.receive", sku: "HDMI", nodeId: "WH-DAL", qty: 100_000 })
process.stdout.write("READY\n")
let n = 0
for (;;) {
  const keys = Array.from({ length: 100 }, () => `k${n++}`)
  process.stdout.write(`SENT ${n - 1}\n`)
  const replies = await Promise.all(keys.map((key) =>
    engine.submit({ type: "hold.create", channel: "web", sku: "HDMI", nodeId: "WH-DAL", qty: 1, ttlMs: 3_600_000, key })))
  process.stdout.write(replies.map((r, i) => (r.ok ? `ACK ${keys[i]} ${r.hold!.holdId}\n` : `NAK ${keys[i]} ${r.code}\n`)).join(""))
  if (replies.some((r) => !r.ok) || n > 100_000) process.exit(1)
}
