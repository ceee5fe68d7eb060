/**
 * The cache of encoded availability answers: never a stale answer, and
 * reused while nothing it read has changed.
 *
 * - the cache alone, on versions the test moves by hand;
 * - a property test on a real gateway: random holds, releases, receipts,
 *   safety stock, node status and channel policy changes, interleaved with
 *   availability reads over HTTP (the synchronous cached path and the full
 *   path) and WS, for two channels and the ops token, with and without a
 *   location; every answer must equal what the engine computes at that moment
 *   (Queries.availabilityOf, no cache), and the run must have served answers
 *   from the cache;
 * - examples: a repeated question is served from the cache until one of its
 *   SKUs moves; promise answers are never cached; the cache can be turned off.
 */
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Queries } from "../engine/index.ts"
import { places } from "../engine/testing/fixture.ts"
import { AvailabilityCache, type AvailabilityVersions } from "./availability-cache.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

describe("the cache on its own", () => {
  const versions = () => {
    const v = { state: {} as object, network: 1, skus: new Map<string, number>([["A", 1], ["B", 1]]) }
    const source: AvailabilityVersions = { state: () => v.state, network: () => v.network, sku: (s) => v.skus.get(s) ?? -1 }
    return { v, source }
  }

  it("serves an entry only while the state object, the network and every SKU it read are unchanged", () => {
    const { v, source } = versions()
    const cache = new AvailabilityCache(source, 10)
    const put = () => cache.set(cache.stamp("k", ["A", "B"]), "answer")
    put()
    expect(cache.get("k")).toBe("answer")
    v.skus.set("B", 2)
    expect(cache.get("k")).toBeUndefined()
    put()
    v.network = 2
    expect(cache.get("k")).toBeUndefined()
    put()
    v.state = {}
    expect(cache.get("k")).toBeUndefined()
    put()
    v.skus.set("C", 7) // a SKU the answer did not read
    expect(cache.get("k")).toBe("answer")
    expect(cache.hits).toBe(2)
    expect(cache.misses).toBe(3)
  })

  it("a change between the stamp and the answer leaves the entry stale, never wrong", () => {
    const { v, source } = versions()
    const cache = new AvailabilityCache(source, 10)
    const stamp = cache.stamp("k", ["A"])
    v.skus.set("A", 2) // the engine moved while the answer was computed
    cache.set(stamp, "answer computed after the move")
    expect(cache.get("k")).toBeUndefined()
  })

  it("keeps at most entriesMax entries, dropping the oldest; 0 keeps none", () => {
    const { source } = versions()
    const cache = new AvailabilityCache(source, 2)
    for (const k of ["k1", "k2", "k3"]) cache.set(cache.stamp(k, ["A"]), k)
    expect(cache.size).toBe(2)
    expect(cache.get("k1")).toBeUndefined()
    expect(cache.get("k3")).toBe("k3")
    const none = new AvailabilityCache(source, 0)
    none.set(none.stamp("k", ["A"]), "x")
    expect(none.size).toBe(0)
  })
})

const skus = ["TV-55", "HDMI", "SOUNDBAR"] as const
const nodes = ["WH-DAL", "WH-COL", "ST-HOU", "ST-AUS"] as const

type Reader = "web" | "marketplace" | "ops"
type Action =
  | { readonly kind: "hold"; readonly sku: string; readonly node: string; readonly qty: number }
  | { readonly kind: "release"; readonly pick: number }
  | { readonly kind: "receive"; readonly sku: string; readonly node: string; readonly qty: number }
  | { readonly kind: "safety"; readonly sku: string; readonly node: string; readonly qty: number }
  | { readonly kind: "status"; readonly node: string; readonly status: "online" | "paused" }
  | { readonly kind: "policy"; readonly shipFromStore: boolean }
  | { readonly kind: "read"; readonly via: "http" | "ws"; readonly reader: Reader; readonly skus: ReadonlyArray<string>; readonly located: boolean; readonly nodesMax?: number }

