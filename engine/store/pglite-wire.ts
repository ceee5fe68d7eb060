/**
 * Serves one PGlite over the PostgreSQL wire protocol on a local socket, in
 * the embedded database's thread (embedded-worker.ts), so the engine reaches
 * it with the same client and SQL as a real PostgreSQL.
 *
 * PGlite is one backend. Everything a connection sent that has arrived whole
 * goes to it in one call: a journal append (Parse, Bind, Describe, Execute,
 * Sync) is one call into the database, not five, and its answer goes back as
 * PGlite writes it, without being decoded here.
 * Connections take turns at the backend: one that is inside a transaction, or
 * between its first message and its Sync, keeps it until it is done, so no
 * other connection's statement lands in its transaction or between its Parse
 * and its Bind. A connection that goes away inside a transaction, or short of
 * its Sync, is rolled back, as a server does when its client disconnects.
 *
 * Protocol: the startup packet (PGlite answers it: trust authentication;
 * a connection that has not sent it within `startupTimeoutMs` is closed), an
 * SSL request (answered "N": no TLS on a local socket), a cancel request
 * (ignored; the connection is closed), then typed messages; Terminate closes
 * the connection without reaching PGlite, and a type no client sends closes it
 * too.
 */
import { createServer, type Server, type Socket } from "node:net"
import type { PGlite } from "@electric-sql/pglite"

const sslRequestCode = 80877103
const cancelRequestCode = 80877102
const gssEncRequestCode = 80877104
const protocolVersion3 = 196608
/** A message's length field counts itself: a header is 1 type byte + 4 length bytes. */
const headerBytes = 5
/** Messages after which a connection no longer needs the backend to itself (outside a transaction): each is answered with ReadyForQuery. */
const sync = 0x53 // 'S'
const simpleQuery = 0x51 // 'Q'
const functionCall = 0x46 // 'F'
const terminate = 0x58 // 'X'
/**
 * The types a client sends after the startup. PGlite answers any other (a
 * password message out of turn, a byte of garbage) by looping until its thread
 * runs out of memory, where a backend would end the one connection; and it
 * takes a first byte of 0 for a startup packet.
 */
const frontendTypes = new Set([..."BCcdDEfFHPQSX"].map((type) => type.charCodeAt(0)))
/** Bigger than any message the engine sends (a journal batch is bounded well below it). */
const messageBytesMax = 1024 * 1024 * 1024

class Connection {
  /** Bytes received and not yet parsed: the start of an unfinished message. */
  chunks: Array<Buffer> = []
  chunkBytes = 0
  /** Bytes it takes to parse on: the whole of the next message, or its header. */
  needed = 8
  started = false
  /** The encryption requests (SSL, GSS) answered "N": a client makes each once at most. */
  readonly refused = new Set<number>()
  closed = false
  /** Whole messages waiting for their turn at the backend. */
  readonly ready: Array<Buffer> = []
  /** Whether the last message handed over ends an exchange (Sync, simple Query or FunctionCall). */
  exchangeDone = true
  /** Whether its messages are with PGlite now: a Terminate arriving meanwhile waits for their answers. */
  serving = false

  constructor(readonly socket: Socket) {}
}

export interface WireServerOptions {
  readonly db: PGlite
  /** Connections served at once; more are refused (closed at once). */
  readonly maxConnections: number
  /**
   * A connection that has not sent its whole startup packet this long after
   * it connected is closed, so that a client that connects and says nothing
   * does not keep one of the few connections (default 10 s; PostgreSQL's
   * authentication_timeout, 60 s by default, plays the same part).
   */
  readonly startupTimeoutMs?: number | undefined
}

export class PGliteWireServer {
  private readonly server: Server
  private readonly connections = new Set<Connection>()
  /** Connections with whole messages waiting, in arrival order. */
  private readonly waiting: Array<Connection> = []
  /** The connection that has the backend until its exchange and transaction end. */
  private owner: Connection | undefined
  private running = false
  private stopped = false

  constructor(private readonly options: WireServerOptions) {
    this.server = createServer((socket) => this.accept(socket))
  }

