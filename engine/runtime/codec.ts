/**
 * How events and snapshots become bytes: msgpack with record definitions
 * embedded in each payload (so any batch decodes on its own, years later, by
 * a process that never saw the writer's structures).
 */
import { Packr, Unpackr } from "msgpackr"
import type { EngineEvent } from "../domain/events.ts"

const packr = new Packr({ useRecords: true, moreTypes: true })
const unpackr = new Unpackr({ useRecords: true, moreTypes: true })

export const encodeEvents = (events: ReadonlyArray<EngineEvent>): Uint8Array => packr.pack(events)

export const decodeEvents = (payload: Uint8Array): Array<EngineEvent> => unpackr.unpack(payload) as Array<EngineEvent>

export const encodeValue = (value: unknown): Uint8Array => packr.pack(value)

export const decodeValue = <A>(payload: Uint8Array): A => unpackr.unpack(payload) as A
