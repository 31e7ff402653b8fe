import type { Meter, Tracer } from '@opentelemetry/api';
import type { OperatorFunction } from 'rxjs';
import type { z } from 'zod';
import type { Batch } from './batch.js';
import type { CallEvent, DeadLetter } from './event.js';
import type { Logger } from './logger.js';
import type { BatchPosition, Receipt } from './receipt.js';
import type { AtomicStateStore, ComponentState, StagedWrite, StateStore } from './state/state-store.js';
import type { PluginTelemetry } from './telemetry.js';
import type { Clock } from './util/clock.js';
import type { JsonValue } from './util/json.js';

/** What every component gets from the runtime when it is created. */
export interface ComponentContext {
  /** The component's name in the pipeline file. */
  readonly id: string;
  /** Its `type:`. */
  readonly type: string;
  /** Where the component reads the time and waits (sleeps, timeouts, intervals): the pipeline's clock (PipelineOptions.clock), a FakeClock in tests. */
  readonly clock: Clock;
  /** A child logger that tags each line with the component id; secrets are redacted. */
  readonly logger: Logger;
  /** OpenTelemetry meter and tracer (no-ops unless the host installed an SDK). */
  readonly meter: Meter;
  readonly tracer: Tracer;
  /** What the plugin counts beside what the runtime counts for it (retries, bytes, readiness, progress, request spans). */
  readonly telemetry: PluginTelemetry;
  /**
   * Aborted when this component must give up what it waits on: cancel waits, requests and
   * timers with it. One meaning, so its moment depends on the component's part in a stop: a
   * source's is aborted when the pipeline starts stopping (it must stop reading at once); an
   * operator's and a sink's only when the stop gives up on in-flight work (`abort()`, or
   * `shutdown_timeout` passed), since a graceful stop needs them to drain what is in flight.
   */
  readonly signal: AbortSignal;
  /** This component's slice of the pipeline's state store. */
  readonly state: ComponentState;
  /** True under `--once`: sources end at the end of their current range. */
  readonly once: boolean;
  /** The pipeline's id (`id:` in the file, else the file's base name). */
  readonly pipelineId: string;
  /** Directory of the pipeline file (or the working directory), for resolving relative paths. */
  readonly baseDir: string;
  /** Secret values the component found after the pipeline was resolved (an accounts file read again): redacted from log lines from now on. */
  addSecrets?(values: readonly string[]): void;
  /**
   * True when every position is covered by the checkpoints committed so far (at start: those
   * of the previous run). Components that keep their own durable records (file sink lengths,
   * dedupe keys) use it to keep only what the committed checkpoints cover.
   */
  isCommitted(positions: readonly BatchPosition[]): boolean;
  /**
   * For sources: the checkpoint position of this component committed last (what `read` would
   * get after a restart now). Sources with their own logs (a callback receiver's write-ahead
   * log) trim what it covers.
   */
  committedPosition(): JsonValue | undefined;
  /**
   * Reports an error from background work (timers, sockets), where no retry loop will see it:
   * a transient error (retriable PlumlineError) is logged and counted; a permanent one, or one
   * plumline does not know (a bug), fails the pipeline. See `errorKind`.
   */
  reportError(error: unknown): void;
  /**
   * The pipeline's state store when it can commit a sink's output together with state writes
   * (the Kafka store), else undefined. An exactly-once sink commits each `SinkBatch.commit`
   * through it, and refuses to start without it.
   */
  readonly atomicState: AtomicStateStore | undefined;
  /**
   * Under `spread:` (the pipeline's tenants shared out among workers): this copy's share. A source
   * that declares {@link SourcePlugin.shardable} reads only the tenants it `owns`; undefined: every
   * tenant is this pipeline's.
   */
  readonly shard?: TenantShard;
}

/**
 * One copy's share of a pipeline's tenants under `spread:`: tenants are hashed onto `count`
 * shares (the partitions of a coordination topic) and this copy reads share `task`.
 */
export interface TenantShard {
  readonly task: number;
  readonly count: number;
  /** Whether the tenant (an account name) is this share's. Stable: the same name, the same share, on every worker. */
  owns(tenant: string): boolean;
}

