import { copyFile, cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryStateStore, type JsonValue } from '@plumline/core';
import { tmpDir } from '@plumline/core/testing';
import { spawn } from 'node:child_process';
import { CLI_BIN, runCli, startCli } from './test-support/run-cli.js';

/** The `attributes.index` of every line of an NDJSON file the file sink wrote. */
async function indexes(path: string): Promise<number[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { attributes: { index: number } }).attributes.index);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

async function pipelineFile(dir: string, id: string, count: number): Promise<string> {
  const file = `${id}.yaml`;
  await writeFile(join(dir, file), `id: ${id}\nsources:\n  gen: { type: generate, count: ${count} }\nsinks:\n  out: { type: file, inputs: [gen], path: out/${id}.ndjson }\n`);
  return file;
}

describe('state belongs to a pipeline (plumline run, default state directory)', () => {
  it('two pipelines with different ids in one working directory each write exactly their own events', { timeout: 120_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const alpha = await runCli(['run', await pipelineFile(dir, 'alpha', 1000), '--once', '--log-level', 'warn'], dir);
      expect(alpha.code, alpha.stderr).toBe(0);
      // beta's source has alpha's source id: sharing one checkpoint, it started at 1000 and wrote 2,000.
      const beta = await runCli(['run', await pipelineFile(dir, 'beta', 3000), '--once', '--log-level', 'info'], dir);
      expect(beta.code, beta.stderr).toBe(0);
      expect(beta.stderr).not.toContain('"next":1000');
      expect(await indexes(join(dir, 'out/alpha.ndjson'))).toEqual(range(1000));
      expect(await indexes(join(dir, 'out/beta.ndjson'))).toEqual(range(3000));
      // Run again, each resumes where it ended: nothing twice.
      for (const id of ['alpha', 'beta']) expect((await runCli(['run', `${id}.yaml`, '--once', '--log-level', 'warn'], dir)).code).toBe(0);
      expect(await indexes(join(dir, 'out/alpha.ndjson'))).toEqual(range(1000));
      expect(await indexes(join(dir, 'out/beta.ndjson'))).toEqual(range(3000));
    } finally {
      await cleanup();
    }
  });
});

describe('state is checked before it is trusted (plumline run, file sink)', () => {
  // The table: each of these deleted committed output and exited 0 (or hung).
  it.each<[string, JsonValue]>([
    ['no seq', { gen: { position: { next: 20000 } } }],
    ['a string', { gen: 'x' }],
    ['a negative position', { gen: { seq: 20, position: { next: -5 } } }],
  ])('a checkpoint with %s stops the start with STATE_CORRUPT naming the file; no output is removed', { timeout: 120_000 }, async (_, bad) => {
    const { dir, cleanup } = await tmpDir();
    try {
      const file = await pipelineFile(dir, 'calls', 20_000);
      expect((await runCli(['run', file, '--once', '--log-level', 'warn'], dir)).code).toBe(0);
      const before = await readFile(join(dir, 'out/calls.ndjson'), 'utf8');
      const store = new DirectoryStateStore(join(dir, '.plumline/state'), { pipelineId: 'calls' });
      await store.open();
      await store.set('checkpoints', bad);
      await store.close();
      const r = await runCli(['run', file, '--once', '--log-level', 'warn'], dir, 60_000);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.code).not.toBeNull(); // ended on its own, no hang
      expect(r.stderr).toContain('STATE_CORRUPT');
      expect(r.stderr).toContain(join('.plumline', 'state', 'pipelines', 'calls', 'state.log'));
      expect(await readFile(join(dir, 'out/calls.ndjson'), 'utf8')).toBe(before);
    } finally {
      await cleanup();
    }
  });
});

