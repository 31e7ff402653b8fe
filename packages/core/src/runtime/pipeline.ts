import { ReplaySubject, type Observable } from 'rxjs';
import { setMaxListeners } from 'node:events';
import { ConfigError, errorKind, PipelineError } from '../errors.js';
import { createLogger, SecretRedactor, type Logger } from '../logger.js';
import type { CallEvent } from '../event.js';
import type { AnyPlugin, Operator, OperatorContext, Sink, Source } from '../plugin.js';
import { PluginRegistry } from '../registry.js';
import { STRICT_RECEIPTS } from '../receipt.js';
import { isAtomicStateStore, scopeState, type StateStore } from '../state/state-store.js';
import { ComponentTelemetry, type ComponentHealth, type ComponentStats, type ErrorNote } from '../telemetry.js';
import { upgradeCheckpoints } from './checkpoint-versions.js';
import { checkPositions, checkStoredCheckpoints } from './stored-checkpoints.js';
import { CHECKPOINTS_KEY, CommitCoordinator, loggableCheckpoints } from './commit-coordinator.js';
import { GraphBuilder, type Created } from './graph-builder.js';
import { DeadLetterLedger, type DeadLetterReport } from './dead-letter-ledger.js';
import { deadLetterDestination } from './dead-letter-summary.js';
import { EventOwnership } from './event-ownership.js';
import { OutputTaps, outputRefs } from './output-taps.js';
import { Lifecycle } from './lifecycle.js';
import { sourceSplit, spreadSplit, TaskPipeline } from './task-pipeline.js';
import { directoryStatePlugin } from '../state/directory-state-plugin.js';
import { corePlugins } from '../builtins.js';
import { exactlyOnceSinksMessage, resolvePipeline, resolvePipelineFile, type ResolvedPipeline } from './resolve-pipeline.js';
import type { StoredCheckpoint } from './source-tracker.js';
import { systemClock, type Clock, type Timer } from '../util/clock.js';

/** After abort(), how long the final commit and the closing of components may still take before `done` settles without them. */
export const ABORT_GRACE_MS = 1_000;

/** Options of {@link createPipeline} and {@link loadPipeline}. */
export interface PipelineOptions {
  /** Plugins the pipeline may use. Default: core's built-ins only (the CLI adds every package's). */
  plugins?: PluginRegistry | readonly AnyPlugin[];
  /** Root logger. Default: pino to stderr, JSON unless stderr is a TTY. */
  logger?: Logger;
  /**
   * The redactor of `logger`, when the host made one: secrets that components find later (an
   * `accounts_file` read again) are added to it, so they stay out of log lines too.
   */
  redactor?: SecretRedactor;
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
  /**
   * A receipt released more often than it was retained (a plugin bug that lets a checkpoint pass
   * a batch early) throws at the release. Default: under a test runner (`VITEST`, `NODE_ENV=test`);
   * otherwise it is logged (`RECEIPT_RELEASED_TWICE`) and counted as an error of the source.
   */
  strictReceipts?: boolean;
  /** Where the pipeline and its components read the time and wait (commit interval, timeouts, polls, backoff). Default: the system clock; tests pass a FakeClock. */
  clock?: Clock;
}

/** What `done` and `stop()` resolve with: final counters, the checkpoints as committed, and the run's dead letters. */
export interface PipelineResult {
  stats: Record<string, ComponentStats>;
  checkpoints: Record<string, StoredCheckpoint>;
  /**
   * How many records components refused in this run (to the dead-letter output), per code and
   * component, against the records the sources read; `expected` is false when that is more than
   * the pipeline's `dead_letter` section allows (`plumline run` then ends with exit status 3).
   */
  deadLetters: DeadLetterReport;
  /**
   * Accounts of sources of many accounts that were given up on (a bounded run: refused
   * credentials, an error that persisted), per source, every one named: the other accounts
   * were read to their end (`plumline run` then ends with exit status 4).
   */
  failedTenants?: Record<string, FailedTenant[]>;
}

