import { describe, expect, it } from 'vitest';
import { randomStream } from './seeded-random.js';

const draw = (seed: number, name: string, n = 50): number[] => {
  const s = randomStream(seed, name);
  return Array.from({ length: n }, () => s.between(100, 1200));
};

describe('fault schedules drawn from a seed', () => {
  it('are the same for the same seed and name, and differ with either', () => {
    expect(draw(12345, 'kills#0')).toEqual(draw(12345, 'kills#0'));
    expect(draw(12345, 'kills#0')).not.toEqual(draw(12346, 'kills#0'));
    expect(draw(12345, 'kills#0')).not.toEqual(draw(12345, 'kills#1'));
  });

  it('spread over the range asked for', () => {
    const delays = draw(7, 'spread', 2000);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...delays)).toBeLessThan(1300);
    // Each tenth of the range gets its share (≈ 200 of 2000), not a clump.
    const tenths = Array.from({ length: 10 }, (_, i) => delays.filter((d) => Math.floor((d - 100) / 120) === i).length);
    for (const n of tenths) expect(n).toBeGreaterThan(120);
  });
});
