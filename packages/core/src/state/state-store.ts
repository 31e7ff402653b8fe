import type { JsonValue } from '../util/json.js';

/**
 * Where checkpoints and operator state live. The runtime opens it before any component is
 * created and closes it after the last commit. Implementations: `directory` (embedded
 * default, in core) and `kafka` (in @plumline/sink-kafka).
 */
export interface StateStore {
  /** Called once before any other member. May take a lock so that one pipeline owns the state. */
  open(): Promise<void>;
  /** The value last `set` under `key`, or undefined. */
  get(key: string): Promise<JsonValue | undefined>;
  /** Replaces the value of `key`. Atomic (a reader sees the old or the new value, whole) and durable when it resolves. */
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
    get: (key) => store.get(k(key)),
    set: (key, value) => store.set(k(key), value),
    append: (key, data) => store.append(k(key), data),
    readLog: (key) => store.readLog(k(key)),
    rewriteLog: (key, data) => store.rewriteLog(k(key), data),
  };
}
