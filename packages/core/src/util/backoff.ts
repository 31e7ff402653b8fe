import { systemClock } from './clock.js';

/** Exponential backoff with full jitter, as in the AWS architecture blog's "full jitter". */
export interface BackoffPolicy {
  /** First delay before jitter. */
  initialDelayMs: number;
  /** Upper bound of any delay. */
  maxDelayMs: number;
  /** Growth per attempt. */
  multiplier: number;
}

/** The backoff of retries that do not say otherwise: exponential from a short base, capped, jittered. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 100, maxDelayMs: 30_000, multiplier: 2 };

/**
 * Sink writes: a sink that waits for a broker or a disk to come back should notice within
 * seconds, and a sink retry costs the other side little (one request per attempt).
 */
export const SINK_BACKOFF: BackoffPolicy = { initialDelayMs: 100, maxDelayMs: 5_000, multiplier: 2 };

/**
 * Delay before retry number `attempt` (1-based): uniformly random in [base/2, base] where
 * base = min(max, initial · multiplier^(attempt-1)). Half-jitter keeps a floor so a retry
 * storm cannot collapse to zero delays.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

/** Resolves after `ms` on the system clock, or rejects with the signal's reason when it aborts first. The timer never holds the process open. Components sleep on `ctx.clock` instead. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return systemClock.sleep(ms, signal);
}
