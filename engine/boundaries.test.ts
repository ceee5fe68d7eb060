/**
 * Who may import what (docs/architecture.md, "Who may import what"): every
 * .ts file of the repository is scanned for its import and export-from
 * specifiers and its dynamic imports, and each one that names a file of the
 * repository is checked against the rules below. A failure names the file,
 * the line, the specifier and the rule it breaks.
 *
 * The scanner is a small lexer (comments, strings, template literals and
 * regular expression literals are skipped as such, so an import written in a
 * comment or a string is not one), then a reading of the tokens after each
 * `import` and `export` keyword.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, posix } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

// ---- the rules -------------------------------------------------------------------------------------

/** Tests and harnesses: `*.test.ts`, any `testing/` folder, the dashboard's browser test. */
const isTestOrHarness = (file: string): boolean =>
  file.endsWith(".test.ts") || /(^|\/)testing\//.test(file) || file.startsWith("dashboard/e2e/")

/** What product code of each top-level folder may import besides its own folder and packages. */
const productImports: Readonly<Record<string, ReadonlyArray<string>>> = {
  gateway: ["engine/index.ts"],
  simulator: ["engine/index.ts", "gateway/", "bench/workload.ts"],
  bench: ["engine/index.ts", "engine/testing/", "gateway/"],
  dashboard: [],
  ".": ["engine/index.ts"]
}

const topOf = (file: string): string => (file.includes("/") ? file.slice(0, file.indexOf("/")) : ".")

/** Why `from` may not import `to` (both relative to the repository), or undefined when it may. */
export const ruleBroken = (from: string, to: string, typeOnly: boolean): string | undefined => {
  if (to.startsWith("../") || to === "..") return "nothing is imported from outside the repository"
  const harness = isTestOrHarness(from)
  if (topOf(from) === "engine") {
    if (topOf(to) !== "engine") return "engine/ imports nothing outside engine/"
    if (to.startsWith("engine/testing/") && !harness) return "engine/testing/ is for tests and harnesses only"
    return undefined
  }
  if (from.startsWith("dashboard/src/")) {
    if (to.startsWith("dashboard/src/")) return undefined
    if (to === "gateway/ops-feed-types.ts" && typeOnly) return undefined
    return "dashboard/src/ imports only dashboard/src/ and, by `import type`, gateway/ops-feed-types.ts"
  }
  if (from === "gateway/ops-feed-types.ts") return "gateway/ops-feed-types.ts imports nothing (the dashboard page compiles it alone)"
  if (topOf(to) === "engine") {
    if (to === "engine/index.ts") return undefined
    if (to.startsWith("engine/testing/") && (harness || topOf(from) === "bench")) return undefined
    return "outside engine/, the engine is imported only through engine/index.ts (tests and harnesses: also engine/testing/)"
  }
  if (to.startsWith("dashboard/src/")) return "nothing outside dashboard/src/ imports the dashboard page"
  if (harness || topOf(to) === topOf(from)) return undefined
  const allowed = productImports[topOf(from)] ?? []
  if (allowed.some((a) => (a.endsWith("/") ? to.startsWith(a) : to === a))) return undefined
  return `${topOf(from)}/ may import only ${[...allowed, "itself"].join(", ")} (tests and harnesses: any folder)`
}

// ---- the scanner -----------------------------------------------------------------------------------

interface Token {
  readonly kind: "word" | "string" | "punct" | "other"
  readonly text: string
  readonly line: number
}

const keywordsBeforeExpression = new Set(["return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw", "instanceof", "yield", "await"])

