import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import { connectable, EMPTY, merge, Subject, type Observable, share, tap, map, catchError, filter, finalize, type Connectable } from 'rxjs';
import type { Batch } from '../batch.js';
import type { DeadLetter } from '../event.js';
import { ConfigError, PipelineError, PlumlineError } from '../errors.js';
import { createLogger, SecretRedactor, type Logger } from '../logger.js';
import type { AnyPlugin, CheckpointHold, CommitInfo, ComponentContext, Operator, OperatorContext, Sink, Source } from '../plugin.js';
import type { BatchPosition, SourceReceipt } from '../receipt.js';
import { PluginRegistry } from '../registry.js';
import { isAtomicStateStore, scopeState, type StagedWrite, type StateStore } from '../state/state-store.js';
import { ComponentTelemetry, type ComponentHealth, type ComponentStats } from '../telemetry.js';
import { SINK_BACKOFF } from '../util/backoff.js';
import { DEAD_LETTER_STREAM } from '../config/pipeline-schema.js';
import type { JsonValue } from '../util/json.js';
import { DeadLetterFileSink, deadLetterEvent } from './dead-letter.js';
import { exactlyOnceSinksMessage, resolvePipeline, resolvePipelineFile, type ResolvedPipeline } from './resolve-pipeline.js';
import { SinkRunner } from './sink-runner.js';
import { sourceBatches } from './source-driver.js';
import { SourceTracker, type StoredCheckpoint } from './source-tracker.js';

const CHECKPOINTS_KEY = 'checkpoints';
/** After abort(), how long the final commit and the closing of components may still take before `done` settles without them. */
export const ABORT_GRACE_MS = 1_000;

export interface PipelineOptions {
  /** Plugins the pipeline may use. Default: core's built-ins only (the CLI adds every package's). */
  plugins?: PluginRegistry | readonly AnyPlugin[];
  /** Root logger. Default: pino to stderr, JSON unless stderr is a TTY. */
  logger?: Logger;
  /** Aborting it stops the pipeline gracefully. */
  signal?: AbortSignal;
  /** Environment for `${VAR}` interpolation. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Run every source to the end of its current range, then finish. */
  once?: boolean;
  /** Use this store instead of the one the `state:` section names (tests, embedding). */
  stateStore?: StateStore;
  /** For error locations when `input` is YAML text. */
  file?: string;
  /** Directory for relative paths in `use:`. */
  baseDir?: string;
}

export interface PipelineResult {
  stats: Record<string, ComponentStats>;
  checkpoints: Record<string, StoredCheckpoint>;
}

/** A running (or runnable) pipeline. */
export interface Pipeline {
  readonly id: string;
  readonly definition: ResolvedPipeline;
  /** Opens the state store, creates every component and starts the sources. Resolves once all are running. */
  start(): Promise<void>;
  /** Graceful stop: stop sources, drain in-flight batches, flush sinks, commit checkpoints. Idempotent. */
  stop(): Promise<PipelineResult>;
  /** Immediate stop: gives up on in-flight work; what was committed stays committed. */
  abort(): void;
  /** Settles when the pipeline finished: resolves after a clean end or stop, rejects with the error that failed it. */
  readonly done: Promise<PipelineResult>;
  /** Per-component counters, live. */
  stats(): Record<string, ComponentStats>;
  /**
   * For readiness probes: ready once every component was created and started, and while no
   * component is failing (a sink retrying a failed write, or one stalled past `runtime.stall_timeout`).
   */
  health(): PipelineHealth;
}

export interface PipelineHealth {
  /** Every component started. */
  started: boolean;
  /** The pipeline ended (cleanly or not). */
  finished: boolean;
  /** The error that failed it, if it failed. */
  error?: string;
  ready: boolean;
  components: Record<string, ComponentHealth>;
}

/** Loads a pipeline from a YAML file path. */
export async function loadPipeline(path: string, options: PipelineOptions = {}): Promise<Pipeline> {
  const registry = toRegistry(options.plugins);
  const def = await resolvePipelineFile(path, { registry, env: options.env, baseDir: options.baseDir, stateStoreGiven: options.stateStore !== undefined });
  return new PipelineRuntime(def, options);
}

