import { wallClock, zonedToEpochMs } from '@plumline/core/util';

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const MONTH_NAMES = Object.keys(MONTHS);
const CLF_RE = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?: [+-]\d{4})?$/;

/**
 * Reads Plum's bracketed time `03/Nov/2017:00:10:42 -0500` as wall-clock time in `zone`. The
 * printed offset is ignored: the vendor's samples show it does not match the epochs. `\/` is accepted for `/`.
 */
export function parseClfInZone(text: string, zone: string): number | undefined {
  const m = CLF_RE.exec(text.replace(/\\\//g, '/'));
  if (!m) return undefined;
  const mo = MONTHS[m[2]!];
  if (mo === undefined) return undefined;
  return zonedToEpochMs(Number(m[3]), mo, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), zone);
}

/** Formats `epochMs` the way Plum prints it, with a fixed printed offset (as the vendor does). */
export function formatClf(epochMs: number, zone: string, printedOffset: string): string {
  const w = wallClock(epochMs, zone);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${p2(w.d)}/${MONTH_NAMES[w.mo]}/${w.y}:${p2(w.h)}:${p2(w.mi)}:${p2(w.s)} ${printedOffset}`;
}