/** The tokens of a TypeScript source, without comments; template literals and regular expressions are one token each. */
const tokenize = (src: string): Array<Token> => {
  const out: Array<Token> = []
  const templateDepths: Array<number> = [] // the brace depth at each open `${`
  let depth = 0
  let line = 1
  let i = 0
  const push = (kind: Token["kind"], text: string) => out.push({ kind, text, line })
  const skipTo = (end: number) => {
    for (let k = i; k < end; k++) if (src[k] === "\n") line++
    i = end
  }
  /** Skips a template literal's text from i; stops after its closing backtick or at a `${` (code follows). */
  const templateText = () => {
    let j = i
    while (j < src.length && src[j] !== "`" && !(src[j] === "$" && src[j + 1] === "{")) j += src[j] === "\\" ? 2 : 1
    if (src[j] === "`") {
      skipTo(j + 1)
      push("other", "`template`")
    } else {
      skipTo(j + 2)
      templateDepths.push(depth)
    }
  }
  const regexAllowed = (): boolean => {
    const t = out[out.length - 1]
    if (t === undefined) return true
    if (t.kind === "punct") return !")]}".includes(t.text)
    return t.kind === "word" && keywordsBeforeExpression.has(t.text)
  }
  while (i < src.length) {
    const c = src[i]
    if (c === "\n") {
      line++
      i++
    } else if (c === " " || c === "\t" || c === "\r") {
      i++
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2)
      skipTo(end < 0 ? src.length : end + 2)
    } else if (c === "\"" || c === "'") {
      let j = i + 1
      let text = ""
      while (j < src.length && src[j] !== c && src[j] !== "\n") {
        if (src[j] === "\\") j++
        text += src[j++]
      }
      push("string", text)
      i = j + 1
    } else if (c === "`") {
      i++
      templateText()
    } else if (c === "}" && templateDepths.length > 0 && templateDepths[templateDepths.length - 1] === depth) {
      templateDepths.pop()
      i++
      templateText()
    } else if (c === "/" && regexAllowed()) {
      let j = i + 1
      let inClass = false
      while (j < src.length && src[j] !== "\n" && (inClass || src[j] !== "/")) {
        if (src[j] === "\\") j++
        else if (src[j] === "[") inClass = true
        else if (src[j] === "]") inClass = false
        j++
      }
      j++
      while (j < src.length && /[a-z]/.test(src[j])) j++
      push("other", "/regex/")
      i = j
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z0-9_$]+/.exec(src.slice(i, i + 200))!
      push("word", m[0])
      i += m[0].length
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9A-Za-z_.]+/.exec(src.slice(i, i + 100))!
      push("other", m[0])
      i += m[0].length
    } else {
      if (c === "{") depth++
      if (c === "}") depth--
      push("punct", c)
      i++
    }
  }
  return out
}

export interface ImportRef {
  readonly specifier: string
  readonly line: number
  /** `import type ...`, `export type ...`, `typeof import("...")`: nothing is loaded. */
  readonly typeOnly: boolean
}

/** Every module specifier a source imports: static imports, export-from, side-effect and dynamic imports. */
export const importsOf = (src: string): Array<ImportRef> => {
  const t = tokenize(src)
  const out: Array<ImportRef> = []
  const is = (k: number, kind: Token["kind"], text?: string) => t[k]?.kind === kind && (text === undefined || t[k].text === text)
  for (let k = 0; k < t.length; k++) {
    if (!(is(k, "word", "import") || is(k, "word", "export")) || is(k - 1, "punct", ".")) continue
    const keyword = t[k].text
    if (keyword === "import" && is(k + 1, "punct", "(")) {
      if (is(k + 2, "string")) out.push({ specifier: t[k + 2].text, line: t[k].line, typeOnly: is(k - 1, "word", "typeof") })
      continue
    }
    if (keyword === "import" && is(k + 1, "string")) {
      out.push({ specifier: t[k + 1].text, line: t[k].line, typeOnly: false })
      continue
    }
    const typeOnly = is(k + 1, "word", "type") && !is(k + 2, "word", "from")
    // the clause of an import or export-from: names, braces, commas, `*`, up to `from "..."`
    for (let m = k + 1; m < t.length; m++) {
      if (is(m, "word", "from") && is(m + 1, "string")) {
        out.push({ specifier: t[m + 1].text, line: t[k].line, typeOnly })
        break
      }
      if (is(m, "word", "import") || is(m, "word", "export")) break
      if (is(m, "word") || (t[m].kind === "punct" && "{},*".includes(t[m].text))) continue
      break
    }
  }
  return out
}

