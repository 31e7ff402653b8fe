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
  SourcePlugin,
  OperatorPlugin,
  SinkPlugin,
  StateStorePlugin,
  AnyPlugin,
  PluginKind,
} from './plugin.js';
export { defineSource, defineOperator, defineSink, defineStateStore, isPlugin } from './plugin.js';
export { PluginRegistry, loadPluginModule } from './registry.js';
export { z, duration, byteSize, secret, toJsonSchema } from './schema.js';
export { createLogger, SecretRedactor, type Logger, type LoggerOptions, type LevelWithSilent } from './logger.js';
export { ComponentTelemetry, type PluginTelemetry, type ComponentStats, type ComponentHealth } from './telemetry.js';
export type { StateStore, ComponentState, StagedWrite, AtomicStateStore } from './state/state-store.js';
export { isAtomicStateStore } from './state/state-store.js';
export { DirectoryStateStore, MemoryStateStore } from './state/directory-state-store.js';
export { createPipeline, loadPipeline, type Pipeline, type PipelineOptions, type PipelineResult, type PipelineHealth } from './runtime/pipeline.js';
export type { StoredCheckpoint } from './runtime/source-tracker.js';
export { resolvePipeline, resolvePipelineFile, type ResolvedPipeline, type ResolvedComponent } from './runtime/resolve-pipeline.js';
export { pipelineJsonSchema } from './config/pipeline-json-schema.js';
export { DEAD_LETTER_STREAM } from './config/pipeline-schema.js';
export { mapEvents, filterEvents, withDead, toDeadLetter } from './operators/per-event.js';
export { compileCondition, conditionSchema, type Condition, type Predicate } from './expr/predicate.js';
export { compileTemplate, compileStrictTemplate, templateFields, templateProblems, templateParts } from './expr/template.js';
export { compileGetter, isFieldPath, setPathCopying } from './expr/field-path.js';
export { parseDuration, formatDuration, isDuration } from './util/duration.js';
export { parseByteSize } from './util/size.js';
export { backoffDelayMs, sleep, DEFAULT_BACKOFF, type BackoffPolicy } from './util/backoff.js';
export { writeFileAtomic, fsyncDir } from './util/fs-durable.js';
export { writeAll, type VectorWriter } from './util/write-all.js';
export { isoFromMs, msFromIso } from './util/fast-iso.js';
export type { JsonValue } from './util/json.js';
export { corePlugins } from './builtins.js';
export { mapOperator } from './operators/map/map-operator.js';
export { filterOperator } from './operators/filter/filter-operator.js';
export { dedupeOperator } from './operators/dedupe/dedupe-operator.js';
export { routeOperator, UNMATCHED_OUTPUT } from './operators/route/route-operator.js';
export { stdinSource, parseEventLine } from './sources/stdin/stdin-source.js';
export { generateSource } from './sources/generate/generate-source.js';
export { CallGenerator } from './sources/generate/call-generator.js';
export { stdoutSink } from './sinks/stdout/stdout-sink.js';
export { blackholeSink } from './sinks/blackhole/blackhole-sink.js';
export { directoryStatePlugin } from './state/directory-state-plugin.js';
export { mapConcurrent } from './util/map-concurrent.js';
export { retryWithBackoff, parseRetryAfter, MAX_RETRY_AFTER_MS, type RetryOptions } from './util/retry.js';
export { VendorHttpClient, type VendorHttpClientOptions, type VendorRequest, type VendorResponse, type VendorError, type TransportFailure } from './http/vendor-http-client.js';
export { closeServerNow } from './util/close-server.js';
export { pollRanges, outageReporting, OUTAGE_BACKOFF, DEFAULT_BOUNDED_RETRY_DURATION_MS, type PollRangesOptions, type PollCheckpoint, type PollPart } from './sources/poll-ranges.js';
export type { SeenChunk } from './sources/seen-ids.js';
export { latenessFields, latenessProblem, latenessMs, warnIfOverlapGiven, DEFAULT_LATENESS } from './sources/lateness.js';
export { runPipelineTests, pipelineTestSchema, type PipelineTestResult, type PipelineTestOptions, type PipelineTest } from './pipeline-tests/index.js';
export { readPipelineFile } from './config/read-pipeline-file.js';
