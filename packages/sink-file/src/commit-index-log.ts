import { StateError, type BatchPosition, type ComponentState, type JsonValue } from '@plumline/core';
import { coveredSeqs, decodeIndex, decodeLine, encodeRecord, IndexDamage, type DecodedIndex, type IndexHeader, type IndexRecord, type NumberedRecord, type SinkRecord } from './commit-index.js';

/** The log name before version 2, shared by every pipeline of a state directory. */
export const LEGACY_INDEX_LOG = 'index';

/** What the index says, once checked: the records to recover from, and where they came from. */
export interface LoadedIndex {
  records: SinkRecord[];
  /** `legacy`: read from the log name before version 2 (to be moved under this pipeline's name). */
  from: 'none' | 'index' | 'legacy';
}

/**
 * The head: the ordinal and the line of the last record durable when the runtime last committed,
 * and the batch seqs per source that commit's checkpoints covered. In any run the committed
 * checkpoints never reach past `seqs`: when they do at start, they are newer than the index.
 * A type, not an interface, so that it is a JsonValue as it is (stored with `state.set`).
 */
type Head = {
  n: number;
  line: string;
  seqs: Record<string, number>;
};

/**
 * The file sink's commit index in the state store: the log `index.<pipeline id>` of the sink's
 * slice, and its head `index.<pipeline id>.head`, written before each checkpoint commit (an
 * `onCommit` hook). The head is what tells a torn last record (a crash during an append: the
 * head is older) from an index that lost records the checkpoints already cover (removed, cut,
 * restored from an older backup, deleted): those stop the start with STATE_CORRUPT, never
 * "repaired" by removing output. The head also holds the last record itself, so a last record
 * torn after it was committed is restored exactly.
 */
export class CommitIndexLog {
  readonly key: string;
  readonly headKey: string;
  private header: IndexHeader;
  /** Ordinal of the next line; never reused, across rewrites too, so the head always names one line. */
  private nextN = 1;
  private last: { n: number; line: string } | undefined;
  /** The head as stored last (or read at start). */
  private head: Head | undefined;

  constructor(
    private readonly state: ComponentState,
    private readonly pipelineId: string,
    private readonly sinkId: string,
  ) {
    this.key = `index.${pipelineId}`;
    this.headKey = `${this.key}.head`;
    this.header = { pipeline: pipelineId, sink: sinkId, p: [] };
  }

  /**
   * Reads and checks the index. `ownsFile` says whether a file is one this sink writes (an
   * index under the old name is taken over only when every file it names is), `isCommitted`
   * answers for the previous run's checkpoints.
   */
  async load(ownsFile: (file: string) => boolean, isCommitted: (p: readonly BatchPosition[]) => boolean): Promise<LoadedIndex> {
    const text = Buffer.from(await this.state.readLog(this.key)).toString('utf8');
    const head = parseHead(await this.state.get(this.headKey), (reason) => this.corrupt(this.headKey, 'json', reason));
    this.head = head;
    if (text === '') {
      if (head) throw this.corrupt(this.key, 'log', `is missing or empty, while its head (the value ${this.sinkId}/${this.headKey} in the pipeline's state) says it held ${head.n} records`);
      return this.loadLegacy(ownsFile, isCommitted);
    }
    const decoded = this.decode(text, this.key);
    if (decoded.legacy) throw this.corrupt(this.key, 'log', 'has no header: it was not written by this version for this pipeline');
    const [first, ...records] = decoded.records;
    if (!first || !('h' in first)) throw this.corrupt(this.key, 'log', 'does not start with its header');
    if (first.h.pipeline !== this.pipelineId || first.h.sink !== this.sinkId) {
      throw this.corrupt(this.key, 'log', `belongs to sink "${first.h.sink}" of pipeline "${first.h.pipeline}", not to sink "${this.sinkId}" of pipeline "${this.pipelineId}": it was copied from elsewhere`);
    }
    const body: SinkRecord[] = [];
    for (const r of records) {
      if ('h' in r) throw this.corrupt(this.key, 'log', `has a second header at record ${r.n}`);
      body.push(stripN(r) as SinkRecord);
    }
    const lastN = decoded.records[decoded.records.length - 1]!.n;
    if (head) this.checkHead(head, decoded, body);
    if (head && this.state.previousRunClosedCleanly) this.checkHeadCommitted(head, isCommitted);
    if (this.state.previousRunClosedCleanly) this.checkLandedCommitted(first.h.k ?? [], isCommitted);
    // (A torn last record the head restored counts as the one it names.)
    const restored = head !== undefined && head.n === lastN + 1 && decoded.torn !== undefined;
    if (this.state.previousRunClosedCleanly && first.h.closed && head?.n !== lastN && !restored) {
      throw this.rolledBack(`the commit index ${this.fileName(this.key, 'log')} was last written at a clean close, whose head names its last record ${lastN}, but the head in it names ${head ? `record ${head.n}` : 'none'}`);
    }
    this.header = first.h;
    this.nextN = Math.max(lastN, head?.n ?? 0) + 1;
    return { records: body, from: 'index' };
  }

