/**
 * The embedded database's wire server, spoken to byte by byte as a client
 * would: the startup exchange, SSL refused, pipelined and split messages,
 * connections taking turns at PGlite's one backend (no statement of one lands
 * in another's transaction), a client lost mid-transaction rolled back, and
 * the connection limit.
 */
import { connect, type Socket } from "node:net"
import { PGlite } from "@electric-sql/pglite"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { PGliteWireServer } from "./pglite-wire.ts"

let db: PGlite
let server: PGliteWireServer
let port: number

beforeAll(async () => {
  db = await PGlite.create()
  await db.exec("CREATE TABLE item (n int)")
  server = new PGliteWireServer({ db, maxConnections: 4 })
  port = await server.listen({ host: "127.0.0.1", port: 0 })
}, 60_000)

afterAll(async () => {
  await server.stop()
  await db.close()
})

// ---- a minimal client ------------------------------------------------------------------------

const message = (type: string, body: Buffer = Buffer.alloc(0)): Buffer => {
  const head = Buffer.alloc(5)
  head.write(type, 0, "latin1")
  head.writeInt32BE(4 + body.length, 1)
  return Buffer.concat([head, body])
}
const cstring = (s: string) => Buffer.concat([Buffer.from(s, "utf8"), Buffer.from([0])])
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff])
const int32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

const startupPacket = (): Buffer => {
  const body = Buffer.concat([int32(196608), cstring("user"), cstring("postgres"), cstring("database"), cstring("postgres"), Buffer.from([0])])
  return Buffer.concat([int32(4 + body.length), body])
}
const query = (sql: string) => message("Q", cstring(sql))
/** Parse, Bind, Execute and Sync of one statement without parameters (the extended protocol). */
const extended = (sql: string) => Buffer.concat([
  message("P", Buffer.concat([cstring(""), cstring(sql), int16(0)])),
  message("B", Buffer.concat([cstring(""), cstring(""), int16(0), int16(0), int16(0)])),
  message("E", Buffer.concat([cstring(""), int32(0)])),
  message("S")
])

interface Reply {
  readonly type: string
  readonly body: Buffer
}

class Client {
  private buffer = Buffer.alloc(0)
  private readonly replies: Array<Reply> = []
  private wake: (() => void) | undefined
  closed = false

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      while (this.buffer.length >= 5 && this.buffer.length >= 1 + this.buffer.readInt32BE(1)) {
        const length = this.buffer.readInt32BE(1)
        this.replies.push({ type: String.fromCharCode(this.buffer[0]), body: this.buffer.subarray(5, 1 + length) })
        this.buffer = this.buffer.subarray(1 + length)
      }
      this.wake?.()
    })
    socket.on("close", () => {
      this.closed = true
      this.wake?.()
    })
  }

  static async open(): Promise<Client> {
    const socket = connect({ host: "127.0.0.1", port })
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject))
    const client = new Client(socket)
    socket.write(startupPacket())
    const hello = await client.untilReady()
    expect(hello[0].type).toBe("R") // AuthenticationOk
    return client
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** Replies up to and including the next ReadyForQuery. */
  async untilReady(timeoutMs = 10_000): Promise<Array<Reply>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const z = this.replies.findIndex((r) => r.type === "Z")
      if (z >= 0) return this.replies.splice(0, z + 1)
      if (this.closed) throw new Error("connection closed")
      if (Date.now() > deadline) throw new Error("no ReadyForQuery in time")
      await new Promise<void>((resolve) => {
        this.wake = resolve
        setTimeout(resolve, 50)
      })
    }
  }

  /** Whether a reply is waiting, after giving the server a moment. */
  async hasReply(ms = 200): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms))
    return this.replies.length > 0
  }

  close(): void {
    this.socket.destroy()
  }
}

/** The single value of the first DataRow of a reply (text format). */
const value = (replies: ReadonlyArray<Reply>): string | undefined => {
  const row = replies.find((r) => r.type === "D")
  if (!row) return undefined
  const length = row.body.readInt32BE(2)
  return row.body.subarray(6, 6 + length).toString("utf8")
}
const types = (replies: ReadonlyArray<Reply>) => replies.map((r) => r.type).join("")

const count = async (c: Client): Promise<number> => {
  c.send(query("SELECT count(*) FROM item"))
  return Number(value(await c.untilReady()))
}

