import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isoFromMs, msFromIso } from './fast-iso.js';

describe('fast ISO-8601', () => {
  it('isoFromMs and msFromIso agree with Date for every instant 1970–9999 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => {
        const iso = isoFromMs(ms);
        return iso === new Date(ms).toISOString() && msFromIso(iso) === ms && msFromIso(iso.slice(0, 19) + 'Z') === Math.floor(ms / 1000) * 1000;
      }),
    );
  });

  it('hands other forms to Date.parse, invalid ones included', () => {
    expect(msFromIso('2026-01-02T03:04:05+01:00')).toBe(Date.parse('2026-01-02T03:04:05+01:00'));
    expect(msFromIso('2026-01-02')).toBe(Date.parse('2026-01-02'));
    expect(msFromIso('2026-01-02T25:04:05Z')).toBeNaN();
    expect(msFromIso('2026-13-02T03:04:05Z')).toBeNaN();
    expect(msFromIso('garbage')).toBeNaN();
  });
});
