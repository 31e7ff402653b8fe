import type { CallEvent } from './event.js';

/** True for the canonical `2026-01-01T00:00:00.000Z`, checked without parsing (most events have it). */
function isCanonicalIso(t: string): boolean {
  return t.length === 24 && t.charCodeAt(4) === 45 && t.charCodeAt(10) === 84 && t.charCodeAt(23) === 90;
}

function isIsoTime(t: unknown): boolean {
  return typeof t === 'string' && (isCanonicalIso(t) || (/^\d{4}-\d{2}-\d{2}T/.test(t) && !Number.isNaN(Date.parse(t))));
}

/**
 * Why `e` is not a {@link CallEvent} every operator and sink can rely on, or undefined when it
 * is one. The runtime checks each event a source emits, so a custom source (or stdin) cannot
 * hand the rest of the pipeline an event that breaks it later (a `time` that is an array).
 * Runs once per event on the hot path: plain property reads into locals, no keyed access.
 */
export function eventShapeProblem(e: unknown): string | undefined {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return `an event must be an object, not ${e === null ? 'null' : Array.isArray(e) ? 'an array' : typeof e}`;
  const v = e as Partial<Record<keyof CallEvent, unknown>>;
  const { id, source, kind, time, endTime, attributes, direction, from, to, durationSec } = v;
  if (typeof id !== 'string' || id === '') return '`id` must be a non-empty string';
  if (typeof source !== 'string' || source === '') return '`source` must be a non-empty string';
  if (typeof kind !== 'string' || kind === '') return '`kind` must be a non-empty string';
  if (!isIsoTime(time)) return '`time` must be an ISO-8601 date-time string (e.g. 2026-01-01T00:00:00.000Z)';
  if (endTime !== undefined && !isIsoTime(endTime)) return '`endTime`, when present, must be an ISO-8601 date-time string';
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) return '`attributes` must be an object';
  if (direction !== undefined && direction !== 'inbound' && direction !== 'outbound') return '`direction`, when present, must be "inbound" or "outbound"';
  if (from !== undefined && typeof from !== 'string') return '`from`, when present, must be a string';
  if (to !== undefined && typeof to !== 'string') return '`to`, when present, must be a string';
  if (durationSec !== undefined && (typeof durationSec !== 'number' || !Number.isFinite(durationSec))) return '`durationSec`, when present, must be a finite number';
  if (Object.hasOwn(v, '__proto__') || Object.hasOwn(attributes, '__proto__')) return 'an event (or its attributes) must not have a `__proto__` key';
  return undefined;
}
