import type { Pool } from 'undici';
import { sleep } from '../util/backoff.js';
import { systemClock } from '../util/clock.js';

/** Options of {@link HttpHost}. */
export interface HttpHostOptions {
  /** The vendor's origin (scheme, host, port). */
  origin: string;
  /** Keep-alive connections to the host, shared by every tenant: the most sockets it ever has open. */
  connections: number;
  /** Requests per second to the host, shared by every tenant; undefined: no budget. */
  rateLimitPerSec?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** How long the host is left alone after a 429 without Retry-After. */
export const TOO_MANY_REQUESTS_PAUSE_MS = 1_000;

/**
 * One vendor host as all the tenants of a source see it: one bounded keep-alive pool (not a
 * pool per account: 1,000 accounts × 9 sockets exhaust the open-file limit) and one request
 * budget — `rateLimitPerSec` requests a second, spaced evenly, and a pause for everyone when
 * the host answers 429 (for its Retry-After, or a second). The pool is made at the first
 * request (undici costs ≈ 80 ms and 20 MB to import, which `validate` never needs).
 */
export class HttpHost {
  private pool: Promise<Pool> | undefined;
  private closed: Promise<void> | undefined;
  /** Earliest time (ms) of the next request under the budget. */
  private nextFreeMs = 0;
  private pausedUntilMs = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly o: HttpHostOptions) {
    this.now = o.now ?? systemClock.now;
    this.sleep = o.sleep ?? sleep;
  }

  get origin(): string {
    return this.o.origin;
  }

  /** Waits until the budget allows one more request (and any 429 pause passed). */
  async permit(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.now();
      const rate = this.o.rateLimitPerSec;
      const at = Math.max(now, this.pausedUntilMs, rate ? this.nextFreeMs : 0);
      if (rate) this.nextFreeMs = at + 1000 / rate;
      if (at <= now) return;
      await this.sleep(at - now, signal);
      // A pause that began while this request waited for its slot holds it too.
      if (this.pausedUntilMs <= this.now()) return;
    }
  }

  /** The host answered 429: every tenant waits `ms` (its Retry-After) or a second. */
  tooManyRequests(retryAfterMs: number | undefined): void {
    this.pausedUntilMs = Math.max(this.pausedUntilMs, this.now() + (retryAfterMs ?? TOO_MANY_REQUESTS_PAUSE_MS));
  }

  /** The shared pool. */
  connections(): Promise<Pool> {
    if (this.closed && !this.pool) return Promise.reject(new Error('the HTTP client is closed'));
    return (this.pool ??= import('undici').then(({ Pool }) => new Pool(this.o.origin, { connections: this.o.connections, keepAliveTimeout: 30_000, pipelining: 1 })));
  }

  close(): Promise<void> {
    return (this.closed ??= this.pool ? this.pool.then((p) => p.close()) : Promise.resolve());
  }
}
