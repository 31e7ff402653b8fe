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
