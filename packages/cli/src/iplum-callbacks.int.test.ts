import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { freePort, waitHealthy } from './test-support/receiver-process.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const SECRET = 'callback-secret-123';

function startPipeline(dir: string): ChildProcess {
  return spawn(process.execPath, [BIN, 'run', 'p.yaml', '--log-level', 'warn'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const usage = (i: number) => ({ source: 'iPlum', recordId: `rec-${i}`, usage: 'text', type: 'external', from: '+14081231234', to: 'a@b.com', startTimeUTC: '2026-11-01T00:00:00Z', endTimeUTC: '2026-11-01T00:00:00Z', duration: '1', direction: 'in', iPlumCredits: 1, userId: 'a@b.com', content: `message ${i}` });

async function idsIn(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, 'out.ndjson'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
}

async function pipelineFile(dir: string, port: number): Promise<void> {
  await writeFile(
    join(dir, 'p.yaml'),
    `runtime: { commit_interval: 50ms }
sources:
  cb: { type: iplum_callbacks, listen: "127.0.0.1:${port}", auth: { header: { name: x-secret, value: "${SECRET}" } }, max_pending: 100000 }
transforms:
  unique: { type: dedupe, inputs: [cb] }
sinks:
  out: { type: file, inputs: [unique], path: out.ndjson }
`,
  );
}

describe('iplum_callbacks durability (real process)', () => {
  it('a callback answered 2xx survives a SIGKILL right after the answer', { timeout: 120_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const port = await freePort();
      await pipelineFile(dir, port);
      for (let round = 0; round < 10; round++) {
        const child = startPipeline(dir);
        await waitHealthy(port);
        const res = await fetch(`http://127.0.0.1:${port}/iplum/callbacks`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-secret': SECRET }, body: JSON.stringify(usage(round)) });
        await res.arrayBuffer();
        expect(res.status).toBe(200);
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
      // A last run replays what the killed ones stored but did not deliver.
      const child = startPipeline(dir);
      await waitHealthy(port);
      for (let i = 0; i < 100 && (await idsIn(dir)).length < 10; i++) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      const ids = await idsIn(dir);
      expect(ids.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `iplum:rec-${i}`).sort());
    } finally {
      await cleanup();
    }
  });

  it('load: concurrent callbacks from a second process, none lost', { timeout: 120_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const port = await freePort();
      await pipelineFile(dir, port);
      const child = startPipeline(dir);
      await waitHealthy(port);
      const N = 5000;
      const loader = spawn(process.execPath, [fileURLToPath(new URL('../../../bench/callback-load.mjs', import.meta.url)), `http://127.0.0.1:${port}/iplum/callbacks`, String(N), '64', SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      loader.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise((r) => loader.once('exit', r));
      const report = JSON.parse(out.trim()) as { ok: number; failed: number; requestsPerSec: number };
      expect(report.ok).toBe(N);
      console.log(`receiver load: ${report.requestsPerSec} durable callbacks/s (${N} callbacks, 64 concurrent)`);
      for (let i = 0; i < 200 && (await idsIn(dir)).length < N; i++) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      const ids = await idsIn(dir);
      expect(new Set(ids).size).toBe(N);
      expect(ids.length).toBe(N);
    } finally {
      await cleanup();
    }
  });
});
