/**
 * A runner cut off from the database and the other runners while it believes
 * it owns shards. It runs in a network namespace of its own (veth pair,
 * private subnet), reaching PostgreSQL through a TCP relay on the host side of
 * the veth and the other runners on that address. Taking the veth down cuts
 * it off without closing its connections. Just before the cut, the relay
 * starts holding what the runner sends to the database, so an append of its
 * is in flight, unanswered, whatever the moment: it reaches the database only
 * when the link returns, by when the other runners have claimed its
 * partitions, and it is refused (the runner steps down).
 * The journal shows one owner at a time per stream, every acknowledged
 * reservation is there once, nothing is oversold, and the runner rejoins.
 *
 * Needs root (ip netns); under CI it fails with a message when not root.
 */
import { execFileSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadConfig } from "../config.ts"
import { auditCluster, clusterTestEnv, freePort, owners, ReservationStream, RunnerProcess, settledOwners, stockCluster } from "../testing/cluster.ts"
import { freshDatabase, postgresUnreachable, serverUrl } from "../testing/postgres.ts"
import { Relay } from "../testing/relay.ts"
import { PartitionClient } from "./partition-client.ts"
import { loadClusterSettings } from "./settings.ts"

const partitions = 16
const isRoot = process.getuid?.() === 0
const unreachable = await postgresUnreachable()
if (process.env.CI && !isRoot) throw new Error("the network-namespace cluster test needs root (ip netns, veth); run the suite as root in CI")
if (process.env.CI && unreachable) throw new Error(`cluster tests need PostgreSQL under CI: ${unreachable}`)

const tag = Math.random().toString(36).slice(2, 7)
const ns = `omsc${tag}`
const hostIf = `vh${tag}`
const nsIf = `vn${tag}`
const subnet = 100 + Math.floor(Math.random() * 150)
const hostAddr = `10.231.${subnet}.1`
const nsAddr = `10.231.${subnet}.2`
const ip = (...args: Array<string>) => execFileSync("ip", args, { stdio: "pipe" })

