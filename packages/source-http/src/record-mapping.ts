import type { CallEvent } from '@plumline/core';
import { compileGetter, templateParts } from '@plumline/core/util';
import type { HttpMapping, MapValue } from './http-source-config.js';
import { epochMsOf } from './wall-time.js';

type Record_ = Record<string, unknown>;
/** A value read from a record: undefined when the record lacks it. */
type Reader = (r: Record_) => unknown;

/** What a map value reads, and the record's top-level fields it uses. */
function compileValue(v: MapValue): { read: Reader; uses: string[]; text: string } {
  if (v !== null && typeof v === 'object' && 'copy' in v) {
    return { read: compileGetter(v.copy), uses: [v.copy.split('.')[0]!], text: `{ copy: ${v.copy} }` };
  }
  if (v !== null && typeof v === 'object' && 'template' in v) {
    const { literals, getters } = templateParts(v.template);
    const gets: readonly Reader[] = getters;
    const paths = [...v.template.matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)].map((m) => m[1]!);
    return {
      read: (r) => {
        let out = literals[0]!;
        for (let i = 0; i < gets.length; i++) {
          const x = gets[i]!(r);
          if (x === undefined || x === null || (typeof x === 'object')) return undefined;
          out += String(x) + literals[i + 1]!;
        }
        return out;
      },
      uses: paths.map((p) => p.split('.')[0]!),
      text: `{ template: "${v.template}" }`,
    };
  }
  return { read: () => v, uses: [], text: JSON.stringify(v) };
}

/** The outcome of mapping one record: an event, or why it does not become one. */
export type Mapped = { event: CallEvent } | { problem: string };

/**
 * Compiles `map` into a function from a record to a call event: `id` and `time` are required;
 * the other fields are left out when the record lacks them; a value that is there but cannot be
 * read (a time that does not parse, a duration that is not a number) is a problem, never a guess.
 */
export function compileMapping(m: HttpMapping, includeRaw: boolean): (record: unknown) => Mapped {
  const id = compileValue(m.id);
  const time = compileValue(m.time);
  const endTime = m.end_time === undefined ? undefined : compileValue(m.end_time);
  const kind = compileValue(m.kind);
  const optional = (['direction', 'from', 'to'] as const).flatMap((k) => (m[k] === undefined ? [] : [[k, compileValue(m[k])] as const]));
  const duration = m.duration_sec === undefined ? undefined : compileValue(m.duration_sec);
  const used = new Set([id, time, endTime, kind, duration, ...optional.map(([, c]) => c)].flatMap((c) => c?.uses ?? []));
  const timeOf = (v: unknown, what: string): string | { problem: string } => {
    const ms = epochMsOf(v, m.time_format, m.time_zone);
    return ms === undefined ? { problem: `${what} ${JSON.stringify(v)} is not a time in format ${m.time_format}${m.time_format === 'iso' ? ` (zone ${m.time_zone} when it has no offset)` : ''}` } : new Date(ms).toISOString();
  };
  return (record) => {
    if (record === null || Array.isArray(record)) return { problem: `the record is ${record === null ? 'null' : 'a list'}, not an object or a value` };
    // A record that is a value (a log line, a number) is read as { value: … }.
    const r = typeof record === 'object' ? (record as Record_) : { value: record };
    const idValue = id.read(r);
    if ((typeof idValue !== 'string' && typeof idValue !== 'number') || idValue === '') return { problem: `the record has no id at ${id.text}` };
    const t = time.read(r);
    if (t === undefined || t === null || t === '') return { problem: `record ${idValue}: no time at ${time.text}` };
    const at = timeOf(t, `record ${idValue}: time`);
    if (typeof at !== 'string') return at;
    const k = kind.read(r);
    if (typeof k !== 'string' || k === '') return { problem: `record ${idValue}: no kind at ${kind.text}` };
    const e: CallEvent = { id: String(idValue), source: m.source, kind: k, time: at, attributes: {} };
    if (endTime) {
      const v = endTime.read(r);
      if (v !== undefined && v !== null && v !== '') {
        const end = timeOf(v, `record ${idValue}: end_time`);
        if (typeof end !== 'string') return end;
        e.endTime = end;
      }
    }
    for (const [key, c] of optional) {
      const v = c.read(r);
      if (v === undefined || v === null || v === '') continue;
      if (typeof v === 'object') return { problem: `record ${idValue}: ${key} at ${c.text} is an object, not a value` };
      if (key === 'direction') {
        const d = String(v).toLowerCase();
        // A vendor's own word ("IN", "internal") is kept, not lost, as the reference says.
        if (d === 'inbound' || d === 'outbound') e.direction = d;
        else e.attributes.direction = v;
      } else e[key] = String(v);
    }
    if (duration) {
      const v = duration.read(r);
      if (v !== undefined && v !== null && v !== '') {
        const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
        if (!Number.isFinite(n) || n < 0) return { problem: `record ${idValue}: duration_sec ${JSON.stringify(v)} at ${duration.text} is not a number of seconds` };
        e.durationSec = n;
      }
    }
    if (m.attributes !== 'none') for (const key of Object.keys(r)) if (m.attributes === 'all' || !used.has(key)) e.attributes[key] = r[key];
    if (includeRaw) e.raw = record;
    return { event: e };
  };
}
