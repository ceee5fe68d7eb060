/**
 * Hold ids for publishable keys. Engine hold ids are a counter per partition
 * (`h3-2bx`): anyone can guess the next one. A publishable key is public, so
 * it never sees or takes a bare hold id: the gateway hands it the hold id
 * sealed with an HMAC of the channel and the id (`h3-2bx.<mac>`), and takes
 * back only sealed ids from it (one that does not verify reads as
 * `hold_not_found`). A browser can so extend, release and read the holds it
 * was given, not the other shoppers' holds of its channel.
 *
 * Secret storefront keys may use any hold of their channel: they take a hold
 * id sealed or bare (the seal is dropped), so a server places an order with
 * the `holdIds` its browser sends it as they are.
 *
 * The HMAC key is derived from the whole key configuration (gateway/keys.ts),
 * so every gateway process with the same GATEWAY_KEYS seals alike; changing
 * the keys invalidates the sealed ids handed out before (those holds can no
 * longer be extended or released by the browser; they expire, or an order
 * uses them, as usual).
 */
import { createHmac, timingSafeEqual } from "node:crypto"

export interface HoldTokens {
  /** The hold id as a publishable key of `channel` sees it. */
  seal(channel: string, holdId: string): string
  /** The engine's hold id of a sealed one, or undefined when it is not one sealed for `channel`. */
  open(channel: string, sealed: string): string | undefined
}

const macLength = 22 // base64url characters: 132 bits

export const makeHoldTokens = (key: Buffer): HoldTokens => {
  const macOf = (channel: string, holdId: string): string =>
    createHmac("sha256", key).update(`${channel}\n${holdId}`).digest("base64url").slice(0, macLength)
  return {
    seal: (channel, holdId) => `${holdId}.${macOf(channel, holdId)}`,
    open: (channel, sealed) => {
      const dot = sealed.lastIndexOf(".")
      if (dot <= 0 || sealed.length - dot - 1 !== macLength) return undefined
      const holdId = sealed.slice(0, dot)
      const given = Buffer.from(sealed.slice(dot + 1))
      const expected = Buffer.from(macOf(channel, holdId))
      return given.length === expected.length && timingSafeEqual(given, expected) ? holdId : undefined
    }
  }
}

/** A hold id without its seal (engine hold ids have no "."). */
export const bareHoldId = (id: string): string => {
  const dot = id.indexOf(".")
  return dot < 0 ? id : id.slice(0, dot)
}
