import { describe, expect, it } from 'vitest';
import { formatLag } from './top-command.js';

describe('plumline top: checkpoint lag', () => {
  it('reads as people read a duration, in at most two units (28775255.2 s is 333 days, not seconds)', () => {
    expect([0, 4.24, 60, 187, 3599, 3600, 7_500, 86_399, 86_400, 28_775_255.2].map(formatLag)).toEqual(['0.0s', '4.2s', '1m00s', '3m07s', '59m59s', '1h00m', '2h05m', '23h59m', '1d0h', '333d1h']);
  });
});
