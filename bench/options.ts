/**
 * Command-line options of the benchmarks, declared once per benchmark and
 * parsed with node:util parseArgs: a declaration gives each option's kind,
 * default and bounds and the line --help prints for it. A malformed or
 * out-of-range value, an unknown option or a missing value is a UsageError
 * naming the option, raised before any work starts.
 */
import { parseArgs, type ParseArgsConfig } from "node:util"

export type OptionSpec =
  | { readonly type: "number"; readonly default: number; readonly min?: number; readonly help: string }
  | {
    readonly type: "string"; readonly default?: string; readonly choices?: ReadonlyArray<string>
    /** What --help shows for the value (default VALUE). */
    readonly placeholder?: string
    /** What is wrong with a value given (it names the option), or undefined when it is fine. */
    readonly check?: (given: string) => string | undefined
    readonly help: string
  }
  | { readonly type: "boolean"; readonly short?: string; readonly help: string }

export type OptionSpecs = Readonly<Record<string, OptionSpec>>

/** The parsed values: numbers as numbers, strings with a default always present (one of the choices, when listed), flags true or false. */
export type OptionValues<S extends OptionSpecs> = {
  readonly [K in keyof S]: S[K] extends { readonly type: "number" } ? number
    : S[K] extends { readonly type: "boolean" } ? boolean
    : S[K] extends { readonly choices: ReadonlyArray<infer C extends string>; readonly default: string } ? C
    : S[K] extends { readonly default: string } ? string
    : string | undefined
}

/** The command line was not understood; the message names the option at fault. */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

/** `--store`: the journal on the embedded PGlite (default) or on a fresh database of the local PostgreSQL (DATABASE_URL). */
export const storeOption = {
  type: "string", default: "embedded", choices: ["embedded", "postgres"], placeholder: "embedded|postgres",
  help: "where the journal is: embedded (PGlite) or postgres (a fresh database of the local PostgreSQL, DATABASE_URL)"
} as const satisfies OptionSpec

const parseArgsOptions = (specs: OptionSpecs): NonNullable<ParseArgsConfig["options"]> =>
  Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.type === "boolean" ? { type: "boolean", ...(s.short ? { short: s.short } : {}) } : { type: "string" }]))

const valueOf = (name: string, spec: OptionSpec, given: string | boolean | undefined): number | string | boolean | undefined => {
  if (spec.type === "boolean") return given === true
  if (given === undefined) return spec.default
  const text = String(given)
  if (spec.type === "number") {
    const min = spec.min ?? 0
    const v = text.trim() === "" ? NaN : Number(text)
    if (!Number.isFinite(v) || v < min) throw new UsageError(`--${name} needs a number of at least ${min}, got ${JSON.stringify(text)}`)
    return v
  }
  if (spec.choices && !spec.choices.includes(text)) throw new UsageError(`--${name} is one of ${spec.choices.join(", ")}, not ${JSON.stringify(text)}`)
  const wrong = spec.check?.(text)
  if (wrong !== undefined) throw new UsageError(wrong)
  return text
}

/** Parses `args` against `specs` (strictly: an option not declared is an error); positionals are returned as given. */
export const parseOptions = <S extends OptionSpecs>(specs: S, args: ReadonlyArray<string>): { readonly values: OptionValues<S>; readonly positionals: ReadonlyArray<string> } => {
  let parsed: { values: Record<string, string | boolean | Array<string | boolean> | undefined>; positionals: Array<string> }
  try {
    parsed = parseArgs({ args: [...args], options: parseArgsOptions(specs), allowPositionals: true, strict: true })
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  const values: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(specs)) values[name] = valueOf(name, spec, parsed.values[name] as string | boolean | undefined)
  return { values: values as OptionValues<S>, positionals: parsed.positionals }
}

/**
 * The arguments of `args` that are options in `specs`, as they were given
 * (for running several benchmarks from one command line: each gets its own
 * options, with its own defaults). `args` must already parse against a set
 * of options that includes `specs`.
 */
export const argsFor = (specs: OptionSpecs, all: OptionSpecs, args: ReadonlyArray<string>): Array<string> => {
  const { tokens } = parseArgs({ args: [...args], options: parseArgsOptions(all), allowPositionals: true, strict: true, tokens: true })
  return tokens.flatMap((t) => (t.kind === "option" && t.name in specs ? (t.value === undefined ? [`--${t.name}`] : [`--${t.name}`, t.value]) : []))
}

/** The lines --help prints for these options. */
export const optionsHelp = (specs: OptionSpecs): string => {
  const rows = Object.entries(specs).map(([name, s]) => {
    const value = s.type === "boolean" ? "" : s.type === "number" ? " N" : ` ${s.placeholder ?? "VALUE"}`
    const flag = `${s.type === "boolean" && s.short ? `-${s.short}, ` : ""}--${name}${value}`
    const fallback = s.type === "number" || (s.type === "string" && s.default !== undefined) ? ` (default ${s.default})` : ""
    return [flag, `${s.help}${fallback}`] as const
  })
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`).join("\n")
}
