import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../util/json.js';
import { diffEntries, fromEntries, toEntries, type Entries } from './state-entries.js';

/** `prev` with `diff` applied, as a reader of the written records rebuilds it. */
function applied(prev: Entries, next: Entries): Entries {
  const out = new Map(prev);
  const { set, removed } = diffEntries(prev, next);
  for (const [path, text] of set) out.set(path, text);
  for (const path of removed) out.delete(path);
  return out;
}

const json = fc.jsonValue({ maxDepth: 5 }) as fc.Arbitrary<JsonValue>;

describe('state entries (a value split for writes that grow with what changed)', () => {
  it('any JSON value reads back from its entries, key names like __proto__ included', () => {
    fc.assert(
      fc.property(json, (v) => {
        const back = fromEntries(toEntries(v));
        expect(JSON.stringify(back === undefined ? null : sorted(back))).toBe(JSON.stringify(sorted(v)));
      }),
      { numRuns: 500 },
    );
    expect(JSON.parse(JSON.stringify(fromEntries(toEntries(JSON.parse('{"__proto__":{"a":1},"b":{"__proto__":2}}') as JsonValue))))).toEqual(JSON.parse('{"__proto__":{"a":1},"b":{"__proto__":2}}'));
  });

  it('applying the diff from one value to another gives the other, whatever the two are', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const back = fromEntries(applied(toEntries(a), toEntries(b)));
        expect(JSON.stringify(sorted(back ?? null))).toBe(JSON.stringify(sorted(b)));
      }),
      { numRuns: 500 },
    );
  });

  it('one tenant of a thousand moving is two entries (seq and the tenant)', () => {
    const tenants = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`a${i}`, { at: i }]));
    const before = toEntries({ src: { seq: 1, position: tenants } });
    const after = toEntries({ src: { seq: 2, position: { ...tenants, a7: { at: -1 } } } });
    expect(diffEntries(before, after)).toEqual({ set: [['["src","seq"]', '2'], ['["src","position","a7"]', '{"at":-1}']], removed: [] });
  });
});

/** `v` with object keys sorted (entries may come back in another key order). */
function sorted(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const k of Object.keys(v).sort()) Object.defineProperty(out, k, { value: sorted(v[k]!), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}
