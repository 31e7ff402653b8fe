/** What a field path reads: an event (a CallEvent is one), its attributes, a vendor's record. */
export type FieldRecord = Readonly<Record<string, unknown>>;

/** Reads one field path of a record: undefined when the record lacks it. */
export type Getter = (record: FieldRecord) => unknown;

/** True when `v` has fields a path can read (an object; not null, not a bare value). */
export function isFieldRecord(v: unknown): v is FieldRecord {
  return typeof v === 'object' && v !== null;
}

const PATH_RE = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

/** True for `kind`, `attributes.channel`, `raw.log_id`. */
export function isFieldPath(path: string): boolean {
  return PATH_RE.test(path);
}

/**
 * A fast reader for a dotted path, specialised by depth (the common cases are one and two levels).
 * A field is what the event holds: a name every object inherits (`constructor`, `toString`,
 * `__proto__`) reads as missing unless the event has it as data.
 */
export function compileGetter(path: string): Getter {
  const parts = path.split('.');
  if (parts.some((p) => p in Object.prototype)) return ownFieldsGetter(parts);
  if (parts.length === 1) {
    const a = parts[0]!;
    return (e) => e[a];
  }
  if (parts.length === 2) {
    const [a, b] = parts as [string, string];
    return (e) => {
      const o = e[a];
      return o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[b] : undefined;
    };
  }
  return (e) => {
    let v: unknown = e;
    for (const p of parts) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  };
}

/** The slower reader for a path naming an inherited member somewhere: own properties only. */
function ownFieldsGetter(parts: readonly string[]): Getter {
  return (e) => {
    let v: unknown = e;
    for (const p of parts) {
      if (v === null || typeof v !== 'object' || !Object.hasOwn(v, p)) return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  };
}

/**
 * Sets `value` at `path` in `target`, copying each nested object on the way down so that the
 * original event (which other branches may hold) is never changed. `target` itself must
 * already be a copy. `undefined` removes the field: it is set to undefined, which is absent in
 * JSON and to every path (`delete` would make the object a slow dictionary).
 */
export function setPathCopying(target: Record<string, unknown>, parts: readonly string[], value: unknown): void {
  let obj = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    const cur = obj[p];
    // Object.assign, not spread: V8 makes "spread, then add a key" several times slower.
    const copy: Record<string, unknown> = cur !== null && typeof cur === 'object' && !Array.isArray(cur) ? copyRecord(cur as Record<string, unknown>) : {};
    obj[p] = copy;
    obj = copy;
  }
  const last = parts[parts.length - 1]!;
  obj[last] = value;
}

/**
 * A shallow copy of `o`. Object.assign sets keys by assignment, so an own `__proto__` key (JSON
 * from outside can have one) would become the copy's prototype; such an object is copied key by
 * key instead (rare: the fast path costs one own-property check).
 */
export function copyRecord(o: Record<string, unknown>): Record<string, unknown> {
  if (!Object.hasOwn(o, '__proto__')) return Object.assign({}, o);
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(o)) Object.defineProperty(copy, k, { value: o[k], enumerable: true, writable: true, configurable: true });
  return copy;
}
