import { mkdir, open, readdir, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StateError } from '../errors.js';
import type { Logger } from '../logger.js';
import { writeAll } from '../util/write-all.js';
import type { JsonValue } from '../util/json.js';
import { fsyncDir, writeFileAtomic } from '../util/fs-durable.js';
import { lockDirectory } from './directory-lock.js';
import { adoptLegacyState } from './legacy-state.js';
import { stateCorrupt } from './state-corrupt.js';
import { encodeKey } from './state-key-names.js';
import { diffEntries, fromEntries, toEntries, type Entries } from './state-entries.js';
import { decodeRecordLog, encodeRecord } from './state-record-log.js';
import type { StateStore } from './state-store.js';

/** Where a pipeline's state lives under the state directory: `pipelines/<id>/`. */
export const PIPELINES_DIR = 'pipelines';
/** The record log of a pipeline's keyed values (checkpoints, operator state set by key). */
export const RECORD_LOG = 'state.log';
/** The key of the header record every record log starts with (component keys are `<id>/<key>`; `~` starts none). */
const HEADER_KEY = '~state';
/** A record log is compacted once it is this many times larger than its live entries… */
const COMPACT_RATIO = 4;
/** …and at least this large. */
const COMPACT_MIN_BYTES = 1024 * 1024;

/** Who the store is for. */
export interface DirectoryStateOptions {
  /** Every file the store writes is in `pipelines/<pipelineId>/` and every record names it. */
  readonly pipelineId: string;
  /**
   * The pipeline's source ids: state written before state was kept per pipeline (one
   * `checkpoints.json` per directory) is adopted only by a pipeline that has every source it
   * has a checkpoint for (see legacy-state.ts). Absent: never adopted.
   */
  readonly sourceIds?: readonly string[];
  readonly logger?: Logger;
}

/**
 * The embedded state store. Each pipeline has a directory of its own under `pipelines/`, locked
 * against a second process (a lock left by a process that no longer exists is taken over).
 * Keyed values (checkpoints, operator state) are one append-only record log, `state.log`: a write
 * appends only the entries that changed, checksummed, fsynced; the log is compacted atomically
 * (temp file, fsync, rename, fsync directory) once it outgrows its live entries. Operator logs
 * are files of their own, fsynced per append.
 */
