/**
 * Three runner processes on loopback, a cluster client sending a steady
 * stream of reservations: one runner is killed with SIGKILL; its partitions
 * resume on the others; every acknowledged reservation is in the journal
 * afterwards, nothing is oversold, no stream has two owners writing, and
 * commands on the moved partitions succeed again within the failover bound.
 * Then a runner joining mid-stream takes shards over without a lost or
 * duplicated command.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadConfig } from "../config.ts"
import { type Ack, auditCluster, clusterTestEnv, freePort, owners, ReservationStream, RunnerProcess, settledOwners, stockCluster } from "../testing/cluster.ts"
import { freshDatabase, postgresUnreachable } from "../testing/postgres.ts"
import { PartitionClient } from "./partition-client.ts"
import { loadClusterSettings } from "./settings.ts"

const partitions = 16
/** Kill to first success on a moved partition; measured ~2-4 s here with a 4 s lock expiry, bounded loosely for a loaded CI machine. */
const failoverBoundMs = 12_000
const unreachable = await postgresUnreachable()
if (unreachable && process.env.CI) throw new Error(`cluster tests need PostgreSQL under CI: ${unreachable}`)

describe.skipIf(unreachable !== undefined)("cluster of runner processes", () => {
  if (unreachable) console.warn(`skipped: ${unreachable}`)
  let db: Awaited<ReturnType<typeof freshDatabase>>
  const runners: Array<RunnerProcess> = []
  let client: PartitionClient | undefined
  const earlier: Array<Ack> = []

  beforeAll(async () => {
    db = await freshDatabase()
  })

  afterAll(async () => {
    await client?.close().catch(() => undefined)
    await Promise.all(runners.map((r) => r.stop()))
    await db?.drop()
  })

  const startRunner = async () => {
    const r = RunnerProcess.start({ databaseUrl: db.url, host: "127.0.0.1", port: await freePort(), env: clusterTestEnv(partitions) })
    runners.push(r)
    return r
  }

  it("loses no acknowledged reservation and oversells nothing when a runner is killed, and serves moved partitions again within the bound", async () => {
    const three = await Promise.all([startRunner(), startRunner(), startRunner()])
    await Promise.all(three.map((r) => r.waitFor(/Listening on/, 40_000)))
    const settings = loadClusterSettings({ databaseUrl: db.url, callTimeoutMs: 5_000 }, { ...clusterTestEnv(partitions) })
    client = await PartitionClient.connect(settings, loadConfig({ partitions }, {}))
    const skus = await stockCluster(client, 32, 400)
    const stream = new ReservationStream(client, skus, partitions)
    stream.start(48)
    const owned = await settledOwners(db.url, partitions)
    const victim = three.find((r) => [...owned].some(([s, o]) => o === r.name && s !== "net"))!
    // the partitions it served reservations for (the network stream it may own takes none)
    const moved = new Set([...owned].filter(([s, o]) => o === victim.name && s !== "net").map(([s]) => s))
    const acksBefore = stream.acks.length
    const killedAt = Date.now()
    victim.kill("SIGKILL")
    // keep the stream going until every moved partition has answered again
    const deadline = killedAt + 30_000
    while (Date.now() < deadline && [...moved].some((s) => !stream.acks.some((a) => a.stream === s && a.sentAt > killedAt))) {
      await new Promise((r) => setTimeout(r, 100))
    }
    await new Promise((r) => setTimeout(r, 1_000))
    await stream.stop()

    const firstAfter = [...moved].map((s) => stream.acks.find((a) => a.stream === s && a.sentAt > killedAt)?.at ?? Infinity)
    const failoverMs = Math.max(...firstAfter) - killedAt
    console.log(`failover: ${moved.size} partitions moved from ${victim.name}; kill to first success on every moved partition ${failoverMs} ms; ` +
      `${acksBefore} reservations before the kill, ${stream.acks.length} in all, ${stream.retries.length} retried answers`)
    expect(failoverMs).toBeLessThan(failoverBoundMs)

    earlier.push(...stream.acks)
    const audit = await auditCluster(db.url, partitions, skus, stream.acks)
    expect(audit.missing).toEqual([])
    expect(audit.oversold).toEqual([])
    expect(audit.heldMismatch).toEqual([])
    expect(audit.epochsBackward).toEqual([])
    // the moved partitions were written by a new owner after the kill
    const after = await owners(db.url, partitions)
    for (const s of moved) expect(after.get(s)).not.toBe(victim.name)
  })

  it("lets a runner join mid-stream and take shards over without a lost or duplicated command", async () => {
    expect(client).toBeDefined()
    const skus = Array.from({ length: 32 }, (_, i) => `SKU-${i}`)
    const stream = new ReservationStream(client!, skus, partitions, "j")
    const before = await owners(db.url, partitions)
    stream.start(48)
    await new Promise((r) => setTimeout(r, 1_500))
    const joiner = await startRunner()
    await joiner.waitFor(/Listening on/, 40_000)
    const deadline = Date.now() + 30_000
    let taken: Array<string> = []
    while (Date.now() < deadline) {
      taken = [...(await owners(db.url, partitions))].filter(([s, o]) => o === joiner.name && s !== "net").map(([s]) => s)
      if (taken.length > 0 && taken.every((s) => stream.acks.some((a) => a.stream === s && a.at > Date.now() - 500))) break
      await new Promise((r) => setTimeout(r, 250))
    }
    await new Promise((r) => setTimeout(r, 1_000))
    await stream.stop()
    console.log(`join: ${joiner.name} took ${taken.join(", ")} (owned before by ${[...new Set(taken.map((s) => before.get(s)))].join(", ")}); ${stream.acks.length} reservations`)
    expect(taken.length).toBeGreaterThan(0)
    // everything acknowledged in both tests is in the journal exactly once
    const all = await auditCluster(db.url, partitions, skus, [...earlier, ...stream.acks])
    expect(all.missing).toEqual([])
    expect(all.oversold).toEqual([])
    expect(all.heldMismatch).toEqual([])
    expect(all.epochsBackward).toEqual([])
  })
})
