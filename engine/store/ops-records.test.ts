/**
 * The ops records contract (ops-records.ts) against each implementation: in
 * memory, the embedded PGlite store, and a real PostgreSQL (a fresh database
 * on DATABASE_URL's server, else postgres://postgres@127.0.0.1:5432/test;
 * unreachable: the run fails under CI, else that case is skipped with the
 * reason). Groups are inserted, replaced and deleted in one call and read
 * back newest first; audit entries get increasing ids and page backwards.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freshDatabase, postgresUnreachable } from "../testing/postgres.ts"
import { openJournalStore } from "./layer.ts"
import { memoryOpsRecords, type OpsRecordStore } from "./ops-records.ts"

const contract = (name: string, open: () => Promise<{ records: OpsRecordStore; close: () => Promise<void> }>) =>
  describe(name, () => {
    it("keeps alert groups and audit entries", async () => {
      const { records, close } = await open()
      try {
        await records.saveAlerts([
          { key: "low_stock|A", kind: "low_stock", severity: "info", lastAt: 10, body: "{\"a\":1}" },
          { key: "node_status|N1", kind: "node_status", severity: "warning", lastAt: 20, body: "{\"n\":1}" }
        ], [])
        await records.saveAlerts([{ key: "low_stock|A", kind: "low_stock", severity: "warning", lastAt: 30, body: "{\"a\":2}" }], ["node_status|N1", "never-stored"])
        expect(await records.loadAlerts(10)).toEqual([{ key: "low_stock|A", kind: "low_stock", severity: "warning", lastAt: 30, body: "{\"a\":2}" }])
        await records.saveAlerts([{ key: "shipment_late|o1", kind: "shipment_late", severity: "critical", lastAt: 40, body: "{}" }], [])
        expect((await records.loadAlerts(1)).map((r) => r.key)).toEqual(["shipment_late|o1"])

        const first = await records.appendAudit({ at: 1_764_000_000_000, who: "ana", action: "node.setStatus", target: "/v1/nodes/N1/status", reason: "count", detail: "{\"status\":\"paused\"}" })
        const second = await records.appendAudit({ at: 1_764_000_000_500, who: "bo", action: "alert.mute", target: "low_stock|A", reason: "known", detail: "" })
        expect(second.id).toBeGreaterThan(first.id)
        expect(await records.readAudit(10)).toEqual([second, first])
        expect(await records.readAudit(10, second.id)).toEqual([first])
        expect(await records.readAudit(1)).toEqual([second])
      } finally {
        await close()
      }
    }, 60_000)
  })

contract("ops records in memory", async () => ({ records: memoryOpsRecords(), close: async () => {} }))

const dataDir = mkdtempSync(path.join(tmpdir(), "oms-ops-records-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
contract("ops records in the embedded store", async () => {
  const { store, close } = await openJournalStore({ backend: "embedded", dataDir })
  return { records: store.opsRecords!, close }
})

const unreachable = await postgresUnreachable()
if (unreachable && process.env.CI) throw new Error(`the ops records test needs PostgreSQL under CI: ${unreachable}`)
if (unreachable) console.warn(`skipping the PostgreSQL ops records test: ${unreachable}`)
describe.skipIf(unreachable !== undefined)("PostgreSQL", () => {
  contract("ops records in PostgreSQL", async () => {
    const db = await freshDatabase()
    const { store, close } = await openJournalStore({ backend: "postgres", url: db.url })
    return { records: store.opsRecords!, close: async () => { await close(); await db.drop() } }
  })
})
