import { Writable } from 'node:stream';
import { metrics, trace } from '@opentelemetry/api';
import { createLogger } from '../logger.js';
import type { CommitInfo, ComponentContext, OperatorContext } from '../plugin.js';
import type { BatchPosition } from '../receipt.js';
import { MemoryStateStore } from '../state/directory-state-store.js';
import { isAtomicStateStore, scopeState, type StateStore } from '../state/state-store.js';
import { ComponentTelemetry, INSTRUMENTATION_NAME } from '../telemetry.js';
import { systemClock, type Clock } from '../util/clock.js';

/** A context to create one plugin outside a pipeline, and what the plugin did with it. */
export interface TestContext extends OperatorContext {
  /** Errors handed to `reportError`. */
  readonly reported: unknown[];
  /** Hooks registered with `onCommit` (an operator's persistence), to run by hand. */
  readonly commitHooks: ((info: CommitInfo) => Promise<void>)[];
  /** Positions under checkpoint holds not released yet (`holdCheckpoint`), one entry per hold. */
  readonly holds: Set<readonly BatchPosition[]>;
  /** Every log line written through `logger`, as JSON text. */
  readonly logs: string[];
  /** Aborts `signal`, as the runtime does when the pipeline stops. */
  abort(): void;
}

/**
 * A {@link ComponentContext} for running a plugin by hand in tests: in-memory state, a logger
 * that keeps its lines, every checkpoint counted as committed unless `isCommitted` says otherwise,
 * and no committed position of its own unless `committedPosition` gives one (a restart, for a source).
 * `atomicCommits` makes operators stage their state on receipts, as behind an exactly-once sink.
 *
 * @example
 * const ctx = testContext({ id: 'out', type: 'file' });
 * const sink = await fileSink.create(fileSink.configSchema.parse({ path: 'out.ndjson' }), ctx);
 */
export function testContext(options: { id?: string; type?: string; kind?: 'source' | 'transform' | 'sink'; once?: boolean; baseDir?: string; state?: StateStore; isCommitted?: ComponentContext['isCommitted']; committedPosition?: ComponentContext['committedPosition']; atomicCommits?: boolean; clock?: Clock } = {}): TestContext {
  const id = options.id ?? 'under_test';
  const type = options.type ?? id;
  const logs: string[] = [];
  const reported: unknown[] = [];
  const commitHooks: ((info: CommitInfo) => Promise<void>)[] = [];
  const holds = new Set<readonly BatchPosition[]>();
  const controller = new AbortController();
  const store = options.state ?? new MemoryStateStore();
  return {
    id,
    type,
    clock: options.clock ?? systemClock,
    logger: createLogger({ level: 'debug', pretty: false, destination: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }) }).child({ component: id }),
    meter: metrics.getMeter(INSTRUMENTATION_NAME),
    tracer: trace.getTracer(INSTRUMENTATION_NAME),
    telemetry: new ComponentTelemetry(id, type, options.kind ?? 'transform'),
    signal: controller.signal,
    state: scopeState(store, id),
    atomicState: isAtomicStateStore(store) ? store : undefined,
    atomicCommits: options.atomicCommits ?? false,
    stage: (receipt, write) => receipt.stage({ ...write, key: `${id}/${write.key}` }),
    once: options.once ?? true,
    pipelineId: 'test',
    baseDir: options.baseDir ?? process.cwd(),
    isCommitted: options.isCommitted ?? (() => true),
    committedPosition: options.committedPosition ?? (() => undefined),
    reportError: (e) => void reported.push(e),
    onCommit: (hook) => void commitHooks.push(hook),
    holdCheckpoint: (positions) => {
      const entry = [...positions];
      holds.add(entry);
      return { release: () => void holds.delete(entry) };
    },
    reported,
    holds,
    commitHooks,
    logs,
    abort: () => controller.abort(),
  };
}