/** An account given up on: its name and the error, as the views show it. */
export interface FailedTenant {
  account: string;
  error?: ErrorNote;
}

/** The checkpoints as stored at one commit (`Pipeline.committed$`). */
export interface CommittedCheckpoints {
  /** When they were stored (epoch milliseconds). */
  atMs: number;
  /** Per source id (per `<task id>/<source id>` in a pipeline with a task per partition). */
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
  /** Sources read again what they read from files when made (`accounts_file`): SIGHUP under `plumline run`. Resolves when every source has. */
  reload?(): Promise<void>;
  /** Settles when the pipeline finished: resolves after a clean end or stop, rejects with the error that failed it. */
  readonly done: Promise<PipelineResult>;
  /** Per-component counters, live. */
  stats(): Record<string, ComponentStats>;
  /**
   * The events leaving a source or transform (`id`, or `id.output` for a named output; or
   * `dead_letter`, every refused record as a dead-letter event), from
   * the moment of subscribing; completes when the pipeline ends, errors when it fails. Subscribe
   * before `start()` to see every event. The observer runs inline, as each batch passes: a slow
   * one slows the pipeline (that is the back-pressure), and it must not throw. Observing takes
   * no part in acknowledgements: events count as delivered when the sinks have them, observed or
   * not. Throws PIPELINE_UNKNOWN_OUTPUT for a reference the pipeline does not have, and for the
   * bare id of a component with named outputs (`route`: observe `id.name`).
   *
   * @example
   * pipeline.output$('masked').pipe(filter((e) => e.kind === 'call')).subscribe((e) => console.log(e.id));
   */
  output$(ref: string): Observable<CallEvent>;
  /**
   * The checkpoints each time they are durably stored (at most once per `runtime.commit_interval`,
   * only when one moved, and at the end): a host's hook for "committed up to here". A new
   * subscriber gets the last stored set first (the restored one until the first commit, once
   * started); completes when the pipeline ends. Like `output$`, the observer runs inline and must
   * not throw.
   *
   * @example
   * pipeline.committed$.subscribe(({ checkpoints }) => console.log(Object.keys(checkpoints)));
   */
  readonly committed$: Observable<CommittedCheckpoints>;
  /**
   * For readiness probes: ready once every component was created and started, and while no
   * component is failing (a sink retrying a failed write, or one stalled past `runtime.stall_timeout`).
   */
  health(): PipelineHealth;
}

/** What `health()` returns, for readiness and liveness probes. */
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
  return pipelineFor(def, options);
}

/**
 * Creates a pipeline from YAML text or an object with the same shape. Validation happens
 * here (throws {@link ConfigErrors} with located errors); nothing runs until `start()`.
 */
export async function createPipeline(input: string | object, options: PipelineOptions = {}): Promise<Pipeline> {
  const registry = toRegistry(options.plugins);
  const def = await resolvePipeline(input, { registry, env: options.env, file: options.file, baseDir: options.baseDir, stateStoreGiven: options.stateStore !== undefined });
  return pipelineFor(def, options);
}

/** The runtime for a definition: one pipeline, or a copy per task when it splits into tasks (`spread:`, or a source's SourcePlugin.tasks). */
function pipelineFor(def: ResolvedPipeline, options: PipelineOptions): Pipeline {
  const split = spreadSplit(def) ?? sourceSplit(def);
  if (!split) return new PipelineRuntime(def, options);
  return new TaskPipeline(def, options, split, (d, o) => new PipelineRuntime(d, o));
}

function toRegistry(plugins: PipelineOptions['plugins']): PluginRegistry {
  if (plugins instanceof PluginRegistry) return plugins;
  // The default `state: directory` resolves whatever else the list holds.
  const list = plugins ?? corePlugins;
  return new PluginRegistry(list.some((p) => p.kind === 'state' && p.type === 'directory') ? list : [...list, directoryStatePlugin]);
}

