/**
 * The local Redis for tests: `REDIS_URL` if set, else redis://127.0.0.1:6379.
 * When it is unreachable a test must fail under CI (`CI` set) and may only be
 * skipped, with the reason printed, elsewhere.
 */
import { createClient } from "redis"

export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"

/** Why Redis cannot be used, or undefined when it answers a PING. */
export const redisUnreachable = async (): Promise<string | undefined> => {
  const client = createClient({ url: redisUrl, socket: { connectTimeout: 1_000, reconnectStrategy: false } })
  client.on("error", () => undefined)
  try {
    await client.connect()
    await client.ping()
    await client.close()
    return undefined
  } catch (e) {
    client.destroy()
    return `Redis at ${redisUrl} is unreachable (${e instanceof Error ? e.message : String(e)})`
  }
}
