import { ReplaySubject, type Observable, type Subscription } from 'rxjs';
import { ConfigError, PipelineError } from '../errors.js';
import type { CallEvent } from '../event.js';
import { createLogger, SecretRedactor, type Logger } from '../logger.js';
import type { TaskMembership } from '../plugin.js';
import type { ComponentHealth, ComponentStats } from '../telemetry.js';
import { mergeStats } from './merge-stats.js';
import { DeadLetterLedger, type DeadLetterReport } from './dead-letter-ledger.js';
import { OutputTaps, outputRefs } from './output-taps.js';
import { Lifecycle } from './lifecycle.js';
import type { CommittedCheckpoints, Pipeline, PipelineHealth, PipelineOptions, PipelineResult } from './pipeline.js';
import type { ResolvedPipeline } from './resolve-pipeline.js';
import type { StoredCheckpoint } from './source-tracker.js';
import { systemClock, type Timer } from '../util/clock.js';

/** Makes the pipeline that runs one task (the ordinary runtime, given a definition narrowed to the task). */
export type TaskRuntimeFactory = (definition: ResolvedPipeline, options: PipelineOptions) => Pipeline;

/**
 * How a pipeline splits into tasks that workers share and hand over: the partitions of a Kafka
 * source (`task_per_partition`, SourcePlugin.tasks) or the shares of its tenants (`spread:`,
 * StateStorePlugin.spread). One lifecycle runs either.
 */
export interface PipelineSplit {
  /** Who splits it, for log lines and errors: the source's id, or `spread`. */
  readonly component: string;
  /** What splits it, for errors: `source "raw" runs a task per partition`. */
  readonly describe: string;
  /** Called once when the pipeline starts: the membership that tells this worker its tasks. */
  membership(ctx: { readonly logger: Logger; readonly pipelineId: string }): TaskMembership;
  /** The definition of the copy that runs `task`, narrowed to its share (TaskPipeline gives it its id). */
  narrow(definition: ResolvedPipeline, task: number): ResolvedPipeline;
}

/** The split of a pipeline whose only source splits into tasks (SourcePlugin.tasks), or undefined. */
export function sourceSplit(definition: ResolvedPipeline): PipelineSplit | undefined {
  const source = definition.sources[0];
  const tasks = definition.sources.length === 1 ? source!.bound.tasks() : undefined;
  if (!source || !tasks) return undefined;
  return {
    component: source.id,
    describe: `source "${source.id}" runs a task per partition`,
    membership: ({ logger, pipelineId }) => tasks.membership({ logger, pipelineId, sourceId: source.id }),
    narrow: (def, task) => ({ ...def, sources: [{ ...source, ...tasks.forTask(task) }] }),
  };
}

/** The split of a pipeline with `spread:`: a copy per share of its tenants, its sources reading that share (ComponentContext.shard). */
export function spreadSplit(definition: ResolvedPipeline): PipelineSplit | undefined {
  const spread = definition.spread;
  if (!spread) return undefined;
  return {
    component: 'spread',
    describe: `spread: shares the tenants among workers (a copy per share)`,
    membership: (ctx) => spread.tenants.membership(ctx),
    narrow: (def, task) => {
      const { spread: _whole, ...rest } = def;
      return { ...rest, shard: spread.tenants.shard(task) };
    },
  };
}

/** Error codes with which a task ends because another worker took it over: a handover, not a failure. */
const HANDED_OVER = new Set(['STATE_FENCED']);
/**
 * How long after its copy was fenced a worker that still holds the task starts it again. The
 * fencer was another worker's copy that started before a rebalance took the task from it and
 * finished opening after ours did; it is being stopped there. The wait lets a rebalance that
 * also took the task from this worker arrive first.
 */
export const RELAUNCH_AFTER_FENCED_MS = 1_000;

/** Whether `error`, or an error it wraps (a sink's failed write wraps the store's), says another worker took the task over. */
function handedOver(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && HANDED_OVER.has(code)) return true;
  }
  return false;
}

interface Task {
  readonly id: number;
  readonly pipeline: Pipeline;
  /** Output references forwarded from this task to the observers of the whole pipeline. */
  readonly forwarded: Map<string, Subscription>;
  /** Taken from this worker (or the worker stops): its end is expected. */
  released: boolean;
}

/**
 * A pipeline that splits into tasks (see {@link PipelineSplit}: a Kafka source's partitions, or
 * `spread:`'s shares of tenants): it joins the split's group and runs a copy of the pipeline per
 * task the group gives this worker, as Kafka Streams runs a task per partition. A copy is the ordinary runtime with its own id (`<id>-p<task>`),
 * so its checkpoint, operator state and transactions are its own and go with the task.
 *
 * A task taken away is stopped as a pipeline stops: its in-flight batches drained, its sinks
 * flushed, its checkpoint committed; the worker that takes it over starts from that checkpoint.
 * When the new owner claims the task first (its state store fences the old one), the old copy
 * ends with STATE_FENCED, which here means "handed over", and what it had not committed is read
 * again by the new owner. A copy fenced while the group still gives its task to this worker was
 * fenced by a copy elsewhere that was still starting when the task left that worker: it is started
 * again (RELAUNCH_AFTER_FENCED_MS), or nobody would read the partition. Any other error of a task
 * fails the whole pipeline.
 */
