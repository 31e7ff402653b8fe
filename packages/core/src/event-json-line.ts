import type { CallEvent, DeadLetter } from './event.js';

/**
 * One NDJSON line of `e` (without the newline), leaving out `raw` unless `includeRaw`. Throws
 * when JSON cannot represent the event (a BigInt or a cycle that a custom operator put there):
 * sinks catch that and dead-letter the event with {@link unwritableAsJson}.
 */
export function eventJsonLine(e: CallEvent, includeRaw: boolean): string {
  // A spread with raw: undefined rather than a delete keeps the copy a fast object.
  return includeRaw || e.raw === undefined ? JSON.stringify(e) : JSON.stringify({ ...e, raw: undefined });
}

/**
 * The dead letter of an event JSON cannot represent. Its record names the event (id, source,
 * kind, time) instead of holding it, since the event itself cannot be written anywhere.
 */
export function unwritableAsJson(e: CallEvent, err: unknown, code: string, context?: Record<string, unknown>): DeadLetter {
  return { code, reason: `event cannot be written as JSON: ${(err as Error)?.message ?? String(err)}`, record: { id: e.id, source: e.source, kind: e.kind, time: e.time }, ...(context ? { context } : {}) };
}
