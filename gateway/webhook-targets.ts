/**
 * Where customer notifications go: one webhook URL per sales channel (or "*"
 * for every channel without its own), each with an optional HMAC-SHA256
 * secret. Read from GATEWAY_WEBHOOKS, JSON shaped
 *   { "web": { "url": "https://...", "secret": "..." }, "*": { "url": "..." } }
 * and checked with Schema. A channel with no target gets its notifications
 * only over WS (to connections subscribed to the order).
 */
import { Result, Schema } from "effect"

const Target = Schema.Struct({ url: Schema.String, secret: Schema.optionalKey(Schema.String) })
const Targets = Schema.Record(Schema.String, Target)

export interface WebhookTarget {
  readonly url: string
  readonly secret?: string
}

export interface WebhookTargets {
  /** Channel (or "*") -> target. */
  readonly byChannel: Readonly<Record<string, WebhookTarget>>
}

export const targetFor = (targets: WebhookTargets, channel: string): WebhookTarget | undefined =>
  targets.byChannel[channel] ?? targets.byChannel["*"]

const decodeTargets = Schema.decodeUnknownResult(Targets, { onExcessProperty: "error" })

export const webhookTargetsFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): WebhookTargets => {
  const text = env.GATEWAY_WEBHOOKS?.trim()
  if (!text) return { byChannel: {} }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new Error(`GATEWAY_WEBHOOKS is not JSON: ${String(e)}`)
  }
  const decoded = decodeTargets(json)
  if (Result.isFailure(decoded)) throw new Error(`GATEWAY_WEBHOOKS has the wrong shape: ${decoded.failure.message}`)
  for (const [channel, t] of Object.entries(decoded.success)) {
    if (!/^https?:\/\//.test(t.url)) throw new Error(`GATEWAY_WEBHOOKS: the URL for ${channel} is not http(s)`)
  }
  return { byChannel: decoded.success }
}