/**
 * Creates a pipeline from YAML text or an object with the same shape. Validation happens
 * here (throws {@link ConfigErrors} with located errors); nothing runs until `start()`.
 */
export async function createPipeline(input: string | object, options: PipelineOptions = {}): Promise<Pipeline> {
  const registry = toRegistry(options.plugins);
  const def = await resolvePipeline(input, { registry, env: options.env, file: options.file, baseDir: options.baseDir, stateStoreGiven: options.stateStore !== undefined });
  return new PipelineRuntime(def, options);
}

function toRegistry(plugins: PipelineOptions['plugins']): PluginRegistry {
  if (plugins instanceof PluginRegistry) return plugins;
  return new PluginRegistry(plugins ?? []);
}

interface Created<T> {
  id: string;
  instance: T;
  telemetry: ComponentTelemetry;
  ctx: ComponentContext;
}

class PipelineRuntime implements Pipeline {
  readonly id: string;
  private readonly logger: Logger;
  private readonly redactor = new SecretRedactor();
  private readonly sourcesStop = new AbortController();
  private readonly hardStop = new AbortController();
  private readonly telemetry = new Map<string, ComponentTelemetry>();
  private readonly trackers = new Map<string, SourceTracker>();
  private readonly commitHooks: ((info: CommitInfo) => Promise<void>)[] = [];
  private state: StateStore | undefined;
  private restored: Record<string, StoredCheckpoint> = {};
  private lastCommitted = '';
  /** The first checkpoint of this run that moved was logged (operators and crash tests watch for it). */
  private progressLogged = false;
  private commitChain: Promise<void> = Promise.resolve();
  private commitTimer: NodeJS.Timeout | undefined;
  private commitRunning = false;
  /** Removes the listener on `options.signal` (added in the constructor) once the pipeline ended. */
  private readonly unlistenSignal: () => void;
  /** Held from start until finish: a running pipeline keeps the process alive even while every wait is on unref'd timers. */
  private keepAlive: NodeJS.Timeout | undefined;
  private fatal: unknown;
  private started: Promise<void> | undefined;
  private stopping: Promise<PipelineResult> | undefined;
  private sources: Created<Source>[] = [];
  private operators: Created<Operator>[] = [];
  private sinks: Created<Sink>[] = [];
  /** Every component started (for readiness). */
  private running = false;
  /** Set when the pipeline ended: `error` is the message of what failed it, if anything did. */
  private ended: { error?: string } | undefined;
  /** An exactly-once sink commits every batch's output, checkpoints and staged state atomically. */
  private readonly atomic: boolean;
  private resolveDone!: (r: PipelineResult) => void;
  private rejectDone!: (e: unknown) => void;
  readonly done: Promise<PipelineResult>;

