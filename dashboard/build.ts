/**
 * Builds the dashboard page when its build is missing or older than its
 * sources (`npm start` and the test run call it, so a fresh clone needs no
 * manual step); `--force` builds it regardless. The build takes a few seconds.
 */
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const root = fileURLToPath(new URL(".", import.meta.url))
const stamp = join(root, "dist", "index.html")

const newest = (path: string): number => {
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let t = st.mtimeMs
  for (const name of readdirSync(path)) t = Math.max(t, newest(join(path, name)))
  return t
}

/** Whether dashboard/dist is older than anything it is built from. */
export const dashboardStale = (): boolean => {
  if (!existsSync(stamp)) return true
  const built = statSync(stamp).mtimeMs
  const sources = [join(root, "src"), join(root, "index.html"), join(root, "vite.config.ts"), join(root, "..", "package-lock.json")]
  return sources.some((s) => existsSync(s) && newest(s) > built)
}

export const buildDashboard = async (options: { readonly force?: boolean; readonly quiet?: boolean } = {}): Promise<boolean> => {
  if (!options.force && !dashboardStale()) return false
  const started = performance.now()
  const { build } = await import("vite")
  await build({ configFile: join(root, "vite.config.ts"), logLevel: "warn" })
  if (!options.quiet) console.log(`dashboard built in ${Math.round(performance.now() - started)} ms (dashboard/dist)`)
  return true
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let force = false
  try {
    force = parseArgs({ options: { force: { type: "boolean" } }, strict: true }).values.force === true
  } catch (e) {
    console.error(`dashboard build: ${(e as Error).message}\nusage: tsx dashboard/build.ts [--force]`)
    process.exit(2)
  }
  await buildDashboard({ force })
}
