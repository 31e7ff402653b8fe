import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Every module `entry` loads at run time (type-only imports excluded), and the packages it imports. */
function runtimeGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^'";]*?from\s+'([^']+)'/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

describe("@plumline/core's main entry", () => {
  it('loads neither vitest nor the conformance suites (those live behind @plumline/core/testing)', () => {
    const { files, packages } = runtimeGraph(fileURLToPath(new URL('./index.ts', import.meta.url)));
    // Only declared dependencies (and Node's own modules): an optional peer such as vitest would
    // break `import '@plumline/core'` in a production install.
    const declared = Object.keys((JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    expect([...packages].filter((p) => !p.startsWith('node:') && !declared.includes(p))).toEqual([]);
    expect([...files].filter((f) => f.includes('/contracts/'))).toEqual([]);
  });
  // An addition to the main entry is deliberate: building blocks go behind a subpath
  // (/util, /sources, /host, /builtins, /testing; see index.ts), so that the entry a plugin
  // author reads stays the plugin API and createPipeline.
  it('exports exactly these values', async () => {
    // CheckedLog and its frame codec: the checked append-only log an operator keeps in its state (dedupe, correlate).
    expect(Object.keys(await import('./index.js')).sort()).toEqual([
      'CheckedLog', 'ConfigError', 'ConfigErrors', 'DEAD_LETTER_STREAM', 'DirectoryStateStore', 'EVENT_SCHEMA_VERSION',
      'MemoryStateStore', 'PipelineError', 'PluginError', 'PluginRegistry', 'PlumlineError',
      'StateError', 'byteSize', 'combineReceipts', 'corePlugins', 'createLogger', 'createPipeline',
      'decodeFrames', 'defineOperator', 'definePipeline', 'defineSink', 'defineSource', 'defineStateStore', 'detachedReceipt', 'duration', 'encodeFrames',
      'errorKind', 'eventJsonLine', 'filterEvents', 'flatMapEvents', 'isAtomicStateStore', 'isPlugin', 'isPlumlineError', 'isRetriable',
      'loadPipeline', 'mapBatches', 'mapEvents', 'mapEventsOwning', 'operatorReceipt', 'secret', 'toDeadLetter', 'unwritableAsJson',
      'withDead', 'z',
    ]);
  });

  it('exports exactly these types', () => {
    const text = readFileSync(new URL('./index.ts', import.meta.url), 'utf8');
    const types = [...text.matchAll(/export\s+type\s+\{([^}]*)\}/g)].flatMap((m) => m[1]!.split(','));
    const inline = [...text.matchAll(/export\s+\{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',')).filter((n) => n.trim().startsWith('type '));
    expect([...types, ...inline].map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean).sort()).toEqual([
      'AnyPlugin', 'AtomicProblem', 'AtomicStateStore', 'AtomicTarget', 'Batch', 'BatchPosition',
      'CallEvent', 'CheckpointHold', 'Clock', 'CommitInfo', 'CommittedCheckpoints', 'ComponentContext', 'ComponentHealth',
      'ComponentState', 'ComponentStats', 'DeadLetter', 'DeadLetterReport', 'DirectoryStateOptions', 'ErrorKind', 'ErrorNote', 'FailedTenant', 'JsonValue', 'LevelWithSilent', 'LoadedLog',
      'Logger', 'LoggerOptions', 'Operator', 'OperatorContext', 'OperatorPlugin', 'Pipeline',
      'PipelineDefinition', 'PipelineHealth', 'PipelineOptions', 'PipelineResult', 'PluginKind', 'PluginTelemetry', 'PreflightContext', 'PreflightProblem', 'Receipt',
      'Sink', 'SinkBatch', 'SinkContext', 'SinkPlugin', 'SinkWriteResult', 'Source', 'SourceLocation',
      'SourcePage', 'SourcePlugin', 'SourceTasks', 'SpreadSettings', 'StagedWrite', 'StateStore', 'StateStoreContext', 'StateStorePlugin',
      'StoredCheckpoint', 'TaskMembership', 'TenantBook', 'TenantNote', 'TenantShard', 'TenantSpread', 'TenantTelemetry', 'TenantsView', 'Timer',
    ]);
  });
});