const sku = fc.constantFrom(...skus)
const node = fc.constantFrom(...nodes)
const read = fc.record({
  kind: fc.constant("read" as const),
  via: fc.constantFrom("http" as const, "ws" as const),
  reader: fc.constantFrom<Reader>("web", "marketplace", "ops"),
  skus: fc.subarray([...skus, "NO-SUCH-SKU"], { minLength: 1 }),
  located: fc.boolean(),
  nodesMax: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined })
})
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: read },
  // the same few questions asked again, so that answers are reused
  { weight: 4, arbitrary: fc.constantFrom<Action>(
    { kind: "read", via: "http", reader: "web", skus: ["TV-55", "HDMI"], located: true },
    { kind: "read", via: "ws", reader: "web", skus: ["TV-55", "HDMI"], located: true },
    { kind: "read", via: "http", reader: "marketplace", skus: ["SOUNDBAR"], located: false }
  ) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("hold" as const), sku, node, qty: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("receive" as const), sku, node, qty: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("safety" as const), sku, node, qty: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("status" as const), node, status: fc.constantFrom("online" as const, "paused" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("policy" as const), shipFromStore: fc.boolean() }) }
)

const keyOf = (r: Reader): string => (r === "web" ? keys.web : r === "marketplace" ? keys.marketplace : keys.ops)

