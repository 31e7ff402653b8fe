import { crc32 } from 'node:zlib';
import type { BatchPosition } from '@plumline/core';

/**
 * The file sink's commit index, kept as a log in the state store. Records, one JSON per line:
 * - `{"h":{"pipeline":…,"sink":…,"p":[[source,seq],…]}}` — the header, first line: whose index
 *   this is, and the highest batch of each source that records folded away (compaction) covered;
 * - `{"o":[file,len,path,part]}` — the sink opened `file` (rendered path `path`, part `part`)
 *   when it held `len` bytes: those bytes are not ours and are always kept;
 * - `{"b":[[file,start,end],…],"p":[[source,seq],…]}` — one fsynced write, covering the
 *   source batches `p`.
 * Each line also carries `n`, its ordinal (one more than the line before, never reused, across
 * rewrites too), and `c`, the CRC-32 of the line without `c`: damage anywhere but a torn last
 * line is told apart from a crash during an append. A record is appended only after the data
 * it describes was fsynced.
 *
 * Indexes written before version 2 (no `n`, no `c`, no header) are still read ({@link decodeIndex}).
 */
export type IndexRecord = { h: IndexHeader } | SinkRecord;

/** What the sink records: a file opened, or a write. */
export type SinkRecord = { o: [string, number, string, number] } | { b: [string, number, number][]; p: [string, number][] };

export interface IndexHeader {
  pipeline: string;
  sink: string;
  /** Per source, the highest batch seq covered by records compaction folded into `o` records. */
  p: [string, number][];
  /**
   * Per source, the highest batch seq of a checkpoint commit this sink saw land (written at a
   * clean close, after the final commit): the checkpoints in the state store never fall behind
   * it unless they were rolled back. Absent in indexes written before it.
   */
  k?: [string, number][];
  /**
   * Set by the rewrite at a clean close, after which the sink stores its head naming this
   * rewrite's last record; any later rewrite drops it. While set, a head in state.log that names
   * another record (or none) means state.log lost that last write: it was rolled back.
   */
  closed?: true;
}

/** A record with its ordinal, as read back. */
export type NumberedRecord = IndexRecord & { n: number };

export interface FileRecovery {
  file: string;
  path: string;
  part: number;
  /** Byte ranges to keep, in file order. */
  keep: [number, number][];
  /** True when something between kept ranges must go (a rewrite, not a truncate). */
  needsRewrite: boolean;
  /** Length after recovery. */
  length: number;
  /** How far the index accounts for this file's bytes (the end of its last record, committed or not). */
  coveredTo: number;
}

/** Where the index cannot be trusted: `line` (1-based) and why. */
export class IndexDamage extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const crcHex = (text: string): string => crc32(Buffer.from(text, 'utf8')).toString(16).padStart(8, '0');
const CHECKSUM_RE = /,"c":"([0-9a-f]{8})"\}$/;

/** One index line (with its newline): the record, its ordinal and its checksum. */
export function encodeRecord(r: IndexRecord, n: number): string {
  const body = JSON.stringify({ n, ...r });
  return `${body.slice(0, -1)},"c":"${crcHex(body)}"}\n`;
}

/** The record of one line when its checksum holds, else undefined. */
export function decodeLine(line: string): NumberedRecord | undefined {
  const m = CHECKSUM_RE.exec(line);
  if (!m) return undefined;
  const body = line.slice(0, m.index) + '}';
  if (crcHex(body) !== m[1]) return undefined;
  try {
    const r = JSON.parse(body) as NumberedRecord;
    return Number.isSafeInteger(r.n) && ('h' in r || 'o' in r || 'b' in r) ? r : undefined;
  } catch {
    return undefined;
  }
}

