/**
 * @plumline/core's main entry: what a plugin or an embedding application needs — the event
 * model, receipts, errors, the plugin API, config schema helpers, the logger, state stores and
 * `createPipeline`. Building blocks live behind subpaths, so that an addition here is
 * deliberate (public-surface.test.ts lists every name):
 * - `@plumline/core/util`: durations and sizes, backoff and retry, durable files, templates and
 *   conditions, field paths;
 * - `@plumline/core/sources`: what polling sources are built from (`pollRanges`, lateness, the
 *   vendor HTTP client, the call generator);
 * - `@plumline/core/host`: what a host such as the CLI needs (resolving and validating pipeline
 *   files, the JSON Schema, pipeline tests, the runtime's telemetry);
 * - `@plumline/core/builtins`: core's plugins one by one (`corePlugins` has them all);
 * - `@plumline/core/testing`: test doubles and the conformance suites;
 * - `@plumline/core/emulator`: what the vendor API emulators share (server, faults, counters).
 */
export type { CallEvent, DeadLetter } from './event.js';
export { EVENT_SCHEMA_VERSION } from './event.js';
export { eventJsonLine, unwritableAsJson } from './event-json-line.js';
export type { Batch } from './batch.js';
export type { Receipt, BatchPosition } from './receipt.js';
export { combineReceipts, detachedReceipt, operatorReceipt } from './receipt.js';
export {
  PlumlineError,
  ConfigError,
  ConfigErrors,
  PluginError,
  PipelineError,
  StateError,
  isPlumlineError,
  isRetriable,
  errorKind,
  type ErrorKind,
  type SourceLocation,
} from './errors.js';
export type {
  ComponentContext,
  OperatorContext,
  CommitInfo,
  CheckpointHold,
  SinkContext,
  StateStoreContext,
  Source,
  SourcePage,
  Operator,
  Sink,
  SinkBatch,
  SinkWriteResult,
  AtomicTarget,
  AtomicProblem,
  PreflightContext,
  PreflightProblem,
  SourcePlugin,
  SourceTasks,
  TaskMembership,
  TenantShard,
  SpreadSettings,
  TenantSpread,
  OperatorPlugin,
  SinkPlugin,
  StateStorePlugin,
  AnyPlugin,
  PluginKind,
} from './plugin.js';
export { defineSource, defineOperator, defineSink, defineStateStore, isPlugin } from './plugin.js';
export { PluginRegistry } from './registry.js';
export { z, duration, byteSize, secret } from './schema.js';
export { createLogger, type Logger, type LoggerOptions, type LevelWithSilent } from './logger.js';
export type { PluginTelemetry, ComponentStats, ComponentHealth, ErrorNote } from './telemetry.js';
export type { TenantBook, TenantTelemetry, TenantsView, TenantNote } from './tenant-telemetry.js';
export type { StateStore, ComponentState, StagedWrite, AtomicStateStore } from './state/state-store.js';
export { isAtomicStateStore } from './state/state-store.js';
export { DirectoryStateStore, MemoryStateStore, type DirectoryStateOptions } from './state/directory-state-store.js';
export { CheckedLog, encodeFrames, decodeFrames, type LoadedLog } from './state/checked-log.js';
export { createPipeline, loadPipeline, type Pipeline, type PipelineOptions, type PipelineResult, type PipelineHealth, type CommittedCheckpoints, type FailedTenant } from './runtime/pipeline.js';
export type { DeadLetterReport } from './runtime/dead-letter-ledger.js';
export { definePipeline, type PipelineDefinition } from './config/pipeline-definition.js';
export type { StoredCheckpoint } from './runtime/source-tracker.js';
export { DEAD_LETTER_STREAM } from './config/pipeline-schema.js';
export { mapEvents, mapEventsOwning, filterEvents, flatMapEvents, mapBatches, withDead, toDeadLetter } from './operators/per-event.js';
export type { JsonValue } from './util/json.js';
export type { Clock, Timer } from './util/clock.js';
export { corePlugins } from './builtins.js';
