import { Writable } from 'node:stream';
import { arraySource } from './array-source.js';

export { arraySource } from './array-source.js';
import { z } from 'zod';
import { corePlugins } from '../builtins.js';
import type { CallEvent } from '../event.js';
import { createLogger } from '../logger.js';
import { defineSink, defineSource, type AnyPlugin, type OperatorPlugin, type SinkBatch, type SourcePage, type SourcePlugin } from '../plugin.js';
import type { BatchPosition } from '../receipt.js';
import { PluginRegistry } from '../registry.js';
import { createPipeline, type PipelineResult } from '../runtime/pipeline.js';
import type { StateStore } from '../state/state-store.js';
import { MemoryStateStore } from '../state/directory-state-store.js';

export { MemoryStateStore } from '../state/directory-state-store.js';

/** A minimal valid event for tests. */
export function testEvent(id: string, overrides: Partial<CallEvent> = {}): CallEvent {
  return { id, source: 'test', kind: 'session', time: '2026-01-01T00:00:00.000Z', attributes: {}, ...overrides };
}

/** What a {@link memorySink} saw. */
export interface MemorySinkRecord {
  events: CallEvent[];
  writes: SinkBatch[];
  positions: BatchPosition[][];
  closed: number;
  flushed: number;
}

/**
 * A sink plugin (type `memory`) that records every write. `delayMs` (per write, or a function
 * of the write number) simulates a slow sink; `maxInFlight` allows concurrent, out-of-order completion.
 */
export function memorySink(options: { type?: string; delayMs?: number | ((n: number) => number); maxInFlight?: number; failTimes?: number } = {}) {
  const record: MemorySinkRecord = { events: [], writes: [], positions: [], closed: 0, flushed: 0 };
  let n = 0;
  let failures = options.failTimes ?? 0;
  const plugin = defineSink({
    type: options.type ?? 'memory',
    description: 'Records events in memory (tests).',
    configSchema: z.strictObject({}),
    create() {
      return {
        maxInFlight: options.maxInFlight ?? 1,
        async write(batch) {
          const i = n++;
          const d = typeof options.delayMs === 'function' ? options.delayMs(i) : (options.delayMs ?? 0);
          if (d > 0) await new Promise((r) => setTimeout(r, d));
          if (failures > 0) {
            failures--;
            throw new Error('simulated transient sink failure');
          }
          record.writes.push(batch);
          record.positions.push([...batch.positions]);
          record.events.push(...batch.events);
        },
        async flush() {
          record.flushed++;
        },
        async close() {
          record.closed++;
        },
      };
    },
  });
  return { plugin, record };
}

/** What {@link runSource} observed. */
export interface SourceRun {
  /** Events that reached the sink (after `dedupe` when asked for). */
  events: CallEvent[];
  /** Events of the dead-letter stream (`kind: dead_letter`). */
  dead: CallEvent[];
  /** The pipeline's result, when it finished cleanly. */
  result?: PipelineResult;
  /** The error that failed the pipeline, if any. */
  error?: unknown;
  /** Every log line (JSON), to check what was said — and that no secret was. */
  logs: string;
}

/**
 * Runs one source plugin in a pipeline of its own (component id = its type) into an in-memory
 * sink, with the dead-letter stream captured and logs kept. `--once` by default; with
 * `stopAfterMs` it is stopped gracefully after that long instead. `dedupe: true` puts a
 * `dedupe` (id `unique`) between the source and the sink.
 *
 * @example
 * const run = await runSource(plumSource, { base_url, username: 'u', password: 'p', backfill: '1d' });
 * expect(run.dead).toEqual([]);
 */
export async function runSource(
  plugin: SourcePlugin,
  config: Record<string, unknown>,
  options: { once?: boolean; stopAfterMs?: number; dedupe?: boolean; stateStore?: StateStore; plugins?: readonly AnyPlugin[] } = {},
): Promise<SourceRun> {
  const id = plugin.type;
  return runGraph({ [id]: { type: plugin.type, ...config } }, options.dedupe ? { unique: { type: 'dedupe', inputs: [id] } } : {}, options.dedupe ? 'unique' : id, [plugin, ...(options.plugins ?? [])], options);
}

/**
 * Runs one operator plugin (component id = its type) over the given pages of events, fed by
 * an `array` source, into an in-memory sink; dead letters and logs are captured. `--once` by
 * default. Pass the same `stateStore` to two runs to test a restart.
 *
 * @example
 * const run = await runOperator(maskOperator, { numbers: 'drop' }, [[testEvent('a', { from: '+12125550100' })]]);
 * expect(run.events[0]!.from).toBeUndefined();
 */
export async function runOperator(
  plugin: OperatorPlugin,
  config: Record<string, unknown>,
  pages: readonly (readonly CallEvent[])[],
  options: { once?: boolean; stopAfterMs?: number; stateStore?: StateStore; plugins?: readonly AnyPlugin[] } = {},
): Promise<SourceRun> {
  const id = plugin.type;
  return runGraph({ input: { type: 'runoperator_array' } }, { [id]: { type: plugin.type, inputs: ['input'], ...config } }, id, [plugin, arraySource(pages, 'runoperator_array'), ...(options.plugins ?? [])], options);
}

async function runGraph(
  sources: Record<string, Record<string, unknown>>,
  transforms: Record<string, Record<string, unknown>>,
  last: string,
  plugins: readonly AnyPlugin[],
  options: { once?: boolean; stopAfterMs?: number; stateStore?: StateStore },
): Promise<SourceRun> {
  const sink = memorySink({ type: 'run_memory' });
  const dlq = memorySink({ type: 'run_dead' });
  const run: SourceRun = { events: sink.record.events, dead: dlq.record.events, logs: '' };
  const logger = createLogger({ level: 'info', pretty: false, destination: new Writable({ write(c, _e, cb) { run.logs += String(c); cb(); } }) });
  const p = await createPipeline(
    { sources, transforms, sinks: { out: { type: 'run_memory', inputs: [last] }, dead: { type: 'run_dead', inputs: ['dead_letter'] } } },
    {
      plugins: new PluginRegistry([...corePlugins, ...plugins, sink.plugin, dlq.plugin]),
      logger,
      once: options.stopAfterMs === undefined ? (options.once ?? true) : false,
      stateStore: options.stateStore ?? new MemoryStateStore(),
    },
  );
  await p.start();
  if (options.stopAfterMs !== undefined) setTimeout(() => void p.stop().catch(() => {}), options.stopAfterMs);
  try {
    run.result = await p.done;
  } catch (err) {
    run.error = err;
  }
  return run;
}
export { testContext, type TestContext } from './test-context.js';
export * from './contracts/index.js';
export { FakeClock } from './fake-clock.js';
export { tmpDir } from './tmp-dir.js';
