const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** True when `text` is a duration such as `500ms`, `30s`, `5m`, `1h30m`, `7d`. */
export function isDuration(text: string): boolean {
  return DURATION_RE.test(text);
}

/**
 * Parses `500ms`, `30s`, `5m`, `1h30m`, `7d`, `2w` into milliseconds.
 * Bare numbers are refused on purpose: `30` could mean seconds or milliseconds.
 */
export function parseDuration(text: string): number {
  if (!DURATION_RE.test(text)) {
    throw new TypeError(`"${text}" is not a duration: write a number with a unit, e.g. 500ms, 30s, 5m, 2h, 7d`);
  }
  let total = 0;
  for (const match of text.matchAll(PART_RE)) {
    total += Number(match[1]) * (UNIT_MS[match[2]!] ?? 0);
  }
  return Math.round(total);
}

/** Formats milliseconds back into the largest exact unit (`300000` → `5m`). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
