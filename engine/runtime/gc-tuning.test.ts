/**
 * The pretenuring setting: off unless ENGINE_V8_PRETENURING=on; a value that
 * is neither stops the process with the variable's name.
 */
import { describe, expect, it } from "vitest"
import { pretenuringOff } from "./gc-tuning.ts"

describe("gc tuning", () => {
  it("turns pretenuring off by default and keeps it with ENGINE_V8_PRETENURING=on", () => {
    expect(pretenuringOff({})).toBe(true)
    expect(pretenuringOff({ ENGINE_V8_PRETENURING: "off" })).toBe(true)
    expect(pretenuringOff({ ENGINE_V8_PRETENURING: " OFF " })).toBe(true)
    expect(pretenuringOff({ ENGINE_V8_PRETENURING: "" })).toBe(true)
    expect(pretenuringOff({ ENGINE_V8_PRETENURING: "on" })).toBe(false)
  })

  it("names the variable when its value is neither on nor off", () => {
    expect(() => pretenuringOff({ ENGINE_V8_PRETENURING: "yes" })).toThrow(/ENGINE_V8_PRETENURING must be "on" or "off"/)
  })
})
