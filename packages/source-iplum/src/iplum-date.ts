const RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})$/;

/** `YYYY-MM-DD HH:mm:ss.SSS` in UTC, the format iPlum's StartDate/EndDate take. */
export function formatIplumDate(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** Parses `YYYY-MM-DD HH:mm:ss.SSS` (UTC); undefined when it is not that. */
export function parseIplumDate(text: string): number | undefined {
  const m = RE.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
  return formatIplumDate(ms) === text ? ms : undefined;
}
