/**
 * The engine's public TypeScript API: the one door through which everything
 * outside engine/ (gateway, simulator, benchmarks, dashboard tools) uses the
 * engine. Re-exports only; what is not here is internal to the engine (tests
 * and harnesses may also use engine/testing/). The rules: docs/architecture.md,
 * Who may import what, checked by engine/boundaries.test.ts.
 */

// ---- vocabulary: commands, events, replies, errors, the network ----------------------------------
export type * from "./domain/commands.ts"
export * as CommandSchema from "./domain/command-schema.ts"
export type * from "./domain/events.ts"
export { isOrderEvent } from "./domain/events.ts"
export type * from "./domain/replies.ts"
export * from "./domain/errors.ts"
export * from "./domain/network.ts"
export type { HistoryEntry, Notification, NotificationKind, OrderStatus, OrderView } from "./order/order-state.ts"

// ---- configuration and limits ---------------------------------------------------------------------
export * from "./config.ts"

// ---- the engine, its reads, its Effect service ----------------------------------------------------
export { Engine, type CommittedBatch, type EngineOptions, type EngineState, type EngineStats } from "./runtime/engine.ts"
export * as Queries from "./runtime/queries.ts"
export type {
  Availability,
  AvailabilityRequest,
  ExternalIdUse,
  NodeLoadView,
  OrderTimeline,
  TimelineNotification
} from "./runtime/queries.ts"
export { execute, OrderEngine } from "./order-engine.ts"
export { TimerHeap } from "./runtime/timer-heap.ts"

// ---- routing (the router an engine is opened with, and its cost model) ----------------------------
export * from "./routing/index.ts"

// ---- the journal store ----------------------------------------------------------------------------
export { Journal, openJournalStore, type JournalLocation, type OpenedJournalStore } from "./store/layer.ts"
export type { JournalBatch, JournalStore, Snapshot } from "./store/journal.ts"
export type { OpsHistoryStore, OpsPoint } from "./store/sql-ops-history.ts"
export { MemoryJournal } from "./store/memory-journal.ts"
export { memoryOpsRecords, type OpsAlertRow, type OpsAuditEntry, type OpsRecordStore } from "./store/ops-records.ts"
export { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from "./store/embedded.ts"

// ---- reports over the journal ---------------------------------------------------------------------
export { journalReport, ledgerReport, oneReportAtATime, report, type Coverage, type JournalReport } from "./reports/reader.ts"

// ---- processes that run an engine or a gateway ----------------------------------------------------
export { tuneGarbageCollection, v8PoolSizeFlag } from "./runtime/gc-tuning.ts"

// ---- the demo network and real places -------------------------------------------------------------
export { demoCommands, demoNetwork, type DemoCatalogItem, type DemoNetwork, type DemoOptions } from "./demo/network.ts"
export { citiesByPopulation, type City } from "./network/places.ts"

// ---- cluster mode: partitions, the cluster client, orders across partitions, runners --------------
export { networkStream, partitionOf, partitionStream } from "./runtime/partition.ts"
export { loadClusterSettings, runnerName, type ClusterSettings } from "./cluster/settings.ts"
export { PartitionClient } from "./cluster/partition-client.ts"
export { entityIds } from "./cluster/partition-entity.ts"
export { externalIdStream, holdStream, orderStream, skuStream } from "./cluster/streams.ts"
export { compositeOrderId, legIdsOf, legSeparator, splitOrder, type GroupView, type Split } from "./cluster/legs.ts"
export {
  readGroup,
  readGroupHistory,
  readGroupTimeline,
  submitAcrossPartitions,
  viewOfLegs,
  type LegAccess,
  type LegReply,
  type Undo
} from "./cluster/split-orders.ts"
export { ClusterStatusReader, type ClusterStatus } from "./cluster/cluster-status.ts"
export { runnerLive, type RunnerOptions } from "./cluster/runner.ts"
