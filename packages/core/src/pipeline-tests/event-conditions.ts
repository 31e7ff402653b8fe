import { isDeepStrictEqual } from 'node:util';
import { compileGetter } from '../expr/field-path.js';
import type { CallEvent } from '../event.js';
import type { EventCondition } from './pipeline-test-schema.js';

/** One field check of a condition, and whether an event passed it. */
export interface FieldCheck {
  op: 'equals' | 'contains' | 'matches';
  path: string;
  expected: unknown;
  actual: unknown;
  ok: boolean;
}

function contains(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'string') return typeof expected === 'string' && actual.includes(expected);
  if (Array.isArray(actual)) return actual.some((item) => isDeepStrictEqual(item, expected) || subset(item, expected));
  return subset(actual, expected);
}

function subset(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object' || actual === null || typeof actual !== 'object') return isDeepStrictEqual(actual, expected);
  return Object.entries(expected as Record<string, unknown>).every(([k, v]) => subset((actual as Record<string, unknown>)[k], v));
}

/**
 * A value as a sink writes it: JSON leaves out fields set to undefined (how operators remove
 * them), and the expected side comes from YAML, so objects are compared in that form.
 */
function asWritten(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  try {
    return JSON.parse(JSON.stringify(v)) as unknown;
  } catch {
    return v;
  }
}

/** Every field check of `condition` against `event`. */
export function checkEvent(condition: EventCondition, event: CallEvent): FieldCheck[] {
  const out: FieldCheck[] = [];
  for (const [path, expected] of Object.entries(condition.equals ?? {})) {
    const actual = asWritten(compileGetter(path)(event));
    out.push({ op: 'equals', path, expected, actual, ok: isDeepStrictEqual(actual, expected) });
  }
  for (const [path, expected] of Object.entries(condition.contains ?? {})) {
    const actual = asWritten(compileGetter(path)(event));
    out.push({ op: 'contains', path, expected, actual, ok: contains(actual, expected) });
  }
  for (const [path, expected] of Object.entries(condition.matches ?? {})) {
    const actual = compileGetter(path)(event);
    out.push({ op: 'matches', path, expected, actual, ok: typeof actual === 'string' && new RegExp(expected).test(actual) });
  }
  return out;
}

const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
const SIGN = { equals: '=', contains: '∋', matches: '~' } as const;

/** The condition as lines such as `attributes.partners = 2`. */
export function describeCondition(condition: EventCondition): string[] {
  return checkEvent(condition, {} as CallEvent).map((c) => `${c.path} ${SIGN[c.op]} ${c.op === 'matches' ? `/${String(c.expected)}/` : show(c.expected)}`);
}

/** For a failed condition: the event that came closest, and where it differs. */
export function closestMiss(condition: EventCondition, events: readonly CallEvent[]): { event: CallEvent; misses: FieldCheck[] } | undefined {
  let best: { event: CallEvent; misses: FieldCheck[] } | undefined;
  for (const event of events) {
    const misses = checkEvent(condition, event).filter((c) => !c.ok);
    if (!best || misses.length < best.misses.length) best = { event, misses };
  }
  return best;
}

export { show as showValue };
