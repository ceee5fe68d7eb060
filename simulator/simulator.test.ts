/**
 * The simulator end to end: the `smoke` scenario's day against a real
 * in-process engine and gateway passes its audit, and the same audit fails
 * when the ledger is tampered with. The day exercises delivery promises, B2B
 * orders, carrier tracking and feedback, and the audit checks them. Plus the
 * seeded demand, the scenario checks and the audit's promise and
 * ship-complete rules, which need no engine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { OrderRouted } from "../engine/index.ts"
import { audit, httpReader, promiseProblems, shipCompleteProblems, termsProblems } from "./audit.ts"
import { generateDemand } from "./demand.ts"
import { addDays, deliverByFor } from "./promise.ts"
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

  it("switching the optional features on leaves every other session as it was", () => {
    const s = loadScenario("smoke")
    const { promise: _p, b2b: _b, feedbackRate: _f, ...plainSessions } = s.sessions
    const plain = parseScenario({ ...s, sessions: plainSessions })
    const network = buildNetwork(s)
    const withFeatures = generateDemand(s, network, 42)
    const without = generateDemand(plain, network, 42)
    const strip = (x: (typeof without)[number]) => JSON.stringify({ ...x, promise: undefined, feedback: undefined })
    const b2b = withFeatures.filter((x) => x.channel === "b2b")
    expect(b2b.length).toBeGreaterThan(0)
    expect(b2b.every((x) => x.b2b?.purchaseOrder.startsWith("PO-") && x.items.every((i) => !i.doorbuster))).toBe(true)
    expect(withFeatures.some((x) => x.promise?.terms === "deliverBy" && x.promise.ask)).toBe(true)
    expect(withFeatures.some((x) => x.feedback !== undefined)).toBe(true)
    expect(without.every((x) => x.promise === undefined && x.b2b === undefined && x.feedback === undefined)).toBe(true)
    withFeatures.forEach((x, i) => {
      if (x.channel !== "b2b") expect(strip(x)).toBe(strip(without[i]))
    })
  })
})

describe("promise terms and the audit's rules", () => {
  const option = (nodeId: string, qty: number, arrivesBy: string) => ({ qty, units: qty, arrivesBy, promisedBy: Date.parse(`${arrivesBy}T23:59:59.999Z`), nodeId, carrier: "parcelco", service: "ground" })
  const items = [
    { sku: "A", atp: 5, nodes: [], promise: [option("ST-1", 1, "2026-11-28"), option("WH-1", 5, "2026-11-30")] },
    { sku: "B", atp: 2, nodes: [], promise: [option("WH-2", 2, "2026-11-29")] }
  ]

  it("promises the date of the held node, or of the option covering the quantity; too early is the day before the earliest", () => {
    expect(deliverByFor(items, [{ sku: "A", qty: 1 }, { sku: "B", qty: 2 }], new Map(), false, "2026-11-26")).toBe("2026-11-29")
    expect(deliverByFor(items, [{ sku: "A", qty: 3 }], new Map(), false, "2026-11-26")).toBe("2026-11-30")
    expect(deliverByFor(items, [{ sku: "A", qty: 1 }], new Map([["A", "WH-1"]]), false, "2026-11-26")).toBe("2026-11-30")
    expect(deliverByFor(items, [{ sku: "A", qty: 1 }], new Map([["A", "ST-9"]]), false, "2026-11-26")).toBeUndefined()
    expect(deliverByFor(items, [{ sku: "A", qty: 9 }], new Map(), false, "2026-11-26")).toBeUndefined()
    expect(deliverByFor(items, [{ sku: "A", qty: 1 }, { sku: "B", qty: 1 }], new Map(), true, "2026-11-26")).toBe("2026-11-27")
    expect(deliverByFor(items, [{ sku: "A", qty: 1 }], new Map(), true, "2026-11-28")).toBe("2026-11-28")
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01")
  })

  const routed = (reason: OrderRouted["reason"], shipments: OrderRouted["shipments"], backordered: OrderRouted["backordered"], summary = ""): OrderRouted =>
    ({ type: "OrderRouted", orderId: "o1", reason, shipments, backordered, explanation: { summary, candidates: [] }, at: 0 })
  const shipment = (id: string, promisedBy?: string, service = "ground") => ({
    shipmentId: id, nodeId: "WH-1", lines: [{ lineNo: 1, qty: 1 }], fromHolds: [], distanceKm: 10, costCents: 500,
    ...(promisedBy ? { promise: { carrier: "parcelco", service, promisedBy: Date.parse(`${promisedBy}T23:59:59.999Z`) } } : {})
  })

  it("flags a routing that breaks the promise, except a later one that declared it unreachable", () => {
    expect(promiseProblems({ deliverBy: "2026-11-29" }, [routed("placed", [shipment("o1-s1", "2026-11-29")], [])])).toEqual([])
    expect(promiseProblems({ deliverBy: "2026-11-29" }, [routed("placed", [shipment("o1-s1", "2026-11-30")], [])])).toHaveLength(1)
    expect(promiseProblems({ deliverBy: "2026-11-29", requestedDeliveryDate: "2026-11-28" }, [routed("placed", [shipment("o1-s1", "2026-11-29")], [])])).toHaveLength(1)
    expect(promiseProblems({ service: "overnight" }, [routed("placed", [shipment("o1-s1", "2026-11-27")], [])])).toHaveLength(1)
    expect(promiseProblems({ service: "ground" }, [routed("rejected", [shipment("o1-s2")], [])])).toHaveLength(1)
    const fallback = routed("node_offline", [shipment("o1-s2", "2026-12-02")], [], "promise_unreachable: no plan delivers every unit by 2026-11-29.")
    expect(promiseProblems({ deliverBy: "2026-11-29" }, [fallback])).toEqual([])
    expect(promiseProblems({ deliverBy: "2026-11-29" }, [{ ...fallback, reason: "placed" }])).toHaveLength(1)
  })

  it("flags a ship-complete routing that placed part and backordered the rest, and terms that differ", () => {
    expect(shipCompleteProblems([routed("placed", [], [{ lineNo: 1, qty: 3 }]), routed("backorder_retry", [shipment("o1-s1")], [])])).toEqual([])
    expect(shipCompleteProblems([routed("placed", [shipment("o1-s1")], [{ lineNo: 2, qty: 1 }])])).toHaveLength(1)
    const view = { service: null, deliverBy: "2026-11-28", purchaseOrder: "PO-1", shipComplete: true, requestedDeliveryDate: "2026-11-28" }
    expect(termsProblems({ purchaseOrder: "PO-1", shipComplete: true, requestedDeliveryDate: "2026-11-28" }, view)).toEqual([])
    expect(termsProblems({ purchaseOrder: "PO-1", requestedDeliveryDate: "2026-11-28" }, view)).toEqual(["shipComplete is true, asked false"])
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

  it("exercises delivery promises, B2B orders, carrier tracking and feedback, and audits them", () => {
    const s = summarise(run)
    expect(s.promise.answers).toBeGreaterThan(0)
    expect(s.promise.orders).toBeGreaterThan(0)
    expect(s.promise.unreachable).toBeGreaterThan(0)
    expect(s.errorsByCode.promise_unreachable).toBe(s.promise.unreachable)
    expect(s.b2b.orders).toBeGreaterThan(0)
    expect(s.b2b.shipComplete).toBeGreaterThan(0)
    expect(s.tracking.updates).toBeGreaterThan(0)
    expect(run.metrics.requestsByOp.get("http shipment.track")).toBe(s.tracking.updates)
    expect(s.feedback.count).toBeGreaterThan(0)
    expect(s.feedback.averageRating).toBeGreaterThanOrEqual(1)
    expect(s.feedback.averageRating).toBeLessThanOrEqual(5)
    // the audit read the routings of the promise and ship-complete orders, and every acknowledged feedback
    expect(run.audit.checked.promiseOrders).toBeGreaterThanOrEqual(s.promise.orders)
    expect(run.audit.checked.shipCompleteOrders).toBe(s.b2b.shipComplete)
    expect(run.audit.checked.feedback).toBe(s.feedback.count)
    const b2b = run.audit.orders.filter((o) => o.channel === "b2b")
    expect(b2b.length).toBe(s.b2b.orders)
    expect(b2b.every((o) => o.purchaseOrder?.startsWith("PO-"))).toBe(true)
    expect(run.audit.orders.filter((o) => o.feedback !== null)).toHaveLength(s.feedback.count)
  })

  it("fails the audit when the ledger is tampered with", async () => {
    const tampered = run.ledger.clone()
    const [first, second] = tampered.orders
    first.lines[0] = { ...first.lines[0], qty: first.lines[0].qty + 1 }
    tampered.data.orders["o0-phantom"] = { ...second, orderId: "o0-phantom", externalId: "never-placed" }
    const pool = tampered.pools.find((p) => p.shipped > 0)!
    pool.received += 3
    const rated = tampered.orders.find((o) => o.feedback)!
    rated.feedback = { rating: rated.feedback!.rating === 5 ? 4 : 5, comment: rated.feedback!.comment }
    const b2b = tampered.orders.find((o) => o.terms?.purchaseOrder !== undefined)!
    tampered.data.orders[b2b.orderId] = { ...b2b, terms: { ...b2b.terms, purchaseOrder: "PO-other" } }
    const r = await audit(tampered, httpReader(new HttpApi(run.local!.httpUrl), run.keys.ops))
    expect(r.ok).toBe(false)
    expect(r.byCheck.order_lines).toBeGreaterThanOrEqual(1)
    expect(r.byCheck.order_missing).toBe(1)
    expect(r.byCheck.stock_not_conserved).toBeGreaterThanOrEqual(1)
    expect(r.byCheck.feedback_missing).toBe(1)
    expect(r.byCheck.order_terms).toBe(1)
    expect(r.violations.some((v) => v.subject === `${pool.nodeId}/${pool.sku}`)).toBe(true)
  })
})
