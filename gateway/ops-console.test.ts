/**
 * The ops console's HTTP routes against a real gateway on the embedded store
 * (PGlite): a node paused with the ops token raises a node_status alert and
 * an audit entry naming who and why; acknowledge and mute need a reason and
 * a valid duration (named refusals that change nothing); other principals
 * are refused; after the gateway and engine are closed and opened again on
 * the same data, the alert with its acknowledge and the audit log are still
 * there. An edge gateway forwards the routes to the owner and records what
 * ops did through it in the owner's log.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { Engine, loadConfig, openJournalStore, Queries, route } from "../engine/index.ts"
import { fixtureCommands, run } from "../engine/testing/fixture.ts"
import { loadGatewayConfig } from "./config.ts"
import { LocalEngine, RemoteEngine } from "./engine-access.ts"
import { makeKeyRing, opsNameOf } from "./keys.ts"
import type { AlertGroup, AuditEntry } from "./ops-feed-types.ts"
import { startGateway, type Gateway } from "./server.ts"
import { keys as testKeyOf, startTestGateway, testKeys } from "./testing/harness.ts"

const dataDir = mkdtempSync(path.join(tmpdir(), "oms-ops-console-"))
const keys = { ops: { "ops-token-ana": "ana", "ops-token-unnamed": "" }, nodes: { "nk-token-dal": "WH-DAL" }, internal: "internal-token-x" }

const open = async (): Promise<{ gateway: Gateway; close: () => Promise<void> }> => {
  const { store, close } = await openJournalStore({ backend: "embedded", dataDir })
  const engine = await Engine.open({ store, config: loadConfig({ partitions: 2 }, {}), router: route })
  if (Queries.nodes(engine.view).length === 0) await run(engine, fixtureCommands)
  const gateway = await startGateway({ config: loadGatewayConfig({ host: "127.0.0.1", port: 0, opsTickMs: 100 }, {}), keys: makeKeyRing(keys), engine: new LocalEngine(engine, store) })
  return { gateway, close: async () => { await gateway.close(); await engine.close(); await close() } }
}

const call = async <T>(g: Gateway, method: string, p: string, key: string, body?: unknown): Promise<{ status: number; body: T }> => {
  const res = await fetch(`${g.url}${p}`, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined })
  return { status: res.status, body: (await res.json()) as T }
}

const waitFor = async <T>(f: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const alerts = (g: Gateway, q = "") => call<{ alerts: Array<AlertGroup> }>(g, "GET", `/v1/ops/alerts${q}`, "ops-token-ana")

afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe("alerts and the audit log over HTTP, kept in the engine's store", () => {
  it("raises, acknowledges, mutes and audits; all of it survives a restart", async () => {
    let opened = await open()
    let g = opened.gateway
    try {
      expect((await call(g, "POST", "/v1/nodes/WH-DAL/status", "ops-token-ana", { status: "paused", reason: "stock count" })).status).toBe(200)
      const paused = await waitFor(async () => (await alerts(g)).body.alerts.find((a) => a.kind === "node_status" && a.nodeId === "WH-DAL" && a.message.includes("stock count")), "the pause alert")
      expect(paused).toMatchObject({ severity: "warning", message: "WH-DAL is paused: stock count", acknowledged: null, count: 1 })

      const audit = await call<{ entries: Array<AuditEntry>; durable: boolean }>(g, "GET", "/v1/ops/audit", "ops-token-ana")
      expect(audit.body.durable).toBe(true)
      expect(audit.body.entries[0]).toMatchObject({ who: "ana", action: "node.setStatus", target: "/v1/nodes/WH-DAL/status", reason: "stock count" })
      expect(JSON.parse(audit.body.entries[0].detail)).toEqual({ status: "paused" })

      // refusals are named and change nothing
      expect((await call<{ error: { code: string } }>(g, "POST", `/v1/ops/alerts/${paused.id}/acknowledge`, "ops-token-ana", {})).body.error.code).toBe("reason_required")
      expect((await call<{ error: { code: string } }>(g, "POST", `/v1/ops/alerts/${paused.id}/mute`, "ops-token-ana", { reason: "x", minutes: -1 })).body.error.code).toBe("mute_duration_invalid")
      expect((await call<{ error: { code: string } }>(g, "POST", "/v1/ops/alerts/unknown/acknowledge", "ops-token-ana", { reason: "x" })).status).toBe(404)
      expect((await call(g, "POST", `/v1/ops/alerts/${paused.id}/acknowledge`, "nk-token-dal", { reason: "x" })).status).toBe(403)
      expect((await call<{ error: { code: string } }>(g, "GET", "/v1/ops/alerts?severity=loud", "ops-token-ana")).body.error.code).toBe("invalid_filter")
      expect((await call<{ entries: Array<AuditEntry> }>(g, "GET", "/v1/ops/audit", "ops-token-ana")).body.entries).toHaveLength(1)

      const acked = await call<{ alert: AlertGroup }>(g, "POST", `/v1/ops/alerts/${paused.id}/acknowledge`, "ops-token-ana", { reason: "planned count until noon" })
      expect(acked.status).toBe(200)
      expect(acked.body.alert.acknowledged).toMatchObject({ by: "ana", reason: "planned count until noon" })
      const muted = await call<{ alert: AlertGroup }>(g, "POST", `/v1/ops/alerts/${paused.id}/mute`, "ops-token-unnamed", { reason: "known", minutes: 60 })
      expect(muted.body.alert.muted).toMatchObject({ by: opsNameOf("ops-token-unnamed"), reason: "known" })
      expect((await alerts(g)).body.alerts.find((a) => a.id === paused.id)).toBeUndefined()
      expect((await alerts(g, "?state=muted&severity=warning")).body.alerts.map((a) => a.id)).toEqual([paused.id])

      const entries = (await call<{ entries: Array<AuditEntry> }>(g, "GET", "/v1/ops/audit", "ops-token-ana")).body.entries
      expect(entries.map((e) => [e.action, e.who, e.reason])).toEqual([
        ["alert.mute", opsNameOf("ops-token-unnamed"), "known"],
        ["alert.acknowledge", "ana", "planned count until noon"],
        ["node.setStatus", "ana", "stock count"]
      ])
      expect((await call<{ entries: Array<AuditEntry> }>(g, "GET", `/v1/ops/audit?limit=1&before=${entries[0].id}`, "ops-token-ana")).body.entries.map((e) => e.action)).toEqual(["alert.acknowledge"])

      await opened.close()
      opened = await open()
      g = opened.gateway
      const after = (await alerts(g, "?state=all")).body.alerts.find((a) => a.id === paused.id)
      expect(after).toMatchObject({ acknowledged: { by: "ana", reason: "planned count until noon" }, muted: { reason: "known" }, resolvedAt: null })
      expect((await call<{ entries: Array<AuditEntry> }>(g, "GET", "/v1/ops/audit", "ops-token-ana")).body.entries.map((e) => e.action))
        .toEqual(["alert.mute", "alert.acknowledge", "node.setStatus"])

      // back online: the alert resolves, and the resume is audited
      await call(g, "POST", "/v1/nodes/WH-DAL/status", "ops-token-ana", { status: "online", reason: "count done" })
      await waitFor(async () => (await alerts(g, "?state=resolved")).body.alerts.find((a) => a.id === paused.id), "the alert resolved")
    } finally {
      await opened.close()
    }
  }, 120_000)
})

describe("alerts and the audit log through an edge gateway", () => {
  it("forwards reads and actions to the owner and records the edge's ops changes in the owner's log", async () => {
    const owner = await startTestGateway({ config: { opsTickMs: 100 } })
    const edge = await startGateway({ config: loadGatewayConfig({ host: "127.0.0.1", port: 0 }, {}), keys: makeKeyRing(testKeys), engine: new RemoteEngine(owner.url, testKeyOf.internal, 5_000) })
    try {
      const ops = testKeyOf.ops
      expect((await call(edge, "POST", "/v1/nodes/ST-AUS/status", ops, { status: "offline", reason: "power cut" })).status).toBe(200)
      const alert = await waitFor(async () =>
        (await call<{ alerts: Array<AlertGroup> }>(edge, "GET", "/v1/ops/alerts", ops)).body.alerts.find((a) => a.kind === "node_status" && a.nodeId === "ST-AUS" && a.message.includes("power")), "the outage alert through the edge")
      expect(alert).toMatchObject({ severity: "critical", message: "ST-AUS is offline: power cut" })
      const acked = await call<{ alert: AlertGroup }>(edge, "POST", `/v1/ops/alerts/${alert.id}/acknowledge`, ops, { reason: "utility called" })
      expect(acked.body.alert.acknowledged).toMatchObject({ by: opsNameOf(ops), reason: "utility called" })
      expect((await call<{ error: { code: string } }>(edge, "POST", `/v1/ops/alerts/${alert.id}/mute`, ops, { reason: "x", minutes: 1e9 })).body.error.code).toBe("mute_duration_invalid")
      const entries = (await call<{ entries: Array<AuditEntry> }>(owner.gateway, "GET", "/v1/ops/audit", ops)).body.entries
      expect(entries.map((e) => [e.action, e.who, e.reason])).toEqual([["alert.acknowledge", opsNameOf(ops), "utility called"], ["node.setStatus", opsNameOf(ops), "power cut"]])
      expect((await call<{ entries: Array<AuditEntry> }>(edge, "GET", "/v1/ops/audit?limit=1", ops)).body.entries.map((e) => e.action)).toEqual(["alert.acknowledge"])
      // the internal route takes only the internal token, and only the entry's shape
      expect((await call(owner.gateway, "POST", "/internal/v1/audit", ops, { who: "x", action: "y", target: "z", reason: "", detail: "" })).status).toBe(403)
      expect((await call<{ error: { code: string } }>(owner.gateway, "POST", "/internal/v1/audit", testKeyOf.internal, { who: 1 })).body.error.code).toBe("invalid_frame")
    } finally {
      await edge.close()
      await owner.close()
    }
  }, 60_000)
})
