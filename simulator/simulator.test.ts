/**
 * The simulator end to end: the `smoke` scenario's day against a real
 * in-process engine and gateway passes its audit, and the same audit fails
 * when the ledger is tampered with. Plus the seeded demand and the scenario
 * checks, which need no engine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { audit, httpReader } from "./audit.ts"
import { generateDemand } from "./demand.ts"
import { HttpApi } from "./http.ts"
import { buildNetwork } from "./network.ts"
import { runDay, type RunResult } from "./run.ts"
import { loadScenario, parseScenario, ScenarioError } from "./scenario.ts"
import { summarise } from "./summary.ts"

describe("scenarios and demand", () => {
  it("loads every shipped scenario and rejects unknown fields and meaningless values", () => {
    for (const name of ["smoke", "black-friday", "flash-sale"]) expect(loadScenario(name).name).toBe(name)
    const smoke = loadScenario("smoke")
    expect(() => parseScenario({ ...smoke, typo: 1 })).toThrow(ScenarioError)
    expect(() => parseScenario({ ...smoke, day: { ...smoke.day, hourWeights: [1, 2, 3] } })).toThrow(/hourWeights/)
    expect(() => parseScenario({ ...smoke, nodes: { ...smoke.nodes, outage: { node: "WH-Dallas", fromHour: 14, toHour: 10 } } })).toThrow(/outage/)
  })

  it("draws the same day from the same seed, and another day from another seed", () => {
    const s = loadScenario("smoke")
    const network = buildNetwork(s)
    const a = generateDemand(s, network, 42)
    const b = generateDemand(s, network, 42)
    const c = generateDemand(s, network, 43)
    expect(JSON.stringify(a)).toBe(JSON.stringify(b))
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c))
    expect(a).toHaveLength(s.day.sessions)
    expect(a.filter((x) => x.inSpike).length).toBe(Math.round(s.day.sessions * s.day.spike.sessionsShare))
    expect(new Set(a.map((x) => x.customer.place)).size).toBeGreaterThan(20)
  })
})

describe("smoke day against a real in-process gateway", () => {
  let run: RunResult

  beforeAll(async () => {
    run = await runDay({ scenario: loadScenario("smoke"), seed: 1, inProcess: true, keepOpen: true })
  }, 60_000)

  afterAll(async () => {
    await run?.local?.close()
  })

  it("plays the day and passes its audit", () => {
    const s = summarise(run)
    expect(run.audit.violations).toEqual([])
    expect(run.audit.ok).toBe(true)
    expect(s.orders).toBeGreaterThan(100)
    expect(s.failures).toBe(0)
    expect(run.fulfillment.shipped).toBeGreaterThan(50)
    expect(run.fulfillment.delivered).toBeGreaterThan(0)
    expect(run.fulfillment.returnsReceived).toBeGreaterThan(0)
    expect(run.fulfillment.rejected + run.fulfillment.shortPicks).toBeGreaterThan(0)
    expect(s.holdsExpired).toBeGreaterThan(0)
    expect(run.outage?.nodeId).toMatch(/^WH-/)
    expect(run.ledger.data.nodeStatus.map((x) => x.status)).toEqual(["offline", "online"])
    expect(run.ledger.pools.some((p) => p.received > 0)).toBe(true)
    expect(run.audit.checked.poolHistories).toBeGreaterThan(0)
    expect(s.fillRate).toBeGreaterThan(0.5)
  })

  it("fails the audit when the ledger is tampered with", async () => {
    const tampered = run.ledger.clone()
    const [first, second] = tampered.orders
    first.lines[0] = { ...first.lines[0], qty: first.lines[0].qty + 1 }
    tampered.data.orders["o0-phantom"] = { ...second, orderId: "o0-phantom", externalId: "never-placed" }
    const pool = tampered.pools.find((p) => p.shipped > 0)!
    pool.received += 3
    const r = await audit(tampered, httpReader(new HttpApi(run.local!.httpUrl), run.keys.ops))
    expect(r.ok).toBe(false)
    expect(r.byCheck.order_lines).toBeGreaterThanOrEqual(1)
    expect(r.byCheck.order_missing).toBe(1)
    expect(r.byCheck.stock_not_conserved).toBeGreaterThanOrEqual(1)
    expect(r.violations.some((v) => v.subject === `${pool.nodeId}/${pool.sku}`)).toBe(true)
  })
})
