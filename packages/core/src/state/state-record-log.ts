import { crc32 } from 'node:zlib';
import type { Entries } from './state-entries.js';

/**
 * The directory store's record log (`state.log`): one line per write of a key, holding only the
 * entries of its value that changed (see state-entries.ts), so a commit costs what moved.
 *
 *   <crc32 of the JSON, 8 hex digits> {"p":"<pipeline>","n":<record number>,"k":"<key>","set":[[<path>,<value>],…],"del":[<path>,…]}
 *
 * `p` ties every record to its pipeline (a file copied from another pipeline's directory is
 * refused); `n` counts records without gaps (a record lost from the middle is damage, not a
 * torn tail); the checksum tells a damaged record from a torn one. A compaction writes the live
 * entries as one record per key into a fresh file, numbered on from the last.
 */
export interface RecordOfKey {
  readonly key: string;
  readonly set: readonly (readonly [path: string, text: string])[];
  readonly removed: readonly string[];
}

/** One record as a line, newline included. */
export function encodeRecord(pipeline: string, n: number, r: RecordOfKey): string {
  const set = r.set.map(([path, text]) => `[${JSON.stringify(path)},${text}]`).join(',');
  const json = `{"p":${JSON.stringify(pipeline)},"n":${n},"k":${JSON.stringify(r.key)},"set":[${set}],"del":${JSON.stringify(r.removed)}}`;
  return `${checksum(json)} ${json}\n`;
}

function checksum(json: string): string {
  return crc32(Buffer.from(json, 'utf8')).toString(16).padStart(8, '0');
}

/** What a record log holds, or where it stops making sense. */
export interface DecodedLog {
  /** Live entries per key. */
  readonly values: Map<string, Entries>;
  /** The number of the last good record (0 when none). */
  readonly lastN: number;
  /** Bytes up to the end of the last good record. */
  readonly goodBytes: number;
  /**
   * Why the log stops at `goodBytes`, and on which line (1-based), if it does. `torn`: it is the
   * last record and has no end (no newline, or only NUL bytes after the last whole record), as a
   * write cut short by a kill or a power loss leaves it; a whole line that does not decode is not.
   */
  readonly problem?: { readonly line: number; readonly reason: string; readonly torn: boolean };
}

/** Decodes `data`; stops at the first record that is not whole and good (see DecodedLog.problem). */
export function decodeRecordLog(data: Buffer, pipeline: string): DecodedLog {
  const values = new Map<string, Entries>();
  let lastN = 0;
  let offset = 0;
  let line = 0;
  while (offset < data.length) {
    line++;
    const nl = data.indexOf(0x0a, offset);
    const end = nl === -1 ? data.length : nl + 1;
    const torn = nl === -1 || isZeros(data, offset);
    const text = data.subarray(offset, nl === -1 ? data.length : nl).toString('utf8');
    const reason = torn ? 'the record has no end (a write cut short)' : applyRecord(text, pipeline, lastN, values);
    if (typeof reason === 'string') return { values, lastN, goodBytes: offset, problem: { line, reason, torn } };
    lastN = reason;
    offset = end;
  }
  return { values, lastN, goodBytes: offset };
}

function isZeros(data: Buffer, from: number): boolean {
  for (let i = from; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

/** Applies one record line to `values`; returns its number, or why it is not a good record (nothing applied then). */
function applyRecord(text: string, pipeline: string, lastN: number, values: Map<string, Entries>): number | string {
  const m = /^([0-9a-f]{8}) (.*)$/s.exec(text);
  if (!m) return 'not a record (no checksum)';
  if (checksum(m[2]!) !== m[1]) return 'its checksum does not match (the record was changed or damaged)';
  let r: { p?: unknown; n?: unknown; k?: unknown; set?: unknown; del?: unknown };
  try {
    r = JSON.parse(m[2]!) as typeof r;
  } catch {
    return 'not JSON';
  }
  if (typeof r.p !== 'string') return 'no pipeline id';
  if (r.p !== pipeline) return `it belongs to pipeline "${r.p}", not "${pipeline}" (the file was copied from another pipeline's state)`;
  if (typeof r.n !== 'number' || !Number.isInteger(r.n) || r.n < 1) return 'no record number';
  if (lastN !== 0 && r.n !== lastN + 1) return `record number ${r.n} follows ${lastN} (records are missing or out of order)`;
  if (typeof r.k !== 'string' || !Array.isArray(r.set) || !Array.isArray(r.del)) return 'not a record of a key';
  const entries = new Map(values.get(r.k));
  for (const e of r.set as unknown[]) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string') return 'an entry is not [path, value]';
    entries.set(e[0], JSON.stringify(e[1]));
  }
  for (const path of r.del as unknown[]) {
    if (typeof path !== 'string') return 'a removed entry is not a path';
    entries.delete(path);
  }
  if (entries.size) values.set(r.k, entries);
  else values.delete(r.k);
  return r.n;
}
