import type { JsonValue } from '../util/json.js';

/**
 * How deep a stored value is split into entries: `checkpoints` → source id → `seq` / `position`
 * → the position's top-level keys. A multi-tenant source keeps `{ [account]: position }` as its
 * position, so one tenant that moved is one entry written, not every tenant's.
 */
export const ENTRY_DEPTH = 3;

/** One entry of a value: where it is (object keys from the top, JSON-encoded) and its JSON text. */
export type Entries = Map<string, string>;

/** What changed between two entry sets: entries to write (path → JSON text) and paths removed. */
export interface EntryDiff {
  readonly set: [path: string, text: string][];
  readonly removed: string[];
}

function isPlainObject(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `value` as entries: non-empty plain objects are split by key down to `depth` levels; anything
 * else (a number, an array, an empty object, whatever is below `depth`) is one entry.
 */
export function toEntries(value: JsonValue, depth = ENTRY_DEPTH): Entries {
  const out: Entries = new Map();
  const walk = (v: JsonValue, path: string[], left: number): void => {
    if (left > 0 && isPlainObject(v) && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v)) walk(child, [...path, k], left - 1);
    } else out.set(JSON.stringify(path), JSON.stringify(v));
  };
  walk(value, [], depth);
  return out;
}

/** Sets an own property as JSON.parse does: a key `__proto__` is data, not the prototype. */
function define(o: Record<string, JsonValue>, key: string, value: JsonValue): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The value `entries` were made from (object key order may differ). Throws on entries that do not fit together. */
export function fromEntries(entries: Entries): JsonValue | undefined {
  if (entries.size === 0) return undefined;
  const whole = entries.get('[]');
  if (whole !== undefined) {
    if (entries.size > 1) throw new Error('a whole value and entries inside it');
    return JSON.parse(whole) as JsonValue;
  }
  const root: Record<string, JsonValue> = {};
  for (const [pathText, text] of entries) {
    const path = JSON.parse(pathText) as unknown;
    if (!Array.isArray(path) || path.length === 0 || !path.every((p) => typeof p === 'string')) throw new Error(`entry path ${pathText} is not a list of keys`);
    let at: Record<string, JsonValue> = root;
    for (const key of path.slice(0, -1) as string[]) {
      if (!Object.hasOwn(at, key)) define(at, key, {});
      const next = at[key];
      if (!isPlainObject(next)) throw new Error(`entry ${pathText} lies inside a value that is not an object`);
      at = next;
    }
    const last = path[path.length - 1] as string;
    if (Object.hasOwn(at, last)) throw new Error(`entry ${pathText} overlaps another`);
    define(at, last, JSON.parse(text) as JsonValue);
  }
  return root;
}

/** The entries of `next` that differ from `prev`, and the paths of `prev` that `next` no longer has. */
export function diffEntries(prev: Entries | undefined, next: Entries): EntryDiff {
  const set: [string, string][] = [];
  for (const [path, text] of next) if (prev?.get(path) !== text) set.push([path, text]);
  const removed = prev ? [...prev.keys()].filter((path) => !next.has(path)) : [];
  return { set, removed };
}
