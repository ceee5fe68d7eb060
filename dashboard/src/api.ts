/**
 * Calls to the gateway's HTTP API with the ops token; errors come back as the
 * gateway's { code, message }. A call that cannot reach the gateway at all
 * (it is down or restarting, or the network is) fails with the code
 * `unreachable` and a sentence an ops person can act on, not the browser's
 * "TypeError: Failed to fetch".
 */
import type { ErrorBody } from "./feed-types.ts"

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: ErrorBody) {
    super(`${status} ${body.code}: ${body.message}`)
  }
}

/** The request never got an answer: nothing it asked for was done (a POST that got no answer was refused by the closed port). */
export const unreachableCode = "unreachable"

export const apiCall = async <T>(token: string, method: "GET" | "POST", path: string, body?: unknown): Promise<T> => {
  let res: Response
  try {
    res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store"
    })
  } catch {
    throw new ApiError(0, { code: unreachableCode, message: "The server cannot be reached (it may be restarting)" })
  }
  const parsed = (await res.json().catch(() => undefined)) as (T & { error?: ErrorBody }) | undefined
  if (!res.ok) throw new ApiError(res.status, parsed?.error ?? { code: "internal_error", message: `HTTP ${res.status}` })
  return parsed as T
}

/** What the page says when a call failed: `what` names what did not happen ("nothing was changed", "the search did not run"). */
export const failureText = (e: unknown, what: string): string => {
  if (e instanceof ApiError && e.body.code === unreachableCode) return `${e.body.message}; ${what}. Try again once the badge says live.`
  if (e instanceof ApiError) return `Refused (${e.body.code}): ${e.body.message}; ${what}.`
  return `Something went wrong in the page (${e instanceof Error ? e.message : String(e)}); ${what}.`
}
