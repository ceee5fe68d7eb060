/**
 * A raw HTTP/1.x client on a TCP socket, for what fetch cannot do: send the
 * headers of a request and hold its body back (or send it in parts), send
 * HTTP/1.0 or malformed requests, and see whether the server closed the
 * connection.
 */
import net from "node:net"

export interface RawAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export class RawConnection {
  private received = Buffer.alloc(0)
  closed = false
  private waiters: Array<() => void> = []

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.received = Buffer.concat([this.received, d])
      this.wake()
    })
    socket.on("error", () => undefined)
    socket.on("close", () => {
      this.closed = true
      this.wake()
    })
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  static open(port: number, host = "127.0.0.1"): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host)
      socket.once("connect", () => resolve(new RawConnection(socket)))
      socket.once("error", reject)
    })
  }

  write(data: string | Buffer): void {
    this.socket.write(data)
  }

  /** Waits for one whole answer (status line, headers, Content-Length body unless `head`: the answer to a HEAD); throws if none comes within timeoutMs. */
  async answer(timeoutMs = 10_000, head = false): Promise<RawAnswer> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const parsed = this.parse(head)
      if (parsed) return parsed
      if (this.closed) throw new Error(`connection closed without a whole answer: ${JSON.stringify(this.received.toString("latin1").slice(0, 200))}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no answer within ${timeoutMs} ms: ${JSON.stringify(this.received.toString("latin1").slice(0, 200))}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Waits until the server closes the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("the server did not close the connection")
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  private parse(head: boolean): RawAnswer | undefined {
    const text = this.received.toString("latin1")
    const end = text.indexOf("\r\n\r\n")
    if (end < 0) return undefined
    const [statusLine, ...lines] = text.slice(0, end).split("\r\n")
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const i = line.indexOf(":")
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
    }
    const length = head ? 0 : Number(headers["content-length"] ?? 0)
    const bodyBytes = this.received.subarray(end + 4)
    if (bodyBytes.length < length) return undefined
    this.received = bodyBytes.subarray(length)
    return { status: Number(statusLine.split(" ")[1]), headers, body: bodyBytes.subarray(0, length).toString("utf8") }
  }

  close(): void {
    this.socket.destroy()
  }
}

/** The head of a request (request line and headers, with Host) whose body is sent separately, or never. */
export const requestHead = (method: string, path: string, headers: Readonly<Record<string, string | number>>): string =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`
