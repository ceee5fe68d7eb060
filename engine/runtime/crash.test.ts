/**
 * Kills a real engine process (SIGKILL) while it is acknowledging
 * reservations, restarts the engine on the same data folder, and finds every
 * acknowledged reservation, none that was never sent, and pool counters that
 * agree with the holds they are made of.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { afterAll, describe, expect, it } from "vitest"
import { loadConfig } from "../config.ts"
import { route } from "../routing/index.ts"
import { openJournalStore } from "../store/layer.ts"
import { Engine } from "./engine.ts"
import * as Q from "./queries.ts"

const dataDir = mkdtempSync(join(tmpdir(), "oms-crash-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe("crash safety", () => {
  it("keeps every acknowledged reservation across a SIGKILL", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../testing/kill-target.ts"), dataDir], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    const acked = new Map<string, string>()
    let sent = -1
    let ready = false
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the engine process did not acknowledge 3,000 reservations in time")), 90_000)
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const [what, a, b] = line.split(" ")
        if (what === "READY") ready = true
        else if (what === "SENT") sent = Number(a)
        else if (what === "ACK") acked.set(a, b)
        if (acked.size >= 3_000 && child.exitCode === null && !child.killed) {
          child.kill("SIGKILL")
          clearTimeout(timer)
          resolve()
        }
      })
      child.on("exit", (code) => code !== null && reject(new Error(`engine process exited with ${code}`)))
    })
    await new Promise((resolve) => child.once("close", resolve))
    expect(ready).toBe(true)

    const { store, close } = await openJournalStore({ backend: "embedded", dataDir })
    const engine = await Engine.open({ store, config: loadConfig({ partitions: 4 }, {}), router: route })
    try {
      for (const [key, holdId] of acked) {
        const hold = Q.hold(engine.view, holdId)
        expect(hold, `acknowledged hold ${key} ${holdId}`).toBeDefined()
      }
      const recovered = engine.stats().holds
      expect(recovered).toBeGreaterThanOrEqual(acked.size)
      expect(recovered, "no hold that was never sent").toBeLessThanOrEqual(sent + 1)
      const pool = Q.pool(engine.view, "HDMI", "WH-DAL")!
      expect(pool.held).toBe(recovered)
      expect(pool.onHand).toBe(100_000)
      // a key that was acknowledged is answered from the recovered hold, not a new one
      const [key, holdId] = [...acked.entries()][acked.size - 1]
      const again = await engine.submit({ type: "hold.create", channel: "web", sku: "HDMI", nodeId: "WH-DAL", qty: 1, ttlMs: 3_600_000, key })
      expect(again).toMatchObject({ ok: true, existing: true, hold: { holdId } })
    } finally {
      await engine.close()
      await close()
    }
  }, 180_000)
})
