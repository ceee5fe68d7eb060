/** Calls to the gateway's HTTP API with the ops token; errors come back as the gateway's { code, message }. */
import type { ErrorBody } from "./feed-types.ts"

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: ErrorBody) {
    super(`${status} ${body.code}: ${body.message}`)
  }
}

export const apiCall = async <T>(token: string, method: "GET" | "POST", path: string, body?: unknown): Promise<T> => {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store"
  })
  const parsed = (await res.json().catch(() => undefined)) as (T & { error?: ErrorBody }) | undefined
  if (!res.ok) throw new ApiError(res.status, parsed?.error ?? { code: "internal_error", message: `HTTP ${res.status}` })
  return parsed as T
}
