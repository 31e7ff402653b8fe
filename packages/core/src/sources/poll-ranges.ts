import { PlumlineError } from '../errors.js';
import type { ComponentContext, SourcePage } from '../plugin.js';
import { backoffDelayMs, sleep, type BackoffPolicy } from '../util/backoff.js';

/** Between attempts at a part that failed for a reason that may pass (an outage): capped at a minute, jittered. */
export const OUTAGE_BACKOFF: BackoffPolicy = { initialDelayMs: 1_000, maxDelayMs: 60_000, multiplier: 2 };
/** Attempts at a part that fails with an error plumline does not know (a bug, most likely) before it ends the source. */
export const UNKNOWN_ERROR_ATTEMPTS = 3;
/** A bounded run (`--once`, an `end`) gives up on an outage after this long unless the source says otherwise. */
export const DEFAULT_BOUNDED_RETRY_DURATION_MS = 5 * 60_000;

/** `onRetry`/`onRecovered` for a polling source: a warning per attempt, a retry counted, not ready until a part succeeds. */
export function outageReporting(ctx: Pick<ComponentContext, 'logger' | 'telemetry'>): Pick<PollRangesOptions<string>, 'onRetry' | 'onRecovered'> {
  return {
    onRetry: (err, attempt, delayMs) => {
      const e = err as { code?: string; message?: string };
      ctx.telemetry.retry();
      ctx.telemetry.failing(`reading failed (${e.code ?? 'error'}): retrying`);
      ctx.logger.warn({ code: e.code, err: err instanceof PlumlineError ? undefined : err, message: e.message, attempt, delayMs }, 'source read failed; retrying the range');
    },
    onRecovered: () => {
      ctx.telemetry.recovered();
      ctx.logger.info('source read recovered');
    },
  };
}

export interface PollRangesOptions<S extends string> {
  /** The streams to read, in order, each with its own cursor. */
  streams: readonly S[];
  /** Cursors restored from the checkpoint: per stream, everything before it was delivered. */
  checkpoint: Partial<Record<S, number>> | undefined;
  /** Start of the first range of a stream without a cursor. */
  firstStart: number;
  /** A later range never starts before this (a configured `start`), however large `overlap` is. */
  configuredStart: number;
  /** End of the whole range (exclusive); undefined: keep polling up to `now()`. */
  end?: number;
  /** How far each later range reaches back before the cursor, for late records. */
  overlap: number;
  /** Milliseconds between polls. */
  pollIntervalMs: number;
  /** Stop after the range that reaches `end` (or after the first pass when there is no end: `--once`). */
  bounded: boolean;
  signal: AbortSignal;
  /** The clock, in the same unit as cursors (seconds for Plum, milliseconds for iPlum). */
  now: () => number;
  /** Moves a range start, e.g. into a service's retention window. */
  clampStart?: (stream: S, from: number) => number;
  /** Splits [from, to) into parts; the cursor advances after each (iPlum: windows of ≤ 5 days). Default: one part. */
  split?: (from: number, to: number) => { start: number; end: number }[];
  /** Reads one part of one stream. Must end early (without error) when `signal` aborts. */
  read: (stream: S, from: number, to: number) => AsyncIterable<SourcePage>;
  /** Called at the start of each pass and after each part: parts done of the pass's total (progress bars). */
  onProgress?: (done: number, total: number) => void;
  /** Waits between polls (default: a real, unref'd timer). Tests pass a fake clock's. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * How long a part that keeps failing with retriable errors (an outage) is tried again before
   * the error ends the source. Default: without limit. The cursor never passes a failed part.
   */
  maxRetryDurationMs?: number;
  /** Called after each failed attempt at a part that will be tried again (warn, count, report not ready). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Called when a part succeeds after failed attempts (report ready again). */
  onRecovered?: () => void;
}

