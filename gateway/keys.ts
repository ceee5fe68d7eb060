/**
 * Who is calling: API keys and tokens, and the principal each one names.
 *
 *   storefront key  -> one sales channel (acts only within it): a SECRET server key,
 *                      for the storefront's backend (orders, cancels, payments, returns...)
 *   publishable key -> one sales channel, safe to put in a browser: availability and
 *                      holds only, within tight rate limits (rate-limits.ts)
 *   node key       -> one fulfillment node (reports only its own events and stock)
 *   ops token      -> everything, admin routes and the socket.io ops feed; each token names
 *                     the ops person using it (the "who" of the audit log): given as
 *                     { token: name }, or a name made from the token's hash
 *   internal token -> the engine owner's internal route (edge gateways forward to it)
 *
 * Read once from GATEWAY_KEYS (JSON) or GATEWAY_KEYS_FILE (a JSON file), shape
 * checked with Schema; without either, demo keys are made (and printed by main).
 */
import { createHash, randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { Result, Schema } from "effect"
import { makeHoldTokens, type HoldTokens } from "./hold-tokens.ts"

export type Principal =
  | { readonly kind: "storefront"; readonly channel: string }
  | { readonly kind: "publishable"; readonly channel: string }
  | { readonly kind: "node"; readonly nodeId: string }
  | { readonly kind: "ops"; readonly name: string }
  | { readonly kind: "internal" }

export type PrincipalKind = Principal["kind"]

const KeysFile = Schema.Struct({
  /** key -> channel: secret storefront keys (every storefront operation in the channel). */
  storefronts: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  /** key -> channel: publishable keys (availability and holds in the channel only). */
  publishable: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  /** key -> node id */
  nodes: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  /** ops tokens: one, several, or token -> the name of the person using it. */
  ops: Schema.optionalKey(Schema.Union([Schema.String, Schema.Array(Schema.String), Schema.Record(Schema.String, Schema.String)])),
  internal: Schema.optionalKey(Schema.String)
})

export type KeysConfig = typeof KeysFile.Type

export interface KeyRing {
  /** The principal a key names, or undefined for an unknown key. */
  resolve(key: string): Principal | undefined
  /** The internal token edge gateways present to the engine owner. */
  readonly internalToken: string
  readonly config: KeysConfig
  /** Seals the hold ids publishable keys see (hold-tokens.ts); alike in every process with the same keys. */
  readonly holdTokens: HoldTokens
}

const keyLengthMin = 8

/** The name an unnamed ops token acts under: stable across restarts, and saying nothing of the token. */
export const opsNameOf = (token: string): string => `ops-${createHash("sha256").update(token).digest("hex").slice(0, 8)}`

/** The ops tokens of the configuration, each with the name it acts under. */
const opsTokens = (ops: KeysConfig["ops"]): Array<readonly [string, string]> =>
  ops === undefined ? []
  : typeof ops === "string" ? [[ops, opsNameOf(ops)]]
  : Array.isArray(ops) ? ops.map((t: string) => [t, opsNameOf(t)] as const)
  : Object.entries(ops as Readonly<Record<string, string>>).map(([t, name]) => [t, name.trim() === "" ? opsNameOf(t) : name.trim()] as const)

export const makeKeyRing = (config: KeysConfig): KeyRing => {
  const byKey = new Map<string, Principal>()
  const add = (key: string, p: Principal) => {
    if (key.length < keyLengthMin) throw new Error(`gateway keys: a ${p.kind} key is shorter than ${keyLengthMin} characters`)
    if (byKey.has(key)) throw new Error(`gateway keys: the same key is given twice`)
    byKey.set(key, p)
  }
  for (const [key, channel] of Object.entries(config.storefronts ?? {})) add(key, { kind: "storefront", channel })
  for (const [key, channel] of Object.entries(config.publishable ?? {})) add(key, { kind: "publishable", channel })
  for (const [key, nodeId] of Object.entries(config.nodes ?? {})) add(key, { kind: "node", nodeId })
  for (const [key, name] of opsTokens(config.ops)) add(key, { kind: "ops", name })
  // not configured: a random token nobody knows, so the internal route is closed until one is set
  const internalToken = config.internal ?? `internal-${randomBytes(24).toString("base64url")}`
  add(internalToken, { kind: "internal" })
  // derived from every key (secret ones included, and the internal token), so nobody without the configuration can seal
  const holdTokenKey = createHash("sha256").update("oms hold tokens\n").update(JSON.stringify(config)).update("\n").update(internalToken).digest()
  return { resolve: (key) => byKey.get(key), internalToken, config, holdTokens: makeHoldTokens(holdTokenKey) }
}

/** Demo keys: `sf-demo-<channel>`, `pk-demo-<channel>`, `nk-demo-<nodeId>`, `ops-demo-token`. Never use them outside a demo. */
export const demoKeys = (channels: ReadonlyArray<string>, nodeIds: ReadonlyArray<string>): KeysConfig => ({
  storefronts: Object.fromEntries(channels.map((c) => [`sf-demo-${c}`, c])),
  publishable: Object.fromEntries(channels.map((c) => [`pk-demo-${c}`, c])),
  nodes: Object.fromEntries(nodeIds.map((n) => [`nk-demo-${n}`, n])),
  ops: "ops-demo-token",
  internal: "internal-demo-token"
})

const decodeKeys = Schema.decodeUnknownResult(KeysFile, { onExcessProperty: "error" })

/** Keys from GATEWAY_KEYS or GATEWAY_KEYS_FILE; undefined when neither is set. */
export const keysFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): KeysConfig | undefined => {
  const text = env.GATEWAY_KEYS?.trim()
    ? env.GATEWAY_KEYS
    : env.GATEWAY_KEYS_FILE?.trim()
      ? readFileSync(env.GATEWAY_KEYS_FILE, "utf8")
      : undefined
  if (text === undefined) return undefined
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new Error(`GATEWAY_KEYS is not JSON: ${String(e)}`)
  }
  const decoded = decodeKeys(json)
  if (Result.isFailure(decoded)) throw new Error(`GATEWAY_KEYS has the wrong shape: ${decoded.failure.message}`)
  return decoded.success
}
