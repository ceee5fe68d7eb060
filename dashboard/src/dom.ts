/** Small DOM builders for the page (no framework: the page renders a few times a second at most). */

type Child = Node | string | number | null | undefined | false

export const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: ReadonlyArray<Child>
): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue
    if (k === "class") e.className = String(v)
    else e.setAttribute(k, v === true ? "" : String(v))
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(typeof c === "number" ? String(c) : c)
  return e
}

export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id)
  if (!e) throw new Error(`the page has no #${id}`)
  return e as T
}

/** Sets text only when it changed (no layout work for unchanged figures). */
export const setText = (e: Element, text: string): void => {
  if (e.textContent !== text) e.textContent = text
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US")
export const fmtPct = (x: number | null): string => (x === null ? "–" : `${(x * 100).toFixed(1)} %`)
/** A duration in ms, in seconds from 1 s up ("1.23 s"), so a long one stays short. */
export const fmtMs = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(x < 10_000 ? 2 : 1)} s` : `${x.toFixed(x < 10 ? 2 : 1)} ms`)
/** An axis label for a duration in ms: "0.05 ms", "2.5 ms", "250 ms", "1.2 s", "15 s" (never wider than 7 characters). */
export const fmtAxisMs = (x: number): string =>
  x >= 10_000 ? `${(x / 1000).toFixed(0)} s`
    : x >= 1000 ? `${(x / 1000).toFixed(1)} s`
      : x >= 10 || x === 0 ? `${x.toFixed(0)} ms`
        : x >= 1 ? `${x.toFixed(1)} ms`
          : `${x.toFixed(2)} ms`
export const fmtTime = (ms: number): string => new Date(ms).toLocaleTimeString("en-GB", { hour12: false })
export const fmtDateTime = (ms: number): string => new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC"