/** The pipeline's `spread:` section as a state store plugin gets it (see {@link StateStorePlugin.spread}). */
export interface SpreadSettings {
  /** Shares the tenants are hashed onto (the coordination topic's partitions); fixed for the life of the pipeline's state. */
  readonly partitions: number;
  /** The coordination topic. */
  readonly topic: string;
  /** The group whose members the shares are given to. */
  readonly group: string;
  /** How long a worker that stopped answering keeps its shares. */
  readonly sessionTimeoutMs: number;
}

/** How a state store shares a pipeline's tenants out among workers (see {@link StateStorePlugin.spread}). */
export interface TenantSpread {
  /** Called once when the pipeline starts: the membership that tells this worker its shares. */
  membership(ctx: { readonly logger: Logger; readonly pipelineId: string }): TaskMembership;
  /** Share `task`'s tenants. */
  shard(task: number): TenantShard;
}

/**
 * What a source's `read` yields: one page of events and where the source is after it. `C` is the
 * source's checkpoint type: any value JSON.stringify keeps as it is (the runtime stores it as JSON).
 */
export interface SourcePage<C = unknown> {
  events: CallEvent[];
  /** The position to resume after this page; stored once this page and all before it are acknowledged. */
  checkpoint?: C;
  /**
   * The part of the source's position this page moves (a tenant's name): with it, `checkpoint`
   * replaces only that key's entry of the stored position, a record `{ [key]: position }` that
   * the runtime merges (and `read` gets back whole on a restart). A source of many tenants thus
   * yields one tenant's position per page, not every tenant's, and a store writes what moved.
   * The source's pages then all carry a key (or no checkpoint).
   */
  checkpointKey?: string;
  /** Records that could not be turned into events (bad lines, unparseable bodies). */
  dead?: DeadLetter[];
}

/** A source of events; `C` is its checkpoint type (see {@link SourcePlugin.checkpointVersion}). */
export interface Source<C = unknown> {
  /**
   * Called once, after `create`, with the checkpoint last committed for this component
   * (undefined on a first run), already migrated to the plugin's `checkpointVersion`. Yields pages in order. The runtime pulls the next page only
   * when it has credit (bounded batches in flight), and calls `return()` on the iterator when
   * the pipeline stops; `ctx.signal` is aborted at the same moment to cut short any wait.
   */
  read(checkpoint: C | undefined): AsyncIterable<SourcePage<C>>;
  /** True when `read` ends by itself (a finite range, `--once`). `--once` refuses a source that is not bounded. */
  readonly bounded: boolean;
  /**
   * True when every event `read` yields is a CallEvent by construction (built from fields the
   * source checked, never passed through from outside). The runtime then skips its per-event
   * shape check, which otherwise dead-letters what does not fit (EVENT_INVALID). Leave it unset
   * for a source that hands on records it did not build (stdin, a custom webhook).
   */
  readonly wellFormedEvents?: boolean;
  /**
   * True when every event `read` yields, and its `attributes` object, is a new object the source
   * keeps no reference to and yields once (it parsed or built it). With a single consumer, the
   * next operator may then change those two objects in place (see {@link OperatorContext.ownsEvents}).
   * Leave it unset for a source that shares objects between events or yields an event again.
   */
  readonly handsOverEvents?: boolean;
  /**
   * Called after a checkpoint this source yielded became durable (stored by the state store, or
   * committed with an exactly-once sink's output), with that checkpoint: on each commit that
   * moved it, including the final one before `close`, one call at a time. A source that mirrors
   * its position elsewhere (a Kafka consumer group's offsets, for lag and for the next owner of a
   * partition) writes it here. A rejection is logged as a warning: the stored checkpoint stays
   * the truth the source resumes from.
   */
  committed?(checkpoint: C): Promise<void>;
  /** Called once when the pipeline stops, after `read` ended. Releases sockets and servers. Must be idempotent. */
  close?(): Promise<void>;
  /**
   * Reads again what the source read from files when it was made (a source of many accounts:
   * its `accounts_file`), as `Pipeline.reload()` (SIGHUP under `plumline run`) asks. A version
   * that does not validate is refused (logged, located) and the source goes on as it was.
   */
  reload?(): Promise<void>;
}