/**
 * The loop of an incremental polling source, as an async generator of pages: per stream, read
 * `[cursor − overlap, now)` (the first time `[firstStart, now)`), then yield a checkpoint-only page
 * with the cursor moved to the end of what was read — the runtime stores it only once every page
 * before it was acknowledged. Then sleep `pollIntervalMs` and poll again, unless bounded.
 *
 * @example
 * read: (cp) => pollRanges({ streams: ['calls'], checkpoint: cp, firstStart: Date.now() - 86_400_000,
 *   configuredStart: 0, overlap: 300_000, pollIntervalMs: 60_000, bounded: ctx.once, signal: ctx.signal,
 *   now: Date.now, read: (stream, from, to) => fetchPages(stream, from, to) })
 */
export async function* pollRanges<S extends string>(o: PollRangesOptions<S>): AsyncGenerator<SourcePage> {
  const cursor: Partial<Record<S, number>> = { ...o.checkpoint };
  for (;;) {
    const rangeEnd = Math.min(o.end ?? Number.POSITIVE_INFINITY, o.now());
    // The whole pass is planned first, so progress knows its total.
    const plan = o.streams.map((stream) => {
      const at = cursor[stream];
      let from = at !== undefined ? Math.max(at - o.overlap, o.configuredStart) : o.firstStart;
      if (o.clampStart) from = o.clampStart(stream, from);
      return { stream, parts: from < rangeEnd ? (o.split ? o.split(from, rangeEnd) : [{ start: from, end: rangeEnd }]) : [] };
    });
    const total = plan.reduce((n, p) => n + p.parts.length, 0);
    let done = 0;
    o.onProgress?.(done, total);
    for (const { stream, parts } of plan) {
      if (o.signal.aborted) return;
      for (const part of parts) {
        yield* readRetrying(o, stream, part);
        // A read cut short by a stop did not cover its part: the cursor stays.
        if (o.signal.aborted) return;
        cursor[stream] = Math.max(cursor[stream] ?? part.end, part.end);
        o.onProgress?.(++done, total);
        yield { events: [], checkpoint: { ...cursor } as Record<string, number> };
      }
      if (parts.length === 0) {
        cursor[stream] = Math.max(cursor[stream] ?? rangeEnd, rangeEnd);
        yield { events: [], checkpoint: { ...cursor } as Record<string, number> };
      }
    }
    if (o.bounded && (o.end === undefined || rangeEnd >= o.end)) return;
    await (o.sleep ?? sleep)(o.pollIntervalMs, o.signal).catch(() => {});
    if (o.signal.aborted) return;
  }
}

/**
 * Reads one part, trying again after retriable failures with capped, jittered backoff until it
 * succeeds, the pipeline stops, or `maxRetryDurationMs` passed (then the error ends the source,
 * before the cursor moves past the part). Pages the failed attempt yielded were delivered: the
 * retry reads them again (dedupe, or a sink that keeps what a checkpoint covers, absorbs them).
 */
async function* readRetrying<S extends string>(o: PollRangesOptions<S>, stream: S, part: { start: number; end: number }): AsyncGenerator<SourcePage> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      yield* o.read(stream, part.start, part.end);
      if (attempt > 1) o.onRecovered?.();
      return;
    } catch (err) {
      // Known transient errors (network, 429, 5xx) are retried for as long as allowed; errors
      // plumline does not know a few times only, so a bug cannot spin for ever.
      const transient = err instanceof PlumlineError ? err.retriable : attempt < UNKNOWN_ERROR_ATTEMPTS;
      if (o.signal.aborted || !transient || Date.now() - started >= (o.maxRetryDurationMs ?? Number.POSITIVE_INFINITY)) throw err;
      const delay = backoffDelayMs(attempt, OUTAGE_BACKOFF);
      o.onRetry?.(err, attempt, delay);
      await (o.sleep ?? sleep)(delay, o.signal).catch(() => {});
      if (o.signal.aborted) return;
    }
  }
}
