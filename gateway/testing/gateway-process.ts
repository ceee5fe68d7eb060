/**
 * A gateway process for the multi-process test: the engine owner (in-memory
 * journal, fixture network, some stock) or, with GATEWAY_ENGINE_URL, an edge
 * forwarding to it; both with REDIS_URL and GATEWAY_REDIS_CHANNEL. Prints one
 * line `{"url": ...}` when listening; stops on SIGTERM or when stdin closes
 * (closing the gateway, then exiting, as gateway/main.ts does).
 */
import { loadGatewayConfig } from "../config.ts"
import { RemoteEngine } from "../engine-access.ts"
import { makeKeyRing } from "../keys.ts"
import { startGateway } from "../server.ts"
import { startTestGateway, testKeys } from "./harness.ts"

const redisUrl = process.env.REDIS_URL
const redisChannel = process.env.GATEWAY_REDIS_CHANNEL
const engineUrl = process.env.GATEWAY_ENGINE_URL
/** TEST_GATEWAY_CONFIG: more settings (JSON, GatewayConfig fields) for a test that needs them. */
const config = { host: "127.0.0.1", port: 0, coalesceMs: 50, opsTickMs: 200, ...(JSON.parse(process.env.TEST_GATEWAY_CONFIG ?? "{}") as object) }

const started = engineUrl
  ? await startGateway({
      config: loadGatewayConfig(config, {}),
      keys: makeKeyRing(testKeys),
      engine: new RemoteEngine(engineUrl, testKeys.internal!, 5_000),
      redisUrl,
      redisChannel
    }).then((gateway) => ({ url: gateway.url, close: () => gateway.close() }))
  : await startTestGateway({ config, redisUrl, redisChannel, stock: [["HDMI", "WH-DAL", 100], ["TV-55", "WH-COL", 10]] })

console.log(JSON.stringify({ url: started.url }))
const stop = async () => {
  await started.close()
  process.exit(0)
}
process.on("SIGTERM", () => void stop())
process.stdin.on("close", () => void stop())
process.stdin.resume()
