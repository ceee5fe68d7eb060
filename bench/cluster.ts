/**
 * `npm run bench -- cluster`: the engine in cluster mode on this machine with
 * 1, 2 and 3 runner processes (NodeClusterSocket, PostgreSQL storage, a fresh
 * database each), driven by one cluster client in the benchmark process:
 *
 * 1. reservations: keyed one-unit holds over 64 SKUs spread across the
 *    partitions, closed loop, `--inflight` (default 2,048) in flight, for
 *    `--seconds` (default 8); p99 from submit to durable ack;
 * 2. orders over several partitions: three-line paid orders (three SKUs,
 *    almost always in three partitions) through the gateway's cluster
 *    client (`ClusterEngine`), which claims the external id and places one
 *    leg per partition; the reservations pause meanwhile; `--order-inflight`
 *    (default 256) in flight for half of `--seconds`; orders/s and p50/p99
 *    to the acknowledgement of every leg; afterwards every acknowledged
 *    order is read back by its id;
 * 3. failover (2 and 3 runners): SIGKILL of the runner owning most
 *    partitions while the load runs; time from the kill to the first
 *    success on every partition it owned.
 *
 * Every runner and the client share this machine's cores: with 2 cores, more
 * runners do not add CPU, so the figures show the cost of distribution here,
 * not the scaling on N machines. Per-runner efficiency = rate(N) / (N x rate(1)).
 */
import { legSeparator, loadClusterSettings, loadConfig, PartitionClient, partitionOf, partitionStream, type Command } from "../engine/index.ts"
import { answered, auditCluster, clusterTestEnv, freePort, RunnerProcess, settledOwners, stockCluster, type Ack } from "../engine/testing/cluster.ts"
import { ClusterEngine } from "../gateway/cluster-access.ts"
import { freshDatabase } from "../engine/testing/postgres.ts"
import { parseOptions } from "./options.ts"
import { percentile, round, type BenchResult } from "./report.ts"

const partitions = 8
const skuCount = 64

interface Round {
  readonly runners: number
  readonly reservationsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly failoverMs: number | null
  readonly movedPartitions: number
  readonly orders: OrderPhase
}

interface OrderPhase {
  readonly perSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Share of the orders placed as two legs or more. */
  readonly splitShare: number
}

/**
 * Three-line orders through the cluster gateway's client for `seconds`,
 * `inFlight` at a time; every acknowledged order is then read back by its
 * (composite) id with its three lines.
 */
const orderPhase = async (engine: ClusterEngine, skus: ReadonlyArray<string>, seconds: number, inFlight: number, roundNo: number): Promise<OrderPhase> => {
  const latencies: Array<number> = []
  const placed: Array<string> = []
  let n = 0
  const deadline = performance.now() + seconds * 1_000
  const worker = async () => {
    while (performance.now() < deadline) {
      const i = n++
      const lines = [0, 1, 2].map((k) => ({ sku: skus[(i * 7 + k * 11) % skus.length], qty: 1 }))
      const c: Command = {
        type: "order.place", channel: "web", externalId: `bench-${roundNo}-${i}`, lines, payment: "authorised",
        customer: { name: "Bench", location: { lat: 32.78, lon: -96.8 } }
      }
      const started = performance.now()
      for (;;) {
        const r = await engine.submit(c)
        if (r.ok) {
          latencies.push(performance.now() - started)
          placed.push(r.order!.orderId)
          break
        }
        if (!retryable.has(r.code)) throw new Error(`order refused: ${r.code} ${r.message}`)
        await new Promise((res) => setTimeout(res, 20))
      }
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: inFlight }, worker))
  const elapsed = (performance.now() - t0) / 1_000
  for (let i = 0; i < placed.length; i += 64) {
    await Promise.all(placed.slice(i, i + 64).map(async (id) => {
      const o = await engine.order(id)
      if (!o || o.lines.length !== 3) throw new Error(`order ${id} acknowledged but not read back whole`)
    }))
  }
  return {
    perSec: Math.round(placed.length / elapsed),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    splitShare: round(placed.filter((id) => id.includes(legSeparator)).length / Math.max(1, placed.length), 3)
  }
}

