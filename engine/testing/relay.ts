/**
 * A TCP relay between a client and a server on loopback, for tests of what
 * happens when the network between them fails: cut() drops every connection
 * and refuses new ones, open() serves again on the same port; hold() keeps
 * what clients send from reaching the server (their requests stay in flight,
 * unanswered) until release() delivers it. holdReplies() keeps the server's
 * replies from reaching clients (the server did the work, the client does not
 * hear of it), silence() stops every byte both ways without closing anything
 * (a link gone silent), and reset() resets every connection (RST) and relays
 * new ones as before.
 */
import { createServer, Socket, type Server } from "node:net"

/** A TCP relay that can be cut (every connection dropped, new ones refused) and restored. */
export class Relay {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  private holding = false
  private holdingReplies = false
  private held: Array<{ readonly to: Socket; readonly data: Buffer }> = []
  /** Bytes of replies held since holdReplies() or silence(); dropped by reset(). */
  heldReplyBytes = 0
  /** Bytes clients sent since hold() that the server has not received. */
  heldBytes = 0
  port = 0

  /** `listenHost`: where the relay listens (another namespace reaches it through a veth address). */
  constructor(private readonly target: { host: string; port: number }, private readonly listenHost = "127.0.0.1") {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      // a connection accepted while the relay was being cut is dropped too
      if (this.server !== server) return void client.destroy()
      const upstream = new Socket()
      upstream.connect(this.target.port, this.target.host)
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on("close", () => this.sockets.delete(s))
        s.on("error", () => s.destroy())
      }
      client.on("data", (data: Buffer) => {
        if (!this.holding) return void upstream.write(data)
        this.held.push({ to: upstream, data })
        this.heldBytes += data.length
      })
      upstream.on("data", (data: Buffer) => {
        if (this.holdingReplies) this.heldReplyBytes += data.length
        else client.write(data)
      })
      client.on("close", () => upstream.destroy())
      upstream.on("close", () => client.destroy())
    })
    this.server = server
    await new Promise<void>((resolve) => server.listen(this.port, this.listenHost, resolve))
    this.port = (this.server!.address() as { port: number }).port
  }

  /** From now on, what clients send waits in the relay. */
  hold(): void {
    this.holding = true
  }

  /** Delivers what was held, in order, to the connections still open, and relays as before. */
  release(): void {
    this.holding = false
    const held = this.held
    this.held = []
    this.heldBytes = 0
    for (const { to, data } of held) if (!to.destroyed) to.write(data)
  }

  /** From now on, what the server answers is held in the relay (and dropped by reset()). */
  holdReplies(): void {
    this.holdingReplies = true
  }

  /** From now on nothing passes either way and no connection is closed: the link went silent. */
  silence(): void {
    this.holding = true
    this.holdingReplies = true
  }

  /** Resets every open connection (the peers see ECONNRESET) and relays new ones as before; what was held is dropped. */
  reset(): void {
    this.holding = false
    this.holdingReplies = false
    this.held = []
    this.heldBytes = 0
    this.heldReplyBytes = 0
    for (const s of this.sockets) {
      try {
        s.resetAndDestroy()
      } catch {
        s.destroy()
      }
    }
  }

  async cut(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (!server) return
    // stop accepting first, then drop what is open: nothing can slip in between
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    await closed
  }
}

/** A relay open in front of the PostgreSQL a URL names, and the URL that reaches it through the relay. */
export const relayTo = async (databaseUrl: string): Promise<{ readonly relay: Relay; readonly url: string }> => {
  const target = new URL(databaseUrl)
  const relay = new Relay({ host: target.hostname, port: Number(target.port || 5432) })
  await relay.open()
  const viaRelay = new URL(databaseUrl)
  viaRelay.hostname = "127.0.0.1"
  viaRelay.port = String(relay.port)
  return { relay, url: viaRelay.toString() }
}