  /**
   * The head is stored just before the checkpoints of its commit: only a run cut short between
   * the two leaves it ahead of them. After a clean close, state behind its head was rolled back
   * (a record cut off state.log, an older copy of it): the output it covers is committed, and
   * would be cut as if it were not.
   */
  private checkHeadCommitted(head: Head, isCommitted: (p: readonly BatchPosition[]) => boolean): void {
    for (const [source, seq] of Object.entries(head.seqs)) {
      if (isCommitted([{ source, seq }])) continue;
      throw this.rolledBack(`the commit index ${this.fileName(this.key, 'log')} has a head (a value in it) written for the commit of batch ${seq} of source ${source}, but its checkpoints do not reach that batch`);
    }
  }

  /**
   * The index's header names the last commit this sink saw land before a clean close (written
   * after the final commit, in the index, not in state.log). A rollback of state.log by whole
   * commits (its last records cut off, an older copy restored) takes the head back with the
   * checkpoints, so only this tells it from state as a clean close leaves it. Checked only after a
   * clean close: a copy taken while running (docs/operations.md: state.log first, the index after)
   * holds an index newer than its state.log, which recovery handles as a crash.
   */
  private checkLandedCommitted(landed: readonly [string, number][], isCommitted: (p: readonly BatchPosition[]) => boolean): void {
    for (const [source, seq] of landed) {
      if (isCommitted([{ source, seq }])) continue;
      throw this.rolledBack(`the commit index ${this.fileName(this.key, 'log')} records that the checkpoint commit of batch ${seq} of source ${source} landed before the last run closed, but its checkpoints do not reach that batch`);
    }
  }

  /** State.log is behind what the index proves was committed, after a clean close: it was rolled back. */
  private rolledBack(what: string): StateError {
    const where = this.state.location ?? "the pipeline's state store";
    return new StateError(
      'STATE_CORRUPT',
      `file sink ${this.sinkId}: ${where} is older than its last commit: ${what}, though the last run closed its state cleanly. It was rolled back (records cut off its end, or restored from a copy older than the index and the output). Nothing was removed from the output. Restore the state directory and the output together from one backup (state first, output after: docs/operations.md), or put back the state.log this run wrote; to start this pipeline's output over, move its output files and its whole state directory (pipelines/<id>/ under state.path) aside`,
      { retriable: false, fields: { component: this.sinkId, stateFile: where, index: this.fileName(this.key, 'log') } },
    );
  }

  /** The head must name a record the index holds (or held before a compaction), the same one. */
  private checkHead(head: Head, decoded: DecodedIndex, out: SinkRecord[]): void {
    const { records: all, lines, torn } = decoded;
    const firstN = all[0]!.n;
    const lastN = all[all.length - 1]!.n;
    if (head.n === lastN + 1 && torn !== undefined) {
      // The last record was whole when the runtime last committed: restore it from the head. A
      // torn line must be the start of it; a whole last line that fails its checksum stands in its place.
      const restored = decodeLine(head.line.replace(/\n$/, ''));
      if (!restored || restored.n !== head.n || 'h' in restored || (!torn.endsWith('\n') && !head.line.startsWith(torn))) {
        throw this.corrupt(this.key, 'log', `ends in a damaged record ${head.n} that its head does not match`);
      }
      out.push(stripN(restored) as SinkRecord);
      return;
    }
    if (head.n > lastN) {
      throw this.corrupt(this.key, 'log', `ends at record ${lastN}${torn !== undefined ? ' (and a torn line)' : ''}, but records up to ${head.n} were durable before the last checkpoint commit: records were removed (cut, or restored from a backup older than the checkpoints)`);
    }
    if (head.n >= firstN && lines[head.n - firstN] !== head.line) {
      throw this.corrupt(this.key, 'log', `holds a record ${head.n} other than the one written: it was copied from another state directory or changed`);
    }
  }

  /** The log under the old name, taken over when it is this sink's (see docs/operations.md). */
  private async loadLegacy(ownsFile: (file: string) => boolean, isCommitted: (p: readonly BatchPosition[]) => boolean): Promise<LoadedIndex> {
    const text = Buffer.from(await this.state.readLog(LEGACY_INDEX_LOG)).toString('utf8');
    if (text === '') return { records: [], from: 'none' };
    const decoded = this.decode(text, LEGACY_INDEX_LOG);
    const records = decoded.records.map(stripN) as SinkRecord[];
    const files = records.flatMap((r) => ('o' in r ? [r.o[0]] : []));
    // Another sink's index (another pipeline with a sink of the same id): not ours to read or change.
    if (files.some((f) => !ownsFile(f))) return { records: [], from: 'none' };
    const writes = records.filter((r): r is Extract<IndexRecord, { b: unknown }> => 'b' in r);
    if (writes.length > 0 && !writes.some((r) => isCommitted(r.p.map(([source, seq]) => ({ source, seq }))))) {
      throw this.corrupt(LEGACY_INDEX_LOG, 'log', `(the name before version 2) describes ${files.join(', ')}, but pipeline "${this.pipelineId}"'s checkpoints cover none of its writes: another pipeline wrote it. Run that pipeline once to move its index under its own name, or move ${files.join(', ')} aside`);
    }
    return { records, from: 'legacy' };
  }

