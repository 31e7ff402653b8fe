import { describe, expect, it } from 'vitest';
import { wallClock, zonedToEpochMs } from './zoned-time.js';

const at = (iso: string) => Date.parse(iso);

describe('zonedToEpochMs: a wall time in a zone to its instant', () => {
  it('takes the first instant in the hour repeated when DST ends, from its first second on (Berlin 2016-10-30, New York 2016-11-06)', () => {
    // 02:00:00 CEST = 00:00Z; the offset at 02:00 as if UTC is already CET's, which read it as 01:00Z.
    expect(zonedToEpochMs(2016, 9, 30, 2, 0, 0, 'Europe/Berlin')).toBe(at('2016-10-30T00:00:00Z'));
    expect(zonedToEpochMs(2016, 9, 30, 2, 59, 59, 'Europe/Berlin')).toBe(at('2016-10-30T00:59:59Z'));
    expect(zonedToEpochMs(2016, 9, 30, 3, 0, 0, 'Europe/Berlin')).toBe(at('2016-10-30T02:00:00Z'));
    expect(zonedToEpochMs(2016, 10, 6, 1, 0, 0, 'America/New_York')).toBe(at('2016-11-06T05:00:00Z'));
  });

  it('reads back every wall time it formats, outside the repeated hour, across a year of half hours in three zones', () => {
    for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe']) {
      for (let t = at('2016-01-01T00:00:00Z'); t < at('2017-01-01T00:00:00Z'); t += 1_800_000) {
        const w = wallClock(t, zone);
        const back = zonedToEpochMs(w.y, w.mo, w.d, w.h, w.mi, w.s, zone);
        // In a repeated stretch the earlier instant is named; Lord Howe repeats half an hour.
        expect(back === t || (back < t && t - back <= 3_600_000 && wallClock(back, zone).h === w.h)).toBe(true);
      }
    }
  });
});
