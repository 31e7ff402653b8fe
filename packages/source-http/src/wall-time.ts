import { zonedToEpochMs } from '@plumline/core/util';

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const ZONED_RE = /(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Epoch milliseconds of a record's time: `unix` seconds, `unix_ms`, or ISO-8601 — with an offset
 * as written, without one as the wall clock in `zone` (the first of a repeated hour). Undefined
 * when it is not a time.
 */
export function epochMsOf(v: unknown, format: 'iso' | 'unix' | 'unix_ms', zone: string): number | undefined {
  if (format !== 'iso') {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) return undefined;
    return format === 'unix' ? Math.round(n * 1000) : Math.round(n);
  }
  if (typeof v !== 'string') return undefined;
  const text = v.trim();
  if (ZONED_RE.test(text)) {
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms : undefined;
  }
  const m = LOCAL_RE.exec(text);
  if (!m) return undefined;
  const fraction = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  const asUtc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  if (!Number.isFinite(asUtc)) return undefined;
  if (zone === 'UTC') return asUtc + fraction;
  return zonedToEpochMs(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), zone) + fraction;
}