describe("cached availability on a real gateway", () => {
  let t: TestGateway
  let ws: FrameClient
  const nodesMaxLimit = 3
  const metric = async (name: string): Promise<number> => {
    const text = (await call(t.url, "GET", "/metrics")).body as string
    return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN)
  }

  beforeAll(async () => {
    t = await startTestGateway({
      config: { availabilityNodesMax: nodesMaxLimit },
      stock: skus.flatMap((s) => nodes.map((n): [string, string, number] => [s, n, 12]))
    })
    ws = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
  })

  afterAll(async () => {
    ws?.close()
    await t?.close()
  })

  /** What the engine answers now, computed afresh (the full path's own logic, no cache). */
  const expected = (reader: Reader, asked: ReadonlyArray<string>, located: boolean, nodesMax: number | undefined) => {
    const channel = reader === "ops" ? undefined : reader
    const listed = Math.max(0, Math.min(nodesMaxLimit, nodesMax ?? nodesMaxLimit))
    const answers = Queries.availabilityOf(t.engine.view, t.engine.now(), asked.map((s) => ({ sku: s, channel, location: located ? places.houston : undefined, nodesMax: listed })))
    return { items: answers.map((a, i) => a ?? { sku: asked[i], error: { code: "unknown_sku", message: "the SKU is not in the catalog" } }) }
  }

  let frameId = 0
  /** The answer to a read over its transport (undefined: not asked; the WS connection is the web storefront's). */
  const ask = async (a: Action & { readonly kind: "read" }): Promise<unknown> => {
    if (a.via === "ws") {
      if (a.reader !== "web") return undefined
      const f = await ws.request(++frameId, "availability", { skus: a.skus, ...(a.located ? { location: places.houston } : {}), ...(a.nodesMax === undefined ? {} : { nodesMax: a.nodesMax }) })
      expect(f.ok).toBe(true)
      return f.result
    }
    const location = a.located ? `&lat=${places.houston.lat}&lon=${places.houston.lon}` : ""
    const nodesMax = a.nodesMax === undefined ? "" : `&nodesMax=${a.nodesMax}`
    const r = await call(t.url, "GET", `/v1/availability?skus=${a.skus.join(",")}${location}${nodesMax}`, keyOf(a.reader))
    expect(r.status).toBe(200)
    expect(r.headers.get("content-type")).toBe("application/json")
    return r.body
  }

  it("answers exactly what the engine computes at that moment, whatever moved in between", async () => {
    const hitsBefore = await metric("gateway_availability_cache_hits_total")
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 30 }), async (actions) => {
        const holds: Array<string> = []
        for (const a of actions) {
          switch (a.kind) {
            case "hold": {
              const r = await call(t.url, "POST", "/v1/holds", keys.web, { sku: a.sku, nodeId: a.node, qty: a.qty })
              if (r.status === 201) holds.push(r.body.hold.holdId)
              break
            }
            case "release":
              if (holds.length > 0) await call(t.url, "POST", `/v1/holds/${holds.splice(a.pick % holds.length, 1)[0]}/release`, keys.web)
              break
            case "receive":
              expect((await call(t.url, "POST", "/v1/inventory/receive", keys.ops, { sku: a.sku, nodeId: a.node, qty: a.qty })).status).toBe(200)
              break
            case "safety":
              expect((await call(t.url, "POST", "/v1/inventory/safety-stock", keys.ops, { sku: a.sku, nodeId: a.node, qty: a.qty })).status).toBe(200)
              break
            case "status":
              expect((await call(t.url, "POST", `/v1/nodes/${a.node}/status`, keys.ops, { status: a.status })).status).toBe(200)
              break
            case "policy":
              expect((await call(t.url, "POST", "/v1/admin/channels", keys.ops, { channel: "marketplace", policy: { shipFromStore: a.shipFromStore, maxSplits: 1 } })).status).toBe(200)
              break
            case "read":
              // asked twice in a row: the second answer comes from the cache unless something moved
              for (let again = 0; again < 2; again++) {
                const answer = await ask(a)
                if (answer !== undefined) expect(answer).toEqual(expected(a.reader, a.skus, a.located, a.nodesMax))
              }
              break
          }
        }
        // back to the starting network for the next run and the examples below
        for (const h of holds) await call(t.url, "POST", `/v1/holds/${h}/release`, keys.web)
        for (const n of nodes) await call(t.url, "POST", `/v1/nodes/${n}/status`, keys.ops, { status: "online" })
        await call(t.url, "POST", "/v1/admin/channels", keys.ops, { channel: "marketplace", policy: { shipFromStore: false, maxSplits: 1 } })
      }),
      { numRuns: 25 }
    )
    // the property held while answers were in fact reused
    expect(await metric("gateway_availability_cache_hits_total")).toBeGreaterThan(hitsBefore + 20)
  }, 120_000)

  it("serves a repeated question from the cache until one of its SKUs moves, then the new answer", async () => {
    const path = "/v1/availability?skus=HDMI&lat=32.7767&lon=-96.797"
    const first = await call(t.url, "GET", path, keys.web)
    const hits = await metric("gateway_availability_cache_hits_total")
    const again = await call(t.url, "GET", path, keys.web)
    expect(again.body).toEqual(first.body)
    expect(await metric("gateway_availability_cache_hits_total")).toBe(hits + 1)
    const held = await call(t.url, "POST", "/v1/holds", keys.web, { sku: "HDMI", nodeId: "WH-DAL", qty: 2 })
    expect(held.status).toBe(201)
    const after = await call(t.url, "GET", path, keys.web)
    expect(after.body.items[0].atp).toBe(first.body.items[0].atp - 2)
    expect(await metric("gateway_availability_cache_hits_total")).toBe(hits + 1)
    await call(t.url, "POST", `/v1/holds/${held.body.hold.holdId}/release`, keys.web)
    expect((await call(t.url, "GET", path, keys.web)).body).toEqual(first.body)
  })

  it("computes answers with delivery promises every time (they depend on the clock and today's capacity)", async () => {
    const path = `/v1/availability?skus=HDMI&lat=${places.austin.lat}&lon=${places.austin.lon}&promise=true`
    const hits = await metric("gateway_availability_cache_hits_total")
    const misses = await metric("gateway_availability_cache_misses_total")
    for (let i = 0; i < 3; i++) expect((await call(t.url, "GET", path, keys.web)).body.items[0].promise).toBeInstanceOf(Array)
    expect(await metric("gateway_availability_cache_hits_total")).toBe(hits)
    expect(await metric("gateway_availability_cache_misses_total")).toBe(misses)
  })
})

describe("with the cache turned off", () => {
  it("answers every question afresh and reports no cache", async () => {
    const t = await startTestGateway({ config: { availabilityCacheEntriesMax: 0 }, stock: [["HDMI", "WH-DAL", 5]] })
    try {
      const path = "/v1/availability?skus=HDMI"
      expect((await call(t.url, "GET", path, keys.web)).body.items[0].atp).toBe(5)
      expect((await call(t.url, "GET", path, keys.web)).body.items[0].atp).toBe(5)
      expect((await call(t.url, "GET", "/metrics")).body).not.toContain("gateway_availability_cache")
    } finally {
      await t.close()
    }
  })
})