export class TaskPipeline implements Pipeline {
  readonly id: string;
  readonly done: Promise<PipelineResult>;
  /** The same lifecycle as each copy's: the start joins the group, the drain stops every task, the finish leaves the group. */
  private readonly life: Lifecycle<PipelineResult>;
  private readonly logger: Logger;
  /** The caller's logger: each copy tags its lines with its own pipeline id. */
  private readonly rootLogger: Logger;
  private readonly taps: OutputTaps;
  private readonly tasks = new Map<number, Task>();
  /** Counters of the tasks that ended, so that totals do not drop when a task moves away. */
  private endedStats: Record<string, ComponentStats> = {};
  /** Dead letters of the tasks that ended. */
  private endedDeadLetters: DeadLetterReport[] = [];
  private readonly checkpoints: Record<string, StoredCheckpoint> = {};
  /** The last stored checkpoints of every task this worker ran, by `<task id>/<source id>`. */
  private readonly storedByTask: Record<string, StoredCheckpoint> = {};
  private readonly stored = new ReplaySubject<CommittedCheckpoints>(1);
  readonly committed$ = this.stored.asObservable();
  /** The tasks of the latest assignment. */
  private held = new Set<number>();
  /** Relaunches waiting (see RELAUNCH_AFTER_FENCED_MS), cleared when the pipeline stops. */
  private readonly relaunches = new Set<Timer>();
  /** Assignment changes, applied one after the other. */
  private changes: Promise<void> = Promise.resolve();
  private membership: TaskMembership | undefined;

  constructor(
    readonly definition: ResolvedPipeline,
    private readonly options: PipelineOptions,
    private readonly split: PipelineSplit,
    private readonly createTask: TaskRuntimeFactory,
  ) {
    this.id = definition.id;
    const redactor = new SecretRedactor();
    for (const secret of definition.secrets) redactor.add(secret);
    this.rootLogger = options.logger ?? createLogger({ redactor });
    this.logger = this.rootLogger.child({ pipeline: this.id });
    this.taps = new OutputTaps(outputRefs(definition));
    this.life = new Lifecycle(
      `pipeline "${this.id}"`,
      {
        start: () => this.doStart(),
        drain: () => this.drain(),
        finish: () => this.finish(),
        onFail: (err) => this.logger.error({ err }, 'pipeline failed; stopping every task'),
        ended: (err) => {
          this.taps.end(err);
          this.stored.complete();
        },
      },
      options.signal,
    );
    this.done = this.life.done;
  }

  /** The pipeline id of the copy that runs `task`. */
  static taskId(pipelineId: string, task: number): string {
    return `${pipelineId}-p${task}`;
  }

  start(): Promise<void> {
    return this.life.start();
  }

  private async doStart(): Promise<void> {
    const component = this.split.component;
    if (this.options.once) {
      throw new ConfigError('CONFIG_NOT_BOUNDED', `${this.split.describe} and never ends (tasks move between workers), so it cannot run with --once: run without --once`, { fields: { component } });
    }
    this.membership = this.split.membership({ logger: this.logger.child({ component }), pipelineId: this.id });
    await this.membership.join({
      assigned: (tasks) => this.enqueue(() => this.reassign(tasks)),
      failed: (err) => this.life.fail(err),
    });
    this.logger.info({ split: component }, 'pipeline started: a copy runs per task this worker is given');
  }

  private enqueue(change: () => Promise<void>): void {
    this.changes = this.changes.then(change).catch((err: unknown) => void this.life.fail(err));
  }

  /** Stops the tasks no longer this worker's (draining them), then starts the new ones. */
  private async reassign(wanted: readonly number[]): Promise<void> {
    if (this.life.reached('stopping')) return;
    const keep = new Set(wanted);
    this.held = keep;
    const gone = [...this.tasks.values()].filter((t) => !keep.has(t.id));
    const added = wanted.filter((t) => !this.tasks.has(t));
    this.logger.info({ tasks: [...keep].sort((a, b) => a - b), stopping: gone.map((t) => t.id), starting: added }, 'tasks assigned');
    await Promise.all(gone.map((t) => this.release(t)));
    for (const id of added) this.launch(id);
  }

  private launch(id: number): void {
    const definition: ResolvedPipeline = { ...this.split.narrow(this.definition, id), id: TaskPipeline.taskId(this.id, id) };
    const pipeline = this.createTask(definition, { ...this.options, signal: undefined, logger: this.rootLogger });
    const task: Task = { id, pipeline, forwarded: new Map(), released: false };
    this.tasks.set(id, task);
    for (const ref of this.taps.observedRefs()) this.forward(task, ref);
    // Ends with the task (committed$ completes then).
    pipeline.committed$.subscribe(({ atMs, checkpoints }) => {
      for (const [source, cp] of Object.entries(checkpoints)) this.storedByTask[`${pipeline.id}/${source}`] = cp;
      this.stored.next({ atMs, checkpoints: { ...this.storedByTask } });
    });
    void pipeline.done.then(
      (result) => this.ended(task, result, undefined),
      (err: unknown) => this.ended(task, undefined, err),
    );
    pipeline.start().catch(() => {});
  }

