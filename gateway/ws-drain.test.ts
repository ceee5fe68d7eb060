/**
 * Every request gets exactly one answer, also in a burst and when the
 * connection closes: a request over a limit is answered (not counted as a bad
 * frame), a close for bad frames first answers the requests already read, and
 * a shutdown answers every request in flight (or, past closeDrainMs,
 * `outcome_unknown`) before its 1001.
 */
import { spawn } from "node:child_process"
import { connect, type Socket } from "node:net"
import { createInterface } from "node:readline"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Queries, type Command, type Engine } from "../engine/index.ts"
import { places } from "../engine/testing/fixture.ts"
import { LocalEngine, type EngineReply } from "./engine-access.ts"
import { call, FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

const placeFrame = (id: string) =>
  JSON.stringify({ id, op: "order.place", externalId: id, lines: [{ sku: "HDMI", qty: 1 }], customer: { location: places.dallas }, payment: "authorised" })

/** Waits until `n` frames with an id have arrived, or the connection closed. */
const replies = async (c: FrameClient, n: number, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs
  while (c.frames.filter((f) => "id" in f).length < n && c.closeCode === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20))
  }
  return c.frames.filter((f) => "id" in f)
}

describe("a burst on one connection", () => {
  let t: TestGateway
  beforeAll(async () => {
    t = await startTestGateway({ config: { badFramesBeforeClose: 5 }, stock: [["HDMI", "WH-DAL", 10_000]] })
  })
  afterAll(() => t.close())

  it("answers 400 pipelined order.place with exactly 400 replies; every order that exists was answered", async () => {
    const c = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
    const ids = Array.from({ length: 400 }, (_, i) => `burst-${i}`)
    for (const id of ids) c.sendRaw(placeFrame(id))
    const got = await replies(c, 400)
    expect(c.closeCode).toBeUndefined()
    expect(got).toHaveLength(400)
    const byId = new Map(got.map((f) => [f.id as string, f]))
    expect(byId.size).toBe(400)
    for (const id of ids) {
      const reply = byId.get(id)!
      const order = await Queries.orderByExternal(t.engine, "web", id)
      if (reply.ok === true) {
        expect(order?.orderId).toBe((reply.result as { order: { orderId: string } }).order.orderId)
      } else {
        // over requestsInFlightPerConnectionMax (256): answered, not run
        expect(reply.error).toMatchObject({ code: "too_many_requests" })
        expect(order).toBeUndefined()
      }
    }
    expect(got.filter((f) => f.ok === true).length).toBeGreaterThan(0)
    // the over-limit answers were not bad frames: the connection serves on
    expect(await c.request("after", "ping")).toMatchObject({ ok: true })
    c.close()
  }, 120_000)

  it("answers every request read before a close for bad frames, then closes with 4000", async () => {
    const c = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
    const ids = Array.from({ length: 10 }, (_, i) => `before-bad-${i}`)
    for (const id of ids) c.sendRaw(placeFrame(id))
    for (let i = 0; i < 10; i++) c.sendRaw("[]")
    expect(await c.waitClosed(30_000)).toBe(4000)
    const got = c.frames.filter((f) => "id" in f)
    // the ten orders, and the six bad frames up to the one past badFramesBeforeClose (later frames are not read)
    for (const id of ids) {
      const reply = got.find((f) => f.id === id)
      expect(reply, id).toMatchObject({ ok: true })
      expect(await Queries.orderByExternal(t.engine, "web", id)).toBeDefined()
    }
    expect(got.filter((f) => f.id === null && (f.error as { code?: string })?.code === "malformed_json")).toHaveLength(6)
    expect(got).toHaveLength(16)
  }, 60_000)
})

/** The engine, with command submission held back while `held` (to have requests in flight at a shutdown). */
class HeldEngine extends LocalEngine {
  held = true
  submitted = 0
  private waiting: Array<() => void> = []

  constructor(engine: Engine, store: ConstructorParameters<typeof LocalEngine>[1]) {
    super(engine, store)
  }

  override async submit(command: Command): Promise<EngineReply> {
    this.submitted++
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve))
    return super.submit(command)
  }

  release(): void {
    this.held = false
    for (const w of this.waiting.splice(0)) w()
  }
}

const startHeld = async (closeDrainMs: number) => {
  let held: HeldEngine | undefined
  const t = await startTestGateway({
    config: { closeDrainMs },
    stock: [["HDMI", "WH-DAL", 1_000]],
    engineAccess: (engine, store) => (held = new HeldEngine(engine, store))
  })
  return { t, held: held! }
}

