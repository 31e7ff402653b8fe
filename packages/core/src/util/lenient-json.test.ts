import { describe, expect, it } from 'vitest';
import { lenientJson } from './lenient-json.js';

describe('lenientJson', () => {
  it('is JSON.stringify for what JSON can represent', () => {
    const v = { a: [1, 'x', null, { b: true }], c: undefined };
    expect(lenientJson(v)).toBe(JSON.stringify(v));
  });

  it('writes a BigInt as its decimal string and a cycle as "[Circular]", keeping shared objects whole', () => {
    const shared = { s: 1 };
    const cyclic: Record<string, unknown> = { n: 12345678901234567890n, left: shared, right: shared };
    cyclic.self = cyclic;
    cyclic.list = [shared, cyclic];
    expect(JSON.parse(lenientJson(cyclic))).toEqual({ n: '12345678901234567890', left: { s: 1 }, right: { s: 1 }, self: '[Circular]', list: [{ s: 1 }, '[Circular]'] });
  });
});