  /** Listens on a unix socket path, or on 127.0.0.1 at a free port; resolves with the port (0 for a path). */
  listen(where: { readonly path: string } | { readonly host: string; readonly port: number }): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject)
      const ready = () => {
        this.server.off("error", reject)
        const address = this.server.address()
        resolve(typeof address === "object" && address !== null ? address.port : 0)
      }
      if ("path" in where) this.server.listen(where.path, ready)
      else this.server.listen(where.port, where.host, ready)
    })
  }

  /** Stops accepting, closes every connection and waits for the backend to finish what it is running. */
  async stop(): Promise<void> {
    this.stopped = true
    for (const c of this.connections) c.socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    while (this.running) await new Promise((r) => setImmediate(r))
    await this.rollBackIfOpen(this.owner?.exchangeDone ?? true)
  }

  private accept(socket: Socket): void {
    if (this.stopped || this.connections.size >= this.options.maxConnections) {
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    const c = new Connection(socket)
    this.connections.add(c)
    const startupTimer = setTimeout(() => {
      if (!c.started) socket.destroy()
    }, this.options.startupTimeoutMs ?? 10_000)
    startupTimer.unref()
    socket.once("close", () => clearTimeout(startupTimer))
    socket.on("data", (chunk: Buffer) => this.receive(c, chunk))
    socket.on("error", () => socket.destroy())
    socket.on("close", () => this.drop(c))
  }

  /**
   * Gathers a connection's bytes until the next message is whole (its length
   * is in its header), then parses what arrived. A message that spans many
   * reads is joined once, not once per read; whole messages go to PGlite as
   * views of what was read, not copies (read buffers are the connection's own).
   * Every byte allocated here is memory outside V8's heap, and V8 runs a full
   * collection of this thread for every few tens of megabytes of it.
   */
  private receive(c: Connection, chunk: Buffer): void {
    if (c.closed) return // after Terminate
    c.chunks.push(chunk)
    c.chunkBytes += chunk.length
    if (c.chunkBytes < c.needed) return
    const buf = c.chunks.length === 1 ? c.chunks[0] : Buffer.concat(c.chunks, c.chunkBytes)
    c.chunks = []
    c.chunkBytes = 0
    this.parse(c, buf)
  }

  /** Keeps the bytes of an unfinished message, and how many it takes to go on. */
  private keep(c: Connection, rest: Buffer): void {
    c.chunks = rest.length === 0 ? [] : [rest]
    c.chunkBytes = rest.length
    if (!c.started) c.needed = rest.length < 8 ? 8 : Math.max(8, rest.readInt32BE(0))
    else c.needed = rest.length < headerBytes ? headerBytes : 1 + rest.readInt32BE(1)
  }

  private parse(c: Connection, buf: Buffer): void {
    let at = 0
    if (!c.started) {
      // untyped packets: length, then a request code or the protocol version
      if (buf.length < 8) return this.keep(c, buf)
      const length = buf.readInt32BE(0)
      const code = buf.readInt32BE(4)
      if (code === sslRequestCode || code === gssEncRequestCode) {
        // as PostgreSQL does; the recursion below would otherwise go as deep as a client's requests
        if (c.refused.has(code)) {
          c.socket.destroy()
          return
        }
        c.refused.add(code)
        c.socket.write("N")
        return this.parse(c, buf.subarray(8))
      }
      if (code === cancelRequestCode || code !== protocolVersion3 || length < 8 || length > 10_000) {
        c.socket.destroy()
        return
      }
      if (buf.length < length) return this.keep(c, buf)
      // the startup packet goes to PGlite alone (it recognises it by its first byte)
      c.ready.push(buf.subarray(0, length))
      c.started = true
      at = length
    }
    // typed messages: as many whole ones as arrived, handed over together
    let end = at
    while (end + headerBytes <= buf.length) {
      const length = buf.readInt32BE(end + 1)
      if (!frontendTypes.has(buf[end]) || length < 4 || length > messageBytesMax) {
        c.socket.destroy()
        return
      }
      if (end + 1 + length > buf.length) break
      if (buf[end] === terminate) {
        // what came before it is still answered; then the connection ends (see run)
        if (end > at) c.ready.push(buf.subarray(at, end))
        c.closed = true
        at = end = buf.length
        break
      }
      end += 1 + length
    }
    if (end > at) c.ready.push(buf.subarray(at, end))
    this.keep(c, buf.subarray(end))
    if (c.ready.length > 0) {
      if (!this.waiting.includes(c)) this.waiting.push(c)
      void this.run()
    } else if (c.closed && !c.serving) c.socket.destroySoon()
  }

  /** The next connection to serve: the owner while it has the backend, else the first waiting. */
  private next(): Connection | undefined {
    if (this.owner !== undefined) {
      const i = this.waiting.indexOf(this.owner)
      return i < 0 ? undefined : this.waiting.splice(i, 1)[0]
    }
    return this.waiting.shift()
  }

  private async run(): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      for (let c = this.next(); c !== undefined; c = this.next()) {
        c.serving = true
        const parts = c.ready.splice(0)
        for (const bytes of parts) {
          if (this.stopped) return
          const last = bytes[lastMessageAt(bytes)]
          try {
            // Streamed as PGlite produces it, unparsed: execProtocolRaw would also decode every row into
            // JavaScript values nobody reads (a journal page of payloads costs more to decode than to read).
            // Every call streams: PGlite keeps the last stream's writer, so a plain call after one would
            // send its answer to the previous connection. A chunk is a view of PGlite's memory: copied,
            // into Node's pool of small buffers when it is small (an append's answer is a few dozen bytes),
            // so that answers do not each allocate memory outside the heap (see receive).
            await this.options.db.execProtocolRawStream(bytes, {
              onRawData: (chunk) => {
                if (chunk.length === 0 || !c.socket.writable) return
                const copy = Buffer.allocUnsafe(chunk.length)
                copy.set(chunk)
                c.socket.write(copy)
              }
            })
          } catch (error) {
            // PGlite itself failed (not an SQL error, which is answered in the protocol): the connection cannot go on
            console.error(`embedded database: a request failed: ${error instanceof Error ? error.message : String(error)}`)
            c.socket.destroy()
            break
          }
          if (bytes[0] !== 0) c.exchangeDone = last === sync || last === simpleQuery || last === functionCall
        }
        c.serving = false
        // After a Terminate, once what came before it is answered. Destroyed, not just ended: a client
        // that kept its side open would keep the connection, and a transaction it left open the backend.
        if (c.closed && c.ready.length === 0 && c.socket.writable) c.socket.destroySoon()
        this.owner = c.exchangeDone && !this.options.db.isInTransaction() ? undefined : c
        if (this.owner === c && c.socket.destroyed) await this.release(c)
      }
    } finally {
      this.running = false
    }
  }

  private drop(c: Connection): void {
    c.closed = true
    this.connections.delete(c)
    const i = this.waiting.indexOf(c)
    if (i >= 0) this.waiting.splice(i, 1)
    if (this.owner === c && !this.running) void this.release(c)
  }

  /** The owner went away mid-exchange or mid-transaction: roll back and let the others in. */
  private async release(c: Connection): Promise<void> {
    if (this.owner !== c) return
    await this.rollBackIfOpen(c.exchangeDone)
    this.owner = undefined
    void this.run()
  }

  /**
   * Short of its Sync, a connection leaves its statements in an implicit
   * transaction that the next connection's would join (and its Sync commit);
   * after an error, the backend also skips every message until a Sync, the next
   * connection's included. PGlite's exec sends the ROLLBACK and then a Sync: the
   * ROLLBACK aborts what is open, or, skipped, the Sync ends the skipping and a
   * second ROLLBACK the failed transaction block.
   */
  private async rollBackIfOpen(exchangeDone: boolean): Promise<void> {
    const db = this.options.db
    try {
      if (!db.closed && !exchangeDone) await db.exec("ROLLBACK")
      if (!db.closed && db.isInTransaction()) await db.exec("ROLLBACK")
    } catch (error) {
      console.error(`embedded database: rolling back a dropped connection failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/** Offset of the last message in a run of whole typed messages (0 for the startup packet). */
const lastMessageAt = (bytes: Uint8Array): number => {
  if (bytes[0] === 0) return 0
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = 0
  for (;;) {
    const next = at + 1 + view.getInt32(at + 1)
    if (next >= bytes.length) return at
    at = next
  }
}
