/**
 * The engine as an Effect service: `OrderEngine.layer` opens it on the
 * `Journal` service (recovering every actor from snapshots and the journal),
 * reads the time from Effect's `Clock` (so tests drive hold expiry with
 * TestClock), and closes it with its scope. `execute` submits one command and
 * fails with a tagged error when it is refused or cannot be made durable.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { loadConfig, type EngineConfig } from "./config.ts"
import type { Command } from "./domain/commands.ts"
import { CommandRejected, retryableCodes, StoreUnavailable } from "./domain/errors.ts"
import type { Accepted } from "./domain/replies.ts"
import { route } from "./routing/index.ts"
import { Engine } from "./runtime/engine.ts"
import { Journal } from "./store/layer.ts"

export class OrderEngine extends Context.Service<OrderEngine, Engine>()("oms/engine/OrderEngine") {
  /** Opens the engine on the Journal; configuration from the environment, then `overrides`. */
  static readonly layer = (overrides: Partial<EngineConfig> = {}): Layer.Layer<OrderEngine, never, Journal> =>
    Layer.effect(
      OrderEngine,
      Effect.gen(function*() {
        const store = yield* Journal
        const clock = yield* Clock.Clock
        const config = loadConfig(overrides)
        return yield* Effect.acquireRelease(
          Effect.promise(() => Engine.open({ store, config, router: route, clock: () => clock.currentTimeMillisUnsafe() })),
          (engine) => Effect.promise(() => engine.close())
        )
      })
    )
}

/** Submits a command; a refusal is a CommandRejected (or StoreUnavailable when it may be retried). */
export const execute = (command: Command): Effect.Effect<Accepted, CommandRejected | StoreUnavailable, OrderEngine> =>
  OrderEngine.use((engine) =>
    Effect.flatMap(Effect.promise(() => engine.submit(command)), (reply): Effect.Effect<Accepted, CommandRejected | StoreUnavailable> => {
      if (reply.ok) return Effect.succeed(reply)
      return retryableCodes.has(reply.code)
        ? Effect.fail(new StoreUnavailable({ message: `${reply.code}: ${reply.message}` }))
        : Effect.fail(new CommandRejected({ code: reply.code, message: reply.message }))
    }))
