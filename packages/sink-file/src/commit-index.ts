import type { BatchPosition } from '@plumline/core';

/**
 * The file sink's commit index, kept as a log in the state store. Records, one JSON per line:
 * - `{"o":[file,len,path,part]}` — the sink opened `file` (rendered path `path`, part `part`)
 *   when it held `len` bytes: those bytes are not ours and are always kept;
 * - `{"b":[[file,start,end],…],"p":[[source,seq],…]}` — one fsynced write, covering the
 *   source batches `p`.
 * A record is appended only after the data it describes was fsynced.
 */
export type IndexRecord = { o: [string, number, string, number] } | { b: [string, number, number][]; p: [string, number][] };

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
}

export function encodeRecord(r: IndexRecord): string {
  return JSON.stringify(r) + '\n';
}

/** Parses the index; a torn last line (crash during append) is ignored. */
export function decodeIndex(text: string): IndexRecord[] {
  const out: IndexRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as IndexRecord);
    } catch {
      break;
    }
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
    if ('o' in r) {
      const [file, len, path, part] = r.o;
      if (!files.has(file)) files.set(file, { file, path, part, keep: len > 0 ? [[0, len]] : [], needsRewrite: false, length: len, dropped: false });
      continue;
    }
    const committed = isCommitted(r.p.map(([source, seq]) => ({ source, seq })));
    for (const [file, start, end] of r.b) {
      const f = files.get(file);
      if (!f) continue;
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
