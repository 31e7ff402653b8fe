/**
 * JSON text of `value`, even when JSON cannot represent all of it: a BigInt becomes its decimal
 * string and an object met again on the way down becomes "[Circular]". For the dead-letter
 * file, which must keep a record whatever an operator put in it.
 */
export function lenientJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    const path: object[] = [];
    return JSON.stringify(value, function (this: unknown, _key, v: unknown) {
      if (typeof v === 'bigint') return v.toString();
      if (v === null || typeof v !== 'object') return v;
      // Keep only the ancestors of `v` on the path: a shared (not circular) object is written in full.
      while (path.length > 0 && path[path.length - 1] !== this) path.pop();
      if (path.includes(v)) return '[Circular]';
      path.push(v);
      return v;
    });
  }
}
