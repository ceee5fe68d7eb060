/**
 * The command schemas describe the commands the engine is really sent: the
 * demo network's and the test fixture's commands decode with them, strictly
 * (no field the schema does not name), and each command type is defined once.
 */
import { Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { demoCommands } from "../demo/network.ts"
import { fixtureCommands } from "../testing/fixture.ts"
import { Command } from "./command-schema.ts"
import { commandTypes } from "./commands.ts"

const decode = Schema.decodeUnknownResult(Command, { onExcessProperty: "error" })

describe("command schemas", () => {
  it("decode the demo network's and the fixture's commands unchanged", () => {
    for (const c of [...fixtureCommands, ...demoCommands({ skus: 20 })]) {
      const r = decode(c)
      expect(Result.isSuccess(r) ? r.success : r.failure.message, c.type).toEqual(c)
    }
  })

  it("define each command type once", () => {
    expect(new Set(commandTypes).size).toBe(commandTypes.length)
    expect(commandTypes).toHaveLength(29)
  })

  it("refuse a field no command has, a missing field and a wrong type, naming the field", () => {
    const message = (x: unknown) => {
      const r = decode(x)
      return Result.isFailure(r) ? r.failure.message : "decoded"
    }
    expect(message({ type: "hold.create", channel: "web", sku: "TV-55", qty: 1, colour: "red" })).toContain("colour")
    expect(message({ type: "hold.create", channel: "web", sku: "TV-55" })).toContain("qty")
    expect(message({ type: "inventory.receive", sku: "TV-55", nodeId: "WH-DAL", qty: "3" })).toContain("qty")
    expect(message({ type: "hold.teleport" })).not.toBe("decoded")
  })
})
