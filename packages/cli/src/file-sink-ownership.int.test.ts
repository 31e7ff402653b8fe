import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { runCli, startCli } from './test-support/run-cli.js';

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');
/** sha256 of every output file under `root` (owner files and state excluded), by relative path. */
const treeHashes = async (root: string): Promise<Record<string, string>> => {
  const out: Record<string, string> = {};
  for (const name of (await readdir(root, { recursive: true })).sort()) {
    const file = join(root, name);
    if (name.split('/').some((c) => c.startsWith('.')) || !(await stat(file)).isFile()) continue;
    out[name] = await sha256(file);
  }
  return out;
};
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

  // A fixed path's claim covers its rotation parts (partFile: out/x.ndjson → out/x.1.ndjson, …).
  const rotating = (id: string, state: string, count: string, path: string): string => pipeline(id, state, count, path).replace(/path: (.*) }\n$/, 'path: $1, rotate: { max_bytes: 50KB } }\n');
  for (const order of ['rotating first', 'part first'] as const) {
    it(`a fixed path naming a rotation part of another pipeline's fixed path is refused (${order}); the first pipeline's files stay byte for byte`, { timeout: 60_000 }, async () => {
      const { dir, cleanup } = await tmpDir();
      try {
        await writeFile(join(dir, 'a.yaml'), rotating('a', 'state-a', 'count: 2000', 'out/x.ndjson'));
        await writeFile(join(dir, 'b.yaml'), pipeline('b', 'state-b', 'count: 100', 'out/x.1.ndjson'));
        const [first, second] = order === 'rotating first' ? ['a', 'b'] : ['b', 'a'];
        const r1 = await runCli(['run', `${first}.yaml`, '--once', '--log-level', 'warn'], dir);
        expect(r1.code, r1.stderr).toBe(0);
        const before = await treeHashes(join(dir, 'out'));
        if (first === 'a') expect(Object.keys(before)).toContain('x.1.ndjson');
        const r2 = await runCli(['run', `${second}.yaml`, '--once', '--log-level', 'warn'], dir);
        expect(r2.code).not.toBe(0);
        expect(r2.stderr).toContain('FILE_PATH_IN_USE');
        expect(r2.stderr).toContain(`pipeline "${first}"`);
        expect(await treeHashes(join(dir, 'out'))).toEqual(before);
        // The first one runs again, untouched by the refusal.
        const r3 = await runCli(['run', `${first}.yaml`, '--once', '--log-level', 'warn'], dir);
        expect(r3.code, r3.stderr).toBe(0);
        expect(await treeHashes(join(dir, 'out'))).toEqual(before);
      } finally {
        await cleanup();
      }
    });
  }

  it('two templated sinks of one pipeline that can render one file: the second is refused when the file is resolved (validate and run, exit 2, located, naming both), before a byte is written; given its own directory the pipeline writes every event once', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      // A source named "call": out/{{source}}.ndjson and out/{{kind}}.ndjson both render out/call.ndjson.
      await writeFile(join(dir, 'p.yaml'), `id: p
state: { type: directory, path: state }
sources:
  call: { type: generate, seed: 3, count: 1000, batch_size: 100 }
sinks:
  bykind: { type: file, inputs: [call], path: "out/{{kind}}.ndjson" }
  bysource: { type: file, inputs: [call], path: "out/{{source}}.ndjson" }
`);
      const file = join(dir, 'out/call.ndjson');
      // One sink's lines only: both writing it would put each call event in it twice.
      const idsUnique = async (): Promise<boolean> => {
        const ids = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
        return new Set(ids).size === ids.length;
      };
      // Found when the file is resolved (validate = run before reading anything), at the second sink.
      const refusal = /p\.yaml:7:\d+: sinks\.bysource\.path: sink "bykind" \(path "out\/\{\{kind\}\}\.ndjson"\) can write the same files as "out\/\{\{source\}\}\.ndjson".*give each sink its own path/;
      const v = await runCli(['validate', 'p.yaml'], dir);
      expect(v.code).toBe(2);
      expect(v.stderr).toMatch(refusal);
      const r1 = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], dir);
      expect(r1.code).toBe(2);
      expect(r1.stderr).toMatch(refusal);
      expect(await idsUnique()).toBe(true);
      const r2 = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], dir);
      expect(r2.code).toBe(2);
      expect(r2.stderr).not.toContain('FILE_SINK_SHORT_FILE');
      expect(await idsUnique()).toBe(true);
      // Given its own directory as told, the sink refused moves; the file holds every event of the one that wrote it, once.
      const loser = 'bysource';
      const yaml = await readFile(join(dir, 'p.yaml'), 'utf8');
      await writeFile(join(dir, 'p.yaml'), yaml.replace(`${loser}: { type: file, inputs: [call], path: "out/`, `${loser}: { type: file, inputs: [call], path: "out/moved/`));
      const r3 = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], dir);
      expect(r3.code, r3.stderr).toBe(0);
      const events = (f: string): Promise<{ kind: string }[]> => readFile(f, 'utf8').then((t) => t.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string }));
      const all = await events(join(dir, 'out/moved/call.ndjson')).catch(() => events(join(dir, 'out/call.ndjson')));
      // out/call.ndjson is bykind's: the call events (bysource's 1000 are under out/moved/).
      expect(all).toHaveLength(1000);
      expect((await events(file)).length).toBe(all.filter((e) => e.kind === 'call').length);
      expect(await idsUnique()).toBe(true);
    } finally {
      await cleanup();
    }
  });

  for (const path of ['out/s.ndjson', '"out/{{source}}/s.ndjson"']) {
    it(`a working folder copied with its state (path ${path}) is refused at start, naming both folders; the original's output stays byte for byte`, { timeout: 60_000 }, async () => {
      const { dir, cleanup } = await tmpDir();
      try {
        const prod = join(dir, 'prod');
        const staging = join(dir, 'staging');
        await mkdir(prod);
        await writeFile(join(prod, 'p.yaml'), pipeline('p', 'state', 'count: 1000', path));
        const r1 = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], prod);
        expect(r1.code, r1.stderr).toBe(0);
        await promisify(execFile)('cp', ['-a', prod, staging]);
        const before = await treeHashes(join(prod, 'out'));
        const copied = await treeHashes(join(staging, 'out'));
        // The copy gets more events to write: they must not reach prod's files.
        await writeFile(join(staging, 'p.yaml'), pipeline('p', 'state', 'count: 2000', path));
        const r2 = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], staging);
        expect(r2.code).not.toBe(0);
        expect(r2.stderr).toContain('STATE_CORRUPT');
        expect(r2.stderr).toContain(`written for output at ${join(prod, 'out')}`);
        expect(r2.stderr).toContain(`now writes ${join(staging, 'out')}`);
        expect(await treeHashes(join(prod, 'out'))).toEqual(before);
        expect(await treeHashes(join(staging, 'out'))).toEqual(copied);
        // The original runs on, cutting nothing.
        const r3 = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], prod);
        expect(r3.code, r3.stderr).toBe(0);
        expect(r3.stderr).not.toContain('removed');
        expect(await treeHashes(join(prod, 'out'))).toEqual(before);
      } finally {
        await cleanup();
      }
    });
  }

  // Templated paths: the template's fixed directory is claimed (template-owner.ts, claimTemplateDir).
  const templated = 'out/{{source}}/%Y-%m-%d.ndjson';

  for (const [first, second] of [['alpha', 'beta'], ['beta', 'alpha']] as const) {
    it(`two pipelines on one templated path: ${second} is refused at start after ${first} wrote, and ${first}'s files stay byte for byte; ${first} restarts fine`, { timeout: 60_000 }, async () => {
      const { dir, cleanup } = await tmpDir();
      try {
        // The default state directory, as the trial had it.
        const yaml = (id: string, count: string): string => pipeline(id, '.plumline/state', count, `"${templated}"`);
        await writeFile(join(dir, 'alpha.yaml'), yaml('alpha', 'count: 3000'));
        await writeFile(join(dir, 'beta.yaml'), yaml('beta', 'count: 1000'));
        const r1 = await runCli(['run', `${first}.yaml`, '--once', '--log-level', 'warn'], dir);
        expect(r1.code, r1.stderr).toBe(0);
        const before = await treeHashes(join(dir, 'out'));
        expect(Object.keys(before).length).toBeGreaterThan(0);
        const r2 = await runCli(['run', `${second}.yaml`, '--once', '--log-level', 'warn'], dir);
        expect(r2.code).not.toBe(0);
        expect(r2.stderr).toContain('FILE_PATH_IN_USE');
        expect(r2.stderr).toContain(`pipeline "${first}"`);
        expect(r2.stderr).toContain(join(dir, 'out'));
        expect(await treeHashes(join(dir, 'out'))).toEqual(before);
        // The owner's own restart is not refused and cuts nothing.
        const r3 = await runCli(['run', `${first}.yaml`, '--once', '--log-level', 'warn'], dir);
        expect(r3.code, r3.stderr).toBe(0);
        expect(r3.stderr).not.toContain('removed');
        expect(await treeHashes(join(dir, 'out'))).toEqual(before);
      } finally {
        await cleanup();
      }
    });
  }

  it('a second pipeline on a templated path is refused while the first runs, naming its process', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'alpha.yaml'), pipeline('alpha', 'state-a', 'rate: 500', `"${templated}"`));
      await writeFile(join(dir, 'beta.yaml'), pipeline('beta', 'state-b', 'count: 300', '"out/{{kind}}.ndjson"'));
      const alpha = startCli(['run', 'alpha.yaml', '--log-level', 'info'], dir);
      await alpha.waitFor(/first checkpoint committed/);
      const during = await runCli(['run', 'beta.yaml', '--once'], dir);
      expect(during.code).not.toBe(0);
      expect(during.stderr).toContain('FILE_PATH_IN_USE');
      expect(during.stderr).toContain(`pipeline "alpha" claims ${join(dir, 'out')} for sink "out" (path "${templated}"), running in process ${alpha.child.pid}`);
      alpha.child.kill('SIGTERM');
      expect(await alpha.exited).toBe(0);
      expect((await readdir(join(dir, 'out'))).filter((n) => n.endsWith('.ndjson'))).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('a templated sink whose files would land under a fixed path another pipeline claimed is refused at start, in both orders; the owner\'s file stays as it was', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      // out/{{source}}/x.ndjson renders out/gen/x.ndjson: alpha's fixed path.
      await writeFile(join(dir, 'alpha.yaml'), pipeline('alpha', 'state-a', 'count: 1000', 'out/gen/x.ndjson'));
      await writeFile(join(dir, 'beta.yaml'), pipeline('beta', 'state-b', 'count: 300', '"out/{{source}}/x.ndjson"'));
      const a = await runCli(['run', 'alpha.yaml', '--once', '--log-level', 'warn'], dir);
      expect(a.code, a.stderr).toBe(0);
      const before = await sha256(join(dir, 'out/gen/x.ndjson'));
      const b = await runCli(['run', 'beta.yaml', '--once', '--log-level', 'warn'], dir);
      expect(b.code).not.toBe(0);
      expect(b.stderr).toContain('FILE_PATH_IN_USE');
      expect(b.stderr).toContain(join(dir, 'out/gen/.x.ndjson.plumline-owner'));
      expect(await sha256(join(dir, 'out/gen/x.ndjson'))).toBe(before);
      const again = await runCli(['run', 'alpha.yaml', '--once', '--log-level', 'warn'], dir);
      expect(again.code, again.stderr).toBe(0);
      expect(await sha256(join(dir, 'out/gen/x.ndjson'))).toBe(before);

      // The other order: the template's directory claimed first, a fixed path inside it refused.
      const other = await tmpDir();
      try {
        await writeFile(join(other.dir, 'alpha.yaml'), pipeline('alpha', 'state-a', 'count: 1000', '"out/{{source}}/x.ndjson"'));
        await writeFile(join(other.dir, 'beta.yaml'), pipeline('beta', 'state-b', 'count: 300', 'out/gen/y.ndjson'));
        expect((await runCli(['run', 'alpha.yaml', '--once', '--log-level', 'warn'], other.dir)).code).toBe(0);
        const hashes = await treeHashes(join(other.dir, 'out'));
        const r = await runCli(['run', 'beta.yaml', '--once', '--log-level', 'warn'], other.dir);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('FILE_PATH_IN_USE');
        expect(r.stderr).toContain(join(other.dir, 'out', '.plumline-owner'));
        expect(await treeHashes(join(other.dir, 'out'))).toEqual(hashes);
      } finally {
        await other.cleanup();
      }
    } finally {
      await cleanup();
    }
  });

  it('two pipelines whose templates start in different directories of one folder both run, and run again', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'alpha.yaml'), pipeline('alpha', '.plumline/state', 'count: 1000', '"out/a/{{source}}/%Y.ndjson"'));
      await writeFile(join(dir, 'beta.yaml'), pipeline('beta', '.plumline/state', 'count: 300', '"out/b/{{source}}-%Y.ndjson"'));
      for (const file of ['alpha.yaml', 'beta.yaml', 'alpha.yaml', 'beta.yaml']) {
        const r = await runCli(['run', file, '--once', '--log-level', 'warn'], dir);
        expect(r.code, r.stderr).toBe(0);
      }
      const lines = async (f: string) => (await readFile(join(dir, f), 'utf8')).split('\n').filter(Boolean).length;
      expect(await lines('out/a/gen/2026.ndjson')).toBe(1000);
      expect(await lines('out/b/gen-2026.ndjson')).toBe(300);
    } finally {
      await cleanup();
    }
  });
});
