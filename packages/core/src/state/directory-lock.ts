import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StateError } from '../errors.js';
import { processAlive } from '../util/process-alive.js';

export const LOCK_FILE = 'LOCK';

/**
 * Takes the lock file of `dir` for this process. A lock left by a process that no longer exists
 * (kill -9, power loss) is taken over, and `stale` says so: what that process wrote last may be
 * torn. A lock of a live process is refused with STATE_LOCKED.
 */
export async function lockDirectory(dir: string, what: string): Promise<{ stale: boolean; release: () => Promise<void> }> {
  const path = join(dir, LOCK_FILE);
  let stale = false;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.sync();
      await fh.close();
      return { stale, release: () => unlink(path).catch(() => {}) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StateError('STATE_LOCK_FAILED', `cannot lock ${what} ${dir}`, { cause: err, retriable: false });
      }
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (owner && owner !== process.pid && processAlive(owner)) {
        throw new StateError('STATE_LOCKED', `${what} ${dir} is in use by process ${owner}; stop it, or give this pipeline its own id or state.path`, { retriable: false, fields: { dir, pid: owner } });
      }
      stale = true;
      await unlink(path).catch(() => {});
    }
  }
  throw new StateError('STATE_LOCK_FAILED', `cannot lock ${what} ${dir}`, { retriable: false });
}
