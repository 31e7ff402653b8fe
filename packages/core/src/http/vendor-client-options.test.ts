import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { testContext } from '../testing/test-context.js';
import { vendorClientOptions } from './vendor-http-client.js';

describe('vendorClientOptions: a polling source’s client options from its config and context', () => {
  const c = { base_url: 'http://vendor.example/api/', request_timeout: 30_000, max_retries: 4, concurrency: 3 };

  it('times the retries on ctx.clock, and gives one connection more than concurrency (the listing)', () => {
    const clock = new FakeClock(1_795_000_000_000);
    const o = vendorClientOptions(c, testContext({ kind: 'source', clock }));
    expect([o.baseUrl, o.requestTimeoutMs, o.maxRetries, o.connections, o.clock]).toEqual(['http://vendor.example/api/', 30_000, 4, 4, clock]);
  });

  it('an account whose turn is failing retries no request (the part’s backoff is its retry)', () => {
    const turn = { failing: false };
    const o = vendorClientOptions(c, testContext({ kind: 'source' }), { turn });
    const retries = o.maxRetries as () => number;
    expect(retries()).toBe(4);
    turn.failing = true;
    expect(retries()).toBe(0);
  });
});
