/**
 * The engine's public TypeScript API, as the gateway, simulator and benchmarks
 * use it: open an engine on a store, submit commands, read views.
 */
export * from "./config.ts"
export type * from "./domain/commands.ts"
export * as CommandSchema from "./domain/command-schema.ts"
export type * from "./domain/events.ts"
export * from "./domain/errors.ts"
export * from "./domain/network.ts"
export type * from "./domain/replies.ts"
export { Engine, type CommittedBatch, type EngineOptions, type EngineStats } from "./runtime/engine.ts"
export * as Queries from "./runtime/queries.ts"
export type { OrderView, Notification, HistoryEntry } from "./order/order-state.ts"
export type { JournalStore } from "./store/journal.ts"