  private decode(text: string, key: string): DecodedIndex {
    try {
      return decodeIndex(text);
    } catch (err) {
      if (err instanceof IndexDamage) throw this.corrupt(key, 'log', `is damaged at ${err.message}: only a torn last line can come from a crash`);
      throw err;
    }
  }

  /** Appends records after the data they describe was fsynced. */
  async append(records: readonly SinkRecord[]): Promise<void> {
    const { text, last } = this.encode(records);
    await this.state.append(this.key, Buffer.from(text));
    this.last = last ?? this.last;
  }

  /**
   * Replaces the index by the header (its covered seqs raised to `seqs`, the commits seen landed
   * to `landed`, marked `closed` when `closing`: the head is stored right after) and `records`.
   */
  async rewrite(records: readonly SinkRecord[], seqs: ReadonlyMap<string, number>, landed: Readonly<Record<string, number>> = {}, closing = false): Promise<void> {
    const p = coveredSeqs([{ h: this.header }]);
    for (const [source, seq] of seqs) if (seq > (p.get(source) ?? 0)) p.set(source, seq);
    const k = new Map(this.header.k ?? []);
    for (const [source, seq] of Object.entries(landed)) if (seq > (k.get(source) ?? 0)) k.set(source, seq);
    const { closed: _closed, ...header } = this.header;
    this.header = { ...header, p: [...p], ...(k.size ? { k: [...k] } : {}), ...(closing ? { closed: true as const } : {}) };
    const { text, last } = this.encode([{ h: this.header }, ...records]);
    await this.state.rewriteLog(this.key, Buffer.from(text));
    this.last = last;
  }

  /** Per source, the last commit noted as landed in the header (see IndexHeader.k). */
  landedSeqs(): Map<string, number> {
    return new Map(this.header.k ?? []);
  }

  /** The header's covered seqs (what records folded away covered). */
  headerSeqs(): Map<string, number> {
    return coveredSeqs([{ h: this.header }]);
  }

  /** Empties the log under the old name once its records live under this pipeline's name. */
  async retireLegacy(): Promise<void> {
    await this.state.rewriteLog(LEGACY_INDEX_LOG, new Uint8Array(0));
  }

  /** The seqs the head says the checkpoints covered when it was written; undefined without a head. */
  headSeqs(): Readonly<Record<string, number>> | undefined {
    return this.head?.seqs;
  }

  /**
   * Records the last durable record as the head, with the seqs the checkpoints about to be
   * written cover: the onCommit hook (before the checkpoints are written), and once at start.
   */
  async storeHead(seqs: Readonly<Record<string, number>> | undefined): Promise<void> {
    const last = this.last;
    if (!last) return;
    const next: Head = { n: last.n, line: last.line, seqs: { ...(this.head?.seqs ?? {}), ...seqs } };
    if (this.head && this.head.n === next.n && JSON.stringify(this.head.seqs) === JSON.stringify(next.seqs)) return;
    await this.state.set(this.headKey, next);
    this.head = next;
  }

  private encode(records: readonly IndexRecord[]): { text: string; last: { n: number; line: string } | undefined } {
    let text = '';
    let last: { n: number; line: string } | undefined;
    for (const r of records) {
      const line = encodeRecord(r, this.nextN);
      last = { n: this.nextN++, line };
      text += line;
    }
    return { text, last };
  }

  private corrupt(key: string, ext: 'log' | 'json', reason: string): StateError {
    const name = this.fileName(key, ext);
    return new StateError(
      'STATE_CORRUPT',
      `file sink ${this.sinkId}: its commit index ${name} ${reason}. Nothing was removed from the output. Restore the state directory and the output together from one backup (state first, output after: docs/operations.md), or, to start this pipeline's output over, move its output files and its whole state directory (pipelines/<id>/ under state.path: the index's head is a value in its state.log) aside`,
      { retriable: false, fields: { component: this.sinkId, stateFile: name } },
    );
  }

  /** The name the directory store gives `key` of this sink (its own encoding: `/` → `~`, the rest %-escaped). */
  private fileName(key: string, ext: string): string {
    return `${`${this.sinkId}/${key}`.replace(/[^A-Za-z0-9._-]/g, (c) => (c === '/' ? '~' : `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`))}.${ext}`;
  }
}

function stripN(r: NumberedRecord): IndexRecord {
  const { n: _n, ...record } = r;
  return record as IndexRecord;
}

function parseHead(value: unknown, corrupt: (reason: string) => Error): Head | undefined {
  if (value === undefined) return undefined;
  const v = value as Partial<Head> | null;
  const seqsOk = v && typeof v.seqs === 'object' && v.seqs !== null && Object.values(v.seqs).every((x) => Number.isSafeInteger(x));
  if (!v || typeof v !== 'object' || !Number.isSafeInteger(v.n) || typeof v.line !== 'string' || !seqsOk) throw corrupt('is not an index head ({"n":…,"line":…,"seqs":{…}})');
  return { n: v.n!, line: v.line, seqs: v.seqs! };
}
