/**
 * The pipeline fold (ops-pipeline.ts) over hand-written events: orders move
 * from placed to routed, backordered, shipped and delivered; a promised
 * shipment is at risk within a day of its promise and late once the engine
 * says so; the oldest backorder is the one waiting longest; a cancellation
 * takes an order out; several processes' pipelines merge.
 */
import { describe, expect, it } from "vitest"
import type { EngineEvent } from "../engine/index.ts"
import { mergePipelines, PipelineFold } from "./ops-pipeline.ts"

const hour = 3_600_000
const placed = (orderId: string, at = 0) => ({ type: "OrderPlaced", orderId, at }) as unknown as EngineEvent
const routed = (orderId: string, shipments: ReadonlyArray<{ id: string; promisedBy?: number }>, backordered = 0, reason = "placed", at = 0) => ({
  type: "OrderRouted", orderId, reason, at,
  shipments: shipments.map((s) => ({ shipmentId: s.id, nodeId: "N1", lines: [{ lineNo: 1, qty: 1 }], ...(s.promisedBy ? { promise: { carrier: "c", service: "s", promisedBy: s.promisedBy } } : {}) })),
  backordered: backordered > 0 ? [{ lineNo: 2, qty: backordered }] : []
}) as unknown as EngineEvent
const shipment = (type: string, orderId: string, shipmentId: string, extra: object = {}) => ({ type, orderId, shipmentId, at: 0, ...extra }) as unknown as EngineEvent

describe("the pipeline view", () => {
  it("counts orders by state, late and at-risk shipments, and the oldest backorder", () => {
    const p = new PipelineFold(0)
    const now = 100 * hour
    p.onEvent(placed("o1"))
    p.onEvent(routed("o1", [{ id: "o1-s1", promisedBy: now + 2 * hour }]))
    p.onEvent(placed("o2"))
    p.onEvent(routed("o2", [{ id: "o2-s1", promisedBy: now + 48 * hour }]))
    p.onEvent(placed("o3"))
    p.onEvent(routed("o3", [], 2, "placed", 5 * hour))
    p.onEvent(placed("o4"))
    p.onEvent(routed("o4", [], 1, "placed", 3 * hour))
    p.onEvent(placed("o5"))
    p.onEvent(routed("o5", [{ id: "o5-s1", promisedBy: now - hour }]))
    p.onEvent(shipment("ShipmentLate", "o5", "o5-s1", { promisedBy: now - hour, cause: "not_delivered" }))
    p.onEvent(placed("o6"))
    let v = p.view(now)
    expect(v.byState).toEqual({ placed: 1, routed: 3, backordered: 2, shipped: 0, delivered: 0, cancelled: 0 })
    expect(v.atRiskShipments.map((s) => s.shipmentId)).toEqual(["o1-s1"])
    expect(v.lateShipments.map((s) => s.shipmentId)).toEqual(["o5-s1"])
    expect(v.oldestBackorder).toEqual({ orderId: "o4", since: 3 * hour })

    // o1 ships (no longer at risk) and is delivered; o4's backorder is filled by a retry; o3 is cancelled
    p.onEvent(shipment("ShipmentShipped", "o1", "o1-s1"))
    expect(p.view(now).byState.shipped).toBe(1)
    p.onEvent(shipment("ShipmentDelivered", "o1", "o1-s1"))
    p.onEvent(routed("o4", [{ id: "o4-s1" }], 0, "backorder_retry"))
    p.onEvent({ type: "OrderCancelled", orderId: "o3", complete: true, fromBackorder: [], lines: [] } as unknown as EngineEvent)
    v = p.view(now)
    expect(v).toMatchObject({ atRisk: 0, late: 1, oldestBackorder: null })
    expect(v.byState).toEqual({ placed: 1, routed: 3, backordered: 0, shipped: 0, delivered: 1, cancelled: 1 })

    const merged = mergePipelines([v, { ...v, since: -5, oldestBackorder: { orderId: "x", since: 1 } }])!
    expect(merged).toMatchObject({ since: -5, late: 2, oldestBackorder: { orderId: "x", since: 1 } })
    expect(merged.byState.routed).toBe(6)
    expect(mergePipelines([])).toBeNull()
  })
})