/** What a commit hook is told about the commit it runs before. */
export interface CommitInfo {
  /**
   * True for the last commit, when the pipeline stops: an operator holding events in memory
   * under {@link OperatorContext.holdCheckpoint} makes them durable now (and releases its holds)
   * so the next run resumes past them; the runtime takes the checkpoints again after the hooks.
   */
  readonly final: boolean;
  /**
   * Per source, the sequence number of the last batch the checkpoints written by this commit
   * cover (the final commit may cover more: it takes them again after the hooks). A component
   * that keeps its own durable records notes it with them, to tell at start whether the
   * checkpoints are newer than its records (restored from different backups).
   */
  readonly seqs?: Readonly<Record<string, number>>;
}

/** A hold taken with {@link OperatorContext.holdCheckpoint}. */
export interface CheckpointHold {
  /** Lets the checkpoints pass the held batches again. Idempotent. */
  release(): void;
}

/** What an operator gets at `create`: the component context plus commit hooks, checkpoint holds and staged state. */
export type OperatorContext = ComponentContext & {
  /**
   * Registers `hook` to run before every checkpoint commit and at shutdown. Operators with
   * state (dedupe) persist what became durable since the last commit here, so that stored
   * state never runs behind a stored checkpoint. Hooks run one at a time, downstream operators' first.
   */
  onCommit(hook: (info: CommitInfo) => Promise<void>): void;
  /**
   * Keeps the sources' checkpoints from covering the batches at `positions` until the hold is
   * released, without holding up the sources (credit is counted on acknowledgements, not on
   * checkpoints). Called from the operator's `next`, while it still holds the batch's receipt,
   * for events it keeps in memory across batches: after a crash the source reads them again,
   * so they need no state of their own. Release a hold once what replaced the events is
   * acknowledged downstream, or once they are durable in the operator's state. An operator
   * that takes holds declares {@link Operator.holdsEvents}.
   */
  holdCheckpoint(positions: readonly BatchPosition[]): CheckpointHold;
  /**
   * True when the pipeline commits each batch's output, its checkpoints and the state staged on
   * it in one atomic unit (an exactly-once sink). An operator with state then stages the state
   * change that belongs to a batch with {@link stage} while it handles the batch, instead of
   * writing it in a commit hook: a hook's write would land apart from the checkpoint it matches.
   */
  readonly atomicCommits: boolean;
  /**
   * Stages `write` (its key scoped to this operator, like `state`) to commit together with the
   * batch of `receipt`. Call it from `next`, while the operator still holds the receipt. Does
   * nothing useful unless {@link atomicCommits}.
   */
  stage(receipt: Receipt, write: StagedWrite): void;
  /**
   * Asked once per batch: true when the events of the batch in hand are this operator's alone, so
   * it may change each event object and its `attributes` object in place instead of copying them
   * (never anything nested deeper: enrich's phone results and correlate's partners are shared).
   * The runtime says so when, all the way up to the sources, every output on the way has this
   * chain as its only consumer, no `Pipeline.output$` observer has ever looked at it, its sources
   * declare {@link Source.handsOverEvents} and its operators {@link Operator.handsOverEvents}.
   * Absent (a context made by hand) means false.
   */
  ownsEvents?(): boolean;
};

/** A transform: an RxJS operator over batches, made by an OperatorPlugin for one component. */
export interface Operator {
  /**
   * The RxJS operator over batches. For each input batch it must pass the batch's receipt
   * on exactly once (in an output batch), or release it. Output batches are new objects.
   */
  apply: OperatorFunction<Batch, Batch>;
  /**
   * True when the operator keeps events across batches under checkpoint holds. Exactly-once sinks
   * store checkpoints with each batch they write, past any hold, so the pipeline refuses them then.
   */
  readonly holdsEvents?: boolean;
  /**
   * True when the events it emits, and their `attributes` objects, are referenced by nothing it
   * keeps or emits elsewhere: it built them, or it passes on once events it was handed and keeps
   * no reference to them (filter, dedupe, enrich, correlate, mask). Lets the operators after it
   * own their input (see {@link OperatorContext.ownsEvents}). Leave it unset when in doubt.
   */
  readonly handsOverEvents?: boolean;
  /** Called once after the input completed and every output was consumed. Idempotent. */
  close?(): Promise<void>;
}

/**
 * What a sink gets at `create`: the component context, and `onCommit` for a sink that keeps its
 * own durable records (the file sink's commit index) and must note where they stand before each
 * checkpoint commit.
 */
export type SinkContext = ComponentContext & Pick<OperatorContext, 'onCommit'>;