  private forward(task: Task, ref: string): void {
    if (task.forwarded.has(ref)) return;
    task.forwarded.set(ref, task.pipeline.output$(ref).subscribe({ next: (e) => this.taps.publish(ref, e), error: () => {} }));
  }

  /** Stops a task and waits for its end (a stop drains and commits; a fenced task ends at once). */
  private async release(task: Task): Promise<void> {
    task.released = true;
    await task.pipeline.stop().catch(() => {});
    // Gone now, whatever order `done`'s callbacks ran in: a later assignment may start it again.
    if (this.tasks.get(task.id) === task) this.tasks.delete(task.id);
  }

  private ended(task: Task, result: PipelineResult | undefined, error: unknown): void {
    if (this.tasks.get(task.id) === task) this.tasks.delete(task.id);
    for (const s of task.forwarded.values()) s.unsubscribe();
    this.endedStats = mergeStats([this.endedStats, result?.stats ?? task.pipeline.stats()]);
    if (result) this.endedDeadLetters = [DeadLetterLedger.merge([...this.endedDeadLetters, result.deadLetters], this.definition.deadLetterMaxRatio)];
    for (const [source, cp] of Object.entries(result?.checkpoints ?? {})) this.checkpoints[`${task.pipeline.id}/${source}`] = cp;
    if (error === undefined) {
      if (!task.released) this.logger.info({ task: task.id }, 'task finished');
      return;
    }
    if (handedOver(error)) {
      if (task.released || !this.held.has(task.id)) {
        this.logger.info({ task: task.id }, 'task taken over by another worker; what it had not committed is read again there');
        return;
      }
      // The group still gives the task to this worker: a copy elsewhere that was still starting
      // when the task left it fenced ours. Left alone, nobody would read the partition.
      this.logger.warn({ task: task.id, relaunchInMs: RELAUNCH_AFTER_FENCED_MS }, 'task fenced while this worker still holds it (by a copy elsewhere that was still starting); starting it again');
      this.relaunchLater(task.id);
      return;
    }
    this.life.fail(error);
  }

  private relaunchLater(id: number): void {
    const timer = (this.options.clock ?? systemClock).setTimeout(() => {
      this.relaunches.delete(timer);
      this.enqueue(async () => {
        if (!this.life.reached('stopping') && this.held.has(id) && !this.tasks.has(id)) this.launch(id);
      });
    }, RELAUNCH_AFTER_FENCED_MS);
    this.relaunches.add(timer);
  }

  output$(ref: string): Observable<CallEvent> {
    const observable = this.taps.observe(ref);
    for (const task of this.tasks.values()) this.forward(task, ref);
    return observable;
  }

  stats(): Record<string, ComponentStats> {
    return mergeStats([this.endedStats, ...[...this.tasks.values()].map((t) => t.pipeline.stats())]);
  }

  health(): PipelineHealth {
    const started = this.life.started;
    const finished = this.life.phase === 'ended';
    const components: Record<string, ComponentHealth> = {};
    for (const task of this.tasks.values()) {
      for (const [id, h] of Object.entries(task.pipeline.health().components)) {
        if (!components[id] || (components[id].ok && !h.ok)) components[id] = h.ok ? h : { ok: false, reason: `task ${task.id}: ${h.reason ?? 'failing'}` };
      }
    }
    const failure = this.life.failure;
    const error = finished && failure !== undefined ? { error: (failure as Error)?.message ?? String(failure) } : {};
    return { started, finished, ...error, ready: started && !finished && Object.values(components).every((c) => c.ok), components };
  }

  stop(): Promise<PipelineResult> {
    return this.life.stop();
  }

  /** Stops every task (draining and committing each) once the assignment changes under way are applied. */
  private async drain(): Promise<void> {
    this.logger.info({ tasks: [...this.tasks.keys()] }, 'stopping: draining every task');
    await this.changes;
    await Promise.all([...this.tasks.values()].map((t) => this.release(t)));
  }

  abort(): void {
    this.life.recordFailure(new PipelineError('PIPELINE_ABORTED', 'pipeline aborted before in-flight batches drained'));
    for (const t of this.tasks.values()) {
      t.released = true;
      t.pipeline.abort();
    }
    void this.stop().catch(() => {});
  }

  /** Leaves the group (the tasks already stopped): the lifecycle's finish. */
  private async finish(): Promise<PipelineResult> {
    for (const timer of this.relaunches) timer.cancel();
    this.relaunches.clear();
    await this.membership?.leave().catch((err: unknown) => this.logger.warn({ err }, 'leaving the task group failed; the group notices at its session timeout'));
    if (this.life.failure === undefined) this.logger.info('pipeline finished');
    return { stats: this.stats(), checkpoints: { ...this.checkpoints }, deadLetters: DeadLetterLedger.merge(this.endedDeadLetters, this.definition.deadLetterMaxRatio) };
  }
}
