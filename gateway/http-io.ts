/**
 * HTTP plumbing on uWebSockets.js: read what is needed from the request
 * synchronously (uWS invalidates it after the handler returns), read the body
 * with a byte limit, guard against aborted requests, and write JSON (or text)
 * answers corked. Error bodies are always `{ error: { code, message } }`;
 * retryable errors carry Retry-After.
 */
import type { HttpRequest, HttpResponse } from "uWebSockets.js"
import type { BodyBudget, Connections } from "./connections.ts"
import { gatewayError, httpStatusOf, type ErrorBody } from "./errors.ts"

export interface HttpAnswer {
  readonly status: number
  /** JSON-encoded unless `text` is set. */
  readonly body?: unknown
  readonly text?: string
  readonly contentType?: string
  readonly headers?: Readonly<Record<string, string>>
}

export interface HttpCall {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly params: ReadonlyArray<string>
  /** The API key: `Authorization: Bearer <key>` or `X-Api-Key: <key>`. */
  readonly key: string
  /** The parsed JSON body (undefined when there is none, and on routes that take their body raw). */
  readonly body: unknown
  /** The body as sent, on routes that take it raw (CSV, signed webhooks). */
  readonly rawBody?: Buffer
  /** The request headers a route asked for (lower-case names; absent ones are ""). */
  readonly headers: Readonly<Record<string, string>>
}

const reasons: Readonly<Record<number, string>> = {
  200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
  405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 413: "Payload Too Large", 415: "Unsupported Media Type",
  422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"
}

export const statusLine = (status: number): string => `${status} ${reasons[status] ?? "Status"}`

/**
 * The answer for an error code: its HTTP status, the error body, and Retry-After when retryable (503: retryAfterSec;
 * an error that says when to retry, `rate_limited`: its retryAfterMs rounded up to whole seconds).
 */
export const errorAnswer = (error: ErrorBody & { readonly retryable?: true }, retryAfterSec: number): HttpAnswer => {
  const status = httpStatusOf(error.code)
  const retryAfter = error.retryAfterMs !== undefined ? Math.max(1, Math.ceil(error.retryAfterMs / 1000)) : status === 503 ? retryAfterSec : undefined
  return { status, body: { error }, headers: retryAfter !== undefined ? { "retry-after": String(retryAfter) } : undefined }
}

const write = (res: HttpResponse, answer: HttpAnswer, closeConnection = false): void => {
  res.cork(() => {
    res.writeStatus(statusLine(answer.status))
    res.writeHeader("content-type", answer.contentType ?? (answer.text !== undefined ? "text/plain; charset=utf-8" : "application/json"))
    for (const [k, v] of Object.entries(answer.headers ?? {})) res.writeHeader(k, v)
    const body = answer.text ?? (answer.body === undefined ? "" : JSON.stringify(answer.body))
    res.end(body, closeConnection)
  })
}

export interface ServeOptions {
  /** Largest body accepted; 0 means the route takes no body. */
  readonly bodyBytesMax: number
  readonly retryAfterSec: number
  /** Hand the body over as bytes instead of parsing it as a JSON object. */
  readonly rawBody?: boolean
  /** Request headers to read for the handler. */
  readonly headers?: ReadonlyArray<string>
  /** Called once with the answer's status and error code, for metrics. */
  readonly done: (status: number, errorCode: string | undefined) => void
  /** Counts the request while it is in progress, and refuses it (503 too_many_connections) when the gateway is full. */
  readonly connections?: { readonly gate: Connections; readonly priority: boolean }
  /**
   * Checks what the headers tell (the key, a signature header...) before any
   * body byte is read: an answer here is sent at once, and the body is never
   * read (the connection is closed if one was announced).
   */
  readonly admit?: (call: Omit<HttpCall, "body">) => HttpAnswer | undefined
  /** Bytes of bodies buffered across all requests (503 gateway_busy past it). */
  readonly bodies?: BodyBudget
}

