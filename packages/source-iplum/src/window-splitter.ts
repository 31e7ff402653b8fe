/** A half-open time window [startMs, endMs). */
export interface TimeWindow {
  startMs: number;
  endMs: number;
}

/**
 * Splits [startMs, endMs) into consecutive windows of at most `maxMs`: each window's end is the
 * next one's start, so there is no gap and no instant counted twice (windows are half-open).
 * An empty or inverted range gives no window.
 */
export function splitWindows(startMs: number, endMs: number, maxMs: number): TimeWindow[] {
  if (!(maxMs > 0)) throw new RangeError('window length must be positive');
  const out: TimeWindow[] = [];
  for (let s = startMs; s < endMs; s += maxMs) out.push({ startMs: s, endMs: Math.min(endMs, s + maxMs) });
  return out;
}
