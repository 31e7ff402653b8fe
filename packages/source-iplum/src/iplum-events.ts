import { PipelineError, type CallEvent } from '@plumline/core';

export const IPLUM_SOURCE = 'iplum';

/** A usage record as iPlum sends it (polled or pushed). */
export interface IplumUsageRecord {
  source?: string;
  clientReferenceId?: string;
  recordId: string;
  usage: string;
  type?: string;
  from?: string;
  to?: string;
  startTimeUTC: string;
  endTimeUTC?: string;
  duration?: string | number;
  direction?: string;
  iPlumCredits?: number;
  userId?: string;
  content?: string;
}

/** A call-recording record as iPlum sends it. */
export interface IplumRecordingRecord {
  source?: string;
  clientReferenceId?: string;
  recordId: string;
  phonenumber: string;
  dateTimeUTC: string;
  duration?: string | number;
  length?: string;
  direction?: string;
  userId?: string;
  content?: string;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** `434.2 KB` → 444621; `1.2 MB` → 1258291. Binary units, as file managers show sizes. Undefined when unreadable. */
export function parseLength(text: string | undefined): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)\s*$/i.exec(text ?? '');
  return m ? Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!) : undefined;
}

/** A zone at the end of a date-time: `Z`, `+02:00`, `-0500`. */
const ZONE_RE = /(?:Z|[+-]\d{2}:?\d{2})$/i;
const LOCAL_DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/;

/**
 * An iPlum time as ISO-8601 UTC. iPlum sends UTC, sometimes without a zone
 * (`2023-03-24 00:00:00.000`): such a time is read as UTC, never in the process's own zone.
 */
function isoOf(text: unknown, field: string, recordId: unknown): string {
  let t = typeof text === 'string' ? text.trim() : '';
  if (LOCAL_DATE_TIME_RE.test(t) && !ZONE_RE.test(t)) t = `${t.replace(' ', 'T')}Z`;
  const ms = t ? Date.parse(t) : Number.NaN;
  if (Number.isNaN(ms)) throw new PipelineError('IPLUM_BAD_RECORD', `record ${String(recordId)}: ${field} "${String(text)}" is not a date`, { retriable: false });
  return new Date(ms).toISOString();
}

function direction(d: unknown): 'inbound' | 'outbound' | undefined {
  return d === 'in' ? 'inbound' : d === 'out' ? 'outbound' : undefined;
}

const MEDIA_RE = /^https?:\/\//i;

/** Validates the fields every usage record must have; throws IPLUM_BAD_RECORD with the reason. */
export function checkUsage(r: unknown): asserts r is IplumUsageRecord {
  const o = r as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw new PipelineError('IPLUM_BAD_RECORD', 'usage record is not an object', { retriable: false });
  for (const k of ['recordId', 'usage', 'startTimeUTC'] as const) if (typeof o[k] !== 'string' || o[k] === '') throw new PipelineError('IPLUM_BAD_RECORD', `usage record has no string "${k}"`, { retriable: false });
  if (!['call', 'text', 'fax'].includes(o.usage as string)) throw new PipelineError('IPLUM_BAD_RECORD', `usage "${String(o.usage)}" is not call, text or fax`, { retriable: false });
}

export function checkRecording(r: unknown): asserts r is IplumRecordingRecord {
  const o = r as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw new PipelineError('IPLUM_BAD_RECORD', 'recording record is not an object', { retriable: false });
  for (const k of ['recordId', 'phonenumber', 'dateTimeUTC'] as const) if (typeof o[k] !== 'string' || o[k] === '') throw new PipelineError('IPLUM_BAD_RECORD', `recording record has no string "${k}"`, { retriable: false });
}

/**
 * A call's duration: end − start when the record spans time; otherwise the `duration` field
 * (minutes) — the vendor's own example has start = end with `duration: "2"`.
 */
function callDuration(time: string, endTime: string | undefined, minutes: number | undefined): { durationSec?: number } {
  const span = endTime ? (Date.parse(endTime) - Date.parse(time)) / 1000 : undefined;
  if (span !== undefined && span > 0) return { durationSec: span };
  if (minutes !== undefined && Number.isFinite(minutes) && minutes >= 0) return { durationSec: minutes * 60 };
  return span === undefined ? {} : { durationSec: 0 };
}

/** A usage record as an event: kind = its usage, id `iplum:{recordId}`. */
export function usageEvent(r: IplumUsageRecord, includeRaw = true): CallEvent {
  checkUsage(r);
  const time = isoOf(r.startTimeUTC, 'startTimeUTC', r.recordId);
  const endTime = r.endTimeUTC ? isoOf(r.endTimeUTC, 'endTimeUTC', r.recordId) : undefined;
  const minutes = r.duration === undefined || r.duration === '' ? undefined : Number(r.duration);
  const attributes: Record<string, unknown> = {
    recordId: r.recordId,
    usageType: r.type,
    durationMinutes: Number.isFinite(minutes) ? minutes : undefined,
    credits: r.iPlumCredits,
    userId: r.userId,
    clientReferenceId: r.clientReferenceId,
  };
  if (r.content !== undefined) attributes[MEDIA_RE.test(r.content) ? 'mediaUrl' : 'content'] = r.content;
  const dir = direction(r.direction);
  // Fields in the same order as every other source's events.
  const e: CallEvent = {
    id: `iplum:${r.recordId}`,
    source: IPLUM_SOURCE,
    kind: r.usage,
    time,
    ...(endTime ? { endTime } : {}),
    ...(dir ? { direction: dir } : {}),
    ...(r.from !== undefined ? { from: r.from } : {}),
    ...(r.to !== undefined ? { to: r.to } : {}),
    ...(r.usage === 'call' ? callDuration(time, endTime, minutes) : {}),
    attributes,
  };
  if (includeRaw) e.raw = r;
  return e;
}

/** A recording record as an event: kind `recording`, the phone number on the far side. */
export function recordingEvent(r: IplumRecordingRecord, includeRaw = true): CallEvent {
  checkRecording(r);
  const minutes = r.duration === undefined || r.duration === '' ? undefined : Number(r.duration);
  const dir = direction(r.direction);
  const attributes: Record<string, unknown> = {
    recordId: r.recordId,
    phoneNumber: r.phonenumber,
    sizeText: r.length,
    sizeBytes: parseLength(r.length),
    durationMinutes: Number.isFinite(minutes) ? minutes : undefined,
    userId: r.userId,
    clientReferenceId: r.clientReferenceId,
  };
  if (r.content !== undefined) attributes.recordingUrl = r.content;
  const e: CallEvent = {
    id: `iplum:${r.recordId}`,
    source: IPLUM_SOURCE,
    kind: 'recording',
    time: isoOf(r.dateTimeUTC, 'dateTimeUTC', r.recordId),
    ...(dir ? { direction: dir } : {}),
    ...(dir === 'outbound' ? { to: r.phonenumber } : { from: r.phonenumber }),
    attributes,
  };
  if (includeRaw) e.raw = r;
  return e;
}