const retryable = new Set(["partition_moved", "store_unavailable", "engine_overloaded", "engine_stopped", "outcome_unknown"])

const runRound = async (runnerCount: number, seconds: number, inFlight: number, orderInFlight: number): Promise<Round> => {
  const db = await freshDatabase()
  const runners: Array<RunnerProcess> = []
  let client: PartitionClient | undefined
  let engine: ClusterEngine | undefined
  try {
    const env = clusterTestEnv(partitions)
    for (let i = 0; i < runnerCount; i++) runners.push(RunnerProcess.start({ databaseUrl: db.url, host: "127.0.0.1", port: await freePort(), env }))
    await Promise.all(runners.map((r) => r.waitFor(/Listening on/, 60_000)))
    client = await PartitionClient.connect(loadClusterSettings({ databaseUrl: db.url, callTimeoutMs: 2_000 }, env), loadConfig({ partitions }, {}))
    const skus = await stockCluster(client, skuCount, 100_000)
    // each partition routes within its share of a node's daily capacity: give the Dallas DC room for the order phase
    await answered(client, { type: "node.upsert", nodeId: "WH-DAL", name: "Dallas DC", kind: "warehouse", location: { lat: 32.7767, lon: -96.797 }, capacityPerDay: 10_000_000, groups: ["south"] })
    const owned = await settledOwners(db.url, partitions)

    let running = true
    let n = 0
    const latencies: Array<number> = []
    const acks: Array<Ack> = []
    let measuring = false
    let measured = 0
    const worker = async () => {
      while (running) {
        const i = n++
        const sku = skus[i % skus.length]
        const c: Command = { type: "hold.create", channel: "web", sku, nodeId: "WH-DAL", qty: 1, ttlMs: 3_600_000, key: `b${i}` }
        const stream = partitionStream(partitionOf(sku, partitions))
        const started = performance.now()
        for (;;) {
          const sentAt = Date.now()
          const r = await client!.submit(c)
          if (r.ok) {
            if (measuring) {
              latencies.push(performance.now() - started)
              measured++
            }
            acks.push({ key: c.key!, sku, holdId: r.hold!.holdId, at: Date.now(), sentAt, stream })
            break
          }
          if (!retryable.has(r.code)) throw new Error(`hold refused: ${r.code} ${r.message}`)
          await new Promise((res) => setTimeout(res, 20))
        }
      }
    }
    let workers = Array.from({ length: inFlight }, worker)
    await new Promise((r) => setTimeout(r, 1_500))
    measuring = true
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, seconds * 1_000))
    measuring = false
    const elapsed = (performance.now() - t0) / 1_000
    const reservationsPerSec = Math.round(measured / elapsed)
    const sorted = latencies

    // orders over several partitions, alone (the reservations pause, then resume for the failover)
    running = false
    await Promise.all(workers)
    engine = await ClusterEngine.connect(loadClusterSettings({ databaseUrl: db.url, callTimeoutMs: 2_000 }, env), loadConfig({ partitions }, {}))
    const orders = await orderPhase(engine, skus, Math.max(2, seconds / 2), orderInFlight, runnerCount)
    running = true
    workers = Array.from({ length: inFlight }, worker)
    await new Promise((r) => setTimeout(r, 1_000))

    let failoverMs: number | null = null
    let movedPartitions = 0
    if (runnerCount > 1) {
      const counts = runners.map((r) => [...owned].filter(([s, o]) => o === r.name && s !== "net").length)
      const victim = runners[counts.indexOf(Math.max(...counts))]
      const moved = [...owned].filter(([s, o]) => o === victim.name && s !== "net").map(([s]) => s)
      movedPartitions = moved.length
      const killedAt = Date.now()
      victim.kill("SIGKILL")
      const deadline = killedAt + 60_000
      // answers to commands sent before the kill keep arriving for a moment (the dead runner's replies already
      // on their way): only a success sent after the kill shows that the partition serves again
      const servedAgain = (s: string) => acks.find((a) => a.stream === s && a.sentAt > killedAt)
      while (Date.now() < deadline && moved.some((s) => !servedAgain(s))) {
        await new Promise((r) => setTimeout(r, 50))
      }
      const firsts = moved.map((s) => servedAgain(s)?.at ?? Infinity)
      failoverMs = Math.max(...firsts) - killedAt
    }
    running = false
    await Promise.all(workers)
    const audit = await auditCluster(db.url, partitions, skus, acks)
    const problems = [...audit.missing, ...audit.oversold, ...audit.heldMismatch, ...audit.epochsBackward]
    if (problems.length > 0) throw new Error(`audit failed with ${runnerCount} runners: ${problems.slice(0, 5).join("; ")}`)
    return { runners: runnerCount, reservationsPerSec, p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), failoverMs, movedPartitions, orders }
  } finally {
    await engine?.close().catch(() => undefined)
    await client?.close().catch(() => undefined)
    await Promise.all(runners.map((r) => r.stop()))
    await db.drop()
  }
}

