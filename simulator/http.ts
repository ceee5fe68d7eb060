/**
 * The gateway's HTTP API as the simulator's fulfillment nodes, WMS and ops
 * use it: one JSON call with a key, answered with the result or thrown as an
 * HttpError carrying the gateway's error code (docs/protocol.md, section 2).
 * A bounded number of calls run at once; the rest wait their turn.
 */
import type { Metrics } from "./metrics.ts"

export class HttpError extends Error {
  override readonly name = "HttpError"
  constructor(readonly code: string, readonly status: number, message: string) {
    super(`${code} (${status}): ${message}`)
  }
}

/** A counting semaphore. */
export class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(private readonly max: number) {}

  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r))
    this.active++
    try {
      return await f()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }

  get busy(): number {
    return this.active + this.waiting.length
  }
}

export class HttpApi {
  private readonly limiter: Limiter

  constructor(readonly baseUrl: string, private readonly metrics?: Metrics, concurrency = 48) {
    this.limiter = new Limiter(concurrency)
  }

  /** One call; `op` names it in the metrics (absent: not measured). */
  call<T = Record<string, unknown>>(method: "GET" | "POST", path: string, key: string, body?: unknown, op?: string): Promise<T> {
    return this.limiter.run(() => {
      const f = () => this.send<T>(method, path, key, body)
      return op !== undefined && this.metrics ? this.metrics.time(op, "http", f) : f()
    })
  }

  private async send<T>(method: string, path: string, key: string, body: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` }
    if (body !== undefined) headers["content-type"] = "application/json"
    let res: Response
    try {
      res = await fetch(this.baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) })
    } catch (e) {
      throw new HttpError("unreachable", 0, String((e as Error).message ?? e))
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new HttpError("malformed_reply", res.status, text.slice(0, 200))
    }
    if (res.status >= 400) {
      const e = (parsed as { error?: { code?: string; message?: string } }).error
      throw new HttpError(e?.code ?? "http_error", res.status, e?.message ?? text.slice(0, 200))
    }
    return parsed as T
  }
}
