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
 * Redis pub/sub delivers at most once. So that an edge knows when it missed
 * something, each publisher numbers its messages ({ epoch, n, changes }; the
 * epoch is new at every publisher start, and a message it could not publish
 * still uses up its number). In cluster mode every runner publishes, each
 * with its own epoch, so an edge follows the numbering per epoch. An edge
 * that sees a gap, a publisher's first message after its first, or its own
 * link to Redis come back publishes a `resync` on its hub: its feeds read
 * the subscribed SKUs and orders again (changes.ts).
 *
 * It also holds the client pair for the socket.io Redis adapter, so the ops
 * feed reaches viewers on every process. The adapter publishes without
 * handling a failed publish; while Redis is unreachable every ops tick would
 * become an unhandled promise rejection, which ends a Node process. So the
 * adapter gets its publishing client through `publishingSafely`: a failed
 * publish is counted and dropped (the next tick carries fresh figures).
 *
 * Cluster mode: every runner publishes its partial ops tick (the figures of
 * the partitions it hosts, ops-feed-types.ts PartialTick) once per
 * opsTickMs on `<channel>:ops-partials` (oms:changes:ops-partials by
 * default); cluster gateways subscribe and merge them (ops-merge.ts). Not
 * numbered: a lost one only leaves that runner's previous figures in the
 * next tick, and the next one replaces them.
 */
import { randomUUID } from "node:crypto"
import { createClient } from "redis"
import type { ChangeHub, Changes } from "./changes.ts"

export const changesChannel = "oms:changes"

/** The channel runners publish their partial ops ticks on, next to the changes channel. */
export const opsPartialsChannel = (channel: string = changesChannel): string => `${channel}:ops-partials`

/** One message on the changes channel. */
export interface NumberedChanges {
  /** Chosen by the owner at start: a new epoch restarts the numbering. */
  readonly epoch: string
  /** 1, 2, 3, ... within an epoch, with no gap unless a message was lost. */
  readonly n: number
  readonly changes: Changes
}

const resyncChanges: Changes = { skus: [], allSkus: true, orders: [], notifications: [], resync: true }

/** Publishers whose numbering an edge remembers (in cluster mode every runner publishes). */
const publishersRemembered = 256

/**
 * The edge's side of the numbering, per publisher (epoch): in cluster mode
 * every runner publishes with an epoch of its own, interleaved on one
 * channel. Returns true when a message does not follow the last one seen
 * from its publisher, or is not the first of a publisher seen for the first
 * time (so something may have been missed).
 */
export class GapDetector {
  private readonly last = new Map<string, number>()
  private seenAny = false

  /** A message arrived: true if one or more before it were missed. */
  next(epoch: string, n: number): boolean {
    const last = this.last.get(epoch)
    const gap = last === undefined ? this.seenAny && n !== 1 : n !== last + 1
    this.seenAny = true
    // most recently heard last, so the publishers heard least recently are forgotten first
    this.last.delete(epoch)
    this.last.set(epoch, n)
    if (this.last.size > publishersRemembered) this.last.delete(this.last.keys().next().value!)
    return gap
  }
}

const connectTimeoutMs = 3_000
/** How long close() lets commands in flight finish before it drops the connections. */
const closeGraceMs = 1_000

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

/**
 * The client as the socket.io adapter sees it: the same client, except that
 * `publish` never rejects (a failure is reported to `onError` and the call
 * resolves to 0 receivers).
 */
export const publishingSafely = <C extends { publish: (...args: Array<any>) => Promise<unknown> }>(client: C, onError: (e: unknown) => void): C =>
  new Proxy(client, {
    get(target, prop) {
      if (prop === "publish") {
        return (...args: Array<unknown>) => target.publish(...args).catch((e: unknown) => {
          onError(e)
          return 0
        })
      }
      const value = Reflect.get(target, prop, target) as unknown
      return typeof value === "function" ? (value as (...a: Array<unknown>) => unknown).bind(target) : value
    }
  })

export class RedisFanout {
  private constructor(
    private readonly pub: Client,
    private readonly sub: Client,
    /** For the socket.io adapter (its publish never rejects: publishingSafely). */
    readonly adapterPub: Client,
    readonly adapterSub: Client,
    private readonly unsubscribeHub: (() => void) | undefined,
    /** Key prefix of the socket.io Redis adapter. */
    readonly adapterKey: string,
    /** Where partial ops ticks go (opsPartialsChannel). */
    readonly partialsChannel: string
  ) {}

  /** A runner's partial ops tick, to every cluster gateway; dropped while Redis is unreachable (the next one replaces it). */
  publishPartial(partial: unknown): void {
    if (!this.pub.isReady) return
    this.pub.publish(this.partialsChannel, JSON.stringify(partial)).catch(() => undefined)
  }

  /** A cluster gateway hears every runner's partial ops ticks (parsed JSON; the caller checks the shape). */
  async onPartials(listener: (message: unknown) => void): Promise<void> {
    await this.sub.subscribe(this.partialsChannel, (text) => {
      let message: unknown
      try {
        message = JSON.parse(text)
      } catch {
        return
      }
      listener(message)
    })
  }

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
      const epoch = randomUUID()
      let n = 0
      unsubscribeHub = hub.subscribe((changes: Changes) => {
        // a message that cannot go out still takes its number: the edges see the gap and resync
        const message: NumberedChanges = { epoch, n: ++n, changes }
        if (!pub.isReady) return
        pub.publish(channel, JSON.stringify(message)).catch(() => undefined)
      })
    } else {
      // changes published while this edge was cut off from Redis are lost to it: once it is back, its feeds
      // read everything they serve again (node-redis re-subscribes by itself on reconnect)
      let lost = false
      sub.on("reconnecting", () => {
        lost = true
      })
      sub.on("ready", () => {
        if (!lost) return
        lost = false
        hub.publish(resyncChanges)
      })
      const gaps = new GapDetector()
      await sub.subscribe(channel, (text) => {
        let message: NumberedChanges
        try {
          message = JSON.parse(text) as NumberedChanges
        } catch {
          return
        }
        if (typeof message?.epoch !== "string" || typeof message.n !== "number" || typeof message.changes !== "object") return
        if (gaps.next(message.epoch, message.n)) hub.publish(resyncChanges)
        hub.publish(message.changes)
      })
    }
    let lastReported = 0
    const safeAdapterPub = publishingSafely(adapterPub, (e) => {
      if (Date.now() - lastReported < 10_000) return
      lastReported = Date.now()
      console.error(`gateway: redis (ops feed) publish failed, dropped: ${e instanceof Error ? `${e.constructor.name} ${e.message}`.trim() : String(e)}`)
    })
    return new RedisFanout(pub, sub, safeAdapterPub, adapterSub, unsubscribeHub, `${channel}:ops`, opsPartialsChannel(channel))
  }

  connected(): boolean {
    return this.pub.isReady && this.sub.isReady
  }

  /**
   * Closes every client: gracefully (commands in flight finish) for at most
   * closeGraceMs, then at once. A client waiting to reconnect to an
   * unreachable Redis would otherwise hold the shutdown for as long as its
   * queued commands take to time out.
   */
  async close(): Promise<void> {
    this.unsubscribeHub?.()
    await Promise.allSettled([this.pub, this.sub, this.adapterPub, this.adapterSub].map(async (c) => {
      if (!c.isOpen) return
      let timer: ReturnType<typeof setTimeout> | undefined
      const graceful = await Promise.race([
        c.close().then(() => true, () => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), closeGraceMs)))
      ])
      clearTimeout(timer)
      if (!graceful && c.isOpen) c.destroy()
    }))
  }
}