class PipelineRuntime implements Pipeline {
  readonly id: string;
  readonly done: Promise<PipelineResult>;
  /**
   * Where it is in its life (see Lifecycle): a start that fails, stop() or abort() before
   * start(), a source that ends, a fatal error or a stop all lead through finishing (final
   * commit, close) to ended.
   */
  private readonly life: Lifecycle<PipelineResult>;
  private readonly logger: Logger;
  private readonly redactor = new SecretRedactor();
  /** Aborted when the sources must stop reading (stop, abort). */
  private readonly sourcesStop = new AbortController();
  /** Aborted when in-flight work is given up (abort, shutdown_timeout). */
  private readonly hardStop = new AbortController();
  private readonly telemetry = new Map<string, ComponentTelemetry>();
  private readonly taps: OutputTaps;
  /** Which operators may change the events they are handed in place (set once the components exist). */
  private ownership: EventOwnership | undefined;
  private readonly stored = new ReplaySubject<CommittedCheckpoints>(1);
  readonly committed$ = this.stored.asObservable();
  private readonly deadLetters: DeadLetterLedger;
  /** An exactly-once sink commits every batch's output, checkpoints and staged state atomically. */
  private readonly atomic: boolean;
  private state: StateStore | undefined;
  private commits: CommitCoordinator | undefined;
  private sources: Created<Source>[] = [];
  private operators: Created<Operator>[] = [];
  private sinks: Created<Sink>[] = [];
  private readonly clock: Clock;

  constructor(
    readonly definition: ResolvedPipeline,
    private readonly options: PipelineOptions,
  ) {
    this.id = definition.id;
    this.clock = options.clock ?? systemClock;
    this.atomic = definition.sinks.some((s) => s.bound.atomicProblems(undefined) !== undefined);
    this.taps = new OutputTaps(outputRefs(definition));
    // Many concurrent waits (sink retries, source sleeps) listen on these signals at once.
    setMaxListeners(0, this.sourcesStop.signal, this.hardStop.signal);
    for (const s of definition.secrets) this.redactor.add(s);
    this.logger = (options.logger ?? createLogger({ redactor: this.redactor })).child({ pipeline: this.id });
    this.deadLetters = new DeadLetterLedger(this.logger, { destination: deadLetterDestination(definition), now: () => this.clock.now() });
    this.life = new Lifecycle(
      `pipeline "${this.id}"`,
      {
        start: () => this.doStart(),
        stopRequested: () => this.stopSources(),
        drain: () => this.drain(),
        finish: (started) => this.finish(started),
        onFail: (err) => this.logger.error({ err }, 'pipeline failed; stopping'),
        ended: (err) => {
          this.taps.end(err);
          this.stored.complete();
        },
      },
      options.signal,
    );
    this.done = this.life.done;
  }

  output$(ref: string): Observable<CallEvent> {
    return this.taps.observe(ref);
  }

  /** The run's dead letters against what its sources read (events emitted and records refused). */
  private deadLetterReport(): DeadLetterReport {
    let read = 0;
    for (const c of this.definition.sources) {
      const s = this.telemetry.get(c.id)?.stats;
      if (s) read += s.eventsOut + s.deadLettered;
    }
    return this.deadLetters.report(read, this.definition.deadLetterMaxRatio);
  }

  stats(): Record<string, ComponentStats> {
    const out: Record<string, ComponentStats> = {};
    for (const [id, t] of this.telemetry) out[id] = { ...t.stats };
    return out;
  }

  /** `failedTenants` of the result, when any account was given up on. */
  private failedTenants(): Pick<PipelineResult, 'failedTenants'> {
    const out: Record<string, FailedTenant[]> = {};
    for (const [id, t] of this.telemetry) {
      const failed = t.givenUpTenants();
      if (failed.length) out[id] = failed.map((n) => ({ account: n.account, ...(n.error ? { error: n.error } : {}) }));
    }
    return Object.keys(out).length ? { failedTenants: out } : {};
  }

