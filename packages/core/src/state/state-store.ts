import type { JsonValue } from '../util/json.js';

/**
 * Where checkpoints and operator state live. The runtime opens it before any component is
 * created and closes it after the last commit. Implementations: `directory` (embedded
 * default, in core) and `kafka` (in @plumline/kafka-client).
 */
export interface StateStore {
  /** Where the state is, for messages (a file, a topic): what an operator restores or moves. */
  readonly location?: string;
  /**
   * After open: true when the last run with this state closed it after every write it made
   * landed, false when it was killed or a write failed; undefined when the store cannot tell.
   * After a clean close every record of the last commit is there, so state that is behind what
   * a component's own log says was committed was rolled back (restored, cut), not cut short.
   */
  readonly previousRunClosedCleanly?: boolean | undefined;
  /**
   * The runtime brackets each commit (its hooks' writes, then the checkpoints) with these: a
   * commit that failed, or is still open at close (a stop cut short by shutdown_timeout), leaves
   * the state as a kill would, and the next start must read it so (previousRunClosedCleanly).
   */
  commitStarted?(): void;
  commitEnded?(ok: boolean): void;
  /** Called once before any other member. May take a lock so that one pipeline owns the state. */
  open(): Promise<void>;
  /**
   * The value last `set` under `key`, or undefined. Stores keep it per pipeline: a store
   * never returns what another pipeline set.
   */
  get(key: string): Promise<JsonValue | undefined>;
  /**
   * Replaces the value of `key`. Atomic (a reader sees the old or the new value, whole) and
   * durable when it resolves. The built-in stores write only what changed (see state-entries.ts).
   */
  set(key: string, value: JsonValue): Promise<void>;
  /** Appends bytes to the log `key`. Durable when it resolves. Used for large, growing state such as dedupe keys. */
  append(key: string, data: Uint8Array): Promise<void>;
  /** The whole content of log `key` (empty when absent). */
  readLog(key: string): Promise<Uint8Array>;
  /** Atomically replaces the content of log `key` (compaction). Durable when it resolves. */
  rewriteLog(key: string, data: Uint8Array): Promise<void>;
  /** Releases files, locks and connections. Idempotent; pending writes finish first. */
  close(): Promise<void>;
}

/** A component's view of the store: the same operations, with keys scoped to the component id. */
export type ComponentState = Omit<StateStore, 'open' | 'close'>;

/** Scopes every key of `store` under `prefix/`. */
export function scopeState(store: StateStore, prefix: string): ComponentState {
  const k = (key: string): string => `${prefix}/${key}`;
  return {
    get previousRunClosedCleanly() {
      return store.previousRunClosedCleanly;
    },
    // Named in a component's STATE_CORRUPT when what it finds says the store's values were rolled back.
    get location() {
      return store.location;
    },
    get: (key) => store.get(k(key)),
    set: (key, value) => store.set(k(key), value),
    append: (key, data) => store.append(k(key), data),
    readLog: (key) => store.readLog(k(key)),
    rewriteLog: (key, data) => store.rewriteLog(k(key), data),
  };
}

/**
 * A state write that must land together with one batch's output. An operator stages it on the
 * batch's receipt (`OperatorContext.stage`); in exactly-once mode the sink commits it in the same
 * atomic unit as the batch's records and the checkpoints after them. Keys are the store's own
 * (already scoped to the component).
 */
export type StagedWrite =
  | { readonly kind: 'append'; readonly key: string; readonly data: Uint8Array }
  /** The log `key` replaced by `data` (a compaction in the same transaction as the writes around it). */
  | { readonly kind: 'rewrite'; readonly key: string; readonly data: Uint8Array }
  | { readonly kind: 'set'; readonly key: string; readonly value: JsonValue };

/**
 * A state store that can commit a sink's output together with state writes in one atomic unit
 * (the Kafka state store: one Kafka transaction of one transactional producer). Exactly-once
 * sinks need one; the pipeline refuses them on any other store. `Handle` is what the sink's
 * output is sent through (its transport's transaction); the runtime passes stores on as
 * `AtomicStateStore<unknown>`, and a sink narrows it by `atomicTarget.kind`, which names the handle.
 */
export interface AtomicStateStore<Handle = unknown> extends StateStore {
  /**
   * Where atomic commits go, so that a sink can refuse to join one it cannot write to (another
   * cluster): `kind` names the transport (`kafka`), `endpoints` its addresses, `topic` the place
   * state lives.
   */
  readonly atomicTarget: { readonly kind: string; readonly endpoints: readonly string[]; readonly topic: string };
  /**
   * One atomic commit. Called by an exactly-once sink for each group of batches it writes:
   * `output` sends the sink's records through `handle` (the store's transport: a kafkajs
   * Transaction for `kafka`), then the store adds `writes` and commits. Everything lands or
   * nothing does. Commits run one at a time, in call order, with the store's own writes.
   * Rejects with a retriable StateError after a transient failure (the store has already
   * recovered its connection: call again with the same arguments), with STATE_FENCED when
   * another worker took over the pipeline (stop: retrying cannot help).
   */
  commitAtomically(writes: readonly StagedWrite[], output: (handle: Handle) => Promise<void>): Promise<void>;
}

/** True when `store` can commit a sink's output and state writes atomically. */
export function isAtomicStateStore(store: StateStore): store is AtomicStateStore {
  return typeof (store as Partial<AtomicStateStore>).commitAtomically === 'function';
}