  constructor(
    readonly definition: ResolvedPipeline,
    private readonly options: PipelineOptions,
  ) {
    this.id = definition.id;
    this.atomic = definition.sinks.some((s) => s.plugin.atomicProblems?.(s.config as never, undefined) !== undefined);
    // Many concurrent waits (sink retries, source sleeps) listen on these signals at once.
    setMaxListeners(0, this.sourcesStop.signal, this.hardStop.signal);
    for (const s of definition.secrets) this.redactor.add(s);
    this.logger = (options.logger ?? createLogger({ redactor: this.redactor })).child({ pipeline: this.id });
    this.done = new Promise((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    // A caller that only awaits start() must not see an unhandled rejection from `done`.
    this.done.catch(() => {});
    const onAbort = (): void => void this.stop().catch(() => {});
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.unlistenSignal = () => options.signal?.removeEventListener('abort', onAbort);
  }

  stats(): Record<string, ComponentStats> {
    const out: Record<string, ComponentStats> = {};
    for (const [id, t] of this.telemetry) out[id] = { ...t.stats };
    return out;
  }

  health(): PipelineHealth {
    const stallMs = this.definition.settings.stall_timeout;
    const components: Record<string, ComponentHealth> = {};
    for (const [id, t] of this.telemetry) components[id] = t.health(stallMs);
    const started = this.running;
    const finished = this.ended !== undefined;
    return { started, finished, ...this.ended, ready: started && !finished && Object.values(components).every((c) => c.ok), components };
  }

  start(): Promise<void> {
    return (this.started ??= this.doStart().catch(async (err) => {
      await this.closeAll();
      this.rejectDone(err);
      throw err;
    }));
  }

  /** Sequence numbers covered by the last committed checkpoints. */
  private committedSeq: Record<string, number> = {};
  private committedPositions: Record<string, JsonValue | null> = {};
  private isCommitted = (positions: readonly BatchPosition[]): boolean => positions.every((p) => p.seq <= (this.committedSeq[p.source] ?? 0));

  /** Holds the checkpoints of the sources of `positions` (see OperatorContext.holdCheckpoint). */
  private holdCheckpoint = (positions: readonly BatchPosition[]): CheckpointHold => {
    const releases: (() => void)[] = [];
    for (const p of positions) {
      const tracker = this.trackers.get(p.source);
      if (tracker) releases.push(tracker.hold(p.seq));
    }
    return { release: () => releases.forEach((r) => r()) };
  };

  private context(id: string, type: string, kind: 'source' | 'transform' | 'sink', signal: AbortSignal): OperatorContext {
    const telemetry = new ComponentTelemetry(id, type, kind);
    this.telemetry.set(id, telemetry);
    return {
      id,
      type,
      logger: this.logger.child({ component: id }),
      meter: telemetry.meter,
      tracer: telemetry.tracer,
      telemetry,
      signal,
      state: scopeState(this.state!, id),
      once: this.options.once ?? false,
      baseDir: this.definition.baseDir,
      pipelineId: this.definition.id,
      reportError: (error) => this.reportError(id, error),
      atomicState: isAtomicStateStore(this.state!) ? this.state : undefined,
      atomicCommits: this.atomic,
      stage: (receipt, write) => receipt.stage({ ...write, key: `${id}/${write.key}` }),
      onCommit: (hook) => void this.commitHooks.push(hook),
      holdCheckpoint: this.holdCheckpoint,
      isCommitted: this.isCommitted,
      committedPosition: () => (this.committedPositions[id] ?? undefined) as JsonValue | undefined,
      committedCheckpoints: () => Object.fromEntries(Object.entries(this.committedSeq).map(([s, seq]) => [s, { seq, position: this.committedPositions[s] ?? null }])),
    };
  }

  private reportError(component: string, error: unknown): void {
    const retriable = error instanceof PlumlineError ? error.retriable : false;
    this.telemetry.get(component)?.error();
    if (retriable) {
      this.logger.warn({ component, err: error }, 'background error (will retry)');
      return;
    }
    this.fail(error);
  }

  private fail(error: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = error;
    this.logger.error({ err: error }, 'pipeline failed; stopping');
    // The error surfaces through `done`; this internal stop must not add an unhandled rejection.
    this.stop().catch(() => {});
  }

  private async doStart(): Promise<void> {
    const def = this.definition;
    this.state =
      this.options.stateStore ??
      (await def.state.plugin.create(def.state.config as never, { logger: this.logger.child({ component: 'state' }), baseDir: process.cwd(), pipelineId: def.id }));
    await this.state.open();
    this.restored = ((await this.state.get(CHECKPOINTS_KEY)) as Record<string, StoredCheckpoint> | undefined) ?? {};
    this.lastCommitted = JSON.stringify(this.restored);
    this.committedSeq = Object.fromEntries(Object.entries(this.restored).map(([id, c]) => [id, c.seq]));
    this.committedPositions = Object.fromEntries(Object.entries(this.restored).map(([id, c]) => [id, c.position]));

    for (const c of def.sources) {
      const ctx = this.context(c.id, c.plugin.type, 'source', this.sourcesStop.signal);
      const instance = await c.plugin.create(c.config as never, ctx);
      this.sources.push({ id: c.id, instance, telemetry: ctx.telemetry, ctx });
      if (this.options.once && !instance.bounded) {
        throw new ConfigError('CONFIG_NOT_BOUNDED', `source "${c.id}" (${c.plugin.type}) never ends, so it cannot run with --once: give it an end (e.g. count or end), or run without --once`, {
          fields: { component: c.id },
        });
      }
    }
    for (const c of def.transforms) {
      const ctx = this.context(c.id, c.plugin.type, 'transform', this.hardStop.signal);
      const instance = await c.plugin.create(c.config as never, ctx);
      this.operators.push({ id: c.id, instance, telemetry: ctx.telemetry, ctx });
    }
    for (const c of def.sinks) {
      const ctx = this.context(c.id, c.plugin.type, 'sink', this.hardStop.signal);
      const instance = await c.plugin.create(c.config as never, ctx);
      this.sinks.push({ id: c.id, instance, telemetry: ctx.telemetry, ctx });
    }
    const owners = this.sinks.filter((s) => s.instance.ownsCheckpoints);
    if (owners.length > 0 && def.sinks.length > 1) {
      throw new ConfigError('CONFIG_EXACTLY_ONCE_SINKS', exactlyOnceSinksMessage(owners[0]!.id), { fields: { component: owners[0]!.id } });
    }
    const holder = this.operators.find((o) => o.instance.holdsEvents);
    if (owners.length > 0 && holder) {
      throw new ConfigError(
        'CONFIG_EXACTLY_ONCE_HOLDING_OPERATOR',
        `sink "${owners[0]!.id}" is exactly-once, but "${holder.id}" keeps events across batches and holds checkpoints back, which an exactly-once sink (storing the checkpoint with each batch) would pass: use the sink without exactly_once after "${holder.id}" (a dedupe before it removes what a restart repeats)`,
        { fields: { component: holder.id } },
      );
    }
    this.wire();
    this.commitTimer = setInterval(() => {
      // One commit at a time: a slow store must not have a queue of commits build up behind it.
      if (this.commitRunning) return;
      this.commitRunning = true;
      void this.commit()
        .catch((err) => this.reportError('state', err))
        .finally(() => (this.commitRunning = false));
    }, def.settings.commit_interval);
    this.commitTimer.unref();
    this.keepAlive = setInterval(() => {}, 1 << 30);
    this.running = true;
    this.logger.info({ sources: def.sources.length, transforms: def.transforms.length, sinks: def.sinks.length, once: this.options.once ?? false }, 'pipeline started');
  }

  /** Builds the RxJS graph, subscribes every sink, then connects the sources. */
  private wire(): void {
    const def = this.definition;
    const deadSubject = new Subject<Batch>();
    const connectables: Connectable<Batch>[] = [];
    let producers = 0;
    const producerDone = (): void => {
      if (--producers === 0) deadSubject.complete();
    };
    const toDead = (component: string, dead: readonly DeadLetter[], batch: Batch): void => {
      deadSubject.next({ events: dead.map((d) => deadLetterEvent(d, component)), receipt: batch.receipt });
    };
    const extractDead = (component: string, telemetry: ComponentTelemetry) => (source: Observable<Batch>): Observable<Batch> => {
      producers++;
      return source.pipe(
        map((b) => {
          if (!b.dead || b.dead.length === 0) return b;
          telemetry.deadLettered(b.dead.length);
          this.logger.warn({ component, count: b.dead.length, code: b.dead[0]!.code, reason: b.dead[0]!.reason }, 'records sent to the dead-letter output');
          b.receipt.retain();
          toDead(component, b.dead, b);
          return b.output === undefined ? { events: b.events, receipt: b.receipt } : { events: b.events, receipt: b.receipt, output: b.output };
        }),
        catchError((err) => {
          this.telemetry.get(component)?.error();
          this.fail(err);
          return EMPTY;
        }),
        finalize(producerDone),
      );
    };

    // How many consumers each stream has: fan-out retains one receipt reference per extra consumer.
    const consumers = new Map<string, number>();
    for (const c of [...def.transforms, ...def.sinks]) for (const ref of c.inputs) consumers.set(ref, (consumers.get(ref) ?? 0) + 1);
    const streams = new Map<string, Observable<Batch>>();
    const publish = (ref: string, stream: Observable<Batch>): void => {
      const k = consumers.get(ref) ?? 0;
      if (k === 0) {
        // Nobody takes this output: its batches count as done.
        stream.subscribe((b) => b.receipt.release());
        if (ref !== DEAD_LETTER_STREAM && !ref.includes('.')) this.logger.warn({ component: ref }, 'component output has no consumer; its events are discarded');
        return;
      }
      streams.set(ref, k === 1 ? stream : stream.pipe(tap((b) => b.receipt.retain(k - 1)), share()));
    };

    for (const [i, c] of def.sources.entries()) {
      const created = this.sources[i]!;
      const tracker = new SourceTracker(c.id, this.restored[c.id], def.settings.max_in_flight_batches, (id, err) => this.fail(err), (d) => created.telemetry.inFlight(d));
      tracker.collectsOrphans = this.atomic;
      this.trackers.set(c.id, tracker);
      const restoredPosition = this.restored[c.id]?.position ?? undefined;
      const base = connectable(sourceBatches(created.instance, restoredPosition, tracker, created.telemetry, this.sourcesStop.signal), {
        connector: () => new Subject<Batch>(),
        resetOnDisconnect: false,
      });
      connectables.push(base);
      publish(c.id, base.pipe(extractDead(c.id, created.telemetry)));
    }
    const inputOf = (refs: readonly string[]): Observable<Batch> => {
      const parts = refs.map((r) => (r === DEAD_LETTER_STREAM ? deadSubject : streams.get(r)!));
      return parts.length === 1 ? parts[0]! : merge(...parts);
    };
    for (const [i, c] of def.transforms.entries()) {
      const created = this.operators[i]!;
      const t = created.telemetry;
      const out = inputOf(c.inputs).pipe(
        tap((b) => t.eventsIn(b.events.length)),
        created.instance.apply,
        tap((b) => t.eventsOut(b.events.length)),
        extractDead(c.id, t),
      );
      const outputs = c.plugin.outputs?.(c.config as never) ?? [];
      if (outputs.length === 0) {
        publish(c.id, out);
      } else {
        const shared = out.pipe(share());
        publish(c.id, shared.pipe(filter((b) => b.output === undefined)));
        for (const o of outputs) publish(`${c.id}.${o}`, shared.pipe(filter((b) => b.output === o)));
      }
    }

    const sinkOptions = {
      maxRetries: def.settings.sink_max_retries,
      backoff: SINK_BACKOFF,
      signal: this.hardStop.signal,
      onFatal: (err: unknown) => this.fail(err),
    };
    const runners: Promise<void>[] = [];
    let deadConsumed = false;
    for (const [i, c] of def.sinks.entries()) {
      const created = this.sinks[i]!;
      const takesDead = c.inputs.includes(DEAD_LETTER_STREAM);
      deadConsumed ||= takesDead;
      if (!takesDead) producers++;
      const runner = new SinkRunner(c.id, created.instance, created.telemetry, created.ctx.logger, {
        ...sinkOptions,
        ...(created.instance.ownsCheckpoints ? { atomicWrites: this.atomicWrites } : {}),
        deadLetter: takesDead
          ? (dead, batch) => {
              // A sink that writes dead letters cannot feed its own refusals back to itself.
              created.ctx.logger.error({ count: dead.length, reason: dead[0]?.reason }, 'dead-letter sink refused records');
              batch.receipt.release();
            }
          : (dead, batch) => toDead(c.id, dead, batch),
      });
      const finished = runner.consume(inputOf(c.inputs));
      runners.push(takesDead ? finished : finished.finally(producerDone));
    }
    if (!deadConsumed) {
      const telemetry = new ComponentTelemetry(DEAD_LETTER_STREAM, 'dead_letter_file', 'sink');
      this.telemetry.set(DEAD_LETTER_STREAM, telemetry);
      const sink = new DeadLetterFileSink(resolve(def.deadLetterPath));
      const logger = this.logger.child({ component: DEAD_LETTER_STREAM });
      this.sinks.push({ id: DEAD_LETTER_STREAM, instance: sink, telemetry, ctx: undefined as never });
      const runner = new SinkRunner(DEAD_LETTER_STREAM, sink, telemetry, logger, {
        ...sinkOptions,
        deadLetter: (_dead, batch) => batch.receipt.release(),
      });
      runners.push(runner.consume(deadSubject));
    }
    if (producers === 0) deadSubject.complete();

    void Promise.all(runners).then(
      () => this.finish(),
      (err) => {
        this.fail(err);
        return this.finish();
      },
    );
    for (const c of connectables) c.connect();
  }

  /**
   * What an exactly-once sink commits with a group of batches: the state staged on them, writes
   * orphaned by batches that settled without reaching the sink, and the checkpoints as they will
   * be once `settling` settle.
   */
  private atomicWrites = (settling: readonly SourceReceipt[], all: readonly SourceReceipt[]): StagedWrite[] => {
    const seqs = new Map<string, Set<number>>();
    for (const r of settling) {
      let set = seqs.get(r.source);
      if (!set) seqs.set(r.source, (set = new Set()));
      set.add(r.seq);
    }
    const writes: StagedWrite[] = [];
    const checkpoints: Record<string, StoredCheckpoint> = { ...this.restored };
    for (const [id, tracker] of this.trackers) {
      writes.push(...tracker.takeOrphanWrites());
      checkpoints[id] = tracker.checkpointAfter(seqs.get(id) ?? new Set());
    }
    for (const r of all) writes.push(...r.takeStaged());
    writes.push({ kind: 'set', key: CHECKPOINTS_KEY, value: checkpoints as unknown as JsonValue });
    return writes;
  };

  /**
   * Writes the checkpoints every sink has durably passed, after the operators persisted their
   * state. The checkpoints are taken before the hooks run (what the hooks persist covers them);
   * the final commit takes them again after, for the holds the hooks released.
   */
  commit(final = false): Promise<void> {
    const next = this.commitChain.then(async () => {
      if (!this.state) return;
      const take = () => {
        const snapshot: Record<string, StoredCheckpoint> = { ...this.restored };
        for (const [id, tracker] of this.trackers) snapshot[id] = tracker.checkpoint;
        return snapshot;
      };
      let snapshot = take();
      // The hooks run even when the checkpoints did not move: an operator's holds may be what
      // keeps them, waiting for the hooks to see the last commit.
      // Downstream first (operators register in topological order): an operator that takes over
      // an event from one upstream (correlate after correlate) makes it durable before the
      // upstream one forgets it, so a crash between the two writes repeats it instead of losing it.
      for (let i = this.commitHooks.length - 1; i >= 0; i--) await this.commitHooks[i]!({ final });
      if (final) snapshot = take();
      const text = JSON.stringify(snapshot);
      if (text === this.lastCommitted) return;
      // An exactly-once sink stored these checkpoints with its data; writing them again could race it.
      if (!this.sinks.some((s) => s.instance.ownsCheckpoints)) await this.state.set(CHECKPOINTS_KEY, snapshot as unknown as JsonValue);
      const now = Date.now();
      for (const [id, tracker] of this.trackers) {
        const t = tracker.committedEventTimeMs;
        if (!Number.isNaN(t)) this.telemetry.get(id)!.checkpointLag((now - t) / 1000);
      }
      this.committedSeq = Object.fromEntries(Object.entries(snapshot).map(([id, c]) => [id, c.seq]));
      this.committedPositions = Object.fromEntries(Object.entries(snapshot).map(([id, c]) => [id, c.position]));
      this.lastCommitted = text;
      if (!this.progressLogged && Object.entries(snapshot).some(([id, c]) => c.seq > (this.restored[id]?.seq ?? 0))) {
        this.progressLogged = true;
        this.logger.info({ checkpoints: snapshot }, 'first checkpoint committed');
      }
    });
    this.commitChain = next.catch(() => {});
    return next;
  }

  private finished = false;
  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.commitTimer);
    clearInterval(this.keepAlive);
    let commitError: unknown;
    try {
      await this.untilAborted(async () => {
        await this.commit(true);
        // Holds that wait for a commit (an operator's events that left under another batch's
        // positions) end in the hooks of the next one: a second round lets the checkpoints pass them.
        await this.commit(true);
      });
    } catch (err) {
      commitError = err;
    }
    // A hook or a sink's close that never returns must not keep `done` from settling once
    // abort() (or shutdown_timeout) gave up: what was committed stays committed.
    await this.untilAborted(() => this.closeAll()).catch(() => {});
    this.unlistenSignal();
    const result: PipelineResult = { stats: this.stats(), checkpoints: Object.fromEntries([...this.trackers].map(([id, t]) => [id, t.checkpoint])) };
    const error = this.fatal ?? commitError;
    for (const t of this.telemetry.values()) t.dispose();
    this.ended = error === undefined ? {} : { error: (error as Error)?.message ?? String(error) };
    if (error !== undefined) {
      this.rejectDone(error);
    } else {
      this.logger.info({ checkpoints: result.checkpoints }, 'pipeline finished');
      this.resolveDone(result);
    }
  }