  health(): PipelineHealth {
    const stallMs = this.definition.settings.stall_timeout;
    const components: Record<string, ComponentHealth> = {};
    for (const [id, t] of this.telemetry) components[id] = t.health(stallMs);
    const started = this.life.started;
    const finished = this.life.phase === 'ended';
    const failure = this.life.failure;
    return { started, finished, ...(finished && failure !== undefined ? { error: (failure as Error)?.message ?? String(failure) } : {}), ready: started && !finished && Object.values(components).every((c) => c.ok), components };
  }

  start(): Promise<void> {
    return this.life.start();
  }

  private context(id: string, type: string, kind: 'source' | 'transform' | 'sink', signal: AbortSignal): OperatorContext {
    const telemetry = new ComponentTelemetry(id, type, kind, this.clock);
    this.telemetry.set(id, telemetry);
    const commits = this.commits!;
    return {
      id,
      type,
      clock: this.clock,
      logger: this.logger.child({ component: id }),
      meter: telemetry.meter,
      tracer: telemetry.tracer,
      telemetry,
      signal,
      state: scopeState(this.state!, id),
      once: this.options.once ?? false,
      baseDir: this.definition.baseDir,
      pipelineId: this.definition.id,
      addSecrets: (values) => {
        for (const v of values) (this.options.redactor ?? this.redactor).add(v);
      },
      ...(kind === 'source' && this.definition.shard ? { shard: this.definition.shard } : {}),
      reportError: (error) => this.reportError(id, error),
      atomicState: isAtomicStateStore(this.state!) ? this.state : undefined,
      atomicCommits: this.atomic,
      stage: (receipt, write) => receipt.stage({ ...write, key: `${id}/${write.key}` }),
      onCommit: (hook) => commits.onCommit(hook),
      holdCheckpoint: commits.holdCheckpoint,
      isCommitted: commits.isCommitted,
      committedPosition: () => commits.committedPosition(id),
      ownsEvents: () => this.ownership?.owns(id) ?? false,
    };
  }

  private reportError(component: string, error: unknown): void {
    const transient = errorKind(error) === 'transient';
    this.telemetry.get(component)?.error(error, transient);
    // No retry loop bounds a background error: only a transient one is let pass (see errorKind).
    if (transient) {
      this.logger.warn({ component, err: error }, 'background error (will retry)');
      return;
    }
    this.life.fail(error);
  }

  private async doStart(): Promise<void> {
    const def = this.definition;
    this.state =
      this.options.stateStore ??
      (await def.state.bound.create({ logger: this.logger.child({ component: 'state' }), baseDir: process.cwd(), pipelineId: def.id, sourceIds: def.sources.map((s) => s.id), clock: this.clock }));
    await this.state.open();
    const where = this.state.location ?? `the ${def.state.plugin.type} state store`;
    const stored = checkStoredCheckpoints(await this.state.get(CHECKPOINTS_KEY), where);
    const restored = upgradeCheckpoints(def.sources, stored);
    checkPositions(def.sources, restored, where);
    this.commits = new CommitCoordinator(this.state, restored, this.logger, (id) => this.telemetry.get(id), () => this.sinks.some((s) => s.instance.ownsCheckpoints), this.clock);
    this.stored.next({ atMs: this.clock.now(), checkpoints: restored });
    this.commits.onStored = (checkpoints) => this.stored.next({ atMs: this.clock.now(), checkpoints });
    await this.createComponents();
    this.ownership = new EventOwnership(def, this.sources, this.operators, this.taps);
    this.checkExactlyOnce();
    const graph = new GraphBuilder({
      definition: def,
      sources: this.sources,
      operators: this.operators,
      sinks: this.sinks,
      commits: this.commits,
      logger: this.logger,
      addTelemetry: (t) => this.telemetry.set(t.componentId, t),
      atomic: this.atomic,
      sourcesStop: this.sourcesStop.signal,
      hardStop: this.hardStop.signal,
      fail: (err) => this.life.fail(err),
      strictReceipts: this.options.strictReceipts ?? STRICT_RECEIPTS,
      taps: this.taps,
      deadLetters: this.deadLetters,
      clock: this.clock,
    }).build();
    this.sinks.push(...graph.implicitSinks);
    void graph.finished.then(
      () => this.life.finish(),
      (err) => {
        this.life.fail(err);
        return this.life.finish();
      },
    );
    graph.connect();
    // The commit loop holds the process open while the pipeline runs, even while every other
    // wait is on a timer that does not; it ends at finish().
    this.commits.startTimer(def.settings.commit_interval, (err) => this.reportError('state', err));
    this.logger.info({ sources: def.sources.length, transforms: def.transforms.length, sinks: def.sinks.length, once: this.options.once ?? false, checkpoints: loggableCheckpoints(this.commits.restored) }, 'pipeline started');
  }