describe.skipIf(!isRoot || unreachable !== undefined)("a runner cut off in its own network namespace", () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>
  const runners: Array<RunnerProcess> = []
  let relay: Relay | undefined
  let client: PartitionClient | undefined

  beforeAll(async () => {
    db = await freshDatabase()
    ip("netns", "add", ns)
    ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
    ip("link", "set", nsIf, "netns", ns)
    ip("addr", "add", `${hostAddr}/24`, "dev", hostIf)
    ip("link", "set", hostIf, "up")
    ip("netns", "exec", ns, "ip", "addr", "add", `${nsAddr}/24`, "dev", nsIf)
    ip("netns", "exec", ns, "ip", "link", "set", nsIf, "up")
    ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
    const pg = new URL(serverUrl)
    relay = new Relay({ host: pg.hostname, port: Number(pg.port || 5432) }, hostAddr)
    await relay.open()
  })

  afterAll(async () => {
    await client?.close().catch(() => undefined)
    await Promise.all(runners.map((r) => r.stop()))
    await relay?.cut().catch(() => undefined)
    for (const cleanup of [() => ip("netns", "del", ns), () => ip("link", "del", hostIf)]) {
      try {
        cleanup()
      } catch {
        // already gone
      }
    }
    await db?.drop()
  })

  it("refuses the cut-off runner's appends, shows one owner at a time per stream, and lets it rejoin", async () => {
    const env = clusterTestEnv(partitions)
    // the runners in the root namespace listen on the veth host address, which the namespace reaches
    for (let i = 0; i < 2; i++) runners.push(RunnerProcess.start({ databaseUrl: db.url, host: hostAddr, port: await freePort(hostAddr), env }))
    const viaRelay = new URL(db.url)
    viaRelay.hostname = hostAddr
    viaRelay.port = String(relay!.port)
    const isolated = RunnerProcess.start({ databaseUrl: viaRelay.toString(), host: nsAddr, port: 34500 + subnet, env, wrap: ["ip", "netns", "exec", ns] })
    runners.push(isolated)
    await Promise.all(runners.map((r) => r.waitFor(/Listening on/, 40_000)))
    client = await PartitionClient.connect(loadClusterSettings({ databaseUrl: db.url, callTimeoutMs: 4_000 }, env), loadConfig({ partitions }, {}))
    const skus = await stockCluster(client, 32, 100_000)
    let owned = await settledOwners(db.url, partitions)
    const ownsPartitions = () => [...owned].some(([s, o]) => o === isolated.name && s !== "net")
    for (let i = 0; i < 20 && !ownsPartitions(); i++) {
      await new Promise((r) => setTimeout(r, 500))
      owned = await owners(db.url, partitions)
    }
    // the partitions it serves reservations for (the network stream, if it owns it, takes none)
    const cutOff = [...owned].filter(([s, o]) => o === isolated.name && s !== "net").map(([s]) => s)
    expect(cutOff.length, `the isolated runner owns no partition: ${JSON.stringify([...owned])}`).toBeGreaterThan(0)

    const stream = new ReservationStream(client, skus, partitions)
    stream.start(48)
    await new Promise((r) => setTimeout(r, 1_500))
    // its next append waits in the relay: in flight when the link goes down, whenever its last one finished
    relay!.hold()
    const heldBy = Date.now() + 10_000
    while (relay!.heldBytes === 0 && Date.now() < heldBy) await new Promise((r) => setTimeout(r, 20))
    expect(relay!.heldBytes, "the isolated runner sent nothing to the database while reservations flowed").toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 100))
    const cutAt = Date.now()
    ip("link", "set", hostIf, "down")
    // the others take its partitions over while it still believes it owns them
    const deadline = cutAt + 30_000
    while (Date.now() < deadline && cutOff.some((s) => !stream.acks.some((a) => a.stream === s && a.sentAt > cutAt))) {
      await new Promise((r) => setTimeout(r, 200))
    }
    const takenOverMs = Date.now() - cutAt
    const during = await owners(db.url, partitions)
    for (const s of cutOff) expect(during.get(s), `${s} still owned by the cut-off runner`).not.toBe(isolated.name)
    ip("link", "set", hostIf, "up")
    relay!.release()
    const restoredAt = Date.now()
    // it hears that it lost its partitions: an append it had in flight is refused and it steps down
    await isolated.waitFor(/stepping down|released by/, 20_000)
    // it rejoins: it is alive and owns streams again once the shards rebalance
    let rejoined: Array<string> = []
    while (Date.now() < restoredAt + 30_000) {
      rejoined = [...(await owners(db.url, partitions))].filter(([s, o]) => o === isolated.name && s !== "net").map(([s]) => s)
      if (rejoined.length > 0 && rejoined.every((s) => stream.acks.some((a) => a.stream === s && a.sentAt > restoredAt))) break
      await new Promise((r) => setTimeout(r, 250))
    }
    await stream.stop()
    const refusals = isolated.output.filter((l) => /stepping down/.test(l))
    console.log(`netns: ${isolated.name} owned ${cutOff.join(",")}; taken over ${takenOverMs} ms after the cut; ` +
      `steps down after the link returned: ${refusals.length} (${refusals[0] ?? "none"}); owns ${rejoined.join(",") || "nothing"} after rejoining; ` +
      `${stream.acks.length} reservations, ${stream.retries.length} retried answers`)
    expect(isolated.alive).toBe(true)
    expect(refusals.some((l) => /claimed by another runner/.test(l)), "no append of the cut-off runner was refused for a stale epoch").toBe(true)
    expect(rejoined.length).toBeGreaterThan(0)

    const audit = await auditCluster(db.url, partitions, skus, stream.acks)
    expect(audit.missing).toEqual([])
    expect(audit.oversold).toEqual([])
    expect(audit.heldMismatch).toEqual([])
    expect(audit.epochsBackward).toEqual([])
    // each cut-off stream was written under at least two owner epochs, in order
    for (const s of cutOff) expect((audit.epochs[s] ?? []).length).toBeGreaterThanOrEqual(2)
  }, 150_000) // above the sum of its own bounded waits (start 40 s, take-over 30 s, step-down 20 s, rejoin 30 s)
})
