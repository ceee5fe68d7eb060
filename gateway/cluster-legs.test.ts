/**
 * Orders over several partitions in cluster mode, end to end: two runner
 * processes on the local PostgreSQL, a gateway in cluster mode, a storefront
 * over HTTP and WS. The order is placed as one leg per partition (each routed
 * and allocated in its partition), read, paid, cancelled and subscribed to
 * under its composite id; a refused leg leaves nothing placed anywhere; a
 * retry after a partial placement completes without duplicates; the external
 * id of an ordinary order and of a split order is not used for the other.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { legIdsOf, partitionOf, splitOrder, type PlaceOrder } from "../engine/index.ts"
import { places } from "../engine/testing/fixture.ts"
import { postgresUnreachable } from "../engine/testing/postgres.ts"
import { ClusterEngine } from "./cluster-access.ts"
import type { Gateway } from "./server.ts"
import { call, FrameClient, keys } from "./testing/harness.ts"
import { startClusterGateway, type ClusterGateway } from "./testing/cluster-gateway.ts"
import { redisUnreachable } from "./testing/redis.ts"

const partitions = 4
const skus = ["SKU-0", "SKU-1", "SKU-2", "SKU-3"]
const unitsPerSku = 50
const why = (await postgresUnreachable()) ?? (await redisUnreachable())
if (why && process.env.CI) throw new Error(`the split order test needs PostgreSQL and Redis under CI: ${why}`)

describe.skipIf(why !== undefined)("orders over several partitions in cluster mode", () => {
  let cluster: ClusterGateway
  let engine: ClusterEngine
  let gateway: Gateway
  const channel = `oms-legs-test:${process.pid}:${Date.now()}`
  const http = (method: string, path: string, body?: unknown) => call(gateway.url, method, path, keys.web, body)
  const order = (externalId: string, lines: ReadonlyArray<[string, number]>, extra: Record<string, unknown> = {}) => ({
    externalId, lines: lines.map(([sku, qty]) => ({ sku, qty })), customer: { name: "Split", location: places.dallas }, payment: "authorised", ...extra
  })
  /** Every pool at WH-DAL, by SKU. */
  const stock = async () => Object.fromEntries(await Promise.all(skus.map(async (sku) => [sku, await engine.pool(sku, "WH-DAL")])))

  beforeAll(async () => {
    cluster = await startClusterGateway({ partitions, skus: skus.length, unitsPerSku, channel })
    engine = cluster.engine
    gateway = cluster.gateway
  }, 90_000)

  afterAll(() => cluster?.stop())

  it("places one leg per partition, each routed and allocated there, reads it by its composite id, and a cancel restores every pool", async () => {
    // SKU-0..3 lie in p3, p0, p1, p2: three lines, three partitions
    expect(skus.map((s) => partitionOf(s, partitions))).toEqual([3, 0, 1, 2])
    const placed = await http("POST", "/v1/orders", order("SPLIT-1", [["SKU-2", 3], ["SKU-0", 2], ["SKU-1", 1]]))
    expect(placed.status).toBe(201)
    const id: string = placed.body.order.orderId
    expect(legIdsOf(id)?.map((leg) => leg.split("-")[0])).toEqual(["o0", "o1", "o3"])
    expect(placed.body.order).toMatchObject({
      externalId: "SPLIT-1", status: "routed", payment: "authorised",
      lines: [{ lineNo: 1, sku: "SKU-2", qty: 3 }, { lineNo: 2, sku: "SKU-0", qty: 2 }, { lineNo: 3, sku: "SKU-1", qty: 1 }],
      legs: [{ partition: 0, lineNos: [3], status: "routed" }, { partition: 1, lineNos: [1], status: "routed" }, { partition: 3, lineNos: [2], status: "routed" }]
    })
    expect(placed.body.order.shipments).toHaveLength(3)
    for (const leg of legIdsOf(id)!) expect(await engine.order(leg)).toMatchObject({ status: "routed", externalId: "SPLIT-1" })

    const got = await http("GET", `/v1/orders/${id}`)
    expect(got.status).toBe(200)
    expect(got.body.order.lines.map((l: { sku: string }) => l.sku)).toEqual(["SKU-2", "SKU-0", "SKU-1"])
    expect((await http("GET", "/v1/orders?externalId=SPLIT-1")).body.order.orderId).toBe(id)
    const history = await http("GET", `/v1/orders/${id}/history`)
    expect(history.body.history.filter((h: { event: { type: string } }) => h.event.type === "OrderPlaced")).toHaveLength(3)

    // stock is conserved in every pool: what each leg allocated, nothing more
    expect(await stock()).toMatchObject({
      "SKU-0": { onHand: 50, allocated: 2, held: 0 }, "SKU-1": { onHand: 50, allocated: 1, held: 0 },
      "SKU-2": { onHand: 50, allocated: 3, held: 0 }, "SKU-3": { onHand: 50, allocated: 0, held: 0 }
    })

    const cancelled = await http("POST", `/v1/orders/${id}/cancel`, { reason: "changed my mind" })
    expect(cancelled).toMatchObject({ status: 200, body: { order: { orderId: id, status: "cancelled" } } })
    for (const sku of skus) expect((await stock())[sku]).toMatchObject({ onHand: 50, allocated: 0, held: 0, atp: 50 })
  })

  it("pays every leg of a pending order through the composite id, and cancels by the client's line numbers", async () => {
    const placed = await http("POST", "/v1/orders", order("SPLIT-2", [["SKU-0", 1], ["SKU-3", 2]], { payment: "pending" }))
    expect(placed.body.order).toMatchObject({ status: "awaiting_payment", payment: "pending" })
    const id: string = placed.body.order.orderId
    expect(legIdsOf(id)).toHaveLength(2)
    const paid = await http("POST", `/v1/orders/${id}/payment`, { outcome: "authorised" })
    expect(paid).toMatchObject({ status: 200, body: { order: { orderId: id, payment: "authorised", status: "routed" } } })
    for (const leg of legIdsOf(id)!) expect(await engine.order(leg)).toMatchObject({ payment: "authorised" })
    expect(await stock()).toMatchObject({ "SKU-0": { allocated: 1, held: 0 }, "SKU-3": { allocated: 2, held: 0 } })

    // the client's line 2 is SKU-3, line 1 of its leg
    const partly = await http("POST", `/v1/orders/${id}/cancel`, { lines: [{ lineNo: 2, qty: 1 }] })
    expect(partly.body.order.lines).toMatchObject([{ lineNo: 1, sku: "SKU-0", cancelled: 0 }, { lineNo: 2, sku: "SKU-3", cancelled: 1 }])
    expect(await stock()).toMatchObject({ "SKU-0": { allocated: 1 }, "SKU-3": { allocated: 1 } })
    expect(await http("POST", `/v1/orders/${id}/cancel`, { lines: [{ lineNo: 3, qty: 1 }] })).toMatchObject({ status: 422, body: { error: { code: "line_not_found" } } })
    expect((await http("POST", `/v1/orders/${id}/cancel`, {})).body.order.status).toBe("cancelled")
  })

  it("places nothing anywhere when one leg is refused, and stock is exactly as before", async () => {
    const before = await stock()
    const refused = await http("POST", "/v1/orders", order("SPLIT-3", [["SKU-0", 1], ["SKU-1", 1], ["SKU-2", 1], ["NO-SUCH-SKU", 1]]))
    expect(refused).toMatchObject({ status: 422, body: { error: { code: "unknown_sku" } } })
    expect(await stock()).toEqual(before)
    expect(await engine.orderByExternal("web", "SPLIT-3")).toBeNull()
    expect((await http("GET", "/v1/orders?externalId=SPLIT-3")).status).toBe(404)
    // the compensated legs are on record (cancelled, flagged), not live
    const ids = [0, 1, 2, 3].flatMap((p) => [1, 2, 3, 4, 5].map((n) => `o${p}-${n}`))
    const undone = (await Promise.all(ids.map((legId) => engine.order(legId)))).filter((o) => o?.externalId === "SPLIT-3")
    expect(undone.length).toBeGreaterThanOrEqual(2)
    for (const o of undone) expect(o).toMatchObject({ status: "cancelled", leg: { compensated: true } })
    // the same external id, corrected, is placed afresh
    const fixed = await http("POST", "/v1/orders", order("SPLIT-3", [["SKU-0", 1], ["SKU-1", 1], ["SKU-2", 1]]))
    expect(fixed).toMatchObject({ status: 201, body: { order: { status: "routed" } } })
    expect((await http("POST", `/v1/orders/${fixed.body.order.orderId}/cancel`, {})).body.order.status).toBe("cancelled")
  })

  it("with onShortage reject, refuses a split order one of whose legs is short, and places nothing anywhere", async () => {
    const before = await stock()
    const short = await http("POST", "/v1/orders", order("SPLIT-SHORT", [["SKU-0", 1], ["SKU-1", unitsPerSku + 1]], { onShortage: "reject" }))
    expect(short).toMatchObject({ status: 409, body: { error: { code: "insufficient_stock" } } })
    expect(await stock()).toEqual(before)
    expect((await http("GET", "/v1/orders?externalId=SPLIT-SHORT")).status).toBe(404)
    // the channel's nodes, read from the network owner
    const channel = await http("GET", "/v1/channel")
    expect(channel).toMatchObject({ status: 200, body: { channel: "web" } })
    expect(channel.body.nodes.map((n: { nodeId: string }) => n.nodeId)).toContain("WH-DAL")
  })

  /** An external id (channel web) whose ordinary order lives in partition `home`. */
  const homedAt = (home: number, prefix: string): string => {
    for (let i = 0; ; i++) if (partitionOf(`web\u0000${prefix}-${i}`, partitions) === home) return `${prefix}-${i}`
  }
  /** The SKU of partition p (SKU-0..3 lie in p3, p0, p1, p2). */
  const skuIn = (p: number): string => skus.find((s) => partitionOf(s, partitions) === p)!

  it("refuses the external id of an ordinary order used with other lines that split, and places nothing (case A)", async () => {
    const x = homedAt(1, "WHOLE-A")
    const whole = await http("POST", "/v1/orders", order(x, [[skuIn(1), 1]]))
    expect(whole).toMatchObject({ status: 201, body: { order: { externalId: x, leg: null } } })
    const before = await stock()
    const orders = (await engine.stats())!.orders
    const split = await http("POST", "/v1/orders", order(x, [[skuIn(1), 1], [skuIn(2), 1]]))
    expect(split).toMatchObject({ status: 409, body: { error: { code: "exists_with_different_lines" } } })
    expect(await stock()).toEqual(before)
    // no leg was placed anywhere (not even one compensated since)
    expect((await engine.stats())!.orders).toBe(orders)
    expect(await engine.orderByExternal("web", x)).toMatchObject({ orderId: whole.body.order.orderId })
    expect((await http("POST", `/v1/orders/${whole.body.order.orderId}/cancel`, {})).body.order.status).toBe("cancelled")
  })

  it("refuses the external id of a split order used with other lines in its home partition alone, and places nothing (case B)", async () => {
    // home p0; the split order's legs lie in p1 and p2, not in the home
    const x = homedAt(0, "SPLIT-B")
    const split = await http("POST", "/v1/orders", order(x, [[skuIn(1), 1], [skuIn(2), 1]]))
    expect(split.status).toBe(201)
    const id: string = split.body.order.orderId
    expect(split.body.order.legs.map((l: { partition: number }) => l.partition)).toEqual([1, 2])
    const before = await stock()
    const whole = await http("POST", "/v1/orders", order(x, [[skuIn(0), 1]]))
    expect(whole).toMatchObject({ status: 409, body: { error: { code: "exists_with_different_lines" } } })
    expect(await stock()).toEqual(before)
    // the same order again is the existing one; the external id reads the split order, from the claim's partitions
    expect(await http("POST", "/v1/orders", order(x, [[skuIn(1), 1], [skuIn(2), 1]]))).toMatchObject({ status: 200, body: { existing: true, order: { orderId: id } } })
    expect(await engine.orderByExternal("web", x)).toMatchObject({ orderId: id, legs: [{ partition: 1 }, { partition: 2 }] })
    expect((await http("GET", `/v1/orders?externalId=${x}`)).body.order.orderId).toBe(id)
    // split otherwise (other partitions): refused too
    expect(await http("POST", "/v1/orders", order(x, [[skuIn(1), 1], [skuIn(3), 1]]))).toMatchObject({ status: 409, body: { error: { code: "exists_with_different_lines" } } })
    expect(await stock()).toEqual(before)
    expect((await http("POST", `/v1/orders/${id}/cancel`, {})).body.order.status).toBe("cancelled")
  })

  it("releases the claim of a compensated split, so a corrected order that is not split is placed", async () => {
    const x = homedAt(2, "SPLIT-C")
    const before = await stock()
    const refused = await http("POST", "/v1/orders", order(x, [[skuIn(2), 1], [skuIn(3), 1], ["NO-SUCH-SKU", 1]]))
    expect(refused).toMatchObject({ status: 422, body: { error: { code: "unknown_sku" } } })
    expect(await stock()).toEqual(before)
    expect(await engine.orderByExternal("web", x)).toBeNull()
    const fixed = await http("POST", "/v1/orders", order(x, [[skuIn(2), 2]]))
    expect(fixed).toMatchObject({ status: 201, body: { order: { externalId: x, leg: null, status: "routed" } } })
    expect(await engine.orderByExternal("web", x)).toMatchObject({ orderId: fixed.body.order.orderId })
    expect((await http("POST", `/v1/orders/${fixed.body.order.orderId}/cancel`, {})).body.order.status).toBe("cancelled")
  })

  it("refuses a leg sent by a storefront", async () => {
    const r = await http("POST", "/v1/orders", order("SPLIT-X", [["SKU-0", 1]], { leg: { partition: 3, lineNos: [1] } }))
    expect(r).toMatchObject({ status: 400, body: { error: { code: "invalid_frame" } } })
  })

  it("completes a placement interrupted after one leg when the client retries, without duplicates, and pushes each leg's events", async () => {
    const body = order("SPLIT-4", [["SKU-1", 1], ["SKU-3", 1]])
    const plan = splitOrder({ type: "order.place", channel: "web", ...body } as PlaceOrder, partitions)
    if (!("kind" in plan) || plan.kind !== "legs") throw new Error("expected legs")
    // a gateway placed the first leg and died
    const first = await engine.submit(plan.legs[0])
    if (!first.ok) throw new Error(first.message)
    const retried = await http("POST", "/v1/orders", body)
    expect(retried.status).toBe(201)
    const id: string = retried.body.order.orderId
    expect(legIdsOf(id)![0]).toBe(first.order!.orderId)
    const again = await http("POST", "/v1/orders", body)
    expect(again).toMatchObject({ status: 200, body: { existing: true, order: { orderId: id } } })
    expect(await stock()).toMatchObject({ "SKU-1": { allocated: 1 }, "SKU-3": { allocated: 1 } })

    // a subscriber to the composite id hears each leg's events, named by leg id
    const ws = await FrameClient.open(`${gateway.url.replace("http", "ws")}/v1/ws?key=${keys.web}`)
    expect(await ws.request(1, "order.subscribe", { orderId: id })).toMatchObject({ ok: true, result: { order: { orderId: id } } })
    expect(await ws.request(2, "order.cancel", { orderId: id, reason: "test" })).toMatchObject({ ok: true, result: { order: { status: "cancelled" } } })
    for (const leg of legIdsOf(id)!) await ws.waitFor((f) => f.push === "order" && f.orderId === leg && (f.event as { type: string }).type === "OrderCancelled", 10_000)
    ws.close()
    expect(await stock()).toMatchObject({ "SKU-1": { allocated: 0 }, "SKU-3": { allocated: 0 } })
  })
})