  /** Creates sources, operators and sinks in that order, each with its context. */
  private async createComponents(): Promise<void> {
    const def = this.definition;
    for (const c of def.sources) {
      const ctx = this.context(c.id, c.plugin.type, 'source', this.sourcesStop.signal);
      const instance = await c.bound.create(ctx);
      this.sources.push({ id: c.id, instance, telemetry: this.telemetry.get(c.id)!, logger: ctx.logger });
      const committed = instance.committed?.bind(instance);
      if (committed) this.commits!.onSourceCommitted(c.id, committed);
      if (this.options.once && !instance.bounded) {
        const end = c.plugin.endHint;
        throw new ConfigError('CONFIG_NOT_BOUNDED', `source "${c.id}" (${c.plugin.type}) never ends, so it cannot run with --once: ${end ? `give it an end (${end}), or run without --once` : 'run it without --once'}`, {
          fields: { component: c.id },
        });
      }
    }
    for (const c of def.transforms) {
      const ctx = this.context(c.id, c.plugin.type, 'transform', this.hardStop.signal);
      this.operators.push({ id: c.id, instance: await c.bound.create(ctx), telemetry: this.telemetry.get(c.id)!, logger: ctx.logger });
    }
    for (const c of def.sinks) {
      const ctx = this.context(c.id, c.plugin.type, 'sink', this.hardStop.signal);
      this.sinks.push({ id: c.id, instance: await c.bound.create(ctx), telemetry: this.telemetry.get(c.id)!, logger: ctx.logger });
    }
  }

  /** What only the created components can tell: an exactly-once sink must be alone and have no event-holding operator before it. */
  private checkExactlyOnce(): void {
    const owners = this.sinks.filter((s) => s.instance.ownsCheckpoints);
    if (owners.length === 0) return;
    if (this.definition.sinks.length > 1) {
      throw new ConfigError('CONFIG_EXACTLY_ONCE_SINKS', exactlyOnceSinksMessage(owners[0]!.id), { fields: { component: owners[0]!.id } });
    }
    const holder = this.operators.find((o) => o.instance.holdsEvents);
    if (holder) {
      throw new ConfigError(
        'CONFIG_EXACTLY_ONCE_HOLDING_OPERATOR',
        `sink "${owners[0]!.id}" is exactly-once, but "${holder.id}" keeps events across batches and holds checkpoints back, which an exactly-once sink (storing the checkpoint with each batch) would pass: use the sink without exactly_once after "${holder.id}" (a dedupe before it removes what a restart repeats)`,
        { fields: { component: holder.id } },
      );
    }
  }

