import type { SourcePage } from '../plugin.js';
import { sleep } from '../util/backoff.js';

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
        yield* o.read(stream, part.start, part.end);
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
