import type { JsonValue } from '../util/json.js';

type Json = Record<string, JsonValue>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const scaled = (v: JsonValue | undefined, factor: number): JsonValue | undefined => (typeof v === 'number' && Number.isFinite(v) ? v * factor : v);

/** One stream record (`@readAt`'s) with every time × factor. */
function scaleRecord(r: JsonValue | undefined, factor: number): JsonValue | undefined {
  return isObject(r) ? Object.fromEntries(Object.entries(r).map(([k, v]) => [k, scaled(v, factor)!])) : r;
}

/** A checkpoint of `pollRanges` (cursors, `@readAt`, `@parts`, `@seen`) with every time in it × factor. */
function scaleOne(cp: Json, factor: number): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(cp)) {
    if (key === '@readAt') out[key] = scaleRecord(value, factor)!;
    // A part's `at` is its listing position (a page, an offset), not a time.
    else if (key === '@parts') out[key] = Array.isArray(value) ? value.map((p) => (isObject(p) ? { ...p, start: scaled(p.start, factor)!, end: scaled(p.end, factor)! } : p)) : value;
    // A chunk's first element is the latest start among its ids; stored -Infinity reads back as null, which stays.
    else if (key === '@seen') out[key] = isObject(value) ? Object.fromEntries(Object.entries(value).map(([s, chunks]) => [s, Array.isArray(chunks) ? chunks.map((c) => (Array.isArray(c) ? [scaled(c[0], factor)!, ...c.slice(1)] : c)) : chunks])) : value;
    else if (key.startsWith('@')) out[key] = value;
    else out[key] = scaled(value, factor)!;
  }
  return out;
}

/**
 * A polling source's stored position with its cursor unit changed (× `factor`: 1000 for seconds
 * to ms): the streams' cursors, `@readAt`, each `@parts` entry's start and end, and the first
 * element of each `@seen` chunk. Either one checkpoint, or a record of them by account name (an
 * `accounts` source's position): a checkpoint is the one whose values include a number (a cursor)
 * or whose keys include an `@` key; anything else is read as a record of accounts.
 */
export function scaleCursors(position: JsonValue, factor: number): JsonValue {
  if (!isObject(position)) return position;
  const single = Object.entries(position).some(([k, v]) => k.startsWith('@') || typeof v === 'number');
  if (single) return scaleOne(position, factor);
  return Object.fromEntries(Object.entries(position).map(([account, cp]) => [account, isObject(cp) ? scaleOne(cp, factor) : cp]));
}
