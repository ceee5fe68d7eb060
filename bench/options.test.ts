/**
 * The benchmarks' command-line options (bench/options.ts): defaults, numbers
 * refused naming the option, choices and checks, unknown options, and the
 * share of one command line each benchmark gets under `all`.
 */
import { describe, expect, it } from "vitest"
import { argsFor, optionsHelp, parseOptions, storeOption, UsageError } from "./options.ts"

const specs = {
  seconds: { type: "number", default: 5, min: 0.1, help: "seconds" },
  store: storeOption,
  only: { type: "string", help: "subset", check: (x: string) => (x === "bad" ? "--only: bad is not a contender" : undefined) },
  quiet: { type: "boolean", help: "no progress" }
} as const

describe("bench options", () => {
  it("gives the defaults, and the values given as numbers, strings and flags", () => {
    expect(parseOptions(specs, []).values).toEqual({ seconds: 5, store: "embedded", only: undefined, quiet: false })
    expect(parseOptions(specs, ["--seconds", "2.5", "--store=postgres", "--only", "a,b", "--quiet"]).values)
      .toEqual({ seconds: 2.5, store: "postgres", only: "a,b", quiet: true })
  })

  it("refuses a malformed or too small number, naming the option", () => {
    for (const given of ["abc", "", "1e3x", "0.05", "-1"]) {
      // the =form: parseArgs takes "-1" after a space for an option, not a value
      expect(() => parseOptions(specs, [`--seconds=${given}`])).toThrow(UsageError)
      expect(() => parseOptions(specs, [`--seconds=${given}`])).toThrow(/--seconds needs a number of at least 0.1/)
    }
  })

  it("refuses a value outside the choices, one its check refuses, an unknown option and a missing value", () => {
    expect(() => parseOptions(specs, ["--store", "mysql"])).toThrow(/--store is one of embedded, postgres/)
    expect(() => parseOptions(specs, ["--only", "bad"])).toThrow(/--only: bad/)
    expect(() => parseOptions(specs, ["--colour", "red"])).toThrow(UsageError)
    expect(() => parseOptions(specs, ["--seconds"])).toThrow(UsageError)
  })

  it("hands each benchmark only its own options from a shared command line", () => {
    const other = { connections: { type: "number", default: 32, min: 1, help: "connections" } } as const
    const args = ["--seconds", "3", "--connections", "8", "--quiet"]
    expect(argsFor(other, { ...specs, ...other }, args)).toEqual(["--connections", "8"])
    expect(argsFor(specs, { ...specs, ...other }, args)).toEqual(["--seconds", "3", "--quiet"])
  })

  it("lists every option with its default for --help", () => {
    const help = optionsHelp(specs)
    expect(help).toContain("--seconds N")
    expect(help).toContain("(default 5)")
    expect(help).toContain("--store embedded|postgres")
    expect(help).toContain("--quiet")
  })
})
