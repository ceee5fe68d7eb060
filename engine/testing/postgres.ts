/**
 * The local PostgreSQL for tests: `DATABASE_URL` if set, else
 * postgres://postgres@127.0.0.1:5432/test. Tests create a database of their own
 * on it and drop it afterwards. When it is unreachable a test must fail under
 * CI (`CI` set) and may only be skipped, with the reason printed, elsewhere.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { pgClientOptions } from "../store/sql-journal.ts"

export const serverUrl = process.env.DATABASE_URL?.trim() || "postgres://postgres@127.0.0.1:5432/test"

export const withoutPassword = (url: string): string => {
  const parsed = new URL(url)
  if (parsed.password !== "") parsed.password = "***"
  return parsed.toString()
}

/** Runs statements on `url` over a connection of their own. */
export const runOn = (url: string, ...statements: ReadonlyArray<string>): Promise<void> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const client = yield* PgClient.make({ ...pgClientOptions({ url, maxConnections: 1 }), minConnections: 0, connectTimeout: "3 seconds" })
      for (const statement of statements) yield* client.unsafe(statement)
    }).pipe(Effect.scoped, Effect.provide(Reactivity.layer))
  )

/** The distinct messages along an error's cause chain: "Failed to connect: connect ECONNREFUSED ...". */
export const why = (error: unknown): string => {
  const messages: Array<string> = []
  for (let e = error; e instanceof Error && messages.length < 5; e = e.cause) {
    if (!messages.includes(e.message)) messages.push(e.message)
  }
  return messages.length > 0 ? messages.join(": ") : String(error)
}

/** Why PostgreSQL cannot be used, or undefined when it answers. */
export const postgresUnreachable = (): Promise<string | undefined> =>
  runOn(serverUrl, "SELECT 1").then(
    () => undefined,
    (e) => `PostgreSQL at ${withoutPassword(serverUrl)} is unreachable: ${why(e)}`
  )

/** A fresh database on the test server: its URL, and how to drop it. */
export const freshDatabase = async (): Promise<{ readonly url: string; readonly name: string; drop(): Promise<void> }> => {
  const name = `oms_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  await runOn(serverUrl, `CREATE DATABASE ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return { url: url.toString(), name, drop: () => runOn(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}
