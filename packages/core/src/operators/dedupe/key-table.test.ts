import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashKey } from './key-hash.js';
import { KeyTable } from './key-table.js';

describe('KeyTable', () => {
  it('behaves like a FIFO-bounded set of keys (property test against a model)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.oneof(fc.record({ op: fc.constant('add' as const), k: fc.integer({ min: 0, max: 200 }) }), fc.record({ op: fc.constant('del' as const), k: fc.integer({ min: 0, max: 200 }) })), { maxLength: 500 }),
        (cap, ops) => {
          const table = new KeyTable(cap);
          // Model: insertion order of ring entries (deleted ones stay until evicted), plus the live set.
          const ring: { k: number; live: boolean }[] = [];
          const now = 1000;
          for (const { op, k } of ops) {
            const hi = k * 7 + 1;
            const lo = k;
            if (op === 'add') {
              const existing = ring.find((r) => r.k === k);
              const expectedNew = !existing || !existing.live;
              expect(table.add(hi, lo, now + 100, now)).toBe(expectedNew);
              if (existing) existing.live = true;
              else {
                if (ring.length === cap) ring.shift();
                ring.push({ k, live: true });
              }
            } else {
              table.delete(hi, lo);
              const existing = ring.find((r) => r.k === k);
              if (existing) existing.live = false;
            }
            for (let q = 0; q <= 200; q += 17) expect(table.has(q * 7 + 1, q, now)).toBe(ring.some((r) => r.k === q && r.live));
          }
          expect(table.size).toBe(ring.filter((r) => r.live).length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('forgets keys after their expiry', () => {
    const t = new KeyTable(10);
    expect(t.add(1, 1, 105, 100)).toBe(true);
    expect(t.has(1, 1, 104)).toBe(true);
    expect(t.has(1, 1, 105)).toBe(false);
    expect(t.add(1, 1, 200, 150)).toBe(true);
  });

  it('holds a million keys in under 30 bytes each', () => {
    const t = new KeyTable(1_000_000);
    const h = new Uint32Array(2);
    for (let i = 0; i < 1_000_000; i++) {
      hashKey(`plum:session:${i}`, h);
      t.add(h[0]!, h[1]!, 2_000_000_000, 1);
    }
    expect(t.size).toBe(1_000_000);
    expect(t.byteSize / 1_000_000).toBeLessThan(30);
    hashKey('plum:session:5', h);
    expect(t.has(h[0]!, h[1]!, 1)).toBe(true);
  });
});
