/**
 * `npm run bench -- compare` in miniature: 1 s per contender on a small
 * catalog, every contender audited; plus the shared pieces (request stream,
 * reference routing, pool audit) on their own.
 *
 * The run needs the local PostgreSQL and Redis: without them it fails when CI
 * is set, and is skipped with a printed reason otherwise.
 */
import { describe, expect, it } from "vitest"
import { postgresUnreachable } from "../engine/testing/postgres.ts"
import { contenderNames, run } from "./compare.ts"
import { auditPools, compareWorkload, routeNearest } from "./compare-workload.ts"
import { redisUnreachable } from "../gateway/testing/redis.ts"
import { machine } from "./report.ts"


const unreachable = (await postgresUnreachable()) ?? (await redisUnreachable())
if (unreachable && process.env.CI) throw new Error(`${unreachable}; CI needs it for the compare benchmark test`)
if (unreachable) console.warn(`skipping the compare benchmark run: ${unreachable}`)

const small = { skus: 40, nodes: 6 }

describe("compare workload", () => {
  it("gives the same request sequence for the same seed, and another for another seed", () => {
    const take = (seed: number) => {
      const next = compareWorkload({ ...small, seed }).requests()
      return Array.from({ length: 200 }, () => next())
    }
    expect(take(3)).toEqual(take(3))
    expect(take(3)).not.toEqual(take(4))
    const kinds = new Set(take(3).map((r) => r.kind))
    expect(kinds).toEqual(new Set(["hold", "order"]))
    for (const r of take(3)) if (r.kind === "order") expect(new Set(r.lines.map((l) => l.sku)).size).toBe(3)
  })

  it("routes an order to the nearest node with every line, else line by line, else backorders", () => {
    const stock: Record<string, number> = { "A|n1": 1, "B|n1": 0, "A|n2": 1, "B|n2": 1, "C|n3": 0 }
    const atp = (sku: string, n: string) => stock[`${sku}|${n}`] ?? 0
    const lines = (...skus: Array<string>) => skus.map((sku) => ({ sku, qty: 1 }))
    expect(routeNearest(lines("A", "B"), ["n1", "n2", "n3"], atp)).toEqual(["n2", "n2"])
    stock["B|n2"] = 0
    stock["B|n3"] = 1
    expect(routeNearest(lines("A", "B"), ["n1", "n2", "n3"], atp)).toEqual(["n1", "n3"])
    expect(routeNearest(lines("A", "C"), ["n1", "n2", "n3"], atp)).toEqual(["n1", null])
  })

  it("counts oversold units and sold-out doorbusters from a final state", () => {
    const w = compareWorkload(small)
    expect(auditPools(w, () => 0)).toEqual({ oversold: 0, reservedUnits: 0, soldOutDoorbusters: 0 })
    const all = auditPools(w, (sku, n) => w.initialStock(sku, n))
    expect(all.oversold).toBe(0)
    expect(all.soldOutDoorbusters).toBe(5)
    const over = auditPools(w, (sku, n) => w.initialStock(sku, n) + (sku === w.doorbusters[0] ? 2 : 0))
    expect(over.oversold).toBe(2 * w.nodeIds.length)
  })
})

describe.skipIf(unreachable !== undefined)("npm run bench -- compare (1 s per contender)", () => {
  it("runs every contender, audits each, and the engine neither oversells nor loses an ack", async () => {
    const result = await run(["--seconds", "1", "--clients", "8", "--skus", String(small.skus), "--nodes", String(small.nodes)])
    // what `--json` prints as its last line
    const printed = JSON.parse(JSON.stringify({ ...result.figures, machine: machine() })) as Record<string, unknown>
    expect(Object.keys(printed).sort()).toEqual(["contenders", "machine"])
    const contenders = printed.contenders as Array<Record<string, unknown>>
    expect(contenders.map((c) => c.name)).toEqual([...contenderNames])
    for (const c of contenders) {
      expect(Object.keys(c).sort()).toEqual(["durability", "lostAcks", "name", "oversold", "p50Ms", "p99Ms", "ratioToEngine", "throughput"].sort())
      expect(typeof c.throughput).toBe("number")
      expect(c.throughput as number).toBeGreaterThan(0)
      expect(typeof c.p50Ms).toBe("number")
      expect(c.p99Ms as number).toBeGreaterThanOrEqual(c.p50Ms as number)
      expect(Number.isInteger(c.oversold)).toBe(true)
      expect(Number.isInteger(c.lostAcks)).toBe(true)
      expect(typeof c.durability).toBe("string")
      expect(typeof c.ratioToEngine).toBe("number")
    }
    expect(contenders[0].ratioToEngine).toBe(1)
    expect(contenders.find((c) => c.name === "redis-lua")!.durability).toMatch(/^none/)

    // every audit ran against a real final state: the units it found reserved are the units acknowledged
    expect(result.details.map((d) => d.name)).toEqual([...contenderNames])
    for (const d of result.details) {
      expect(d.acknowledged).toBeGreaterThan(0)
      expect(d.errors).toBe(0)
      expect(d.audit.reservedUnits).toBeGreaterThan(0)
      expect(d.audit.reservedUnits).toBe(d.ackedUnits)
    }
    const engine = contenders.find((c) => c.name === "engine")!
    expect(engine.oversold).toBe(0)
    expect(engine.lostAcks).toBe(0)
    const gateway = contenders.find((c) => c.name === "engine-gateway")!
    expect(gateway.oversold).toBe(0)
    expect(gateway.lostAcks).toBe(0)
    expect(result.table).toContain("postgres-row-lock")
  }, 300_000)
})