/** What a sink hands back for a batch: records it refused for good, with the reason. */
export interface SinkWriteResult {
  dead?: DeadLetter[];
}

/** The batch as a sink sees it. */
export interface SinkBatch {
  readonly events: readonly CallEvent[];
  /** The source batches it stands for: record them with the data to recover exactly after a crash. */
  readonly positions: readonly BatchPosition[];
  /** W3C traceparent of this write's span (when an OpenTelemetry SDK records traces), for sinks that can pass it downstream. */
  readonly traceparent?: string;
  /**
   * For sinks that own checkpoints (exactly-once): the state writes to commit atomically with
   * these events, through `ctx.atomicState.commitAtomically`: the checkpoints after this batch and
   * the operator state staged on it. The same writes come again if the write is retried.
   */
  readonly commit?: { readonly writes: readonly StagedWrite[] };
}

/** Writes batches somewhere durable, made by a SinkPlugin for one component. */
export interface Sink {
  /**
   * Called with each non-empty batch, in order. Resolves once every event in it is durable
   * (fsynced, acknowledged by the broker). Reject with a retriable error to have the runtime
   * retry the same batch with backoff; a non-retriable rejection fails the pipeline.
   */
  write(batch: SinkBatch): Promise<SinkWriteResult | void>;
  /** Called when the input ended or the pipeline stops, after the last write resolved. */
  flush?(): Promise<void>;
  /** Releases resources. Called once after `flush`; must be idempotent. */
  close(): Promise<void>;
  /** Writes the runtime may have in flight at once (default 1). Resolution order is free; the runtime keeps checkpoints ordered. */
  readonly maxInFlight?: number;
  /**
   * True when `write` commits `batch.commit.writes` (the checkpoints and operators' staged state)
   * atomically together with its events (exactly-once sinks). The runtime then never writes
   * checkpoints itself, and groups batches so that a write covers whole source batches.
   */
  readonly ownsCheckpoints?: boolean;
}

/** Where a state store's atomic commits go (see {@link AtomicStateStore.atomicTarget}). */
export interface AtomicTarget {
  readonly kind: string;
  readonly endpoints: readonly string[];
  readonly topic: string;
  /** The client library the store writes with, where its kind has several (kafka: kafkajs or confluent); a sink writing through the store must use the same. Absent: the kind's default. */
  readonly client?: string;
}

/** A reason an exactly-once sink cannot commit atomically with the pipeline's state store. */
export interface AtomicProblem {
  readonly code: `CONFIG_${string}`;
  /** The sink config key the problem is located at. */
  readonly key: string;
  readonly message: string;
}

/** What a state store plugin gets at `create`. */
export interface StateStoreContext {
  readonly logger: Logger;
  readonly baseDir: string;
  /** The pipeline's id (`id:` in the file, else the file's base name). */
  readonly pipelineId: string;
  /** The ids of the pipeline's sources (whose checkpoints the store will hold). */
  readonly sourceIds?: readonly string[];
  /** The pipeline's clock (PipelineOptions.clock), for the store's timeouts and waits. Absent: the system clock. */
  readonly clock?: Clock;
}

/** What a plugin's {@link PluginBase.preflight} gets. */
export interface PreflightContext {
  /**
   * The environment the pipeline is resolved with (what its `${VAR}`s read), or undefined when it
   * is checked away from the machine it will run on (`plumline validate --no-env`, `plumline
   * test`): then check only what the pipeline's own files decide, not environment variables nor
   * files of the machine (TLS keys).
   */
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
  /** The pipeline file's directory (what relative paths of the definition, like lookup files, are relative to). */
  readonly baseDir: string;
  /** The id of the pipeline (as `create` gets it: `id:`, else the file's base name), when the check runs for one. */
  readonly pipelineId?: string;
  /** The component's id (its key in its section), when the check runs for one. */
  readonly componentId?: string;
}

/** Something `create` would refuse, found by {@link PluginBase.preflight}. */
export interface PreflightProblem {
  readonly code: `CONFIG_${string}`;
  /** The config key it is located at, as a path into the component's config (`['ssl', 'ca']`); empty: the component. */
  readonly path: readonly (string | number)[];
  /** What is wrong and what to do; no secret values. */
  readonly message: string;
}

