/**
 * `npm run bench -- decode`: what decoding a command with its schema
 * (engine/domain/command-schema.ts) costs, per command, in this process: a
 * hold.create and an order.place of 3 lines, through the union of every
 * command (as a door of the engine would decode) and through the command's
 * own schema; strictly (unknown fields refused, as the gateway decodes) and
 * leniently (unknown fields dropped); and Schema.is (a check, no copy).
 *
 * This is the figure behind one choice: the engine does not decode commands
 * at its door. The gateway decodes every payload with the command's schema;
 * the engine keeps its domain checks (which it needs anyway for the bounds
 * that come from configuration), so commands sent from TypeScript are checked
 * without paying the decode on top (docs/architecture.md, Commands).
 */
import { Schema } from "effect"
import { CommandSchema } from "../engine/index.ts"

const { Command, CreateHold, PlaceOrder } = CommandSchema
import { parseOptions } from "./options.ts"
import { round, type BenchResult } from "./report.ts"

export const options = {
  seconds: { type: "number", default: 0.5, min: 0.05, help: "seconds measured per case (after as long again of warm-up)" }
} as const

const hold = { type: "hold.create", channel: "web", sku: "SKU-17", qty: 2, nodeId: "WH-DAL", ttlMs: 600_000, key: "cart-9/SKU-17" }
const order = {
  type: "order.place", channel: "web", externalId: "W-100017",
  lines: [{ sku: "SKU-17", qty: 1 }, { sku: "SKU-204", qty: 2, unitPriceCents: 1999 }, { sku: "SKU-3", qty: 1 }],
  customer: { name: "A. Buyer", location: { lat: 32.78, lon: -96.8 } },
  payment: "authorised"
}

/** Calls per second of `f` over `seconds`, after as long again of warm-up. */
const rate = (f: () => unknown, seconds: number): number => {
  const spin = (ms: number) => {
    let n = 0
    const end = performance.now() + ms
    while (performance.now() < end) {
      for (let i = 0; i < 1_000; i++) f()
      n += 1_000
    }
    return n
  }
  spin(seconds * 1000)
  const t0 = performance.now()
  const n = spin(seconds * 1000)
  return n / ((performance.now() - t0) / 1000)
}

export const run = async (args: ReadonlyArray<string>): Promise<BenchResult> => {
  const o = parseOptions(options, args).values
  const strict = { onExcessProperty: "error" } as const
  const cases: ReadonlyArray<readonly [string, string, () => unknown]> = [
    ["union, strict", "hold.create", ((d) => () => d(hold))(Schema.decodeUnknownResult(Command, strict))],
    ["union, strict", "order.place (3 lines)", ((d) => () => d(order))(Schema.decodeUnknownResult(Command, strict))],
    ["own schema, strict", "hold.create", ((d) => () => d(hold))(Schema.decodeUnknownResult(CreateHold, strict))],
    ["own schema, strict", "order.place (3 lines)", ((d) => () => d(order))(Schema.decodeUnknownResult(PlaceOrder, strict))],
    ["union, lenient", "hold.create", ((d) => () => d(hold))(Schema.decodeUnknownResult(Command))],
    ["union, lenient", "order.place (3 lines)", ((d) => () => d(order))(Schema.decodeUnknownResult(Command))],
    ["Schema.is", "hold.create", ((is) => () => is(hold))(Schema.is(Command))],
    ["Schema.is", "order.place (3 lines)", ((is) => () => is(order))(Schema.is(Command))]
  ]
  const rows: Array<readonly [string, string | number, string]> = []
  const figures: Record<string, { opsPerSec: number; microseconds: number }> = {}
  for (const [how, what, f] of cases) {
    const perSec = rate(f, o.seconds)
    const us = round(1e6 / perSec, 2)
    rows.push([`${what}: ${how}`, Math.round(perSec), `decodes/s, ${us} µs each`])
    figures[`${what} ${how}`] = { opsPerSec: Math.round(perSec), microseconds: us }
  }
  return { name: "command decode (Schema)", rows, figures }
}