const until = async (what: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!what()) {
    if (Date.now() > deadline) throw new Error("timed out")
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe("shutdown", () => {
  it("answers the requests in flight and the frames arriving meanwhile before it closes with 1001", async () => {
    const { t, held } = await startHeld(60_000)
    try {
      const c = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
      const ids = Array.from({ length: 20 }, (_, i) => `shutdown-${i}`)
      for (const id of ids) c.sendRaw(placeFrame(id))
      await until(() => held.submitted === 20)
      const closed = t.gateway.close()
      // a request sent while the gateway drains is answered, not run
      expect(await c.request("late", "ping")).toMatchObject({ ok: false, error: { code: "gateway_closing", retryable: true } })
      held.release()
      await closed
      expect(await c.waitClosed(30_000)).toBe(1001)
      for (const id of ids) {
        expect(c.frames.find((f) => f.id === id), id).toMatchObject({ ok: true, result: { order: { externalId: id } } })
      }
      expect(c.frames.filter((f) => "id" in f)).toHaveLength(21)
    } finally {
      held.release()
      await t.close()
    }
  }, 60_000)

  it("answers a request still in flight after closeDrainMs with outcome_unknown, then closes with 1001", async () => {
    const { t, held } = await startHeld(300)
    try {
      const c = await FrameClient.open(`${t.wsUrl}?key=${keys.web}`)
      for (const id of ["stuck-1", "stuck-2", "stuck-3"]) c.sendRaw(placeFrame(id))
      await until(() => held.submitted === 3)
      await t.gateway.close()
      expect(await c.waitClosed(30_000)).toBe(1001)
      for (const id of ["stuck-1", "stuck-2", "stuck-3"]) {
        expect(c.frames.filter((f) => f.id === id), id).toEqual([{ id, ok: false, error: expect.objectContaining({ code: "outcome_unknown" }) }])
      }
    } finally {
      held.release()
      await t.close()
    }
  }, 60_000)
})

describe("a gateway process stopped with SIGTERM", () => {
  it("writes every reply buffered for a slow reader before its 1001, then exits", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "gateway/testing/gateway-process.ts"], {
      env: {
        ...process.env,
        REDIS_URL: "",
        TEST_GATEWAY_CONFIG: JSON.stringify({
          // room for far more than the kernel's socket buffers hold, so that most replies wait in uWebSockets.js
          // (and an idle timeout longer than the test, since the paused client cannot answer pings)
          bufferedBytesHardMax: 256 * 1024 * 1024, requestsInFlightPerConnectionMax: 1_000_000, closeDrainMs: 120_000, idleTimeoutSec: 900,
          secretKeyRequestsPerSec: 1e9, secretKeyRequestsBurst: 1e9, secretConnectionRequestsPerSec: 1e9, secretConnectionRequestsBurst: 1e9
        })
      },
      stdio: ["pipe", "pipe", "inherit"]
    })
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("gateway process did not start in 60 s")), 60_000)
        createInterface({ input: child.stdout! }).on("line", (line) => {
          if (!line.startsWith("{")) return
          clearTimeout(timer)
          resolve((JSON.parse(line) as { url: string }).url)
        })
      })
      const c = await FrameClient.open(`${url.replace("http://", "ws://")}/v1/ws?key=${keys.web}`)
      const socket = (c.ws as unknown as { _socket: Socket })._socket
      socket.pause()
      // 100,000 pings answered with ~300 bytes each: some 30 MB of replies the client does not read yet
      const n = 100_000
      const nonce = "n".repeat(250)
      for (let i = 0; i < n; i++) c.sendRaw(`{"id":${i},"op":"ping","nonce":"${nonce}"}`)
      // every ping answered (its reply buffered), as the process's metrics say
      const pings = new RegExp(`gateway_requests_total\\{transport="ws",op="ping"\\} ${n}\\b`)
      const deadline = Date.now() + 120_000
      for (;;) {
        const m = await call(url, "GET", "/metrics")
        if (pings.test(String(m.body))) break
        if (Date.now() > deadline) throw new Error("the pings were not all answered")
        await new Promise((r) => setTimeout(r, 100))
      }
      child.kill("SIGTERM")
      // the gateway has begun to close once it stops listening (a new connection is refused); only then does the client read
      const { port } = new URL(url)
      for (;;) {
        const refused = await new Promise<boolean>((resolve) => {
          const probe = connect(Number(port), "127.0.0.1")
          probe.once("connect", () => {
            probe.destroy()
            resolve(false)
          })
          probe.once("error", () => resolve(true))
        })
        if (refused) break
        await new Promise((r) => setTimeout(r, 20))
      }
      socket.resume()
      expect(await c.waitClosed(120_000)).toBe(1001)
      const ids = c.frames.filter((f) => "id" in f).map((f) => f.id)
      expect(ids.length).toBe(n)
      expect(ids.every((id, i) => id === i)).toBe(true)
      expect(await exited).toBe(0)
    } finally {
      child.kill("SIGKILL")
    }
  }, 300_000)
})
