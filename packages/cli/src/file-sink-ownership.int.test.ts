import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { runCli, startCli } from './test-support/run-cli.js';

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');
const pipeline = (id: string, state: string, count: string, path: string): string => `id: ${id}
state: { type: directory, path: ${state} }
sources:
  gen: { type: generate, seed: 3, ${count}, batch_size: 100 }
sinks:
  out: { type: file, inputs: [gen], path: ${path} }
`;

describe('file sink state belongs to its pipeline (the real CLI)', () => {
  it('validate refuses two file sinks of one pipeline on one path, located at the second', { timeout: 30_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'p.yaml'), 'sources:\n  gen: { type: generate, count: 10 }\nsinks:\n  a: { type: file, inputs: [gen], path: out.ndjson }\n  b:\n    type: file\n    inputs: [gen]\n    path: ./out.ndjson\n');
      const r = await runCli(['validate', 'p.yaml'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('p.yaml:8:5: sinks.b.path: sink "a" writes');
      expect(r.stderr).toContain('give each sink its own path');
    } finally {
      await cleanup();
    }
  });

  it('two pipelines in one state directory keep their own commit index; a run of one leaves the output of the other as it was', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'alpha.yaml'), pipeline('alpha', 'state', 'count: 1000', 'a.ndjson'));
      await writeFile(join(dir, 'beta.yaml'), pipeline('beta', 'state', 'count: 3000', 'b.ndjson'));
      const run = async (file: string) => {
        const r = await runCli(['run', file, '--once', '--log-level', 'warn'], dir);
        expect(r.code, r.stderr).toBe(0);
      };
      await run('alpha.yaml');
      const a = await sha256(join(dir, 'a.ndjson'));
      await run('beta.yaml');
      await run('alpha.yaml');
      expect(await sha256(join(dir, 'a.ndjson'))).toBe(a);
      // Each pipeline's state in its own directory (its index's head is a value in its state.log).
      expect((await readdir(join(dir, 'state'), { recursive: true })).filter((n) => n.includes('out~index')).sort()).toEqual(['pipelines/alpha/out~index.alpha.log', 'pipelines/beta/out~index.beta.log']);
    } finally {
      await cleanup();
    }
  });

  it('a second pipeline on the same output file is refused at start, while the first runs and after it stopped; the output is left as it was', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'alpha.yaml'), pipeline('alpha', 'state-a', 'rate: 500', 'out.ndjson'));
      await writeFile(join(dir, 'beta.yaml'), pipeline('beta', 'state-b', 'count: 300', 'out.ndjson'));
      const alpha = startCli(['run', 'alpha.yaml', '--log-level', 'info'], dir);
      await alpha.waitFor(/first checkpoint committed/);
      const during = await runCli(['run', 'beta.yaml', '--once'], dir);
      expect(during.code).not.toBe(0);
      expect(during.stderr).toContain('FILE_PATH_IN_USE');
      expect(during.stderr).toContain(`sink "out" of pipeline "alpha" writes it, running in process ${alpha.child.pid}`);
      alpha.child.kill('SIGTERM');
      expect(await alpha.exited).toBe(0);
      const before = await sha256(join(dir, 'out.ndjson'));
      const after = await runCli(['run', 'beta.yaml', '--once'], dir);
      expect(after.code).not.toBe(0);
      expect(after.stderr).toContain('give this sink its own path; if "alpha" no longer writes it, delete');
      expect(await sha256(join(dir, 'out.ndjson'))).toBe(before);
    } finally {
      await cleanup();
    }
  });
});
