/**
 * Checks on the shape of command fields that every actor shares: ids,
 * quantities, line lists. Each returns a named Rejection, or undefined when
 * the value is fine.
 */
import type { EngineConfig } from "../config.ts"
import type { LineQty } from "./commands.ts"
import { reject, type Rejection } from "./errors.ts"

export const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0

export const checkId = (id: unknown, config: EngineConfig): Rejection | undefined =>
  typeof id === "string" && id.length > 0 && id.length <= config.idLengthMax
    ? undefined
    : reject("invalid_id", `ids are strings of 1..${config.idLengthMax} characters`)

export const checkQty = (qty: unknown, config: EngineConfig): Rejection | undefined => {
  if (typeof qty !== "number" || !Number.isInteger(qty) || qty <= 0) return reject("quantity_must_be_positive")
  if (qty > config.quantityMax) return reject("quantity_too_large", `quantity ${qty} is above the limit of ${config.quantityMax}`)
  return undefined
}

export const checkText = (text: unknown, what: string, max = 500): Rejection | undefined =>
  typeof text === "string" && text.length <= max ? undefined : reject("malformed_command", `${what} must be a string of at most ${max} characters`)

/** A list of (lineNo, qty) pairs: bounded, positive, no line twice. */
export const checkLineQtys = (lines: unknown, config: EngineConfig): Rejection | undefined => {
  if (!Array.isArray(lines) || lines.length === 0) return reject("malformed_command", "lines must be a non-empty list")
  if (lines.length > config.orderLinesMax) return reject("too_many_lines")
  const seen = new Set<number>()
  for (const l of lines as ReadonlyArray<LineQty>) {
    if (typeof l !== "object" || l === null || !isCount(l.lineNo)) return reject("malformed_command", "each line needs a lineNo")
    if (seen.has(l.lineNo)) return reject("duplicate_line", `line ${l.lineNo} appears twice`)
    seen.add(l.lineNo)
    const bad = checkQty(l.qty, config)
    if (bad) return bad
  }
  return undefined
}

/**
 * The leg of a split order (cluster mode): a partition in range, and one
 * client line number per line, each 1..orderLinesMax, strictly increasing
 * (a leg keeps its lines in the order the client gave them).
 */
export const checkLeg = (leg: unknown, lineCount: number, config: EngineConfig): Rejection | undefined => {
  if (typeof leg !== "object" || leg === null) return reject("invalid_leg", "leg must be { partition, lineNos }")
  const { partition, lineNos } = leg as { partition?: unknown; lineNos?: unknown }
  if (!isCount(partition) || partition >= config.partitions) return reject("invalid_leg", `leg partition must be 0..${config.partitions - 1}`)
  if (!Array.isArray(lineNos) || lineNos.length !== lineCount) return reject("invalid_leg", "leg lineNos must name one client line per line")
  let previous = 0
  for (const n of lineNos) {
    if (!isCount(n) || n <= previous || n > config.orderLinesMax) return reject("invalid_leg", "leg lineNos must be increasing line numbers 1..orderLinesMax")
    previous = n
  }
  return undefined
}
