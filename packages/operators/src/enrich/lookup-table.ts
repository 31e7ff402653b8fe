import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { PipelineError } from '@plumline/core';
import { parse as parseCsv } from 'csv-parse/sync';

/** A CSV record as csv-parse gives it with `info: true`: its fields and where it was read. */
interface CsvRowWithInfo {
  record: string[];
  info: { lines: number };
}

function isCsvRowWithInfo(row: unknown): row is CsvRowWithInfo {
  return typeof row === 'object' && row !== null && 'record' in row && Array.isArray(row.record) && 'info' in row && typeof row.info === 'object' && row.info !== null;
}

/**
 * What csv-parse's `parse` returns with `info: true`. Its typings say string[][] whatever the
 * options, where `info` makes each record `{ record, info }`: checked here rather than cast, so
 * a csv-parse that changed it fails loudly at load instead of giving rows of undefined.
 */
function csvRowsWithInfo(parsed: unknown): CsvRowWithInfo[] {
  if (Array.isArray(parsed) && parsed.every(isCsvRowWithInfo)) return parsed;
  throw new Error('csv-parse did not return { record, info } rows for info: true (a csv-parse version plumline does not support): a bug');
}

/**
 * A keyed table loaded from a CSV file (first row = column names) or a JSON file (an array of
 * objects, or an object of objects keyed by the key). Rows are plain objects of strings (CSV) or
 * of whatever the JSON held.
 */
export class LookupTable {
  private rows = new Map<string, Record<string, unknown>>();
  private version = '';

  constructor(
    readonly file: string,
    private readonly keyColumn: string,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  get(key: string): Record<string, unknown> | undefined {
    return this.rows.get(key);
  }

  /** Loads the file when it changed since the last load (size or mtime); returns whether it did. Throws when it cannot be read or parsed. */
  async reloadIfChanged(): Promise<boolean> {
    const st = await stat(this.file).catch((err: unknown) => {
      throw new PipelineError('LOOKUP_FILE_UNREADABLE', `lookup file ${this.file} cannot be read: ${(err as Error).message}`, { cause: err, retriable: true, fields: { file: this.file } });
    });
    const version = `${st.size}:${st.mtimeMs}`;
    if (version === this.version) return false;
    const text = await readFile(this.file, 'utf8');
    this.rows = this.parse(text);
    this.version = version;
    return true;
  }

  private parse(text: string): Map<string, Record<string, unknown>> {
    const rows = new Map<string, Record<string, unknown>>();
    const fail = (why: string, line?: number): never => {
      throw new PipelineError('LOOKUP_FILE_INVALID', `lookup file ${this.file}${line ? `, line ${line}` : ''}: ${why}`, { retriable: false, fields: { file: this.file, ...(line ? { line } : {}) } });
    };
    if (extname(this.file).toLowerCase() === '.json') {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (err) {
        return fail(`not JSON (${(err as Error).message})`);
      }
      const list = Array.isArray(data) ? data : data && typeof data === 'object' ? Object.entries(data).map(([k, v]) => ({ [this.keyColumn]: k, ...(v as object) })) : fail('expected an array of objects or an object of objects');
      for (const row of list as Record<string, unknown>[]) {
        const key = row?.[this.keyColumn];
        if (key === undefined || key === null) continue;
        rows.set(String(key), row);
      }
      return rows;
    }
    let parsed: unknown;
    try {
      // RFC 4180 as csv-parse reads it: quoted fields, doubled quotes, embedded newlines, CRLF or
      // LF, a byte-order mark (Excel writes one), blank lines skipped.
      parsed = parseCsv(text, { bom: true, skip_empty_lines: true, relax_column_count: true, info: true });
    } catch (err) {
      const e = err as { message: string; lines?: number };
      return fail(`not CSV (${e.message})`, e.lines);
    }
    const records = csvRowsWithInfo(parsed);
    const header = records[0]?.record;
    if (!header) return rows;
    const keyIndex = header.indexOf(this.keyColumn);
    if (keyIndex < 0) fail(`no column "${this.keyColumn}" in the header (${header.join(', ')})`, 1);
    for (const { record: r, info } of records.slice(1)) {
      if (r.length !== header.length) fail(`${r.length} fields where the header has ${header.length}`, info.lines);
      const row: Record<string, unknown> = {};
      for (let c = 0; c < header.length; c++) row[header[c]!] = r[c];
      rows.set(r[keyIndex]!, row);
    }
    return rows;
  }
}
