import { link, open, rename, mkdir, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsyncs a directory so that a rename or create inside it survives power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } finally {
    await fh?.close();
  }
}

/**
 * Replaces `path` with `data` so that after a crash at any moment the file holds either the
 * old or the new content, whole: write a temporary file, fsync it, rename over, fsync the directory.
 * A write that fails (a full disk: ENOSPC, EFBIG, EIO) removes its temporary file before it
 * rejects: a caller that retries every commit interval must not leave one behind per attempt.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await placeWhole(path, data, (tmp) => rename(tmp, path));
}

/**
 * Creates `path` holding `data`, or returns false when it exists: written whole to a temp file and
 * linked into place (link() fails on an existing name), so the name never shows an empty or
 * half-written file — as opening it with 'wx' and writing after would, to a kill between the two.
 */
export async function createFileAtomic(path: string, data: string | Uint8Array): Promise<boolean> {
  let created = true;
  await placeWhole(path, data, async (tmp) => {
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      created = false;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  });
  return created;
}

/** Writes `data` to a temp file beside `path`, fsynced, hands it to `place`, and fsyncs the directory. */
async function placeWhole(path: string, data: string | Uint8Array, place: (tmp: string) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await place(tmp);
  } catch (err) {
    // Absent already when open failed or it was placed; the error to report is the write's, not the cleanup's.
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}
