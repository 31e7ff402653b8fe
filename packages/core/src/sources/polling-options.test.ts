import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { testContext } from '../testing/test-context.js';
import { DEFAULT_BOUNDED_RETRY_DURATION_MS } from './poll-ranges.js';
import { instantMs, pollingOptions } from './polling-options.js';

const event = (time: string) => ({ id: 'x', source: 't', kind: 'call' as const, time, attributes: {} });

describe('pollingOptions: what plum, iplum and http derive from their config alike', () => {
  const c = { start: '2026-11-20T00:00:00.500Z', end: 1_796_000_000, poll_interval: 60_000, lateness: 7_200_500, max_retry_duration: 90_000 };

  it('gives cursors in the unit asked for: seconds (http) rounded down, ms (iPlum), or ms on whole seconds (Plum)', () => {
    const sec = pollingOptions(c, testContext({ kind: 'source', once: false }), {}, 1000);
    expect([sec.firstStart, sec.configuredStart, sec.end, sec.lateness]).toEqual([1_795_132_800, 1_795_132_800, 1_796_000_000, 7_200]);
    expect(sec.startOf!(event('2026-11-20T00:00:01.999Z'))).toBe(1_795_132_801);
    const ms = pollingOptions(c, testContext({ kind: 'source', once: false }), {}, 1);
    expect([ms.firstStart, ms.configuredStart, ms.end, ms.lateness]).toEqual([1_795_132_800_500, 1_795_132_800_500, 1_796_000_000_000, 7_200_500]);
    expect(ms.startOf!(event('2026-11-20T00:00:01.999Z'))).toBe(1_795_132_801_999);
    // Plum's: ms on whole seconds, the seconds' values × 1000 exactly.
    const grid = pollingOptions(c, testContext({ kind: 'source', once: false }), {}, 1, 1000);
    expect([grid.firstStart, grid.configuredStart, grid.end, grid.lateness]).toEqual([1_795_132_800_000, 1_795_132_800_000, 1_796_000_000_000, 7_200_000]);
    expect(grid.startOf!(event('2026-11-20T00:00:01.999Z'))).toBe(1_795_132_801_000);
    expect(grid.now() % 1000).toBe(0);
    expect(Math.abs(ms.now() - Date.now())).toBeLessThan(1_000);
    expect(Math.abs(sec.now() - Date.now() / 1000)).toBeLessThan(1);
  });

  it('starts `backfill` before now without a start, and says a pass is done in epoch ms whatever the unit', () => {
    const done: number[] = [];
    const sec = pollingOptions({ backfill: 86_400_000, poll_interval: 1 }, testContext({ kind: 'source', once: false }), { onPassDone: (ms) => done.push(ms) }, 1000);
    expect(Math.abs(sec.firstStart - (Date.now() / 1000 - 86_400))).toBeLessThan(2);
    expect(sec.configuredStart).toBe(0);
    sec.onPassDone!(1_795_000_000);
    pollingOptions({ poll_interval: 1 }, testContext({ kind: 'source', once: false }), { onPassDone: (ms) => done.push(ms) }, 1).onPassDone!(1_795_000_000_123);
    expect(done).toEqual([1_795_000_000_000, 1_795_000_000_123]);
  });

  it('gives up on an outage after 5m in a bounded run (--once, an end) unless max_retry_duration says, and never when polling', () => {
    const polling = pollingOptions({ poll_interval: 1 }, testContext({ kind: 'source', once: false }), {}, 1);
    expect([polling.bounded, polling.maxRetryDurationMs]).toEqual([false, undefined]);
    const once = pollingOptions({ poll_interval: 1 }, testContext({ kind: 'source', once: true }), {}, 1);
    expect([once.bounded, once.maxRetryDurationMs]).toEqual([true, DEFAULT_BOUNDED_RETRY_DURATION_MS]);
    expect(pollingOptions(c, testContext({ kind: 'source', once: false }), {}, 1).maxRetryDurationMs).toBe(90_000);
  });

  it('reads now from ctx.clock, and hands the poll loop that clock for its retries and waits', async () => {
    const clock = new FakeClock(1_795_000_000_250);
    const sec = pollingOptions({ backfill: 60_000, poll_interval: 1 }, testContext({ kind: 'source', once: false, clock }), {}, 1000);
    expect([sec.now(), sec.firstStart, sec.clock]).toEqual([1_795_000_000, 1_795_000_000 - 60, clock]);
    await clock.advance(2_000);
    expect(sec.now()).toBe(1_795_000_002);
  });

  it('reads an instant as UNIX seconds or ISO-8601', () => {
    expect([instantMs(1_795_000_000), instantMs('2026-11-20T00:00:00Z')]).toEqual([1_795_000_000_000, 1_795_132_800_000]);
  });
});