export class DirectoryStateStore implements StateStore {
  readonly pipelineDir: string;
  private readonly logs = new Map<string, FileHandle>();
  private values = new Map<string, Entries>();
  private recordLog: FileHandle | undefined;
  private lastN = 0;
  private logBytes = 0;
  /** About what the live entries take as records (compaction's yardstick). */
  private liveBytes = 0;
  private writes: Promise<unknown> = Promise.resolve();
  private release: (() => Promise<void>) | undefined;
  private opened = false;
  /** The lock of a process that is gone was taken over at open: that run did not close the store. */
  private takenOver = false;
  /** A write of this run failed: its last commit may be missing records, so it does not count as closed cleanly. */
  private writeFailed = false;
  /** Commits begun and not ended (see StateStore.commitStarted). */
  private openCommits = 0;
  private closed: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly options: DirectoryStateOptions,
  ) {
    this.pipelineDir = join(dir, PIPELINES_DIR, encodeKey(options.pipelineId));
  }

  /** The record log's path (named in STATE_CORRUPT errors). */
  get location(): string {
    return join(this.pipelineDir, RECORD_LOG);
  }

  get previousRunClosedCleanly(): boolean | undefined {
    return this.opened ? !this.takenOver : undefined;
  }

  commitStarted(): void {
    this.openCommits++;
  }

  commitEnded(ok: boolean): void {
    this.openCommits = Math.max(0, this.openCommits - 1);
    if (!ok) this.writeFailed = true;
  }

  async open(): Promise<void> {
    if (this.opened) return;
    await this.makeDirectory();
    const lock = await lockDirectory(this.pipelineDir, `state directory of pipeline "${this.options.pipelineId}"`);
    this.release = lock.release;
    this.takenOver = lock.stale;
    try {
      // Temp files from a write interrupted by a crash are garbage: the rename never happened.
      for (const name of await readdir(this.pipelineDir)) {
        if (name.includes('.tmp-')) await unlink(join(this.pipelineDir, name)).catch(() => {});
      }
      if (!(await exists(this.location))) {
        await adoptLegacyState({ dir: this.dir, pipelineDir: this.pipelineDir, recordLog: this.location, ...this.options });
        await this.refuseLogsWithoutRecordLog();
        if (!(await exists(this.location))) await this.createRecordLog();
      }
      await this.load(lock.stale);
      this.recordLog = await open(this.location, 'a');
      await fsyncDir(this.pipelineDir);
    } catch (err) {
      await this.release();
      throw err;
    }
    this.opened = true;
  }

  /**
   * The record log is made at the first open, before any other file: logs without it (an
   * index, held events) mean it was lost — deleted, or left out of a restore. Starting as if
   * nothing was committed would let a sink remove the output those logs cover.
   */
  private async refuseLogsWithoutRecordLog(): Promise<void> {
    if (await exists(this.location)) return;
    const logs = (await readdir(this.pipelineDir)).filter((name) => name.endsWith('.log'));
    if (logs.length) throw stateCorrupt(this.location, `it is missing while the pipeline's other state is there (${logs.join(', ')}): it was deleted or left out of a copy`);
  }

  /**
   * A new record log starts with a header record, written atomically, so a state.log of 0 bytes
   * is never one this store made: emptied, it would otherwise read as "nothing committed yet" and
   * let a sink cut away all its committed output.
   */
  private async createRecordLog(): Promise<void> {
    const header = encodeRecord(this.options.pipelineId, 1, { key: HEADER_KEY, set: [...toEntries({ created: 1 })], removed: [] });
    await writeFileAtomic(this.location, Buffer.from(header));
  }

  /**
   * An empty record log: stores before the header record left one at their first open, and may
   * still hold one with nothing else beside it (nothing can be lost then: it gets its header).
   * Beside other logs it was emptied (or truncated to nothing): refused like a deleted one.
   */
  private async refuseEmptyRecordLog(): Promise<void> {
    const logs = (await readdir(this.pipelineDir)).filter((name) => name.endsWith('.log') && name !== RECORD_LOG);
    if (logs.length) throw stateCorrupt(this.location, `it is empty while the pipeline's other state is there (${logs.join(', ')}): a state log always holds at least its header record, so it was emptied or truncated`);
    await this.createRecordLog();
  }

  private async makeDirectory(): Promise<void> {
    try {
      await mkdir(this.pipelineDir, { recursive: true });
    } catch (err) {
      const code = (err as { code?: string }).code;
      // A path that is a file (or runs through one) is the user's to fix: say so, without a stack.
      if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EROFS') {
        throw new StateError('STATE_PATH_UNUSABLE', `state path ${this.dir} cannot be a directory (${code}): ${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way: choose another path or move the file' : 'no permission: choose a path this user can write'}`, { retriable: false, cause: err, fields: { path: this.dir, errno: code } });
      }
      throw new StateError('STATE_PATH_UNUSABLE', `cannot create state directory ${this.pipelineDir}`, { cause: err, fields: { path: this.dir } });
    }
  }

  /**
   * Reads the record log. A last record cut short is repaired (truncated) only when the process
   * that wrote it did not close the store (`crashed`: its lock was left behind); anything else
   * that does not decode stops the start with STATE_CORRUPT, and nothing is changed.
   */
  private async load(crashed: boolean): Promise<void> {
    let data: Buffer;
    try {
      data = await readFile(this.location);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StateError('STATE_READ_FAILED', `cannot read ${this.location}`, { cause: err });
    }
    if (data.length === 0) {
      await this.refuseEmptyRecordLog();
      data = await readFile(this.location);
    }
    const log = decodeRecordLog(data, this.options.pipelineId);
    if (log.problem) {
      const { line, reason, torn } = log.problem;
      if (!(torn && crashed)) {
        const why = torn ? `its last record (line ${line}) is not whole: ${reason}; the process that wrote it closed the store, so this is damage, not a write cut short by a crash` : `line ${line}: ${reason}`;
        throw stateCorrupt(this.location, why);
      }
      this.options.logger?.warn({ file: this.location, line, reason, keptBytes: log.goodBytes, droppedBytes: data.length - log.goodBytes }, 'state: removed the last record of the state log, cut short when the process writing it was killed');
      const fh = await open(this.location, 'r+');
      try {
        await fh.truncate(log.goodBytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    this.values = log.values;
    this.lastN = log.lastN;
    this.logBytes = log.goodBytes;
    for (const [key, entries] of this.values) this.liveBytes += recordSize(key, entries);
  }

  private file(key: string, ext: string): string {
    return join(this.pipelineDir, `${encodeKey(key)}.${ext}`);
  }

  async get(key: string): Promise<JsonValue | undefined> {
    const entries = this.values.get(key);
    if (!entries) return undefined;
    try {
      return fromEntries(entries);
    } catch (err) {
      throw stateCorrupt(this.location, `the entries of key ${key} do not fit together: ${(err as Error).message}`);
    }
  }

  /** Appends the entries of `value` that changed since the last write of `key`, as one record. */
  set(key: string, value: JsonValue): Promise<void> {
    return this.serially(async () => {
      const next = toEntries(value);
      const { set, removed } = diffEntries(this.values.get(key), next);
      if (set.length === 0 && removed.length === 0) return;
      const line = Buffer.from(encodeRecord(this.options.pipelineId, this.lastN + 1, { key, set, removed }));
      try {
        await writeAll(this.recordLog!, [line]);
        await this.recordLog!.datasync();
      } catch (err) {
        // A record partly written must not stay in front of the next one: cut it off again.
        await this.recordLog!.truncate(this.logBytes).catch(() => {});
        this.writeFailed = true;
        throw new StateError('STATE_WRITE_FAILED', `cannot write state key ${key} to ${this.location}`, { cause: err });
      }
      this.lastN++;
      this.logBytes += line.length;
      const prev = this.values.get(key);
      this.liveBytes += recordSize(key, next) - (prev ? recordSize(key, prev) : 0);
      if (next.size) this.values.set(key, next);
      else this.values.delete(key);
      await this.compactIfLarge();
    });
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.writes.then(work, work);
    this.writes = next.catch(() => {});
    return next;
  }

  /** The live entries as records, one per key, numbered on from `from`. */
  private liveRecords(from: number): string[] {
    let n = from;
    return [...this.values].map(([key, entries]) => encodeRecord(this.options.pipelineId, n++, { key, set: [...entries], removed: [] }));
  }

  /** Rewrites the log with only its live entries once it is COMPACT_RATIO times their size (and COMPACT_MIN_BYTES). */
  private async compactIfLarge(): Promise<void> {
    if (this.logBytes < COMPACT_MIN_BYTES || this.logBytes < COMPACT_RATIO * this.liveBytes) return;
    await this.compact(this.liveRecords(this.lastN + 1));
  }

  private async compact(records: string[]): Promise<void> {
    const data = Buffer.from(records.join(''));
    try {
      await writeFileAtomic(this.location, data);
    } catch (err) {
      // The old log is whole and still ours: go on appending to it.
      this.options.logger?.warn({ file: this.location, err }, 'state: compacting the state log failed; it is kept as it is');
      return;
    }
    await this.recordLog?.close().catch(() => {});
    this.recordLog = await open(this.location, 'a');
    this.lastN += records.length;
    this.logBytes = data.length;
  }

  private async logHandle(key: string): Promise<FileHandle> {
    let fh = this.logs.get(key);
    if (!fh) {
      const path = this.file(key, 'log');
      fh = await open(path, 'a');
      this.logs.set(key, fh);
      await fsyncDir(this.pipelineDir);
    }
    return fh;
  }

  async append(key: string, data: Uint8Array): Promise<void> {
    let fh: FileHandle | undefined;
    let size: number | undefined;
    try {
      fh = await this.logHandle(key);
      size = (await fh.stat()).size;
      // One write may be short: a partial record would be a torn line in the middle of the log.
      await writeAll(fh, [Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
      await fh.datasync();
    } catch (err) {
      // A block partly written (a full disk) must not stay in front of the next append: a checked
      // log would then hold a bad block before good ones, which only damage can explain.
      if (fh && size !== undefined) await fh.truncate(size).catch(() => {});
      this.writeFailed = true;
      throw new StateError('STATE_WRITE_FAILED', `cannot append to state log ${key}`, { cause: err });
    }
  }

  async readLog(key: string): Promise<Uint8Array> {
    try {
      return await readFile(this.file(key, 'log'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Uint8Array(0);
      throw new StateError('STATE_READ_FAILED', `cannot read state log ${key}`, { cause: err });
    }
  }

  async rewriteLog(key: string, data: Uint8Array): Promise<void> {
    const fh = this.logs.get(key);
    this.logs.delete(key);
    await fh?.close();
    try {
      await writeFileAtomic(this.file(key, 'log'), data);
    } catch (err) {
      this.writeFailed = true;
      throw new StateError('STATE_WRITE_FAILED', `cannot rewrite state log ${key}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return (this.closed ??= (async () => {
      await this.writes;
      for (const fh of this.logs.values()) await fh.close().catch(() => {});
      this.logs.clear();
      await this.recordLog?.close().catch(() => {});
      // After a failed write or commit, or with a commit still open, the lock stays, so the next
      // start reads this run as cut short (a component's head may be ahead of the checkpoints
      // then) rather than closed cleanly.
      if (this.opened && !this.writeFailed && this.openCommits === 0) await this.release?.();
    })());
  }
}

/** About the size of `entries` of `key` as one record (JSON text, not bytes: a yardstick). */
function recordSize(key: string, entries: Entries): number {
  let n = 40 + key.length;
  for (const [path, text] of entries) n += path.length + text.length + 4;
  return n;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A store that keeps everything in memory: for tests and for `plumline test`. Not durable. */
export class MemoryStateStore implements StateStore {
  readonly values = new Map<string, string>();
  readonly logs = new Map<string, Uint8Array[]>();
  async open(): Promise<void> {}
  async get(key: string): Promise<JsonValue | undefined> {
    const v = this.values.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as JsonValue);
  }
  async set(key: string, value: JsonValue): Promise<void> {
    this.values.set(key, JSON.stringify(value));
  }
  async append(key: string, data: Uint8Array): Promise<void> {
    const list = this.logs.get(key) ?? [];
    list.push(Uint8Array.from(data));
    this.logs.set(key, list);
  }
  async readLog(key: string): Promise<Uint8Array> {
    return Buffer.concat(this.logs.get(key) ?? []);
  }
  async rewriteLog(key: string, data: Uint8Array): Promise<void> {
    this.logs.set(key, [Uint8Array.from(data)]);
  }
  async close(): Promise<void> {}
}
