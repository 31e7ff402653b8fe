/** `@plumline/core/host`: what a host of pipelines (the CLI, a platform's own runner) needs beyond `createPipeline` — resolving and validating pipeline files, the JSON Schema, pipeline tests, the runtime's telemetry and redaction, plugin packages' manifests, and the ops endpoints (metrics, probes, status, tap, web view) to mount in a host's server. */
export { resolvePipeline, resolvePipelineFile, type ResolvedPipeline, type ResolvedComponent, type ResolvedStateStore } from './runtime/resolve-pipeline.js';
export type { BoundSource, BoundSourceTasks, BoundOperator, BoundSink, BoundStateStore, BoundPlugin } from './runtime/bound-plugin.js';
export { pipelineJsonSchema } from './config/pipeline-json-schema.js';
export { runPipelineTests, pipelineTestSchema, type PipelineTestResult, type PipelineTestOptions, type PipelineTest } from './pipeline-tests/index.js';
export { deadLetterSummary } from './runtime/dead-letter-summary.js';
export { readPipelineFile } from './config/read-pipeline-file.js';
export { ComponentTelemetry } from './telemetry.js';
export { SecretRedactor } from './logger.js';
export { toJsonSchema } from './schema.js';
export { exportedPlugins, loadPluginModule } from './registry.js';
export { checkedAgainstManifest, pluginManifestSchema, readPluginManifest, type PluginManifest, type PluginPackage } from './plugin-manifest.js';
export { MAX_TAP_LIMIT } from './ops/tap-endpoint.js';
export { OpsHandler, type OpsHandlerOptions, type RequestListener } from './ops/ops-handler.js';
export { type StatusDocument, type StatusComponent } from './ops/status-document.js';
export { type DeadLetterNote } from './ops/recent-dead-letters.js';
export { summarizeCheckpoint } from './ops/checkpoint-summary.js';
export { withoutRemovedTenants, type CollectedMetrics } from './tenant-telemetry.js';