interface PluginBase<K extends string, S extends z.ZodType> {
  readonly kind: K;
  /** The YAML `type:` value. */
  readonly type: string;
  /** One sentence for docs and `plumline schema`. */
  readonly description: string;
  /** Strict schema of the component's keys (`type`, `inputs` and `use` excluded). */
  readonly configSchema: S;
  /**
   * Config keys that name a YAML file whose content is the value of another key (`accounts_file`
   * for `accounts`), for what is better kept apart from the pipeline: a list of tenants, each
   * with credentials from `${VAR}`s. Read when the pipeline is resolved (so `validate` checks it
   * too): relative to the pipeline file, interpolated like it, checked against the other key's
   * schema with errors located in that file, its secrets redacted like the pipeline's. Setting
   * both keys is an error (CONFIG_INCLUDE_CONFLICT).
   */
  readonly includes?: readonly { readonly key: string; readonly into: string }[];
  /**
   * What `create` would refuse that the schema cannot see — a key an environment variable must
   * hold, a file that must be readable — checked when the pipeline is resolved, so that
   * `plumline validate` finds it as `run` would, located, before anything runs. Reads, never
   * writes; `create` keeps its own checks (the machine may change in between).
   */
  preflight?(config: z.output<S>, ctx: PreflightContext): readonly PreflightProblem[] | Promise<readonly PreflightProblem[]>;
  /**
   * What the components of this type in one pipeline cannot do together (two file sinks on one
   * path), checked when the pipeline is resolved: each problem names the component it is
   * located at (`id`), its config key (`path`) and what to do.
   */
  conflicts?(components: readonly { readonly id: string; readonly config: z.output<S> }[]): readonly (PreflightProblem & { readonly id: string })[];
}

/** A source type (`type:` in `sources:`): its schema, checkpoint version and how to create one; define it with {@link defineSource}. */
export interface SourcePlugin<S extends z.ZodType = z.ZodType, C = unknown> extends PluginBase<'source', S> {
  /**
   * The version of the checkpoint shape `read` takes and yields (a positive integer; default 1),
   * stored with every checkpoint. Raise it when the shape changes, and give
   * {@link migrateCheckpoint} for the versions before; a pipeline whose stored checkpoint is of a
   * newer version than the plugin's refuses to start (CHECKPOINT_TOO_NEW) rather than misread it.
   */
  readonly checkpointVersion?: number;
  /**
   * Called at start, before `create`, when the stored checkpoint is of an older version
   * (`fromVersion`) than {@link checkpointVersion}: returns it in the current shape. Throw when
   * it cannot be read (the pipeline then stops with CHECKPOINT_MIGRATION_FAILED, the stored
   * checkpoint untouched). Without it, an older checkpoint stops the pipeline with
   * CHECKPOINT_VERSION_UNSUPPORTED. Never called for a `null` position.
   */
  migrateCheckpoint?(position: JsonValue, fromVersion: number): C;
  /**
   * The shape of a stored position (after any migration), checked at start before the source
   * sees it: a position that does not fit stops the start with STATE_CORRUPT naming the state
   * and what to do, rather than being read as if it did. Absent: any JSON is passed on. Never
   * checked for a `null` position (no page read yet).
   */
  readonly checkpointSchema?: z.ZodType<C>;
  /**
   * For a source whose records are split over partitions that different workers read (Kafka):
   * called at validate time, it says so, with the event fields the records are keyed by when the
   * config declares them. An operator that needs every event of a key in one worker (`dedupe`)
   * is refused behind it unless its key is that key (see {@link OperatorPlugin.partitionKey}).
   * Undefined: the source is not partitioned.
   */
  partitioning?(config: z.output<S>): { keyedBy: readonly string[] | undefined } | undefined;
  /**
   * For a source whose input splits into tasks that workers share and hand over (a Kafka
   * partition each, as Kafka Streams runs them): called when the pipeline is created; when it
   * returns a split, the pipeline runs one copy of itself per task this worker is given, each with
   * its own id (`<id>-p<task>`), so its own checkpoint, operator state and transactions, which
   * move with the task to whichever worker takes it. Such a source must be the pipeline's only one.
   * Undefined: one pipeline reads everything.
   */
  tasks?(config: z.output<S>): SourceTasks<z.output<S>> | undefined;
  /**
   * Whether this config reads tenants that `spread:` can share out among workers (accounts): the
   * source then reads only those its `ctx.shard` owns. A pipeline with `spread:` is refused with a
   * source that cannot (CONFIG_SPREAD_SOURCE_NOT_SHARDED), which every copy would read whole.
   */
  shardable?(config: z.output<S>): boolean;
  /**
   * How to give this source an end, for the error `--once` gives a source that never ends
   * (`CONFIG_NOT_BOUNDED`): the keys to set, as written in YAML (`count: 1000`, `stop_at_end:
   * true`). Undefined: the error says it cannot run with `--once`.
   */
  readonly endHint?: string;
  create(config: z.output<S>, ctx: ComponentContext): Source<C> | Promise<Source<C>>;
}

