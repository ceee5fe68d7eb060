/**
 * How the engine's processes tune V8's garbage collector.
 *
 * V8 "pretenures" the objects of an allocation site (allocates them straight
 * in the old generation) once most of them survived a young collection. Under
 * a peak, with thousands of requests in flight, that is true of almost every
 * per-request object (the decoded frame, the command, the event, the reply)
 * for a moment, although each lives a few milliseconds: V8 then pretenures
 * them, and the old generation fills with garbage that only a full collection
 * (concurrent marking on the two cores the engine, its database and the
 * gateway share) clears. Measured on the gateway at 32,000 reservations/s:
 * the old generation grew by 28 MB/s with pretenuring and 2 MB/s without it,
 * and full collections went from one every few seconds to one now and then.
 *
 * So the processes that run an engine or a gateway turn it off, process-wide
 * (worker threads, such as the embedded database's, included), unless
 * `ENGINE_V8_PRETENURING=on` keeps V8's default: their entry points (the
 * gateway's, the engine's, the cluster runner's, the simulator's and the
 * benchmarks') call `tuneGarbageCollection` first thing, so a bad value stops
 * the process at start.
 *
 * V8 also runs background work (concurrent marking, the helpers of parallel
 * young collections, optimizing compiles) on a pool of threads, 4 by default
 * whatever the machine. On two cores shared by the engine's thread, its
 * database's thread and whatever else runs there, those helpers take the
 * cores from the database's thread just when the engine waits on it: at a
 * fixed 35,000 reservations/s the server's threads other than the engine's
 * (the database's and V8's helpers) waited for a core 12 - 17 % of the time
 * with one helper against 20 - 30 % with four, and the median p99 of ten
 * runs each fell by about a third (docs/performance.md). The pool
 * size is a Node option, so it is given on the command line: the package's
 * scripts and the processes the engine's tools start pass
 * `--v8-pool-size=$ENGINE_V8_POOL_SIZE` (default 1; see `v8PoolSizeFlag`),
 * and the entry points check the variable (`tuneGarbageCollection`).
 */
import { setFlagsFromString } from "node:v8"

let tuned = false

/** Whether pretenuring is to be turned off: `ENGINE_V8_PRETENURING` unset or "off" (the default), "on" keeps V8's. */
export const pretenuringOff = (env: NodeJS.ProcessEnv): boolean => {
  const setting = env.ENGINE_V8_PRETENURING?.trim().toLowerCase()
  if (setting === undefined || setting === "" || setting === "off") return true
  if (setting === "on") return false
  throw new Error(`ENGINE_V8_PRETENURING must be "on" or "off", not ${JSON.stringify(env.ENGINE_V8_PRETENURING)}`)
}

/** V8's background thread pool size: `ENGINE_V8_POOL_SIZE` (1 when unset), an integer from 1 to 64; anything else throws. */
export const v8PoolSize = (env: NodeJS.ProcessEnv): number => {
  // not trimmed: the package's scripts pass the value to Node as it is
  const setting = env.ENGINE_V8_POOL_SIZE
  if (setting === undefined || setting === "") return 1
  const n = Number(setting)
  if (!/^\d+$/.test(setting) || n < 1 || n > 64) {
    throw new Error(`ENGINE_V8_POOL_SIZE must be an integer from 1 to 64 (V8's background threads), not ${JSON.stringify(env.ENGINE_V8_POOL_SIZE)}`)
  }
  return n
}

/** The Node option a process that runs an engine or a gateway is started with (see above). */
export const v8PoolSizeFlag = (env: NodeJS.ProcessEnv = process.env): string => `--v8-pool-size=${v8PoolSize(env)}`

/** Turns V8's allocation-site pretenuring off for this process (once; see above), and checks ENGINE_V8_POOL_SIZE. */
export const tuneGarbageCollection = (env: NodeJS.ProcessEnv = process.env): void => {
  if (tuned) return
  v8PoolSize(env)
  const off = pretenuringOff(env)
  tuned = true
  if (off) setFlagsFromString("--no-allocation-site-pretenuring")
}
