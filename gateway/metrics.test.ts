/**
 * The gateway's metrics: the ops feed's per-tick percentiles count every
 * request of the tick (an HDR histogram), so a slow tail after the first
 * 10,000 requests shows in p99; the Prometheus text comes from prom-client
 * with the metric names the docs and tests rely on.
 */
import { describe, expect, it } from "vitest"
import { GatewayMetrics } from "./metrics.ts"
import { GatewayFigures } from "./ops-aggregator.ts"

/** Records a request that took `ms` (its start is back-dated). */
const answered = (m: GatewayMetrics, ms: number, op = "ping", errorCode?: string) => m.request("ws", op, performance.now() - ms, errorCode)

describe("tick latency percentiles", () => {
  it("count every request of a tick: 20,000 fast requests then 400 slow ones put p99 in the slow tail", () => {
    const m = new GatewayMetrics()
    const figures = new GatewayFigures(m)
    figures.take()
    for (let i = 0; i < 20_000; i++) answered(m, 2)
    for (let i = 0; i < 400; i++) answered(m, 800)
    const t = figures.take()
    // the slow tail is ~1.96 % of the tick: p99 falls in it, p90 and p50 do not
    expect(t.latencyMs.p99).toBeGreaterThanOrEqual(790)
    expect(t.latencyMs.p90).toBeLessThan(50)
    expect(t.latencyMs.p50).toBeGreaterThanOrEqual(1.9)
    expect(t.latencyMs.p50).toBeLessThan(50)
    // the next tick starts empty
    expect(figures.take().latencyMs).toEqual({ p50: 0, p90: 0, p99: 0 })
  })

  it("keeps requests slower than its range at its bound (60 s), not lost", () => {
    const m = new GatewayMetrics()
    answered(m, 120_000)
    const t = m.takeTickLatency()
    expect(t.count).toBe(1)
    expect(t.p99).toBeGreaterThanOrEqual(59_000)
  })
})

describe("Prometheus exposition (prom-client)", () => {
  it("renders requests, errors, latency buckets, counters, gauges read at scrape time and the engine's stats", async () => {
    const m = new GatewayMetrics()
    answered(m, 3, "GET /v1/availability")
    answered(m, 3, "order.place", "store_unavailable")
    m.count("gateway_webhook_deliveries_total", { outcome: "delivered" }, 2)
    let open = 7
    m.gauge("gateway_ws_connections", "Open storefront WS connections.", () => open)
    m.gauge("gateway_availability_cache_hits_total", "Hits.", () => 41)
    open = 9
    const text = await m.render({ partitions: 2, pools: 10, holds: 1, orders: 3, mailbox: 0, batches: 5, events: 12, lastCommitMs: 4, state: "running" } as never)
    expect(text).toContain('gateway_requests_total{transport="ws",op="GET /v1/availability"} 1')
    expect(text).toContain('gateway_errors_total{code="store_unavailable"} 1')
    expect(text).toContain('gateway_request_seconds_bucket{le="+Inf",transport="ws"} 2')
    expect(text).toContain('gateway_webhook_deliveries_total{outcome="delivered"} 2')
    expect(text).toContain("# HELP gateway_webhook_deliveries_total Webhook attempts")
    expect(text).toContain("gateway_ws_connections 9")
    expect(text).toContain("# TYPE gateway_availability_cache_hits_total counter")
    expect(text).toContain("gateway_availability_cache_hits_total 41")
    expect(text).toContain("engine_running 1")
    expect(text).toContain("engine_last_commit_seconds 0.004")
    expect(m.requestsTotal()).toBe(2)
    expect(m.errorsWith("store_unavailable")).toBe(1)
    // without an engine (an edge that cannot reach its owner) the engine's gauges are left out
    expect(await m.render(null)).not.toContain("engine_running")
  })
})
