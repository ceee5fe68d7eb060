/**
 * An optional second listener (healthPort) for load balancers whose health
 * checks uWebSockets.js cannot answer: the uWebSockets.js build the gateway
 * runs on (v20.30) reads only `HTTP/1.1` request lines with at most 49
 * headers, and gives no answer at all to HTTP/1.0, to a request line it
 * cannot parse or to too many headers (it drops the connection after its
 * fixed 10 s timeout). This listener is Node's own HTTP server: it answers
 * HTTP/1.0 and 1.1, a request without Host (HTTP/1.0) or with one (1.1; an
 * HTTP/1.1 request without Host is 400 as RFC 9112 asks), and 400 to a
 * malformed request, 431 to oversized headers, at once. It serves only
 * GET/HEAD /healthz and /readyz (the same answers as on the main port);
 * anything else is 404.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"

export interface HealthAnswers {
  readonly healthz: () => Promise<{ status: number; body: unknown; headers?: Readonly<Record<string, string>> }>
  readonly readyz: () => Promise<{ status: number; body: unknown; headers?: Readonly<Record<string, string>> }>
}

export interface HealthListener {
  readonly port: number
  close(): Promise<void>
}

export const startHealthListener = async (host: string, port: number, answers: HealthAnswers): Promise<HealthListener> => {
  const server: Server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? "").split("?")[0]
    const send = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) => {
      const text = JSON.stringify(body)
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
      res.end(req.method === "HEAD" ? undefined : text)
    }
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, { error: { code: "method_not_allowed", message: "GET or HEAD" } })
    const which = path === "/healthz" ? answers.healthz : path === "/readyz" ? answers.readyz : undefined
    if (!which) return send(404, { error: { code: "not_found", message: "this port serves /healthz and /readyz" } })
    which().then(
      (a) => send(a.status, a.body, a.headers),
      () => send(500, { error: { code: "internal_error", message: "the health check failed" } })
    )
  })
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, host, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}
