/**
 * How outbound notifications are signed, and how a receiver checks them.
 *
 *   X-OMS-Timestamp: <unix seconds when this attempt was sent>
 *   X-OMS-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the target's secret>
 *
 * The timestamp is inside the signed text, so a captured request cannot be
 * replayed later with a fresh timestamp: a receiver refuses a signature whose
 * timestamp is more than a tolerance (5 minutes here) away from its clock,
 * and drops repeats within it by Idempotency-Key (the notification id). Each
 * attempt of a retried notification is signed anew.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

export const signatureHeader = "x-oms-signature"
export const timestampHeader = "x-oms-timestamp"

/** How far a signature's timestamp may be from the receiver's clock. */
export const signatureToleranceSec = 300

export const signNotification = (secret: string, timestampSec: number, body: string): string =>
  `sha256=${createHmac("sha256", secret).update(`${timestampSec}.${body}`).digest("hex")}`

export type Verdict = "valid" | "bad_signature" | "stale"

/** A receiver's check: the raw body, the two headers, the receiver's clock in seconds. */
export const verifyNotification = (
  secret: string, body: string, signature: string | undefined, timestamp: string | undefined,
  nowSec: number = Math.floor(Date.now() / 1000), toleranceSec: number = signatureToleranceSec
): Verdict => {
  if (signature === undefined || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return "bad_signature"
  const expected = Buffer.from(signNotification(secret, Number(timestamp), body))
  const given = Buffer.from(signature)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "bad_signature"
  return Math.abs(nowSec - Number(timestamp)) <= toleranceSec ? "valid" : "stale"
}