/** A percent-decoded path parameter; a malformed escape ("%ZZ") stays as sent and simply matches nothing. */
const decodePathParameter = (raw: string): string => {
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/** The API key of a request: `Authorization: Bearer <key>` or `X-Api-Key: <key>` ("" when neither). */
export const requestKey = (req: HttpRequest): string => {
  const auth = req.getHeader("authorization")
  return auth.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : req.getHeader("x-api-key")
}

/** A Content-Length as a number (-1 when absent); uWebSockets.js has already refused a malformed one. */
const contentLengthOf = (req: HttpRequest): number => {
  const raw = req.getHeader("content-length")
  if (raw === "") return -1
  const n = Number(raw)
  return Number.isSafeInteger(n) && n >= 0 ? n : -1
}

/**
 * Handles one request: reads the call; refuses it at once when the gateway
 * is full, when `admit` refuses it (no key, a wrong key), when its
 * Content-Length is over the route's limit (413) or when the bodies buffered
 * across all requests would pass their bound (503) - in each case before a
 * body byte is read, closing the connection if a body was announced; then
 * reads the body (JSON), runs the handler, writes the answer.
 */
export const serve = (res: HttpResponse, req: HttpRequest, params: number, options: ServeOptions, handler: (call: Omit<HttpCall, "body">, body: unknown) => Promise<HttpAnswer>): void => {
  const key = requestKey(req)
  const headers: Record<string, string> = {}
  for (const name of options.headers ?? []) headers[name] = req.getHeader(name)
  const declared = contentLengthOf(req)
  const chunked = req.getHeader("transfer-encoding") !== ""
  const announcesBody = declared > 0 || chunked
  let rawBody: Buffer | undefined
  const call: Omit<HttpCall, "body"> = {
    headers,
    get rawBody() {
      return rawBody
    },
    method: req.getMethod().toUpperCase(),
    path: req.getUrl(),
    query: new URLSearchParams(req.getQuery() ?? ""),
    params: Array.from({ length: params }, (_, i) => decodePathParameter(req.getParameter(i) ?? "")),
    key
  }
  let aborted = false
  let answered = false
  let counted = false
  let reserved = 0
  const release = () => {
    if (reserved > 0) options.bodies?.give(reserved)
    reserved = 0
    if (counted) options.connections!.gate.httpInFlight--
    counted = false
  }
  res.onAborted(() => {
    aborted = true
    release()
  })
  const answer = (a: HttpAnswer, closeConnection = false) => {
    if (answered) return
    answered = true
    release()
    const code = a.status >= 400 ? (a.body as { error?: ErrorBody } | undefined)?.error?.code : undefined
    options.done(a.status, code)
    if (!aborted) write(res, a, closeConnection)
  }
  const refuse = (error: ErrorBody & { readonly retryable?: true }) => answer(errorAnswer(error, options.retryAfterSec), announcesBody)
  const run = (body: unknown) => {
    handler(call, body).then((a) => answer(a, announcesBody && options.bodyBytesMax === 0), (e: unknown) => {
      console.error(`gateway: ${call.method} ${call.path} failed`, e)
      answer(errorAnswer(gatewayError("internal_error"), options.retryAfterSec))
    })
  }
  const gate = options.connections
  if (gate) {
    if (!gate.gate.admits(gate.priority)) {
      return refuse({ ...gatewayError("too_many_connections", "the gateway serves connectionsMax connections; retry later"), retryable: true })
    }
    gate.gate.httpInFlight++
    counted = true
  }
  const refused = options.admit?.(call)
  if (refused) return answer(refused, announcesBody)
  if (call.method === "GET" || call.method === "HEAD" || call.method === "DELETE" || options.bodyBytesMax === 0) {
    run(undefined)
    return
  }
  const tooLarge = () => refuse(gatewayError("body_too_large", `bodies of this route are at most ${options.bodyBytesMax} bytes`))
  const busy = () => refuse({ ...gatewayError("gateway_busy"), retryable: true })
  if (declared > options.bodyBytesMax) return tooLarge()
  if (declared > 0 && options.bodies) {
    if (!options.bodies.take(declared)) return busy()
    reserved = declared
  }
  // a declared length is read into one buffer of that size; a chunked body chunk by chunk, each taken from the budget
  let whole: Buffer | undefined
  const chunks: Array<Buffer> = []
  let size = 0
  res.onData((chunk, isLast) => {
    if (answered) return
    size += chunk.byteLength
    if (size > options.bodyBytesMax) return tooLarge()
    if (declared > 0) {
      whole ??= Buffer.allocUnsafe(declared)
      whole.set(new Uint8Array(chunk), size - chunk.byteLength)
    } else if (chunk.byteLength > 0) {
      if (options.bodies) {
        if (!options.bodies.take(chunk.byteLength)) return busy()
        reserved += chunk.byteLength
      }
      chunks.push(Buffer.from(chunk.slice(0)))
    }
    if (!isLast) return
    const bytes = whole ? whole.subarray(0, size) : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
    if (options.rawBody) {
      rawBody = bytes
      return run(undefined)
    }
    const text = bytes.toString("utf8")
    if (text.trim() === "") return run(undefined)
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return answer(errorAnswer(gatewayError("malformed_json", "the body is not valid JSON"), options.retryAfterSec))
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return answer(errorAnswer(gatewayError("malformed_json", "the body is a JSON object"), options.retryAfterSec))
    }
    run(body)
  })
}
