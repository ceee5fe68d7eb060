/**
 * The pretenuring setting: off unless ENGINE_V8_PRETENURING=on; a value that
 * is neither stops the process with the variable's name.
 */
import { describe, expect, it } from "vitest"
import { pretenuringOff, v8PoolSize, v8PoolSizeFlag } from "./gc-tuning.ts"

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

  it("gives V8 one background thread unless ENGINE_V8_POOL_SIZE says otherwise", () => {
    expect(v8PoolSize({})).toBe(1)
    expect(v8PoolSize({ ENGINE_V8_POOL_SIZE: "" })).toBe(1)
    expect(v8PoolSize({ ENGINE_V8_POOL_SIZE: "4" })).toBe(4)
    expect(v8PoolSizeFlag({ ENGINE_V8_POOL_SIZE: "2" })).toBe("--v8-pool-size=2")
    expect(v8PoolSizeFlag({})).toBe("--v8-pool-size=1")
  })

  it("names ENGINE_V8_POOL_SIZE when its value is not a thread count", () => {
    for (const bad of ["0", "-1", "1.5", "abc", "65", " 2 "]) {
      expect(() => v8PoolSize({ ENGINE_V8_POOL_SIZE: bad })).toThrow(/ENGINE_V8_POOL_SIZE must be an integer from 1 to 64/)
    }
  })
})
