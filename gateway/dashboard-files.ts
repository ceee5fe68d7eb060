/**
 * Serves the ops dashboard (the built page in dashboard/dist, see
 * dashboard/vite.config.ts) at /dashboard/. The page itself holds no data:
 * everything it shows comes from the ops feed and the HTTP API, which demand
 * the ops token. Only the files found in the build folder are served (a
 * fixed table read from disk, so no path can reach outside it); hashed assets
 * are cached for a year, index.html is revalidated on every load.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { extname, join, relative, sep } from "node:path"
import { fileURLToPath } from "node:url"
import type { HttpResponse, TemplatedApp } from "uWebSockets.js"
import { statusLine } from "./http-io.ts"
import type { GatewayMetrics } from "./metrics.ts"

export const dashboardPath = "/dashboard"
export const defaultDashboardDir = fileURLToPath(new URL("../dashboard/dist/", import.meta.url))

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8"
}

/** Files larger than this are not served (the build has nothing near it). */
const fileBytesMax = 8 * 1024 * 1024
/** How often a missing build is looked for again. */
const rescanMs = 1_000

const securityHeaders: ReadonlyArray<readonly [string, string]> = [
  ["x-content-type-options", "nosniff"],
  ["referrer-policy", "no-referrer"],
  ["x-frame-options", "DENY"],
  ["content-security-policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"]
]

interface StaticFile {
  readonly body: Buffer
  readonly contentType: string
  readonly cacheControl: string
}

const readBuild = (dir: string): Map<string, StaticFile> => {
  const files = new Map<string, StaticFile>()
  if (!existsSync(join(dir, "index.html"))) return files
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const full = join(folder, name)
      const st = statSync(full)
      if (st.isDirectory()) walk(full)
      else if (st.isFile() && st.size <= fileBytesMax) {
        const type = contentTypes[extname(name).toLowerCase()]
        if (!type) continue
        const rel = relative(dir, full).split(sep).join("/")
        files.set(rel, {
          body: readFileSync(full),
          contentType: type,
          // Vite names assets by content hash: they never change under one name
          cacheControl: rel.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache"
        })
      }
    }
  }
  walk(dir)
  return files
}

const send = (res: HttpResponse, status: number, headers: ReadonlyArray<readonly [string, string]>, body: Buffer | string, head: boolean) => {
  res.cork(() => {
    res.writeStatus(statusLine(status))
    for (const [k, v] of headers) res.writeHeader(k, v)
    for (const [k, v] of securityHeaders) res.writeHeader(k, v)
    // HEAD: the headers of the GET, no body
    if (head) res.end()
    else res.end(body)
  })
}

const notBuilt = JSON.stringify({ error: { code: "not_found", message: "the dashboard is not built: run npm run build:dashboard" } })
const noSuchFile = JSON.stringify({ error: { code: "not_found", message: "no such dashboard file" } })

/** Mounts GET and HEAD /dashboard and /dashboard/*. */
export const mountDashboard = (app: TemplatedApp, options: { readonly dir?: string; readonly metrics: GatewayMetrics }): void => {
  const dir = options.dir ?? defaultDashboardDir
  let files = readBuild(dir)
  let scannedAt = Date.now()
  const lookup = (path: string): StaticFile | undefined => {
    if (files.size === 0 && Date.now() - scannedAt > rescanMs) {
      files = readBuild(dir)
      scannedAt = Date.now()
    }
    return files.get(path)
  }
  const answer = (res: HttpResponse, url: string, head: boolean) => {
    const started = performance.now()
    if (url === dashboardPath) {
      // the token travels in the fragment, which the browser keeps across this redirect
      send(res, 301, [["location", `${dashboardPath}/`], ["cache-control", "no-cache"]], "", head)
      options.metrics.request("http", "GET /dashboard", started, undefined)
      return
    }
    const rel = url.slice(dashboardPath.length + 1)
    const file = lookup(rel === "" ? "index.html" : rel)
    if (!file) {
      send(res, 404, [["content-type", "application/json"], ["cache-control", "no-cache"]], files.size === 0 ? notBuilt : noSuchFile, head)
      options.metrics.request("http", "GET /dashboard", started, "not_found")
      return
    }
    send(res, 200, [["content-type", file.contentType], ["cache-control", file.cacheControl]], file.body, head)
    options.metrics.request("http", "GET /dashboard", started, undefined)
  }
  for (const pattern of [dashboardPath, `${dashboardPath}/*`]) {
    app.get(pattern, (res, req) => answer(res, req.getUrl(), false))
    app.head(pattern, (res, req) => answer(res, req.getUrl(), true))
  }
}
