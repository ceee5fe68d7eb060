/**
 * A gateway for watching the dashboard under load: a fresh engine on the
 * in-memory journal (or on the embedded store in a data directory, to stop
 * and start it again on the same data), served on 127.0.0.1 (ephemeral port) with the
 * simulator's keys for a scenario, and that scenario's day played against it
 * over real sockets (simulator/run.ts with a target). Used by the browser
 * test and by the screenshot script.
 */
import { existsSync } from "node:fs"
import { Engine, loadConfig, MemoryJournal, openJournalStore, route, type JournalStore } from "../../engine/index.ts"
import { loadGatewayConfig, type GatewayConfig } from "../../gateway/config.ts"
import { LocalEngine } from "../../gateway/engine-access.ts"
import { makeKeyRing } from "../../gateway/keys.ts"
import { startGateway, type Gateway } from "../../gateway/server.ts"
import { buildNetwork, keysConfigOf, simKeys, type SimKeys } from "../../simulator/network.ts"
import { runDay, type RunResult } from "../../simulator/run.ts"
import type { Scenario } from "../../simulator/scenario.ts"

export interface LiveGateway {
  readonly gateway: Gateway
  readonly engine: Engine
  readonly keys: SimKeys
  readonly url: string
  /** Plays the scenario's day against this gateway (resolves when the day is drained and audited). */
  simulate(options: { readonly minutes: number; readonly seed?: number; readonly quiet?: boolean }): Promise<RunResult>
  close(): Promise<void>
}

export const startLiveGateway = async (
  scenario: Scenario, config: Partial<GatewayConfig> = {}, options: { readonly dataDir?: string } = {}
): Promise<LiveGateway> => {
  const network = buildNetwork(scenario)
  const keys = simKeys(network)
  let store: JournalStore = new MemoryJournal()
  let closeStore = async () => {}
  if (options.dataDir !== undefined) {
    const opened = await openJournalStore({ backend: "embedded", dataDir: options.dataDir })
    store = opened.store
    closeStore = opened.close
  }
  const engine = await Engine.open({ store, config: loadConfig({}, {}), router: route, timerPollMs: 50 })
  const gateway = await startGateway({
    config: loadGatewayConfig({ host: "127.0.0.1", port: 0, ...config }, {}),
    keys: makeKeyRing(keysConfigOf(keys)),
    engine: new LocalEngine(engine, store)
  })
  return {
    gateway, engine, keys, url: gateway.url,
    simulate: ({ minutes, seed, quiet }) => runDay({
      scenario, seed: seed ?? 1, minutes,
      target: { httpUrl: gateway.url, wsUrl: `${gateway.url.replace("http://", "ws://")}/v1/ws`, keys },
      progress: quiet ? undefined : (line) => console.log(line)
    }),
    // the gateway's own clean stop (what Ctrl-C runs in gateway/main.ts): the gateway, then the engine, then the store
    close: async () => {
      await gateway.close()
      await engine.close()
      await closeStore()
    }
  }
}

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

/** Why the browser cannot run here, or undefined when it can. */
export const chromiumMissing = (): string | undefined =>
  existsSync(chromiumPath) ? undefined : `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`

export const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--enable-precise-memory-info"]
