import type { Logger } from 'pino';
import { isRetriable } from '../errors.js';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { systemClock, type Clock } from './clock.js';

/** The longest Retry-After honoured; a server asking for more gets this. */
export const MAX_RETRY_AFTER_MS = 300_000;

/** A Retry-After header (seconds or an HTTP date) in milliseconds, capped; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = systemClock.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, secs * 1000));
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}

/** Options of {@link retryWithBackoff}. */
export interface RetryOptions {
  /** Retries after the first attempt. */
  maxRetries: number;
  signal?: AbortSignal;
  backoff?: BackoffPolicy;
  /** Called before each retry (count it, log it). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** A server-requested wait for this error (Retry-After), which the delay will not undercut. */
  retryAfterMs?: (error: unknown) => number | undefined;
  logger?: Logger;
  /** Where the backoff waits are timed (a component's `ctx.clock`). Default: the system clock. */
  clock?: Clock;
}

/**
 * Runs `attempt` until it succeeds, retrying errors that say they are retriable with
 * exponential backoff and jitter (never shorter than a Retry-After), at most `maxRetries` times.
 */
export async function retryWithBackoff<T>(attempt: (n: number) => Promise<T>, o: RetryOptions): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!isRetriable(err) || n >= o.maxRetries || o.signal?.aborted) throw err;
      const delay = Math.max(backoffDelayMs(n + 1, o.backoff ?? DEFAULT_BACKOFF), o.retryAfterMs?.(err) ?? 0);
      o.onRetry?.(err, n + 1, delay);
      await (o.clock ?? systemClock).sleep(delay, o.signal);
    }
  }
}
