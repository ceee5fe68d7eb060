/**
 * The embedded database's wire server, spoken to byte by byte as a client
 * would: the startup exchange, SSL refused, pipelined and split messages,
 * connections taking turns at PGlite's one backend (no statement of one lands
 * in another's transaction), a client lost mid-transaction or mid-exchange
 * leaving nothing behind, Terminate, message types no client sends, and the
 * connection limit.
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
const parse = (sql: string) => message("P", Buffer.concat([cstring(""), cstring(sql), int16(0)]))
const bind = message("B", Buffer.concat([cstring(""), cstring(""), int16(0), int16(0), int16(0)]))
const execute = message("E", Buffer.concat([cstring(""), int32(0)]))
const sync = message("S")
/** Parse, Bind, Execute and Sync of one statement without parameters (the extended protocol). */
const extended = (sql: string) => Buffer.concat([parse(sql), bind, execute, sync])

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

  /** allowHalfOpen: the client's side stays open after the server's ends, as a careless client's would. */
  static async open(options: { readonly port?: number; readonly allowHalfOpen?: boolean } = {}): Promise<Client> {
    const socket = connect({ host: "127.0.0.1", port: options.port ?? port, allowHalfOpen: options.allowHalfOpen ?? false })
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

  async untilClosed(timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("still open")
      await new Promise((r) => setTimeout(r, 20))
    }
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
/** The types of a run of replies, without ParameterStatus ('S'), which a backend may send at any time (PGlite does after an error). */
const types = (replies: ReadonlyArray<Reply>) => replies.map((r) => r.type).filter((t) => t !== "S").join("")

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

  it("closes a connection that asks for encryption again and again, and serves the others", async () => {
    const socket = connect({ host: "127.0.0.1", port })
    await new Promise<void>((resolve) => socket.once("connect", resolve))
    const refusals: Array<Buffer> = []
    socket.on("data", (chunk: Buffer) => refusals.push(chunk))
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()))
    const sslRequest = Buffer.concat([int32(8), int32(80877103)])
    const gssEncRequest = Buffer.concat([int32(8), int32(80877104)])
    socket.write(Buffer.concat([gssEncRequest, ...Array.from({ length: 20_000 }, () => sslRequest)]))
    await closed
    // one refusal for each kind, as PostgreSQL allows
    expect(Buffer.concat(refusals).toString("latin1")).toBe("NN")
    const b = await Client.open()
    b.send(query("SELECT 5"))
    expect(value(await b.untilReady())).toBe("5")
    b.close()
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

  it("joins a startup packet and a message that arrive in many small pieces", async () => {
    const socket = connect({ host: "127.0.0.1", port })
    await new Promise<void>((resolve) => socket.once("connect", resolve))
    const client = new Client(socket)
    const drip = async (bytes: Buffer, size: number) => {
      for (let at = 0; at < bytes.length; at += size) {
        socket.write(bytes.subarray(at, at + size))
        await new Promise((r) => setImmediate(r))
      }
    }
    await drip(startupPacket(), 3)
    await client.untilReady()
    // a 300 KB statement, in 4 KB pieces, then another in the same pieces as its tail
    const long = "x".repeat(300_000)
    await drip(Buffer.concat([query(`SELECT length('${long}')`), query("SELECT 9")]), 4_096)
    expect(value(await client.untilReady())).toBe("300000")
    expect(value(await client.untilReady())).toBe("9")
    client.close()
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
    a.send(parse("SELECT 'a'"))
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

  it("undoes what a connection lost before its Sync had run, so the next one's statements do not join it", async () => {
    const a = await Client.open()
    const b = await Client.open()
    a.send(Buffer.concat([parse("INSERT INTO item VALUES (9)"), bind, execute]))
    // the insert ran, in an implicit transaction that only its Sync would commit
    expect(await a.hasReply()).toBe(true)
    a.close()
    expect(await count(b)).toBe(0)
    expect(db.isInTransaction()).toBe(false)
    b.close()
  })

  it("answers the next connection after one lost between an error and its Sync", async () => {
    const a = await Client.open()
    const b = await Client.open()
    a.send(Buffer.concat([parse("SELECT 1/0"), bind, execute]))
    // the error: the backend now skips every message until a Sync
    expect(await a.hasReply()).toBe(true)
    a.close()
    b.send(extended("SELECT 5"))
    const replies = await b.untilReady()
    expect(types(replies)).toBe("12DCZ")
    expect(value(replies)).toBe("5")
    b.close()
  })

  it("rolls back the transaction of a connection lost between an error and its Sync", async () => {
    const a = await Client.open()
    const b = await Client.open()
    a.send(query("BEGIN; INSERT INTO item VALUES (1)"))
    await a.untilReady()
    a.send(Buffer.concat([parse("SELECT 1/0"), bind, execute]))
    expect(await a.hasReply()).toBe(true)
    a.close()
    expect(await count(b)).toBe(0)
    expect(db.isInTransaction()).toBe(false)
    b.close()
  })

  it("lets the others in after a function call, which ends its exchange as a query does", async () => {
    const a = await Client.open()
    const b = await Client.open()
    a.send(query("SELECT 'int4abs'::regproc::oid"))
    const oid = Number(value(await a.untilReady()))
    // FunctionCall: the function, no argument formats, one argument "-3" in text, a text result
    a.send(message("F", Buffer.concat([int32(oid), int16(0), int16(1), int32(2), Buffer.from("-3"), int16(0)])))
    expect(types(await a.untilReady())).toBe("VZ")
    b.send(query("SELECT 5"))
    expect(value(await b.untilReady(2_000))).toBe("5")
    a.close()
    b.close()
  })

  it("closes a connection that sends a message type no client sends after the startup, and serves the others", async () => {
    for (const type of ["p", "z"]) {
      const a = await Client.open()
      a.send(message(type))
      await a.untilClosed()
    }
    const b = await Client.open()
    b.send(query("SELECT 5"))
    expect(value(await b.untilReady(2_000))).toBe("5")
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

  it("ends a transaction on Terminate even if the client keeps its side of the socket open", async () => {
    const a = await Client.open({ allowHalfOpen: true })
    const b = await Client.open()
    a.send(query("BEGIN; INSERT INTO item VALUES (1)"))
    await a.untilReady()
    a.send(message("X"))
    b.send(query("SELECT count(*) FROM item"))
    expect(value(await b.untilReady(2_000))).toBe("0")
    expect(db.isInTransaction()).toBe(false)
    a.close()
    b.close()
  })

  it("closes a connection that does not send its startup packet in time, and serves the others", async () => {
    const db = await PGlite.create()
    const server = new PGliteWireServer({ db, maxConnections: 1, startupTimeoutMs: 300 })
    const p = await server.listen({ host: "127.0.0.1", port: 0 })
    try {
      // connected and silent, then half a startup packet: it holds the only connection until its time is up
      const silent = connect({ host: "127.0.0.1", port: p })
      await new Promise<void>((resolve) => silent.once("connect", resolve))
      silent.write(startupPacket().subarray(0, 5))
      const closed = new Promise<void>((resolve) => silent.once("close", () => resolve()))
      const started = Date.now()
      await closed
      expect(Date.now() - started).toBeGreaterThanOrEqual(200)
      const b = await Client.open({ port: p })
      b.send(query("SELECT 11"))
      expect(value(await b.untilReady())).toBe("11")
      // a connection that did start is not timed out
      await new Promise((r) => setTimeout(r, 500))
      b.send(query("SELECT 12"))
      expect(value(await b.untilReady())).toBe("12")
      b.close()
    } finally {
      await server.stop()
      await db.close()
    }
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

/**
 * PGlite 0.5's filesystems in Node answer within the turn of the event loop
 * that asked, so nothing arrives from a socket while a request runs. A
 * filesystem whose sync waits on I/O would let it arrive; the server must not
 * depend on either.
 */
describe("PGlite wire server over a backend that waits while it works", () => {
  let waiting: PGliteWireServer
  let waitingPort: number

  beforeAll(async () => {
    const backend = {
      execProtocolRawStream: async (bytes: Uint8Array, options: { readonly onRawData: (chunk: Uint8Array) => void }) => {
        await new Promise((r) => setTimeout(r, 50))
        return db.execProtocolRawStream(bytes, options)
      },
      isInTransaction: () => db.isInTransaction(),
      exec: (sql: string) => db.exec(sql),
      get closed() {
        return db.closed
      }
    }
    waiting = new PGliteWireServer({ db: backend as unknown as PGlite, maxConnections: 4 })
    waitingPort = await waiting.listen({ host: "127.0.0.1", port: 0 })
  })

  afterAll(async () => {
    await waiting.stop()
  })

  it("answers what came before a Terminate that arrives while the backend is busy", async () => {
    const a = await Client.open({ port: waitingPort })
    a.send(query("SELECT 1"))
    await new Promise((r) => setTimeout(r, 10))
    a.send(message("X"))
    expect(value(await a.untilReady())).toBe("1")
    await a.untilClosed()

    const b = await Client.open({ port: waitingPort })
    b.send(query("SELECT 2"))
    await new Promise((r) => setTimeout(r, 10))
    b.send(Buffer.concat([query("SELECT 3"), message("X")]))
    expect(value(await b.untilReady())).toBe("2")
    expect(value(await b.untilReady())).toBe("3")
    await b.untilClosed()
  })
})
