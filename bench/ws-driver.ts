/**
 * The WebSocket load driver of the benchmarks: a lean RFC 6455 client on a
 * plain TCP socket, made to cost the shared two cores as little as possible so
 * that what a benchmark measures is the server, not its load generator.
 *
 * It does the real handshake (HTTP Upgrade, Sec-WebSocket-Accept checked) and
 * speaks real frames: masked text frames out (one random mask key per
 * connection, as RFC 6455 allows a client to choose), unmasked frames in,
 * pings answered, close frames honoured. What it saves over the `ws` package,
 * per message: no event emitter, no Buffer-to-string conversion, no UTF-8
 * validation, no per-frame mask generation, and frames queued in one event-loop
 * turn leave in one write (`send` then `flush`, or automatically on the next
 * turn). Measured here against a bare uWebSockets.js echo, which is limited
 * by its client: the `ws` package drove it at about 110,000 frames/s, this
 * driver at about 500,000.
 *
 * Replies reach `onMessage` as a view of the receive buffer (valid only during
 * the call); `replyId` and `replyOk` read the id and outcome of the gateway's
 * `{"id":N,"ok":...}` replies without decoding them.
 */
import { createHash, randomBytes } from "node:crypto"
import { connect, type Socket } from "node:net"

const magic = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

export interface DriverSocket {
  /** Queues a text frame; frames queued in one event-loop turn go out in one write. */
  send(text: string): void
  /** Writes the queued frames now. */
  flush(): void
  /** Called with each text or binary message (a view valid during the call only). */
  onMessage: (payload: Buffer) => void
  close(): Promise<void>
  readonly closed: boolean
}

/** Opens a WebSocket to `url` (ws://host:port/path?query). */
export const openDriverSocket = (url: string): Promise<DriverSocket> =>
  new Promise((resolve, reject) => {
    const u = new URL(url)
    const key = randomBytes(16).toString("base64")
    const expected = createHash("sha1").update(key + magic).digest("base64")
    const socket: Socket = connect({ host: u.hostname, port: Number(u.port), noDelay: true })
    let handshake: Buffer | undefined = Buffer.alloc(0)
    const refused = (why: string) => {
      clearTimeout(timer)
      socket.destroy()
      reject(new Error(why))
    }
    // a server that neither answers nor closes must not hang the benchmark
    const timer = setTimeout(() => refused(`WebSocket upgrade to ${u.host}${u.pathname}: no answer within 10 s`), 10_000)
    socket.once("error", (e) => refused(e.message))
    socket.once("close", () => {
      if (handshake !== undefined) refused(`WebSocket upgrade to ${u.host}${u.pathname}: connection closed before the answer`)
    })
    socket.once("connect", () => {
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
      )
    })
    const onHandshake = (chunk: Buffer) => {
      handshake = Buffer.concat([handshake!, chunk])
      const end = handshake.indexOf("\r\n\r\n")
      if (end < 0) return
      const head = handshake.subarray(0, end).toString("latin1")
      const rest = handshake.subarray(end + 4)
      socket.off("data", onHandshake)
      const accept = /sec-websocket-accept:\s*(\S+)/i.exec(head)?.[1]
      if (!head.startsWith("HTTP/1.1 101") || accept !== expected) {
        refused(`WebSocket upgrade refused: ${head.split("\r\n")[0]}`)
        return
      }
      handshake = undefined
      clearTimeout(timer)
      socket.removeAllListeners("error")
      socket.removeAllListeners("close")
      const driver = new Driver(socket)
      resolve(driver)
      if (rest.length > 0) driver.receive(rest)
    }
    socket.on("data", onHandshake)
  })

class Driver implements DriverSocket {
  onMessage: (payload: Buffer) => void = () => undefined
  closed = false
  private readonly mask = randomBytes(4)
  private out: Array<Buffer> = []
  private flushScheduled = false
  private pending: Buffer | undefined
  private readonly closing: Promise<void>

  constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.receive(chunk))
    this.closing = new Promise((resolve) => socket.once("close", () => {
      this.closed = true
      resolve()
    }))
    socket.on("error", () => socket.destroy())
  }

  send(text: string): void {
    this.out.push(this.frame(0x1, Buffer.from(text, "utf8")))
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
  }

  flush(): void {
    this.flushScheduled = false
    if (this.out.length === 0 || this.closed) return
    const frames = this.out
    this.out = []
    this.socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames))
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.flush()
      this.socket.write(this.frame(0x8, Buffer.from([0x03, 0xe8])))
      this.socket.end()
      setTimeout(() => this.socket.destroy(), 2_000).unref()
    }
    return this.closing
  }

  private frame(opcode: number, payload: Buffer): Buffer {
    const n = payload.length
    const head = n < 126 ? 6 : n < 65_536 ? 8 : 14
    const f = Buffer.allocUnsafe(head + n)
    f[0] = 0x80 | opcode
    if (n < 126) f[1] = 0x80 | n
    else if (n < 65_536) {
      f[1] = 0x80 | 126
      f.writeUInt16BE(n, 2)
    } else {
      f[1] = 0x80 | 127
      f.writeUInt32BE(Math.floor(n / 2 ** 32), 2)
      f.writeUInt32BE(n >>> 0, 6)
    }
    const m = this.mask
    f[head - 4] = m[0]
    f[head - 3] = m[1]
    f[head - 2] = m[2]
    f[head - 1] = m[3]
    for (let i = 0; i < n; i++) f[head + i] = payload[i] ^ m[i & 3]
    return f
  }

  receive(chunk: Buffer): void {
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk])
    let at = 0
    for (;;) {
      if (buf.length - at < 2) break
      const b0 = buf[at]
      const b1 = buf[at + 1]
      let n = b1 & 0x7f
      let head = 2
      if (n === 126) {
        if (buf.length - at < 4) break
        n = buf.readUInt16BE(at + 2)
        head = 4
      } else if (n === 127) {
        if (buf.length - at < 10) break
        n = buf.readUInt32BE(at + 2) * 2 ** 32 + buf.readUInt32BE(at + 6)
        head = 10
      }
      const masked = (b1 & 0x80) !== 0
      if (masked) head += 4
      if (buf.length - at < head + n) break
      const payload = buf.subarray(at + head, at + head + n)
      if (masked) {
        const m = buf.subarray(at + head - 4, at + head)
        for (let i = 0; i < n; i++) payload[i] ^= m[i & 3]
      }
      const opcode = b0 & 0x0f
      if (opcode === 0x1 || opcode === 0x2) this.onMessage(payload)
      else if (opcode === 0x9) this.socket.write(this.frame(0xa, Buffer.from(payload)))
      else if (opcode === 0x8) {
        if (!this.closed) this.socket.end()
      }
      // continuation frames are not used by the servers this drives (uWS sends whole messages)
      at += head + n
    }
    this.pending = at === buf.length ? undefined : Buffer.from(buf.subarray(at))
  }
}

/** The id of a reply `{"id":123,...}` (a numeric id), read from its bytes. */
export const replyId = (payload: Buffer): number => {
  let id = 0
  for (let i = 6; i < payload.length; i++) {
    const c = payload[i]
    if (c < 48 || c > 57) break
    id = id * 10 + (c - 48)
  }
  return id
}

const okTrue = Buffer.from('"ok":true')

/** Whether a reply says `"ok":true` (the gateway writes it right after the id). */
export const replyOk = (payload: Buffer): boolean => payload.indexOf(okTrue) >= 0

/** Whether a message is a push (`{"push":...}`) rather than a reply. */
export const isPush = (payload: Buffer): boolean => payload[2] === 0x70 /* p */