export const options = {
  seconds: { type: "number", default: 8, min: 0.1, help: "seconds per round" },
  inflight: { type: "number", default: 2_048, min: 1, help: "reservations in flight" },
  "order-inflight": { type: "number", default: 256, min: 1, help: "orders in flight" }
} as const

export const run = async (args: ReadonlyArray<string>): Promise<BenchResult> => {
  const o = parseOptions(options, args).values
  const seconds = o.seconds
  const inFlight = o.inflight
  const orderInFlight = o["order-inflight"]
  const rounds: Array<Round> = []
  for (const runners of [1, 2, 3]) {
    console.error(`cluster bench: ${runners} runner(s), ${seconds} s, ${inFlight} in flight`)
    rounds.push(await runRound(runners, seconds, inFlight, orderInFlight))
  }
  const base = rounds[0].reservationsPerSec
  const efficiency = (r: Round) => round(r.reservationsPerSec / (r.runners * base), 2)
  const rows: Array<readonly [string, string | number, string]> = []
  for (const r of rounds) {
    rows.push([`${r.runners} runner(s): reservations`, r.reservationsPerSec, `/s durable, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`])
    rows.push([`  per-runner efficiency`, efficiency(r), "rate(N) / (N x rate(1))"])
    rows.push([`  3-line orders, split`, r.orders.perSec, `/s alone, ${Math.round(r.orders.splitShare * 100)} % as legs in several partitions, p50 ${r.orders.p50Ms} ms, p99 ${r.orders.p99Ms} ms`])
    if (r.failoverMs !== null) rows.push([`  failover`, r.failoverMs, `ms, SIGKILL to first success on each of ${r.movedPartitions} moved partitions`])
  }
  rows.push(["cores on this machine", 2, "shared by every runner, PostgreSQL and the client: 2 cores bound the scaling here"])
  const failovers = rounds.map((r) => r.failoverMs).filter((x): x is number => x !== null)
  return {
    name: `cluster (${partitions} partitions, ${skuCount} SKUs, NodeClusterSocket runners on loopback, PostgreSQL)`,
    rows,
    figures: {
      runners: rounds.map((r) => r.runners),
      reservationsPerSec: rounds.map((r) => r.reservationsPerSec),
      p50Ms: rounds.map((r) => r.p50Ms),
      p99Ms: rounds.map((r) => r.p99Ms),
      perRunnerEfficiency: rounds.map(efficiency),
      splitOrdersPerSec: rounds.map((r) => r.orders.perSec),
      splitOrdersP99Ms: rounds.map((r) => r.orders.p99Ms),
      splitOrdersShare: rounds.map((r) => r.orders.splitShare),
      failoverMs: Math.max(...failovers),
      failoverMsByRunners: Object.fromEntries(rounds.filter((r) => r.failoverMs !== null).map((r) => [r.runners, r.failoverMs])),
      partitions,
      durationSec: seconds,
      inFlight,
      note: "2 cores shared by all runners, PostgreSQL and the client bound the scaling on this machine"
    }
  }
}
