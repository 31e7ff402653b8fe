import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitWindows } from './window-splitter.js';
import { formatIplumDate, parseIplumDate } from './iplum-date.js';

const DAY = 86_400_000;

describe('window splitting', () => {
  it('any range → windows of at most the limit, contiguous, covering it exactly (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 0, max: 400 * DAY }), fc.integer({ min: 3_600_000, max: 5 * DAY }), (start, length, max) => {
        const w = splitWindows(start, start + length, max);
        if (length === 0) {
          expect(w).toEqual([]);
          return;
        }
        expect(w[0]!.startMs).toBe(start);
        expect(w[w.length - 1]!.endMs).toBe(start + length);
        for (let i = 0; i < w.length; i++) {
          expect(w[i]!.endMs - w[i]!.startMs).toBeGreaterThan(0);
          expect(w[i]!.endMs - w[i]!.startMs).toBeLessThanOrEqual(max);
          if (i > 0) expect(w[i]!.startMs).toBe(w[i - 1]!.endMs);
        }
      }),
    );
  });

  it('30 days in 5-day windows is 6 windows', () => {
    expect(splitWindows(0, 30 * DAY, 5 * DAY)).toHaveLength(6);
  });

  it('formats and parses the API date format', () => {
    expect(formatIplumDate(Date.UTC(2023, 2, 20, 2, 23, 6))).toBe('2023-03-20 02:23:06.000');
    expect(parseIplumDate('2023-03-24 02:23:06.000')).toBe(Date.UTC(2023, 2, 24, 2, 23, 6));
    expect(parseIplumDate('2023-02-30 00:00:00.000')).toBeUndefined();
    expect(parseIplumDate('2023-03-24T02:23:06Z')).toBeUndefined();
  });
});
