import { systemClock, type Clock } from '@plumline/core/util';

/**
 * `rate_limit`: at most `requests` per `perMs`, spaced evenly (no bursts), across every caller
 * that shares the returned function (all accounts of one source). Holds one number, whatever the
 * request rate.
 */
export function rateLimiter(limit: { requests: number; per: number } | undefined, signal: AbortSignal, clock: Clock = systemClock): () => Promise<void> {
  if (!limit) return () => Promise.resolve();
  const spacingMs = limit.per / limit.requests;
  let nextAt = 0;
  return async () => {
    const t = clock.now();
    const at = Math.max(t, nextAt);
    nextAt = at + spacingMs;
    if (at > t) await clock.sleep(at - t, signal).catch(() => {});
  };
}