  /** Final commit (once the start completed) and close every component: the lifecycle's finish, run once whatever ended the pipeline. */
  private async finish(started: boolean): Promise<PipelineResult> {
    this.commits?.stopTimer();
    let commitError: unknown;
    try {
      if (started) await this.untilAborted(() => this.commits?.commitFinal() ?? Promise.resolve());
    } catch (err) {
      commitError = err;
    }
    // A hook or a sink's close that never returns must not keep `done` from settling once
    // abort() (or shutdown_timeout) gave up: what was committed stays committed.
    await this.untilAborted(() => this.closeAll()).catch(() => {});
    this.deadLetters.finish();
    const result: PipelineResult = { stats: this.stats(), checkpoints: this.commits?.checkpoints() ?? {}, deadLetters: this.deadLetterReport(), ...this.failedTenants() };
    for (const t of this.telemetry.values()) t.dispose();
    // An error that failed the pipeline, or one of closing, goes before the final commit's.
    if (commitError !== undefined) throw commitError;
    if (started && this.life.failure === undefined) {
      const { count, byCode, byComponent } = result.deadLetters;
      this.logger.info({ checkpoints: loggableCheckpoints(result.checkpoints), ...(count ? { deadLettered: { count, byCode, byComponent } } : {}) }, 'pipeline finished');
    }
    return result;
  }

  /**
   * Runs `work`; once the pipeline is aborted (before or during it), gives it ABORT_GRACE_MS more
   * and then gives up on it, rejecting with the abort reason: closing what can be closed is worth
   * a moment, waiting for ever on a stuck hook or sink is not.
   */
  private untilAborted(work: () => Promise<void>): Promise<void> {
    const signal = this.hardStop.signal;
    let timer: Timer | undefined;
    const arm = (): void => {
      timer = this.clock.setTimeout(() => giveUp(signal.reason), ABORT_GRACE_MS);
    };
    let giveUp!: (reason: unknown) => void;
    const gaveUp = new Promise<never>((_, reject) => (giveUp = reject));
    if (signal.aborted) arm();
    else signal.addEventListener('abort', arm, { once: true });
    return Promise.race([work(), gaveUp]).finally(() => {
      timer?.cancel();
      signal.removeEventListener('abort', arm);
    });
  }

  /** Flushes and closes sinks, then operators, sources and the state store (once: the lifecycle finishes once). */
  private async closeAll(): Promise<void> {
    const safely = async (id: string, fn: () => Promise<void> | undefined): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.logger.error({ component: id, err }, 'error while closing');
        this.life.recordFailure(err);
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
    return this.life.stop();
  }

  /** On the first stop (even while starting): sources stop reading, and nothing waits on the source trackers any more. */
  private stopSources(): void {
    this.logger.info('stopping: draining in-flight batches');
    this.sourcesStop.abort(new PipelineError('PIPELINE_STOPPED', 'pipeline stopping'));
    for (const t of this.commits?.trackers.values() ?? []) t.releaseWaiters();
  }

  /** Waits for the graph to end (its sources stopped), aborting in-flight work after `shutdown_timeout`. */
  private async drain(): Promise<void> {
    const timeout = this.clock.setTimeout(() => {
      this.logger.error({ timeoutMs: this.definition.settings.shutdown_timeout }, 'graceful stop timed out; aborting in-flight work');
      this.abort();
    }, this.definition.settings.shutdown_timeout);
    try {
      await this.done.catch(() => {});
    } finally {
      timeout.cancel();
    }
  }

  async reload(): Promise<void> {
    await Promise.all(this.sources.map(async (s) => { await s.instance.reload?.(); }));
  }

  abort(): void {
    this.sourcesStop.abort(new PipelineError('PIPELINE_STOPPED', 'pipeline stopping'));
    this.hardStop.abort(new PipelineError('PIPELINE_ABORTED', 'pipeline aborted'));
    for (const t of this.commits?.trackers.values() ?? []) t.releaseWaiters();
    this.life.recordFailure(new PipelineError('PIPELINE_ABORTED', 'pipeline aborted before in-flight batches drained'));
    // Sinks stuck in a write would hold `done` forever; finish without them.
    void this.life.finish();
  }
}
