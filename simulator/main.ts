/**
 * `npm run simulate -- --scenario black-friday`: the peak-event simulator.
 * Plays a scenario's day (simulator/scenarios/*.json) against a fresh engine
 * and gateway (or a running gateway with --target), audits the engine against
 * what the gateway acknowledged, optionally replays the same demand under a
 * second routing policy and computes the hindsight bound, and writes an HTML
 * report and a JSON summary. Exits 1 when an audit fails, 2 on bad usage.
 */
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import type { KeysConfig } from "../gateway/keys.ts"
import { compareRuns, loadPolicy, type PolicyFile } from "./compare.ts"
import { hindsight, type HindsightResult } from "./hindsight.ts"
import { buildNetwork, demoSimKeys, simKeysFromConfig } from "./network.ts"
import { writeResults } from "./report.ts"
import { runDay, type ExternalTarget, type RunResult } from "./run.ts"
import { loadScenario, ScenarioError } from "./scenario.ts"
import { summarise, type RunSummary } from "./summary.ts"
import { tuneGarbageCollection } from "../engine/index.ts"

// the simulator runs an engine and a gateway in this process (engine/runtime/gc-tuning.ts)
tuneGarbageCollection()

const usage = `Peak-event simulator: plays a day of storefront and fulfillment traffic against the
engine through the gateway, audits the result, and writes a report.

usage: npm run simulate -- --scenario NAME [options]

  --scenario NAME|FILE     black-friday, flash-sale, smoke (simulator/scenarios/), or a JSON file
  --seed N                 seed of demand, customers and node behaviour (default 1)
  --minutes M              wall-clock minutes for the simulated 24 hours (default: the scenario's)
  --scale X                multiply the scenario's sessions (default 1)
  --target ws://HOST:PORT  drive a running gateway instead of starting a fresh engine; the simulator
                           provisions its network there (nodes, SKUs, channels, absolute stock counts)
  --keys FILE              that gateway's keys (the GATEWAY_KEYS_FILE format); default: the demo keys
  --in-process             run the fresh engine and gateway in this process (default: a child process)
  --compare-policy FILE    replay the same demand on a fresh engine under this routing policy
                           (simulator/policies/*.json) and compare
  --hindsight N            orders sampled for the hindsight bound (default 200; 0: skip)
  --out DIR                results folder (default simulator/results/<scenario>-<timestamp>/)
  --quiet                  no progress line (CI)
  -h, --help               this text

Exit status: 0 when every audit passed, 1 when one failed, 2 on bad usage.`

const fail = (message: string): never => {
  console.error(`simulate: ${message}\n\n${usage}`)
  process.exit(2)
}

const parsed = (() => {
  try {
    return parseArgs({
      options: {
        scenario: { type: "string" }, seed: { type: "string" }, minutes: { type: "string" }, scale: { type: "string" },
        target: { type: "string" }, keys: { type: "string" }, "in-process": { type: "boolean" },
        "compare-policy": { type: "string" }, hindsight: { type: "string" }, out: { type: "string" },
        quiet: { type: "boolean" }, help: { type: "boolean", short: "h" }
      },
      strict: true
    }).values
  } catch (e) {
    return fail((e as Error).message)
  }
})()

if (parsed.help) {
  console.log(usage)
  process.exit(0)
}
if (!parsed.scenario) fail("--scenario is required")

const num = (name: string, raw: string | undefined, fallback: number, check: (x: number) => boolean): number => {
  if (raw === undefined) return fallback
  const x = Number(raw)
  if (!Number.isFinite(x) || !check(x)) fail(`--${name} ${raw} is not valid`)
  return x
}

const scenario = (() => {
  try {
    return loadScenario(parsed.scenario!)
  } catch (e) {
    return e instanceof ScenarioError ? fail(e.message) : (() => { throw e })()
  }
})()
const seed = num("seed", parsed.seed, 1, (x) => Number.isInteger(x) && x >= 0)
const minutes = num("minutes", parsed.minutes, scenario.day.wallClockMinutes, (x) => x > 0 && x <= 24 * 60)
const scale = num("scale", parsed.scale, 1, (x) => x > 0)
const hindsightSample = num("hindsight", parsed.hindsight, 200, (x) => Number.isInteger(x) && x >= 0)
const quiet = parsed.quiet === true || !process.stdout.isTTY
const policy: PolicyFile | undefined = parsed["compare-policy"] ? loadPolicy(parsed["compare-policy"]) : undefined

let target: ExternalTarget | undefined
if (parsed.target) {
  const m = /^wss?:\/\/([^/]+)\/?(.*)$/.exec(parsed.target)
  if (!m) fail(`--target must look like ws://host:port, not ${parsed.target}`)
  const hostPort = m![1]
  const network = buildNetwork(scenario)
  const keys = parsed.keys ? simKeysFromConfig(JSON.parse(readFileSync(parsed.keys, "utf8")) as KeysConfig) : demoSimKeys(network)
  target = { httpUrl: `http://${hostPort}`, wsUrl: `ws://${hostPort}/v1/ws`, keys }
  if (policy) fail("--compare-policy needs a fresh engine per policy: it cannot be used with --target")
}

