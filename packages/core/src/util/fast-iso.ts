const DAY_MS = 86_400_000;
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

let cachedDay = Number.NaN;
let cachedPrefix = '';

/**
 * `new Date(ms).toISOString()` for dates between 1970 and 9999, several times faster when
 * consecutive calls fall on the same day (the generator's hot path).
 */
export function isoFromMs(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let r = ms - day * DAY_MS;
  const h = (r / 3_600_000) | 0;
  r -= h * 3_600_000;
  const m = (r / 60_000) | 0;
  r -= m * 60_000;
  const s = (r / 1000) | 0;
  return `${cachedPrefix}${PAD2[h]}:${PAD2[m]}:${PAD2[s]}.${PAD3[r - s * 1000]}Z`;
}

let parsedDayText = '';
let parsedDayMs = Number.NaN;
const digit = (s: string, i: number) => s.charCodeAt(i) - 48;

/**
 * `Date.parse(text)` for UTC ISO-8601 instants as events carry them (`2026-01-02T03:04:05Z`,
 * with or without milliseconds), several times faster when consecutive calls fall on the same
 * day; any other form goes to Date.parse.
 */
export function msFromIso(text: string): number {
  const n = text.length;
  if ((n !== 20 && n !== 24) || text[10] !== 'T' || text[n - 1] !== 'Z' || text[13] !== ':' || text[16] !== ':') return Date.parse(text);
  const dayText = text.slice(0, 10);
  if (dayText !== parsedDayText) {
    const ms = Date.parse(`${dayText}T00:00:00Z`);
    if (Number.isNaN(ms)) return Date.parse(text);
    parsedDayText = dayText;
    parsedDayMs = ms;
  }
  const h = digit(text, 11) * 10 + digit(text, 12);
  const m = digit(text, 14) * 10 + digit(text, 15);
  const s = digit(text, 17) * 10 + digit(text, 18);
  if (!(h >= 0 && h < 24 && m >= 0 && m < 60 && s >= 0 && s < 60)) return Date.parse(text);
  let frac = 0;
  if (n === 24) {
    if (text[19] !== '.') return Date.parse(text);
    frac = digit(text, 20) * 100 + digit(text, 21) * 10 + digit(text, 22);
    if (!(frac >= 0 && frac < 1000)) return Date.parse(text);
  }
  return parsedDayMs + h * 3_600_000 + m * 60_000 + s * 1000 + frac;
}
