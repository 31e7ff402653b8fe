import type { CallEvent } from './event.js';

/** True for the canonical `2026-01-01T00:00:00.000Z`, checked without parsing (most events have it). */
function isCanonicalIso(t: string): boolean {
  return t.length === 24 && t.charCodeAt(4) === 45 && t.charCodeAt(10) === 84 && t.charCodeAt(23) === 90;
}

function isIsoTime(t: unknown): boolean {
  return typeof t === 'string' && (isCanonicalIso(t) || (/^\d{4}-\d{2}-\d{2}T/.test(t) && !Number.isNaN(Date.parse(t))));
}

const OPTIONAL_STRINGS = ['from', 'to'] as const;

/**
 * Why `e` is not a {@link CallEvent} every operator and sink can rely on, or undefined when it
 * is one. The runtime checks each event a source emits, so a custom source (or stdin) cannot
 * hand the rest of the pipeline an event that breaks it later (a `time` that is an array).
 */
export function eventShapeProblem(e: unknown): string | undefined {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return `an event must be an object, not ${e === null ? 'null' : Array.isArray(e) ? 'an array' : typeof e}`;
  const v = e as Partial<Record<keyof CallEvent, unknown>>;
  if (typeof v.id !== 'string' || v.id === '') return '`id` must be a non-empty string';
  if (typeof v.source !== 'string' || v.source === '') return '`source` must be a non-empty string';
  if (typeof v.kind !== 'string' || v.kind === '') return '`kind` must be a non-empty string';
  if (!isIsoTime(v.time)) return '`time` must be an ISO-8601 date-time string (e.g. 2026-01-01T00:00:00.000Z)';
  if (v.endTime !== undefined && !isIsoTime(v.endTime)) return '`endTime`, when present, must be an ISO-8601 date-time string';
  if (v.attributes === null || typeof v.attributes !== 'object' || Array.isArray(v.attributes)) return '`attributes` must be an object';
  if (Object.hasOwn(v, '__proto__') || Object.hasOwn(v.attributes, '__proto__')) return 'an event (or its attributes) must not have a `__proto__` key';
  if (v.direction !== undefined && v.direction !== 'inbound' && v.direction !== 'outbound') return '`direction`, when present, must be "inbound" or "outbound"';
  for (const k of OPTIONAL_STRINGS) if (v[k] !== undefined && typeof v[k] !== 'string') return `\`${k}\`, when present, must be a string`;
  if (v.durationSec !== undefined && (typeof v.durationSec !== 'number' || !Number.isFinite(v.durationSec))) return '`durationSec`, when present, must be a finite number';
  return undefined;
}
