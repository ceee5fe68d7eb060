/**
 * Where the engine's journal lives and how it is opened: the `Journal` service
 * for Effect code (scoped layers that migrate on build and close the store,
 * and the embedded database's thread, when their scope closes) and
 * `openJournalStore` for plain async code (the engine's main, benchmarks).
 *
 * PostgreSQL when `DATABASE_URL` is set, else the embedded PGlite store in
 * `DATA_DIR` (default ./data).
 */
import { Config, Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { startEmbeddedPostgres } from "./embedded.ts"
import { loadConfig, type EngineConfig } from "../config.ts"
import { StoreUnavailable } from "../domain/errors.ts"
import type { JournalStore } from "./journal.ts"
import { connectSqlJournal } from "./sql-journal.ts"

/** The store's deadlines and keepalive (engine/config.ts: storeAppendTimeoutMs, storeCallTimeoutMs, storeKeepAliveMs). */
export type StoreSettings = Pick<EngineConfig, "storeAppendTimeoutMs" | "storeCallTimeoutMs" | "storeKeepAliveMs">

/** Where the journal is; `settings` default to the engine's configuration from the environment. */
export type JournalLocation =
  | { readonly backend: "embedded"; readonly dataDir: string; readonly settings?: StoreSettings | undefined }
  | { readonly backend: "postgres"; readonly url: string; readonly settings?: StoreSettings | undefined }

/** `DATABASE_URL` (PostgreSQL) if set and not empty, else the embedded store in `DATA_DIR` (default ./data). */
export const journalLocationConfig: Config.Config<JournalLocation> = Config.all({
  url: Config.option(Config.String("DATABASE_URL")),
  dataDir: Config.String("DATA_DIR").pipe(Config.withDefault("./data"))
}).pipe(
  Config.map(({ url, dataDir }): JournalLocation =>
    Option.isSome(url) && url.value.trim() !== ""
      ? { backend: "postgres", url: url.value.trim() }
      : { backend: "embedded", dataDir }
  )
)

/** A PostgreSQL URL without its credentials, for logs. */
const describePostgres = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `PostgreSQL ${parsed.host || parsed.searchParams.get("host") || "localhost"}${parsed.pathname}`
  } catch {
    return "PostgreSQL (unparsable DATABASE_URL)"
  }
}

const openIn = (location: JournalLocation): Effect.Effect<JournalStore, StoreUnavailable, Scope.Scope> => {
  const settings = location.settings ?? loadConfig()
  const deadlines = { appendMs: settings.storeAppendTimeoutMs, callMs: settings.storeCallTimeoutMs }
  if (location.backend === "postgres") {
    return connectSqlJournal({
      url: location.url,
      kind: "postgres",
      describe: describePostgres(location.url),
      maxConnections: 4,
      deadlines,
      keepAliveMs: settings.storeKeepAliveMs
    })
  }
  return Effect.gen(function*() {
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => startEmbeddedPostgres({ dataDir: location.dataDir }),
        catch: (error) =>
          new StoreUnavailable({
            message: `could not open the embedded database in ${location.dataDir}: ${error instanceof Error ? error.message : String(error)}`,
            cause: error
          })
      }),
      (server) =>
        Effect.tryPromise(() => server.close()).pipe(
          Effect.catch((error) => Effect.logWarning(`journal store: ${error.message}`))
        )
    )
    return yield* connectSqlJournal({
      url: server.url,
      kind: "pglite",
      describe: `embedded PGlite in ${server.dataDir}`,
      // PGlite runs one statement at a time: more connections would only queue in the socket server.
      maxConnections: 1,
      deadlines
    })
  })
}

/**
 * Opens the store in the current scope: migrated, ready, and closed (with
 * whatever serves it) by store.close() or when the scope closes.
 */
export const openJournal = (location: JournalLocation): Effect.Effect<JournalStore, StoreUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Scope.Scope)
    const store = yield* openIn(location).pipe(
      Scope.provide(scope),
      Effect.onError(() => Scope.close(scope, Exit.void))
    )
    let closing: Promise<void> | undefined
    const close = (): Promise<void> =>
      (closing ??= store.close().finally(() => Effect.runPromise(Scope.close(scope, Exit.void))))
    // Closing the scope closes the store as close() does, so later calls reject with StoreUnavailable.
    yield* Effect.addFinalizer(() => Effect.promise(close))
    return { ...store, close } satisfies JournalStore
  })

/** The engine's journal and snapshot store. */
export class Journal extends Context.Service<Journal, JournalStore>()("oms/engine/store/Journal") {
  static readonly layer = (location: JournalLocation): Layer.Layer<Journal, StoreUnavailable> =>
    Layer.effect(Journal, openJournal(location))

  /** The embedded PGlite store persisted in `dataDir`. */
  static readonly layerEmbedded = (options: { readonly dataDir: string }): Layer.Layer<Journal, StoreUnavailable> =>
    Journal.layer({ backend: "embedded", dataDir: options.dataDir })

  /** A PostgreSQL database, e.g. `postgres://user:password@host:5432/oms`. */
  static readonly layerPostgres = (options: { readonly url: string }): Layer.Layer<Journal, StoreUnavailable> =>
    Journal.layer({ backend: "postgres", url: options.url })

  /** PostgreSQL when `DATABASE_URL` is set, else the embedded store in `DATA_DIR` (default ./data). */
  static readonly layerFromEnv: Layer.Layer<Journal, StoreUnavailable | Config.ConfigError> = Layer.unwrap(
    Effect.map(journalLocationConfig, Journal.layer)
  )
}

export interface OpenedJournalStore {
  readonly store: JournalStore
  /** Closes the store and whatever serves it; the same as store.close(). */
  close(): Promise<void>
}

/**
 * Opens the store outside Effect; `location` defaults to the environment
 * (`DATABASE_URL`, else `DATA_DIR`). Rejects with StoreUnavailable.
 */
export const openJournalStore = async (location?: JournalLocation): Promise<OpenedJournalStore> => {
  const where = location ?? (await Effect.runPromise(journalLocationConfig))
  const scope = Effect.runSync(Scope.make())
  const store = await Effect.runPromise(openJournal(where).pipe(Scope.provide(scope))).catch(async (error: unknown) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })
  const close = () => store.close().finally(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  return { store: { ...store, close }, close }
}
