import type { JsonValue } from '../util/json.js';

/** How much of a checkpoint the ops views show: enough to read where a source is, never the whole document (1,000 tenants' cursors are ~1 MB). */
export const SUMMARY_LIMITS = { depth: 3, keys: 12, items: 3, chars: 120 } as const;

/**
 * A checkpoint position cut down for people: objects to their first `keys` keys (then
 * `"…": "N more"`), arrays to their first `items` items (then how many more), strings to `chars`
 * characters, nothing deeper than `depth`; a polling source's delivered ids (`@seen`) as a count
 * per stream. The result is bounded whatever the checkpoint holds.
 */
export function summarizeCheckpoint(value: JsonValue | undefined, depth = 0): JsonValue {
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return value ?? null;
  if (typeof value === 'string') return value.length > SUMMARY_LIMITS.chars ? `${value.slice(0, SUMMARY_LIMITS.chars)}…` : value;
  if (Array.isArray(value)) {
    if (depth >= SUMMARY_LIMITS.depth) return `[${value.length} items]`;
    const shown = value.slice(0, SUMMARY_LIMITS.items).map((v) => summarizeCheckpoint(v, depth + 1));
    return value.length > SUMMARY_LIMITS.items ? [...shown, `…${value.length - SUMMARY_LIMITS.items} more`] : shown;
  }
  const entries = Object.entries(value);
  if (depth >= SUMMARY_LIMITS.depth) return `{${entries.length} keys}`;
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of entries.slice(0, SUMMARY_LIMITS.keys)) out[k] = k === '@seen' && v && typeof v === 'object' && !Array.isArray(v) ? seenCounts(v) : summarizeCheckpoint(v, depth + 1);
  if (entries.length > SUMMARY_LIMITS.keys) out['…'] = `${entries.length - SUMMARY_LIMITS.keys} more`;
  return out;
}

/** `@seen` (per stream, chunks of delivered ids whose first item is the chunk's horizon) as "N ids" per stream. */
function seenCounts(seen: Record<string, JsonValue>): JsonValue {
  const out: Record<string, JsonValue> = {};
  for (const [stream, chunks] of Object.entries(seen)) out[stream] = `${Array.isArray(chunks) ? chunks.reduce<number>((n, c) => n + (Array.isArray(c) ? Math.max(0, c.length - 1) : 0), 0) : 0} ids`;
  return out;
}