  /**
   * Runs `work`; once the pipeline is aborted (before or during it), gives it ABORT_GRACE_MS more
   * and then gives up on it, rejecting with the abort reason: closing what can be closed is worth
   * a moment, waiting for ever on a stuck hook or sink is not.
   */
  private untilAborted(work: () => Promise<void>): Promise<void> {
    const signal = this.hardStop.signal;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      timer = setTimeout(() => giveUp(signal.reason), ABORT_GRACE_MS);
      timer.unref();
    };
    let giveUp!: (reason: unknown) => void;
    const gaveUp = new Promise<never>((_, reject) => (giveUp = reject));
    if (signal.aborted) arm();
    else signal.addEventListener('abort', arm, { once: true });
    return Promise.race([work(), gaveUp]).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', arm);
    });
  }

  private closed = false;
  private async closeAll(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const safely = async (id: string, fn: () => Promise<void> | undefined): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.logger.error({ component: id, err }, 'error while closing');
        if (this.fatal === undefined) this.fatal = err;
      }
    };
    for (const s of this.sinks) {
      await safely(s.id, () => s.instance.flush?.());
      await safely(s.id, () => s.instance.close());
    }
    for (const o of this.operators) await safely(o.id, () => o.instance.close?.());
    for (const s of this.sources) await safely(s.id, () => s.instance.close?.());
    await safely('state', () => this.state?.close());
  }

  stop(): Promise<PipelineResult> {
    return (this.stopping ??= (async () => {
      this.logger.info('stopping: draining in-flight batches');
      this.sourcesStop.abort(new PipelineError('PIPELINE_STOPPED', 'pipeline stopping'));
      for (const t of this.trackers.values()) t.releaseWaiters();
      if (!this.started) {
        this.finished = true;
        await this.closeAll();
        const result = { stats: this.stats(), checkpoints: {} };
        this.resolveDone(result);
        return result;
      }
      await this.started.catch(() => {});
      const timeout = setTimeout(() => {
        this.logger.error({ timeoutMs: this.definition.settings.shutdown_timeout }, 'graceful stop timed out; aborting in-flight work');
        this.abort();
      }, this.definition.settings.shutdown_timeout);
      timeout.unref();
      try {
        return await this.done;
      } finally {
        clearTimeout(timeout);
      }
    })());
  }

  abort(): void {
    this.sourcesStop.abort(new PipelineError('PIPELINE_STOPPED', 'pipeline stopping'));
    this.hardStop.abort(new PipelineError('PIPELINE_ABORTED', 'pipeline aborted'));
    for (const t of this.trackers.values()) t.releaseWaiters();
    if (this.fatal === undefined) this.fatal = new PipelineError('PIPELINE_ABORTED', 'pipeline aborted before in-flight batches drained');
    // Sinks stuck in a write would hold `done` forever; finish without them.
    void this.finish();
  }
}