describe("PGlite wire server", () => {
  it("answers an SSL request with N, then serves the startup and queries", async () => {
    const socket = connect({ host: "127.0.0.1", port })
    await new Promise<void>((resolve) => socket.once("connect", resolve))
    const answer = new Promise<Buffer>((resolve) => socket.once("data", resolve))
    socket.write(Buffer.concat([int32(8), int32(80877103)]))
    expect((await answer).toString("latin1")).toBe("N")
    socket.removeAllListeners("data")
    const client = new Client(socket)
    socket.write(startupPacket())
    await client.untilReady()
    client.send(query("SELECT 40 + 2"))
    expect(value(await client.untilReady())).toBe("42")
    client.close()
  })

  it("answers pipelined statements in order, an error ending only its own exchange", async () => {
    const c = await Client.open()
    c.send(Buffer.concat([extended("SELECT 1/0"), extended("SELECT 7")]))
    const first = await c.untilReady()
    expect(types(first)).toBe("1EZ") // ParseComplete, then the division fails, then ready
    const second = await c.untilReady()
    expect(types(second)).toBe("12DCZ")
    expect(value(second)).toBe("7")
    c.close()
  })

  it("gives the same answers however the bytes are cut into packets", async () => {
    const stream = Buffer.concat([extended("SELECT 1"), query("SELECT 'two'"), extended("SELECT 3"), extended("SELECT 1/0"), query("SELECT 5")])
    const expected = ["1", "two", "3", undefined, "5"]
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), async (cuts) => {
        const c = await Client.open()
        try {
          const points = [0, ...[...cuts].sort((a, b) => a - b), stream.length]
          for (let i = 1; i < points.length; i++) {
            c.send(stream.subarray(points[i - 1], points[i]))
            await new Promise((r) => setImmediate(r))
          }
          for (const want of expected) expect(value(await c.untilReady())).toBe(want)
        } finally {
          c.close()
        }
      }),
      { numRuns: 25 }
    )
  })

  it("keeps another connection out of an open transaction until it ends", async () => {
    const a = await Client.open()
    const b = await Client.open()
    a.send(query("BEGIN; INSERT INTO item VALUES (1)"))
    await a.untilReady()
    b.send(query("SELECT count(*) FROM item"))
    // b's statement would run inside a's transaction and see its row: it waits instead
    expect(await b.hasReply()).toBe(false)
    a.send(query("COMMIT"))
    await a.untilReady()
    expect(value(await b.untilReady())).toBe("1")
    a.send(query("DELETE FROM item"))
    await a.untilReady()
    a.close()
    b.close()
  })

  it("keeps the backend for a connection between its Parse and its Sync", async () => {
    const a = await Client.open()
    const b = await Client.open()
    const [parse, bind, execute, sync] = [
      message("P", Buffer.concat([cstring(""), cstring("SELECT 'a'"), int16(0)])),
      message("B", Buffer.concat([cstring(""), cstring(""), int16(0), int16(0), int16(0)])),
      message("E", Buffer.concat([cstring(""), int32(0)])),
      message("S")
    ]
    a.send(parse)
    await new Promise((r) => setTimeout(r, 50))
    // b's unnamed statement would replace a's between its Parse and its Bind
    b.send(extended("SELECT 'b'"))
    expect(await b.hasReply()).toBe(false)
    a.send(Buffer.concat([bind, execute, sync]))
    expect(value(await a.untilReady())).toBe("a")
    expect(value(await b.untilReady())).toBe("b")
    a.close()
    b.close()
  })

  it("rolls back the transaction of a connection that goes away, and lets the others in", async () => {
    const a = await Client.open()
    const b = await Client.open()
    a.send(query("BEGIN; INSERT INTO item VALUES (1), (2)"))
    await a.untilReady()
    b.send(query("SELECT count(*) FROM item"))
    expect(await b.hasReply()).toBe(false)
    a.close()
    expect(value(await b.untilReady())).toBe("0")
    expect(db.isInTransaction()).toBe(false)
    b.close()
  })

  it("ends a connection on Terminate without stopping the database", async () => {
    const a = await Client.open()
    a.send(query("INSERT INTO item VALUES (5)"))
    await a.untilReady()
    a.send(message("X"))
    await new Promise<void>((resolve) => (a.closed ? resolve() : a.socket.once("close", () => resolve())))
    const b = await Client.open()
    expect(await count(b)).toBe(1)
    b.send(query("DELETE FROM item"))
    await b.untilReady()
    b.close()
  })

  it("refuses connections past its limit", async () => {
    const open = await Promise.all(Array.from({ length: 4 }, () => Client.open()))
    const socket = connect({ host: "127.0.0.1", port })
    const closed = await new Promise<boolean>((resolve) => {
      socket.once("close", () => resolve(true))
      setTimeout(() => resolve(false), 5_000)
    })
    expect(closed).toBe(true)
    for (const c of open) c.close()
  })
})