const progress = quiet ? undefined : (line: string) => process.stdout.write(`\r${line.padEnd(process.stdout.columns ? Math.min(process.stdout.columns - 1, 160) : 120)}`)
const say = (line: string) => {
  if (!quiet) process.stdout.write("\n")
  console.log(line)
}

const playDay = async (label: string, withPolicy: PolicyFile | undefined): Promise<RunResult> => {
  say(`${label}: scenario ${scenario.name}, seed ${seed}, 24 h in ${minutes} min${target ? ` against ${parsed.target}` : ", fresh engine on the embedded store"}${withPolicy ? `, policy ${withPolicy.name}` : ""}`)
  const r = await runDay({ scenario, seed, minutes, scale, target, inProcess: parsed["in-process"] === true, policy: withPolicy, progress, label })
  const s = summarise(r)
  say(`${label}: ${s.sessions} sessions, ${s.requests} requests, peak ${s.peakSustainedRate.toFixed(0)} req/s sustained (5 s), p50 ${s.latency.p50.toFixed(1)} ms, p99 ${s.latency.p99.toFixed(1)} ms, ${s.failures} failures`)
  say(`${label}: ${s.orders} orders, fill ${(s.fillRate * 100).toFixed(1)}%, splits ${(s.splitRate * 100).toFixed(1)}%, ${s.shipments} shipments at placement, ${s.avgDistanceKm.toFixed(0)} km and $${(s.avgEngineCostCents / 100).toFixed(2)} per shipment as the engine priced it ($${(s.avgCostCents / 100).toFixed(2)} in the cost model), ${s.unitsBackorderedAtPlacement} units backordered at placement, ${s.holdsExpired} holds left to expire${r.outage ? `, outage of ${r.outage.nodeId}` : ""}`)
  say(`${label}: promises: ${s.promise.answers} answers, ${s.promise.orders} orders with a service or deliverBy, ${s.promise.unreachable} refused promise_unreachable, ${s.promise.lateShipments} shipments late; B2B: ${s.b2b.orders} orders, ${s.b2b.shipComplete} ship-complete (${s.b2b.shipCompleteBackorderedAtPlacement} waiting whole at placement, ${s.b2b.shipCompleteWaitingAtEnd} at the end); ${s.tracking.updates} tracking updates; ${s.feedback.count} feedbacks${s.feedback.averageRating === null ? "" : `, average ${s.feedback.averageRating.toFixed(2)}`}`)
  say(`${label}: audit ${r.audit.ok ? "passed" : "FAILED"} (${r.audit.checked.orders} orders, ${r.audit.checked.pools} pools, ${r.audit.checked.holds} holds, ${r.audit.checked.poolHistories} pool histories, ${r.audit.checked.promiseOrders} promise and ${r.audit.checked.shipCompleteOrders} ship-complete routings, ${r.audit.checked.feedback} feedbacks, ${r.audit.ms} ms)`)
  for (const v of r.audit.violations.slice(0, 20)) say(`  ${v.check}: ${v.message}`)
  if (r.audit.violations.length > 20) say(`  ... and ${r.audit.violations.length - 20} more`)
  return r
}

try {
  const baseline = await playDay("baseline", undefined)
  let hind: HindsightResult | undefined
  if (hindsightSample > 0) {
    hind = await hindsight(baseline, { sample: hindsightSample, seed })
    say(hind.status === "solved"
      ? `hindsight: ${hind.orders} sampled orders, live routing ${(hind.liveCostCents / 100).toFixed(2)} $, best in hindsight ${(hind.bestCostCents / 100).toFixed(2)} $ (${hind.solverStatus}), gap ${hind.gapPercent.toFixed(2)}% of shipping cost`
      : `hindsight: ${hind.status}: ${hind.message}`)
  }
  let whatIf: RunResult | undefined
  if (policy) {
    whatIf = await playDay(`policy ${policy.name}`, policy)
    const { rows } = compareRuns(baseline, whatIf)
    say("what-if: baseline vs " + policy.name)
    for (const row of rows) say(`  ${row.figure.padEnd(32)} ${row.baseline.padStart(18)} ${row.whatIf.padStart(18)} ${row.change.padStart(10)}`)
  }
  const summaries: Array<RunSummary> = [summarise(baseline), ...(whatIf ? [summarise(whatIf)] : [])]
  const paths = writeResults({ dir: parsed.out, scenario, baseline, whatIf, policy, hindsight: hind, summaries })
  say(`report: ${paths.html}`)
  say(`summary: ${paths.json}`)
  say(`ledger: ${paths.ledger}`)
  const ok = baseline.audit.ok && (whatIf?.audit.ok ?? true)
  process.exit(ok ? 0 : 1)
} catch (e) {
  say(`simulate: ${e instanceof Error ? e.stack ?? e.message : String(e)}`)
  process.exit(1)
}