/** How a source's input splits into tasks: see {@link SourcePlugin.tasks}. */
export interface SourceTasks<Config> {
  /** Called once when the pipeline starts: the membership that tells this worker its tasks. */
  membership(ctx: { readonly logger: Logger; readonly pipelineId: string; readonly sourceId: string }): TaskMembership;
  /** The source's config in the copy of the pipeline that runs `task` (it reads that task's share only). */
  configFor(task: number): Config;
}

/**
 * A worker's membership of the group that shares a source's tasks out (a Kafka consumer group).
 * The pipeline stops the tasks taken from this worker (draining and committing them) and starts
 * the ones given to it; a task another worker still runs must not be read twice, which the
 * task's own source and state store see to (the later owner fences the earlier).
 */
export interface TaskMembership {
  /**
   * Called once at start: joins the group. Resolves once joined (or rejects with a typed error:
   * an unreachable service, a missing input); then calls `assigned` with every task this worker
   * holds, each time that changes, and `failed` once if the membership ends by itself.
   */
  join(listener: { assigned(tasks: readonly number[]): void; failed(error: unknown): void }): Promise<void>;
  /** Called once, after every task stopped: leaves the group so the others take the tasks at once. Idempotent. */
  leave(): Promise<void>;
}

/** A transform type (`type:` in `transforms:`): its schema and how to create one; define it with {@link defineOperator}. */
export interface OperatorPlugin<S extends z.ZodType = z.ZodType> extends PluginBase<'transform', S> {
  /** Named outputs besides the main one, referenced downstream as `id.name` (e.g. `route`). */
  outputs?(config: z.output<S>): readonly string[];
  /**
   * For an operator that must see every event of a key in one place (`dedupe`, `correlate`):
   * called at validate time, it gives the key's fields and whether the config accepts seeing only
   * a partition's share (`perPartition`). Behind a partitioned source keyed otherwise (or not
   * declared), a pipeline without `perPartition` is refused (CONFIG_NOT_CO_PARTITIONED).
   * `anyOf`: events meet through any one of the fields (correlate's several join keys), so no
   * keying by them all puts them together: refused behind any partitioned source.
   */
  partitionKey?(config: z.output<S>): { fields: readonly string[]; perPartition: boolean; configKey: string; anyOf?: boolean };
  create(config: z.output<S>, ctx: OperatorContext): Operator | Promise<Operator>;
}

/** A sink type (`type:` in `sinks:`): its schema and how to create one; define it with {@link defineSink}. */
export interface SinkPlugin<S extends z.ZodType = z.ZodType> extends PluginBase<'sink', S> {
  create(config: z.output<S>, ctx: SinkContext): Sink | Promise<Sink>;
  /**
   * For sinks that can be exactly-once. Called at validate time: undefined when this config does
   * not commit atomically; otherwise what stops it from committing through a state store with
   * `target` (undefined: the pipeline's store cannot commit atomically), empty when nothing does.
   */
  atomicProblems?(config: z.output<S>, target: AtomicTarget | undefined): readonly AtomicProblem[] | undefined;
  /**
   * The sink writes files on this machine, each recovered after a crash from a commit index of
   * its own sink. A pipeline split into copies (a source's task_per_partition) is refused with it
   * at validate (CONFIG_TASKS_LOCAL_SINK): the copies would write the same files, and a task
   * moving to another worker would leave its output, and what recovers it, behind.
   */
  readonly localOutput?: boolean;
}

