import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';

const SOAK = fileURLToPath(new URL('./test-support/file-sink-soak.mjs', import.meta.url));
/** CI runs a minute; `PLUMLINE_SOAK_MS=1800000` is the half-hour soak, run by hand. */
const SOAK_MS = Number(process.env.PLUMLINE_SOAK_MS ?? 60_000);
/** Heap growth per file rendered, after a full GC, over the second half of the run (before the fix: ~880). */
const HEAP_BYTES_PER_FILE_LIMIT = 150;
/**
 * Open files and active handles gained per file rendered, over the second half of the run. A sample
 * catches whatever fs requests are in flight, so single samples wander by a few (CI saw early max 2,
 * late max 7); a leak of one per file is a slope of 1, one per 50 files still 0.02.
 */
const RESOURCES_PER_FILE_LIMIT = 0.02;
/** spacing 100ms in the soak pipeline: ten events per event-second, so per file. */
const EVENTS_PER_FILE = 10;

interface Sample {
  tMs: number;
  heapUsed: number;
  handles: number;
  fds: number;
  eventsOut: number;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    // Not output: the template directory's claim (.plumline-owner, template-owner.ts).
    if (d.name.startsWith('.')) continue;
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

describe('file sink soak: a path that renders a new file every second', () => {
  it(`keeps heap, handles and its commit index flat over ${SOAK_MS / 1000} s`, { timeout: SOAK_MS + 60_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', SOAK, dir, String(SOAK_MS)], { maxBuffer: 16 * 1024 * 1024 });
      const { samples, written } = JSON.parse(stdout) as { samples: Sample[]; written: number };
      const q = Math.floor(samples.length / 4);
      const early = samples.slice(q, 2 * q);
      const late = samples.slice(3 * q);
      const files = await walk(join(dir, 'out'));
      // Many paths were rendered: about 50 new files per second.
      expect(files.length).toBeGreaterThan((SOAK_MS / 1000) * 20);
      const perFile = slope(samples.slice(2 * q).map((s) => [s.eventsOut / EVENTS_PER_FILE, s.heapUsed]));
      expect(perFile, `heap grows ${Math.round(perFile)} bytes per file`).toBeLessThan(HEAP_BYTES_PER_FILE_LIMIT);
      const secondHalf = samples.slice(2 * q);
      const fdsPerFile = slope(secondHalf.map((s) => [s.eventsOut / EVENTS_PER_FILE, s.fds]));
      const handlesPerFile = slope(secondHalf.map((s) => [s.eventsOut / EVENTS_PER_FILE, s.handles]));
      expect(fdsPerFile, `open files grow ${fdsPerFile.toFixed(4)} per file`).toBeLessThan(RESOURCES_PER_FILE_LIMIT);
      expect(handlesPerFile, `handles grow ${handlesPerFile.toFixed(4)} per file`).toBeLessThan(RESOURCES_PER_FILE_LIMIT);
      // Bounded as well as flat: never more than a few dozen above what the first half needed.
      expect(Math.max(...late.map((s) => s.fds))).toBeLessThanOrEqual(Math.max(...early.map((s) => s.fds)) + 24);
      expect(Math.max(...late.map((s) => s.handles))).toBeLessThanOrEqual(Math.max(...early.map((s) => s.handles)) + 24);
      // The commit index, read as a file: it lists recent files only, not every file ever written.
      const stateFiles = await readdir(join(dir, 'state'), { recursive: true });
      const index = stateFiles.find((f) => /index/.test(f) && !/\.tmp-/.test(f));
      expect(index).toBeDefined();
      const indexLines = (await readFile(join(dir, 'state', index!), 'utf8')).split('\n').filter(Boolean).length;
      expect(indexLines).toBeLessThan(files.length / 4);
      // Nothing was lost on the way: every event counted out is a line in some file.
      let lines = 0;
      for (const f of files) lines += (await readFile(f, 'utf8')).split('\n').filter(Boolean).length;
      expect(lines).toBe(written);
    } finally {
      await cleanup();
    }
  });
});
