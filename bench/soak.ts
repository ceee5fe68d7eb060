/**
 * `npm run bench -- soak`: a long-running engine. Runs bench/soak-run.ts in a
 * process of its own with the heap limit `npm start` gives the gateway
 * (ENGINE_HEAP_MB, default in package.json), so that a heap that grew with
 * history would end it the way it would end a real process; reports orders/s,
 * the heap every 250,000 orders, orders in memory, the longest loop pause,
 * batch times, the longest snapshot pause and the time to reopen.
 *
 * Options: --orders N (default 3,000,000), --orders-per-day N (engine clock
 * compression, default 100,000), --store postgres, --in-flight N.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { v8PoolSizeFlag } from "../engine/index.ts"
import type { BenchResult } from "./report.ts"
import { options } from "./soak-options.ts"

export { options }

/** The heap limit `npm start` runs with (package.json scripts; docs/operations.md, sizing). */
export const startHeapMB = Number(process.env.ENGINE_HEAP_MB ?? 2048)

export interface SoakFigures {
  readonly orders: number
  readonly ordersPerSec: number
  readonly commandsPerSec: number
  readonly heapStartMB: number
  readonly heapEndMB: number
  readonly heapAt1MMB: number
  readonly heapGrowthFrom1MPct: number
  readonly heapMarks: ReadonlyArray<{ readonly orders: number; readonly heapMB: number; readonly residentOrders: number; readonly rssMB: number; readonly seconds: number }>
  readonly residentOrders: number
  readonly ordersResidentMax: number
  readonly ordersLoaded: number
  readonly loopPauseMaxMs: number
  readonly gcPauseMaxMs: number
  readonly gcPauseP999Ms: number
  readonly gcShareOfLoadPct: number
  readonly batchP999Ms: number
  readonly snapshotPauseMaxMs: number
  readonly reopenMs: number
  readonly store: string
  readonly heapLimitMB: number
  readonly refused: Readonly<Record<string, number>>
}

export const run = async (args: ReadonlyArray<string>): Promise<BenchResult> => {
  const forwarded = [...args]
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [
      v8PoolSizeFlag(), `--max-old-space-size=${startHeapMB}`, "--expose-gc", "--import", "tsx",
      fileURLToPath(new URL("./soak-run.ts", import.meta.url)), ...forwarded
    ], { stdio: ["ignore", "pipe", "inherit"] })
    let stdout = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.on("error", reject)
    child.on("exit", (code, signal) => (code === 0 ? resolve(stdout) : reject(new Error(`the soak process ended with ${signal ?? `exit code ${code}`}`))))
  })
  const figures = JSON.parse(out.trim().split("\n").pop()!) as SoakFigures
  const aims = (ok: boolean) => (ok ? "aim met" : "AIM MISSED")
  return {
    name: `soak: ${figures.orders.toLocaleString("en-US")} orders through their whole life, ${figures.store}, heap limit ${figures.heapLimitMB} MB`,
    rows: [
      ["orders", figures.orders, "placed, paid, routed, worked, delivered; some cancelled, short-picked, returned"],
      ["orders/s", figures.ordersPerSec, `${figures.commandsPerSec} commands/s`],
      ["heap at start", figures.heapStartMB, "MB (after setup)"],
      ["heap at 1,000,000 orders", figures.heapAt1MMB, "MB"],
      ["heap at the end", figures.heapEndMB, `MB, ${figures.heapGrowthFrom1MPct}% over 1,000,000 (${aims(figures.heapGrowthFrom1MPct <= 10 && figures.heapEndMB <= 1024)}: <= 10%, <= 1024 MB)`],
      ["orders in memory", figures.residentOrders, `at the end (ordersResidentMax ${figures.ordersResidentMax}); ${figures.ordersLoaded} loaded back in all`],
      ["longest loop pause", figures.loopPauseMaxMs, `ms (${aims(figures.loopPauseMaxMs <= 50)}: <= 50)`],
      ["longest collector pause", figures.gcPauseMaxMs, `ms (V8's garbage collector, p99.9 ${figures.gcPauseP999Ms} ms, ${figures.gcShareOfLoadPct}% of the time)`],
      ["batch p99.9", figures.batchP999Ms, "ms"],
      ["longest snapshot pause", figures.snapshotPauseMaxMs, `ms (${aims(figures.snapshotPauseMaxMs <= 20)}: <= 20)`],
      ["reopen", figures.reopenMs, `ms (${aims(figures.reopenMs <= 10_000)}: <= 10,000)`],
      ...figures.heapMarks.map((m): readonly [string, number, string] => [`  heap at ${m.orders.toLocaleString("en-US")}`, m.heapMB, `MB, ${m.residentOrders} orders in memory, RSS ${m.rssMB} MB, ${m.seconds} s`])
    ],
    figures: { ...figures }
  }
}