/** `plumline run p.yaml --once` in `dir` with `input` on its stdin (a source that cannot replay what it read). */
function runWithStdin(dir: string, input: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, 'run', 'p.yaml', '--once', '--log-level', 'info'], { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

const stdinPipeline = `id: calls
runtime: { commit_interval: 20ms }
state: { type: directory, path: state }
sources:
  in: { type: stdin }
transforms:
  unique: { type: dedupe, inputs: [in], key: [id] }
sinks:
  out: { type: file, inputs: [unique], path: out.ndjson }
`;
const events = (prefix: string): string => range(1000).map((i) => JSON.stringify({ id: `${prefix}${i}` }) + '\n').join('');

describe('state.log emptied or rolled back while stopped (the real CLI; stdin → dedupe → file: nothing read is read again)', () => {
  /** Two clean runs of 1,000 events each, all committed; then `damage` to state.log, and a third run with nothing on stdin. */
  async function damagedAfterTwoRuns(damage: (stateLog: string) => Promise<void>): Promise<{ third: { code: number | null; stderr: string }; before: string; after: string; stateLog: string }> {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'p.yaml'), stdinPipeline);
      for (const prefix of ['a', 'b']) {
        const r = await runWithStdin(dir, events(prefix));
        expect(r.code, r.stderr).toBe(0);
      }
      const before = await readFile(join(dir, 'out.ndjson'), 'utf8');
      expect(before.split('\n').filter(Boolean)).toHaveLength(2000);
      const stateLog = join(dir, 'state', 'pipelines', 'calls', 'state.log');
      await damage(stateLog);
      const third = await runWithStdin(dir, '');
      return { third, before, after: await readFile(join(dir, 'out.ndjson'), 'utf8'), stateLog };
    } finally {
      await cleanup();
    }
  }

  it('emptied (: > state.log): STATE_CORRUPT naming state.log, exit non-zero, all 2,000 committed lines kept', { timeout: 60_000 }, async () => {
    const r = await damagedAfterTwoRuns((log) => writeFile(log, ''));
    expect(r.third.code, r.third.stderr).not.toBe(0);
    expect(r.third.stderr).toContain('STATE_CORRUPT');
    expect(r.third.stderr).toContain(r.stateLog);
    expect(r.after).toBe(r.before);
  });

  it('its last record cut off after a clean stop (head -n -1: rolled back, not torn): STATE_CORRUPT naming state.log and the index, all 2,000 committed lines kept', { timeout: 60_000 }, async () => {
    const r = await damagedAfterTwoRuns(async (log) => {
      const lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
      await writeFile(log, lines.slice(0, -1).join('\n') + '\n');
    });
    expect(r.third.code, r.third.stderr).not.toBe(0);
    expect(r.third.stderr).toContain('STATE_CORRUPT');
    expect(r.third.stderr).toContain('state.log');
    expect(r.third.stderr).toContain('out~index.calls.log');
    expect(r.after).toBe(r.before);
  });
});

describe('backing up state while the pipeline runs (docs/operations.md)', () => {
  it('a copy in the documented order — state.log, then the other files, then the output — restores to every event exactly once', { timeout: 120_000 }, async () => {
    const work = await tmpDir();
    const backup = await tmpDir();
    try {
      const dir = work.dir;
      await writeFile(join(dir, 'p.yaml'), 'id: calls\nruntime: { commit_interval: 100ms }\nsources:\n  gen: { type: generate, count: 60000, rate: 20000, batch_size: 500 }\nsinks:\n  out: { type: file, inputs: [gen], path: out/calls.ndjson }\n');
      const running = startCli(['run', 'p.yaml', '--log-level', 'info'], dir);
      await running.waitFor(/first checkpoint committed/);
      await sleep(600);
      const state = join(dir, '.plumline/state/pipelines/calls');
      await copyFile(join(state, 'state.log'), join(backup.dir, 'state.log'));
      for (const name of await readdir(state)) if (name !== 'state.log') await copyFile(join(state, name), join(backup.dir, name));
      await cp(join(dir, 'out'), join(backup.dir, 'out'), { recursive: true });
      running.child.kill('SIGKILL');
      await running.exited;
      const copied = (await indexes(join(backup.dir, 'out/calls.ndjson'))).length;
      expect(copied).toBeGreaterThan(0);
      expect(copied).toBeLessThan(60000); // taken mid-run
      // Restored where it ran (the file sink's index names its files by absolute path).
      await rm(join(dir, '.plumline'), { recursive: true });
      await rm(join(dir, 'out'), { recursive: true });
      await cp(join(backup.dir, 'out'), join(dir, 'out'), { recursive: true });
      await rm(join(backup.dir, 'out'), { recursive: true });
      await cp(backup.dir, state, { recursive: true });
      const restored = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], dir);
      expect(restored.code, restored.stderr).toBe(0);
      expect(await indexes(join(dir, 'out/calls.ndjson'))).toEqual(range(60000));
    } finally {
      await work.cleanup();
      await backup.cleanup();
    }
  });
});