export interface DecodedIndex {
  records: NumberedRecord[];
  /** Each record's line as stored, newline included. */
  lines: string[];
  /**
   * The last line when it is torn (no newline: a crash during the append), or when it fails its
   * checksum while being the last bytes of the log (then with its newline); undefined when the
   * log ends in a whole, sound record.
   */
  torn: string | undefined;
  /** Written before version 2: no header, ordinals or checksums (every `n` is 0). */
  legacy: boolean;
}

/**
 * Parses the index. Only the last line may be torn; a damaged line anywhere else, or a gap in
 * the ordinals, throws {@link IndexDamage}: the index lost something, and what the sink would
 * remove on its word could be committed output.
 */
export function decodeIndex(text: string): DecodedIndex {
  const lines = text.split('\n');
  // A log that ends in a newline leaves an empty last piece: nothing torn.
  const tail = lines.pop()!;
  // Version 2 lines start with their ordinal; a first line that does not was written before it.
  const first = lines[0] ?? tail;
  const legacy = first !== '' && !first.startsWith('{"n":');
  const records: NumberedRecord[] = [];
  const raw: string[] = [];
  let torn: string | undefined = tail === '' ? undefined : tail;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const r = legacy ? legacyRecord(line) : decodeLine(line);
    if (!r) {
      if (i === lines.length - 1 && torn === undefined) {
        torn = `${line}\n`;
        break;
      }
      throw new IndexDamage(i + 1, legacy ? 'not a JSON record' : 'checksum mismatch (the record was changed)');
    }
    const prev = records[records.length - 1];
    if (!legacy && prev && r.n !== prev.n + 1) throw new IndexDamage(i + 1, `record ${r.n} follows record ${prev.n}: records between them are missing`);
    records.push(r);
    raw.push(`${line}\n`);
  }
  return { records, lines: raw, torn, legacy };
}

function legacyRecord(line: string): NumberedRecord | undefined {
  try {
    const r = JSON.parse(line) as IndexRecord;
    return 'o' in r || 'b' in r ? { ...r, n: 0 } : undefined;
  } catch {
    return undefined;
  }
}

/** Per source, the highest batch seq the records (and the header's folded part) cover. */
export function coveredSeqs(records: readonly IndexRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  const note = (ps: readonly [string, number][]): void => {
    for (const [source, seq] of ps) if (seq > (out.get(source) ?? 0)) out.set(source, seq);
  };
  for (const r of records) {
    if ('h' in r) note(r.h.p);
    else if ('b' in r) note(r.p);
  }
  return out;
}

/**
 * Works out, per file, which bytes the committed checkpoints cover: the bytes present when the
 * sink first opened it, plus every write whose batches are committed. Writes not covered are
 * dropped (their batches will be read again), whether they sit at the tail or, with several
 * sources sharing a file, between covered ones.
 */
export function planRecovery(records: readonly IndexRecord[], isCommitted: (p: readonly BatchPosition[]) => boolean): FileRecovery[] {
  const files = new Map<string, FileRecovery & { dropped: boolean }>();
  for (const r of records) {
    if ('h' in r) continue;
    if ('o' in r) {
      const [file, len, path, part] = r.o;
      if (!files.has(file)) files.set(file, { file, path, part, keep: len > 0 ? [[0, len]] : [], needsRewrite: false, length: len, coveredTo: len, dropped: false });
      continue;
    }
    const committed = isCommitted(r.p.map(([source, seq]) => ({ source, seq })));
    for (const [file, start, end] of r.b) {
      const f = files.get(file);
      if (!f) continue;
      f.coveredTo = Math.max(f.coveredTo, end);
      if (!committed) {
        f.dropped = true;
        continue;
      }
      const last = f.keep[f.keep.length - 1];
      if (last && last[1] === start) last[1] = end;
      else f.keep.push([start, end]);
      f.length = f.keep.reduce((n, [a, b]) => n + (b - a), 0);
    }
  }
  return [...files.values()].map(({ dropped: _d, ...f }) => ({ ...f, needsRewrite: f.keep.length > 1 || (f.keep.length === 1 && f.keep[0]![0] !== 0) }));
}
