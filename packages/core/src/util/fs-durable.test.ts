import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../testing/tmp-dir.js';
import { writeFileAtomic } from './fs-durable.js';

/** The built module, for a child process that runs under a file-size limit. */
const BUILT = fileURLToPath(new URL('../../dist/util/fs-durable.js', import.meta.url));

/**
 * Mounts a tmpfs of `bytes` at `dir` when this process may (root, in a container or VM that
 * allows it); returns the unmount, or undefined when it cannot.
 */
function smallTmpfs(dir: string, bytes: number): (() => void) | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
  if (mounted.status !== 0) return undefined;
  return () => void spawnSync('umount', [dir], { stdio: 'ignore' });
}

describe('writeFileAtomic', () => {
  it('replaces the file whole and leaves no temporary file behind', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const file = join(dir, 'state', 'checkpoints.json');
      await writeFileAtomic(file, '{"a":1}');
      await writeFileAtomic(file, '{"a":2}');
      expect(await readFile(file, 'utf8')).toBe('{"a":2}');
      expect(await readdir(join(dir, 'state'))).toEqual(['checkpoints.json']);
    } finally {
      await cleanup();
    }
  });

  // The issue: a state disk that filled up kept 16 zero-byte checkpoints.json.tmp-* files, one
  // per failed commit. A full disk is a small tmpfs where the test may mount one (root), and a
  // file-size limit (RLIMIT_FSIZE: the write fails with EFBIG, as it fails with ENOSPC) always.
  it('removes its temporary file when the write fails (disk full), and leaves the old content', async () => {
    const { dir, cleanup } = await tmpDir();
    const disk = join(dir, 'disk');
    await mkdir(disk);
    const unmount = smallTmpfs(disk, 64 * 1024);
    try {
      if (!unmount) {
        console.warn('fs-durable.test: cannot mount a tmpfs here (not root, or not allowed); the disk-full case runs with a file-size limit only');
        return;
      }
      await writeFile(join(disk, 'checkpoints.json'), 'old');
      await writeFile(join(disk, 'filler'), Buffer.alloc(60 * 1024)).catch(() => {});
      for (let i = 0; i < 16; i++) await expect(writeFileAtomic(join(disk, 'checkpoints.json'), Buffer.alloc(32 * 1024, 'x'))).rejects.toMatchObject({ code: 'ENOSPC' });
      expect((await readdir(disk)).sort()).toEqual(['checkpoints.json', 'filler']);
      expect(await readFile(join(disk, 'checkpoints.json'), 'utf8')).toBe('old');
    } finally {
      unmount?.();
      await rmdir(disk).catch(() => {});
      await cleanup();
    }
  });

  it('removes its temporary file when the write fails (file-size limit, EFBIG), in a child process under ulimit -f', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'checkpoints.json'), 'old');
      const script = `import { writeFileAtomic } from ${JSON.stringify(BUILT)};
        let codes = [];
        for (let i = 0; i < 3; i++) await writeFileAtomic(${JSON.stringify(join(dir, 'checkpoints.json'))}, Buffer.alloc(64 * 1024, 'x')).then(() => codes.push('ok'), (e) => codes.push(e.code));
        console.log(codes.join(','));`;
      // ulimit -f counts 1024-byte blocks: 8 KiB may be written, 64 KiB may not.
      const r = spawnSync('bash', ['-c', 'ulimit -f 8 && exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('EFBIG,EFBIG,EFBIG');
      expect(await readdir(dir)).toEqual(['checkpoints.json']);
      expect(await readFile(join(dir, 'checkpoints.json'), 'utf8')).toBe('old');
    } finally {
      await cleanup();
    }
  });
});
