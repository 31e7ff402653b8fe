import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { PipelineError } from '@plumline/core';

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
    const records = parseCsv(text);
    const header = records[0];
    if (!header) return rows;
    const keyIndex = header.indexOf(this.keyColumn);
    if (keyIndex < 0) fail(`no column "${this.keyColumn}" in the header (${header.join(', ')})`, 1);
    for (let i = 1; i < records.length; i++) {
      const r = records[i]!;
      if (r.length === 1 && r[0] === '') continue;
      if (r.length !== header.length) fail(`${r.length} fields where the header has ${header.length}`, i + 1);
      const row: Record<string, unknown> = {};
      for (let c = 0; c < header.length; c++) row[header[c]!] = r[c];
      rows.set(r[keyIndex]!, row);
    }
    return rows;
  }
}

/** RFC 4180 CSV: quoted fields with doubled quotes and embedded newlines; CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      out.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) {
    row.push(field);
    out.push(row);
  }
  return out;
}
