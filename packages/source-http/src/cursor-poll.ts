import type { CallEvent, ComponentContext, SourcePage } from '@plumline/core';
import { OUTAGE_BACKOFF, outageReporting } from '@plumline/core/sources';
import { backoffDelayMs, compileGetter, isFieldRecord } from '@plumline/core/util';
import { isPlumlineError } from '@plumline/core';
import { readListing, type ListingPosition, type ListingReader } from './http-listing.js';

/** A cursor value: what `cursor_field` holds (compared as numbers when both are). */
type CursorValue = string | number;

/**
 * The checkpoint of the cursor mode: `from`, the value the current poll asks from, and `ids`,
 * the ids delivered whose field equals it (a poll that asks from it again lists them again);
 * inside a poll, `at` (the position after the last acknowledged page), `max`/`maxIds` (the
 * largest value delivered so far in this poll and its ids).
 */
export interface CursorCheckpoint {
  from?: CursorValue;
  ids: string[];
  at?: ListingPosition;
  max?: CursorValue;
  maxIds?: string[];
}

function compare(a: CursorValue, b: CursorValue): number {
  const x = typeof a === 'number' ? a : Number(a);
  const y = typeof b === 'number' ? b : Number(b);
  if (typeof a !== 'string' || typeof b !== 'string' || (a.trim() !== '' && b.trim() !== '')) if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/**
 * The loop of the cursor mode: each poll lists from the largest `cursor_field` value delivered
 * before ({{from}}), drops the records at that value delivered before, and moves the cursor to
 * the largest value of the poll once all of it was read (the checkpoint the runtime stores after
 * the sinks acknowledged). Failures that may pass are retried from the last page's position with
 * capped, jittered backoff; others end the source.
 */
export async function* pollCursor(r: ListingReader, ctx: ComponentContext, o: { field: string; start?: CursorValue; pollIntervalMs: number; bounded: boolean; maxRetryDurationMs?: number }, checkpoint: CursorCheckpoint | undefined): AsyncGenerator<SourcePage<CursorCheckpoint>> {
  const read = compileGetter(o.field);
  // A record that is a bare value (a log line) has no cursor field.
  const get = (record: unknown): unknown => (isFieldRecord(record) ? read(record) : undefined);
  const report = outageReporting(ctx);
  let cp: CursorCheckpoint = checkpoint ?? { ...(o.start === undefined ? {} : { from: o.start }), ids: [] };
  for (;;) {
    const started = ctx.clock.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const before = new Set(cp.ids);
        let max = cp.max;
        let maxIds = new Set(cp.maxIds ?? []);
        for await (const page of readListing(r, { from: cp.from === undefined ? '' : String(cp.from) }, cp.at)) {
          const events: CallEvent[] = [];
          page.events.forEach((e, i) => {
            const v = get(page.records[i]);
            const value = typeof v === 'number' || (typeof v === 'string' && v !== '') ? v : undefined;
            if (value !== undefined && cp.from !== undefined && compare(value, cp.from) === 0 && before.has(e.id)) return;
            events.push(e);
            if (value === undefined) return;
            if (max === undefined || compare(value, max) > 0) {
              max = value;
              maxIds = new Set([e.id]);
            } else if (compare(value, max) === 0) maxIds.add(e.id);
          });
          cp = { ...cp, at: page.position, ...(max === undefined ? {} : { max, maxIds: [...maxIds] }) };
          yield { events, ...(page.dead.length ? { dead: page.dead } : {}), checkpoint: cp };
        }
        if (ctx.signal.aborted) return;
        // The poll is read: the cursor moves to its largest value (ids at it kept, with those
        // delivered before when it did not move).
        const moved = max !== undefined && (cp.from === undefined || compare(max, cp.from) > 0);
        cp = moved ? { from: max, ids: [...maxIds] } : { ...(cp.from === undefined ? {} : { from: cp.from }), ids: [...new Set([...cp.ids, ...maxIds])] };
        yield { events: [], checkpoint: cp };
        if (attempt > 1) report.onRecovered?.();
        break;
      } catch (err) {
        const transient = isPlumlineError(err) ? err.retriable : attempt < 3;
        if (ctx.signal.aborted) return;
        if (!transient || ctx.clock.now() - started >= (o.maxRetryDurationMs ?? Number.POSITIVE_INFINITY)) throw err;
        const delay = backoffDelayMs(attempt, OUTAGE_BACKOFF);
        report.onRetry?.(err, attempt, delay);
        await ctx.clock.sleep(delay, ctx.signal).catch(() => {});
        if (ctx.signal.aborted) return;
      }
    }
    if (o.bounded) return;
    report.onNextPoll?.(o.pollIntervalMs);
    await ctx.clock.sleep(o.pollIntervalMs, ctx.signal).catch(() => {});
    report.onNextPoll?.(undefined);
    if (ctx.signal.aborted) return;
  }
}
