/**
 * An edge gateway tells a command that never reached the engine owner
 * (retryable) from one whose answer was lost (outcome unknown: it may have
 * been applied), and keeps the owner's address out of what clients see.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { RemoteEngine } from "./engine-access.ts"

let silent: Server
let silentPort = 0
let closedPort = 0

beforeAll(async () => {
  // a server that takes requests and never answers
  silent = createServer(() => undefined)
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
  silentPort = (silent.address() as AddressInfo).port
  // a port nobody listens on
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
  closedPort = (probe.address() as AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
})
afterAll(() =>
  new Promise((resolve) => {
    silent.closeAllConnections()
    silent.close(resolve)
  }))

describe("edge to owner", () => {
  const hold = { type: "hold.create", channel: "web", sku: "TV-55", qty: 1 } as const

  it("says engine_unreachable (retryable) when the owner refuses the connection", async () => {
    const r = await new RemoteEngine(`http://127.0.0.1:${closedPort}`, "internal-token-x", 500).submit(hold)
    expect(r).toMatchObject({ ok: false, code: "engine_unreachable" })
    expect(JSON.stringify(r)).not.toContain(String(closedPort))
  })

  it("says outcome_unknown when the command was sent and no answer came", async () => {
    const r = await new RemoteEngine(`http://127.0.0.1:${silentPort}`, "internal-token-x", 300).submit(hold)
    expect(r).toMatchObject({ ok: false, code: "outcome_unknown" })
    expect(JSON.stringify(r)).not.toContain(String(silentPort))
  })
})
