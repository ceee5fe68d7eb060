/**
 * Several gateway processes, one engine, through Redis.
 *
 * Exactly one process owns the engine (and its store). Edge processes own no
 * engine: they forward every command and read to the owner's internal route
 * (engine-access.ts RemoteEngine), and hear what changed here: the owner
 * publishes each Changes record (availability SKUs, order events, delivered
 * notifications) on the Redis channel `oms:changes`; every edge subscribes and
 * hands it to its own WS feeds, so a client on any process sees every change.
 * The owner does not subscribe (its feeds hear its hub directly), so nothing
 * is pushed twice.
 *
 * It also holds the client pair for the socket.io Redis adapter, so the ops
 * feed reaches viewers on every process.
 */
import { createClient } from "redis"
import type { ChangeHub, Changes } from "./changes.ts"

export const changesChannel = "oms:changes"

const connectTimeoutMs = 3_000

/** A Redis URL fit for logs: the password, if any, replaced. */
const withoutPassword = (url: string): string => {
  try {
    const u = new URL(url)
    if (u.password !== "") u.password = "***"
    return u.toString()
  } catch {
    return "redis (unparsable REDIS_URL)"
  }
}

const makeClient = (url: string) =>
  createClient({ url, socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000) } })

type Client = ReturnType<typeof makeClient>

const open = async (url: string, role: string): Promise<Client> => {
  const client = makeClient(url)
  let reported = false
  client.on("error", (e: unknown) => {
    if (reported) return
    reported = true
    console.error(`gateway: redis (${role}) error: ${e instanceof Error ? e.message : String(e)}`)
  })
  client.on("ready", () => {
    reported = false
  })
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([
    client.connect(),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`redis at ${withoutPassword(url)} did not answer within ${connectTimeoutMs} ms`)), connectTimeoutMs)))
  ]).catch((e) => {
    client.destroy()
    throw e
  }).finally(() => clearTimeout(timer))
  return client
}

export class RedisFanout {
  private constructor(
    private readonly pub: Client,
    private readonly sub: Client,
    /** For the socket.io adapter. */
    readonly adapterPub: Client,
    readonly adapterSub: Client,
    private readonly unsubscribeHub: (() => void) | undefined,
    /** Key prefix of the socket.io Redis adapter. */
    readonly adapterKey: string
  ) {}

  /** `channel` (default oms:changes) separates gateway groups sharing one Redis; the socket.io adapter key is derived from it. */
  static async connect(url: string, hub: ChangeHub, owner: boolean, channel: string = changesChannel): Promise<RedisFanout> {
    const pub = await open(url, "publish")
    const sub = pub.duplicate()
    sub.on("error", () => undefined)
    await sub.connect()
    const adapterPub = pub.duplicate()
    const adapterSub = pub.duplicate()
    adapterPub.on("error", () => undefined)
    adapterSub.on("error", () => undefined)
    await Promise.all([adapterPub.connect(), adapterSub.connect()])
    let unsubscribeHub: (() => void) | undefined
    if (owner) {
      unsubscribeHub = hub.subscribe((c: Changes) => {
        if (!pub.isReady) return
        pub.publish(channel, JSON.stringify(c)).catch(() => undefined)
      })
    } else {
      // changes published while this edge was cut off from Redis are lost to it: once it is back, every
      // subscribed SKU is read again (node-redis re-subscribes by itself on reconnect)
      let lost = false
      sub.on("reconnecting", () => {
        lost = true
      })
      sub.on("ready", () => {
        if (!lost) return
        lost = false
        hub.publish({ skus: [], allSkus: true, orders: [], notifications: [] })
      })
      await sub.subscribe(channel, (message) => {
        let c: Changes
        try {
          c = JSON.parse(message) as Changes
        } catch {
          return
        }
        hub.publish(c)
      })
    }
    return new RedisFanout(pub, sub, adapterPub, adapterSub, unsubscribeHub, `${channel}:ops`)
  }

  connected(): boolean {
    return this.pub.isReady && this.sub.isReady
  }

  async close(): Promise<void> {
    this.unsubscribeHub?.()
    await Promise.allSettled([this.pub, this.sub, this.adapterPub, this.adapterSub].map((c) => (c.isOpen ? c.close() : Promise.resolve())))
  }
}
