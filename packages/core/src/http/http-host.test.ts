import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { HttpHost } from './http-host.js';

describe('HttpHost: one request budget for every account of a host', () => {
  it('spaces requests by rate_limit whoever asks, and a 429 holds every account for its Retry-After', async () => {
    const clock = new FakeClock(1_000_000);
    const host = new HttpHost({ origin: 'http://127.0.0.1:1', connections: 4, rateLimitPerSec: 10, now: clock.now, sleep: clock.sleep });
    const sent: number[] = [];
    // Five accounts ask at once: 10 a second means one every 100 ms, in the order they asked.
    const asks = Array.from({ length: 5 }, () => host.permit().then(() => sent.push(clock.now() - 1_000_000)));
    await clock.advance(0);
    for (let i = 0; i < 10; i++) await clock.advance(50);
    await Promise.all(asks);
    expect(sent).toEqual([0, 100, 200, 300, 400]);

    // A 429 with Retry-After 3 s: the next request of any account waits for it.
    host.tooManyRequests(3_000);
    const start = clock.now();
    let at: number | undefined;
    const next = host.permit().then(() => (at = clock.now() - start));
    for (let i = 0; i < 40; i++) await clock.advance(100);
    await next;
    expect(at).toBeGreaterThanOrEqual(3_000);
    expect(at).toBeLessThanOrEqual(3_100);
    // Without Retry-After, a second.
    host.tooManyRequests(undefined);
    const again = clock.now();
    let after: number | undefined;
    const third = host.permit().then(() => (after = clock.now() - again));
    for (let i = 0; i < 20; i++) await clock.advance(100);
    await third;
    expect(after).toBeGreaterThanOrEqual(1_000);
    await host.close();
  });
});
