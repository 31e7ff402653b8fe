/** Wall-clock time in an IANA zone, both ways: Intl's offsets, cached per UTC hour. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(zone, f);
  }
  return f;
}

const HOUR_MS = 3_600_000;
const offsetCache = new Map<string, number>();

function intlWallClock(epochMs: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(epochMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year!, mo: parts.month! - 1, d: parts.day!, h: parts.hour!, mi: parts.minute!, s: parts.second! };
}

/**
 * Offset of `zone` from UTC at `epochMs`, in ms (New York in winter: −5 h). Cached per UTC hour:
 * zones change offset on hour or half-hour boundaries, and Intl is slow (microseconds a call).
 */
function offsetMs(epochMs: number, zone: string): number {
  const hour = Math.floor(epochMs / HOUR_MS);
  const key = `${zone}|${hour}`;
  let off = offsetCache.get(key);
  if (off === undefined) {
    // Sample the end of the hour too: a change at half past lands in the hour's second half.
    const at = hour * HOUR_MS;
    const w = intlWallClock(at, zone);
    off = Date.UTC(w.y, w.mo, w.d, w.h, w.mi, w.s) - at;
    const w2 = intlWallClock(at + HOUR_MS - 1000, zone);
    const off2 = Date.UTC(w2.y, w2.mo, w2.d, w2.h, w2.mi, w2.s) - (at + HOUR_MS - 1000);
    if (off2 !== off) {
      // Rare: an offset change inside the hour. Do not cache; compute exactly.
      const w3 = intlWallClock(epochMs, zone);
      return Date.UTC(w3.y, w3.mo, w3.d, w3.h, w3.mi, w3.s) - Math.floor(epochMs / 1000) * 1000;
    }
    if (offsetCache.size > 100_000) offsetCache.clear();
    offsetCache.set(key, off);
  }
  return off;
}

/** Wall-clock fields of `epochMs` in `zone`. */
export function wallClock(epochMs: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const d = new Date(Math.floor(epochMs / 1000) * 1000 + offsetMs(epochMs, zone));
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth(), d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
}

/**
 * The instant at which the wall clock in `zone` shows the given time. Ambiguous times (the
 * repeated hour when DST ends) resolve to the first occurrence; skipped ones shift forward.
 */
export function zonedToEpochMs(y: number, mo: number, d: number, h: number, mi: number, s: number, zone: string): number {
  const asUtc = Date.UTC(y, mo, d, h, mi, s);
  // The instants this wall time can name: one per offset the zone has within a day of it. Where
  // two fit (the hour repeated when DST ends) the first is taken — also at the hour's first
  // second, which the offset at the wall time itself (already the later one) would miss.
  const fits = [offsetMs(asUtc - DAY_MS, zone), offsetMs(asUtc, zone), offsetMs(asUtc + DAY_MS, zone)]
    .map((o) => asUtc - o)
    .filter((t) => t + offsetMs(t, zone) === asUtc);
  if (fits.length > 0) return Math.min(...fits);
  // A wall time the zone skips (the hour lost when DST starts): the earlier of its two readings.
  let guess = asUtc - offsetMs(asUtc, zone);
  const second = asUtc - offsetMs(guess, zone);
  if (second !== guess) guess = Math.min(guess, second);
  return guess;
}
const DAY_MS = 86_400_000;