// ---- the repository --------------------------------------------------------------------------------

const root = fileURLToPath(new URL("..", import.meta.url))
const skipped = new Set(["node_modules", "dist", "data", "results", "test-results", "scratch"])

const sourceFiles = (dir = ""): Array<string> =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = dir === "" ? e.name : `${dir}/${e.name}`
    if (e.isDirectory()) return e.name.startsWith(".") || skipped.has(e.name) ? [] : sourceFiles(path)
    return e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path] : []
  })

/** Every import of the repository that breaks a rule, as `file:line "specifier" (target): rule`. */
export const violations = (files: ReadonlyArray<string> = sourceFiles()): Array<string> =>
  files.flatMap((file) =>
    importsOf(readFileSync(join(root, file), "utf8")).flatMap(({ specifier, line, typeOnly }) => {
      if (!specifier.startsWith(".")) return [] // a package
      const target = posix.normalize(posix.join(posix.dirname(file), specifier))
      const broken = ruleBroken(file, target, typeOnly)
      return broken ? [`${file}:${line} imports "${specifier}" (${target}): ${broken}`] : []
    }))

describe("the import scanner", () => {
  it("finds static, type-only, multi-line, export-from, side-effect and dynamic imports, and nothing in comments or strings", () => {
    const src = [
      "import { a, type B } from \"./a.ts\"",
      "import type { C } from './c.ts'",
      "import {",
      "  d, // a comment with \"quotes\" and (parens)",
      "  e",
      "} from \"./d.ts\"",
      "import \"./side.ts\"",
      "export * as Q from \"./q.ts\"",
      "export type * from \"./t.ts\"",
      "export const x = 1",
      "/* import { no } from \"./comment.ts\" */",
      "// import \"./line-comment.ts\"",
      "const s = \"import { no } from './string.ts'\"",
      "const u = `import ${\"x\"} from \"./template.ts\"`",
      "const r = /from \"/g",
      "const m = await import(\"./dynamic.ts\")",
      "type M = typeof import(\"./typeof.ts\")",
      "const meta = import.meta.url"
    ].join("\n")
    expect(importsOf(src)).toEqual([
      { specifier: "./a.ts", line: 1, typeOnly: false },
      { specifier: "./c.ts", line: 2, typeOnly: true },
      { specifier: "./d.ts", line: 3, typeOnly: false },
      { specifier: "./side.ts", line: 7, typeOnly: false },
      { specifier: "./q.ts", line: 8, typeOnly: false },
      { specifier: "./t.ts", line: 9, typeOnly: true },
      { specifier: "./dynamic.ts", line: 16, typeOnly: false },
      { specifier: "./typeof.ts", line: 17, typeOnly: true }
    ])
  })

  it("names the rule a forbidden import breaks", () => {
    expect(ruleBroken("engine/cluster/runner.ts", "gateway/config.ts", false)).toBe("engine/ imports nothing outside engine/")
    expect(ruleBroken("gateway/ws-api.ts", "engine/cluster/legs.ts", false)).toMatch(/only through engine\/index.ts/)
    expect(ruleBroken("gateway/ws-api.test.ts", "engine/testing/fixture.ts", false)).toBeUndefined()
    expect(ruleBroken("dashboard/src/main.ts", "gateway/ops-feed-types.ts", false)).toMatch(/import type/)
    expect(ruleBroken("dashboard/src/main.ts", "gateway/ops-feed-types.ts", true)).toBeUndefined()
    expect(ruleBroken("gateway/server.ts", "simulator/run.ts", false)).toMatch(/^gateway\/ may import only/)
  })
})

describe("who may import what", () => {
  it("every import of the repository keeps the rules of docs/architecture.md", () => {
    const files = sourceFiles()
    expect(files.length).toBeGreaterThan(150)
    expect(violations(files)).toEqual([])
  })
})
