/**
 * An edge gateway cut off from Redis misses the changes published meanwhile;
 * once the link is back it asks for every subscribed SKU to be read again, so
 * storefronts end up with current availability. Redis is reached through a
 * TCP relay the test cuts and restores.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Relay } from "../engine/testing/relay.ts"
import { ChangeHub, type Changes } from "./changes.ts"
import { RedisFanout } from "./redis-fanout.ts"
import { redisUnreachable, redisUrl } from "./testing/redis.ts"

const unreachable = await redisUnreachable()

if (unreachable !== undefined && !process.env.CI) {
  console.warn(`Skipping the Redis resync test: ${unreachable}`)
  describe.skip("edge resync after a Redis outage (Redis unreachable)", () => it("needs Redis", () => undefined))
} else {
  describe("edge resync after a Redis outage", () => {
    let relay: Relay
    beforeAll(async () => {
      if (unreachable !== undefined) throw new Error(`${unreachable}. CI must provide Redis (set REDIS_URL).`)
      const target = new URL(redisUrl)
      relay = new Relay({ host: target.hostname, port: Number(target.port || 6379) })
      await relay.open()
    })
    afterAll(() => relay?.cut().catch(() => undefined))

    it("asks for all availability again once the link to Redis is back", async () => {
      const viaRelay = new URL(redisUrl)
      viaRelay.hostname = "127.0.0.1"
      viaRelay.port = String(relay.port)
      const hub = new ChangeHub()
      const seen: Array<Changes> = []
      hub.subscribe((c) => seen.push(c))
      const edge = await RedisFanout.connect(viaRelay.toString(), hub, false, `oms:test-resync-${process.pid}`)
      try {
        await relay.cut()
        await new Promise((r) => setTimeout(r, 300))
        expect(seen).toEqual([])
        await relay.open()
        const deadline = Date.now() + 10_000
        while (!seen.some((c) => c.allSkus) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
        expect(seen.some((c) => c.allSkus)).toBe(true)
        expect(edge.connected()).toBe(true)
      } finally {
        await edge.close()
      }
    }, 30_000)
  })
}
