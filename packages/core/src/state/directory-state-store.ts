import { mkdir, open, readFile, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StateError } from '../errors.js';
import { writeAll } from '../util/write-all.js';
import type { JsonValue } from '../util/json.js';
import { fsyncDir, writeFileAtomic } from '../util/fs-durable.js';
import type { StateStore } from './state-store.js';

const LOCK_FILE = 'LOCK';

function encodeKey(key: string): string {
  // One flat directory: `/` in component-scoped keys becomes `~`, anything unusual is %-escaped.
  return key.replace(/[^A-Za-z0-9._-]/g, (c) => (c === '/' ? '~' : `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The embedded state store: one directory, a JSON file per key written atomically (temp file,
 * fsync, rename, fsync directory), append-only logs fsynced per append, and a lock file so two
 * processes never share a state directory. A lock left by a process that no longer exists
 * (kill -9) is taken over.
 */
export class DirectoryStateStore implements StateStore {
  private readonly logs = new Map<string, FileHandle>();
  private opened = false;
  private closed: Promise<void> | undefined;

  constructor(readonly dir: string) {}

  async open(): Promise<void> {
    if (this.opened) return;
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (err) {
      const code = (err as { code?: string }).code;
      // A path that is a file (or runs through one) is the user's to fix: say so, without a stack.
      if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EROFS') {
        throw new StateError('STATE_PATH_UNUSABLE', `state path ${this.dir} cannot be a directory (${code}): ${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way: choose another path or move the file' : 'no permission: choose a path this user can write'}`, { retriable: false, cause: err, fields: { path: this.dir, errno: code } });
      }
      throw new StateError('STATE_PATH_UNUSABLE', `cannot create state directory ${this.dir}`, { cause: err, fields: { path: this.dir } });
    }
    await this.lock();
    // Temp files from a write interrupted by a crash are garbage: the rename never happened.
    for (const name of await readdir(this.dir)) {
      if (name.includes('.tmp-')) await unlink(join(this.dir, name)).catch(() => {});
    }
    this.opened = true;
  }

  private async lock(): Promise<void> {
    const path = join(this.dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(path, 'wx');
        await fh.writeFile(String(process.pid));
        await fh.sync();
        await fh.close();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StateError('STATE_LOCK_FAILED', `cannot lock state directory ${this.dir}`, { cause: err, retriable: false });
        }
        const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (owner && owner !== process.pid && processAlive(owner)) {
          throw new StateError(
            'STATE_LOCKED',
            `state directory ${this.dir} is in use by process ${owner}; stop it, or give this pipeline its own state.path`,
            { retriable: false, fields: { dir: this.dir, pid: owner } },
          );
        }
        await unlink(path).catch(() => {});
      }
    }
    throw new StateError('STATE_LOCK_FAILED', `cannot lock state directory ${this.dir}`, { retriable: false });
  }

  private file(key: string, ext: string): string {
    return join(this.dir, `${encodeKey(key)}.${ext}`);
  }

  async get(key: string): Promise<JsonValue | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(key, 'json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StateError('STATE_READ_FAILED', `cannot read state key ${key}`, { cause: err });
    }
    try {
      return JSON.parse(text) as JsonValue;
    } catch (err) {
      throw new StateError('STATE_CORRUPT', `state key ${key} in ${this.dir} is not valid JSON`, { cause: err, retriable: false });
    }
  }

  async set(key: string, value: JsonValue): Promise<void> {
    try {
      await writeFileAtomic(this.file(key, 'json'), JSON.stringify(value));
    } catch (err) {
      throw new StateError('STATE_WRITE_FAILED', `cannot write state key ${key}`, { cause: err });
    }
  }

  private async logHandle(key: string): Promise<FileHandle> {
    let fh = this.logs.get(key);
    if (!fh) {
      const path = this.file(key, 'log');
      fh = await open(path, 'a');
      this.logs.set(key, fh);
      await fsyncDir(this.dir);
    }
    return fh;
  }

  async append(key: string, data: Uint8Array): Promise<void> {
    try {
      const fh = await this.logHandle(key);
      // One write may be short: a partial record would be a torn line in the middle of the log.
      await writeAll(fh, [Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
      await fh.datasync();
    } catch (err) {
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
      throw new StateError('STATE_WRITE_FAILED', `cannot rewrite state log ${key}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return (this.closed ??= (async () => {
      for (const fh of this.logs.values()) await fh.close().catch(() => {});
      this.logs.clear();
      if (this.opened) await unlink(join(this.dir, LOCK_FILE)).catch(() => {});
    })());
  }
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