/** A state store type (`state: { type: … }`); define it with {@link defineStateStore}. */
export interface StateStorePlugin<S extends z.ZodType = z.ZodType> extends PluginBase<'state', S> {
  /** For stores that implement {@link AtomicStateStore}: where their atomic commits go, from the config alone. */
  atomicTarget?(config: z.output<S>): AtomicTarget;
  /**
   * Every worker of a pipeline, wherever it runs, reads and writes the same store, each
   * pipeline id apart (a Kafka topic): so a task's state can move to another worker. Sources
   * that split into tasks ({@link SourcePlugin.tasks}) need it; a local directory is not.
   */
  readonly sharedByWorkers?: boolean;
  /**
   * For a store every worker shares, on an engine that can also share work out (Kafka consumer
   * groups): how the pipeline's tenants are spread over workers under `spread:`. A pipeline with
   * `spread:` is refused with a store without it (CONFIG_SPREAD_STATE_NOT_SHARED).
   */
  spread?(config: z.output<S>, settings: SpreadSettings): TenantSpread;
  create(config: z.output<S>, ctx: StateStoreContext): StateStore | Promise<StateStore>;
}

/** A plugin of any kind, as a PluginRegistry holds them. */
export type AnyPlugin = SourcePlugin | OperatorPlugin | SinkPlugin | StateStorePlugin;
/** `source`, `transform`, `sink` or `state`. */
export type PluginKind = AnyPlugin['kind'];

type Definition<P> = Omit<P, 'kind'>;

/**
 * Defines a source plugin: `type`, `description`, a strict `configSchema` (validated before
 * `create`, every key described) and `create(config, ctx)` returning a {@link Source}. The
 * checkpoint type is taken from `read`'s parameter.
 *
 * @example
 * export const counter = defineSource({ type: 'counter', description: 'Counts.', configSchema: z.strictObject({}),
 *   create: () => ({ bounded: true, async *read(cp: number | undefined) { yield { events: [], checkpoint: (cp ?? 0) + 1 }; } }) });
 */
export function defineSource<S extends z.ZodType, C = unknown, const T extends string = string>(def: Definition<SourcePlugin<S, C>> & { readonly type: T }): SourcePlugin<S, C> & { readonly type: T } {
  return Object.freeze({ ...def, kind: 'source' as const });
}
/**
 * Defines a transform plugin: `type`, `description`, a strict `configSchema` and `create(config, ctx)`
 * returning an {@link Operator}. For per-event work, `apply: mapEvents(fn)` needs no receipts.
 *
 * @example
 * export const upper = defineOperator({ type: 'upper', description: 'Upper-cases kind.', configSchema: z.strictObject({}),
 *   create: () => ({ apply: mapEvents((e) => ({ ...e, kind: e.kind.toUpperCase() })) }) });
 */
export function defineOperator<S extends z.ZodType, const T extends string = string>(def: Definition<OperatorPlugin<S>> & { readonly type: T }): OperatorPlugin<S> & { readonly type: T } {
  return Object.freeze({ ...def, kind: 'transform' as const });
}
/**
 * Defines a sink plugin: `type`, `description`, a strict `configSchema` and `create(config, ctx)`
 * returning a {@link Sink}, whose `write` resolves only once the batch is durable.
 *
 * @example
 * export const ids = defineSink({ type: 'ids', description: 'Logs ids.', configSchema: z.strictObject({}),
 *   create: () => ({ async write(batch) { for (const e of batch.events) process.stderr.write(`${e.id}\n`); }, async close() {} }) });
 */
export function defineSink<S extends z.ZodType, const T extends string = string>(def: Definition<SinkPlugin<S>> & { readonly type: T }): SinkPlugin<S> & { readonly type: T } {
  return Object.freeze({ ...def, kind: 'sink' as const });
}
/** Defines a state store plugin (`state: { type: … }`): `create(config, ctx)` returns a {@link StateStore}. */
export function defineStateStore<S extends z.ZodType, const T extends string = string>(def: Definition<StateStorePlugin<S>> & { readonly type: T }): StateStorePlugin<S> & { readonly type: T } {
  return Object.freeze({ ...def, kind: 'state' as const });
}

/** True for a value made by one of the `define*` functions (how `use:` modules are searched for plugins). */
export function isPlugin(value: unknown): value is AnyPlugin {
  if (!value || typeof value !== 'object') return false;
  const v = value as Partial<AnyPlugin>;
  return (
    (v.kind === 'source' || v.kind === 'transform' || v.kind === 'sink' || v.kind === 'state') &&
    typeof v.type === 'string' &&
    typeof v.create === 'function' &&
    typeof v.configSchema === 'object'
  );
}
