/**
 * `npm start` (engine alone: `npm run engine`): opens the engine on the
 * embedded store in ./data (or PostgreSQL when DATABASE_URL is set), loads the
 * demo network on a fresh store (real cities: warehouses, stores, catalog,
 * channels, stock), shows what it holds and a routed demo order, then runs
 * until stopped (Ctrl-C closes it cleanly: the next start is fast).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { demoCommands } from "./demo/network.ts"
import { placesLoadStats } from "./network/places.ts"
import { execute, OrderEngine } from "./order-engine.ts"
import * as Q from "./runtime/queries.ts"
import { Journal } from "./store/layer.ts"
import { tuneGarbageCollection } from "./runtime/gc-tuning.ts"

// before anything allocates much (engine/runtime/gc-tuning.ts)
tuneGarbageCollection()

const program = Effect.gen(function*() {
  const engine = yield* OrderEngine
  placesLoadStats()
  if (engine.view.net.nodes.length === 0) {
    const commands = demoCommands()
    yield* Effect.log(`fresh store: loading the demo network (${commands.length} commands)`)
    for (const c of commands) yield* execute(c)
  }
  const stats = engine.stats()
  const nodes = Q.nodes(engine.view)
  yield* Effect.log(
    `engine ready: ${nodes.length} nodes (${nodes.filter((n) => n.kind === "warehouse").length} warehouses), ` +
      `${engine.view.net.skus.length} SKUs, ${stats.pools} pools, ${stats.orders} orders, ${stats.holds} holds, ` +
      `${stats.partitions} partitions`
  )
  const sku = engine.view.net.skus[0].sku
  const demo = yield* execute({
    type: "order.place", channel: "web", externalId: `demo-${Date.now()}`, payment: "authorised",
    lines: [{ sku, qty: 1 }], customer: { name: "Demo Customer", place: "Denver, US" }
  })
  yield* Effect.log(`demo order ${demo.order!.orderId} to Denver: ${demo.order!.explanation}`)
  yield* Effect.log("running; Ctrl-C to stop")
  return yield* Effect.never
})

const layer = OrderEngine.layer().pipe(Layer.provide(Journal.layerFromEnv))

NodeRuntime.runMain(program.pipe(Effect.provide(layer)))
