/**
 * docs/protocol.md stays complete: it names every WS operation, every HTTP
 * route, every error code (engine and gateway) with its HTTP status, every
 * limit with its environment variable, and every WS close code.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { gatewayEnvNames } from "./config.ts"
import { allErrorCodes, closeCodes, httpStatusOf } from "./errors.ts"
import { httpRoutes } from "./http-api.ts"
import type { EngineAccess } from "./engine-access.ts"
import { loadGatewayConfig } from "./config.ts"
import { makeKeyRing } from "./keys.ts"
import { GatewayMetrics } from "./metrics.ts"
import { nodeEventTypes, storefrontOps } from "./payloads.ts"

const doc = readFileSync(new URL("../docs/protocol.md", import.meta.url), "utf8")

describe("docs/protocol.md", () => {
  it("documents every WS operation and node event type", () => {
    for (const op of storefrontOps) expect(doc, op).toContain(`| \`${op}\` |`)
    for (const type of nodeEventTypes) expect(doc, type).toContain(`\`${type}\``)
  })

  it("documents every HTTP route", () => {
    const routes = httpRoutes({ config: loadGatewayConfig({}, {}), keys: makeKeyRing({ ops: "ops-token-x" }), engine: {} as EngineAccess, metrics: new GatewayMetrics(), ready: async () => ({}) })
    for (const r of routes) {
      const method = r.method === "del" ? "DELETE" : r.method.toUpperCase()
      expect(doc, `${method} ${r.pattern}`).toContain(`${method} ${r.pattern}`)
    }
  })

  it("lists every error code with its HTTP status", () => {
    for (const code of Object.keys(allErrorCodes)) expect(doc, code).toContain(`| \`${code}\` | ${httpStatusOf(code)} |`)
  })

  it("lists every limit with its environment variable, and every close code", () => {
    for (const [key, env] of Object.entries(gatewayEnvNames)) expect(doc, key).toContain(`| \`${key}\` | \`${env}\` |`)
    // each close code as the WS error table gives it ("closed, code **4000** `too_many_bad_frames`"), not any number with those digits
    for (const code of Object.values(closeCodes)) expect(doc, String(code)).toContain(`code **${code}**`)
  })
})
