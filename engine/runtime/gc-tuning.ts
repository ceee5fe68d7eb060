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

/** Turns V8's allocation-site pretenuring off for this process (once; see above). */
export const tuneGarbageCollection = (env: NodeJS.ProcessEnv = process.env): void => {
  if (tuned) return
  const off = pretenuringOff(env)
  tuned = true
  if (off) setFlagsFromString("--no-allocation-site-pretenuring")
}
