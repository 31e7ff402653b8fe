import { PassThrough, Writable } from 'node:stream';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadPipeline } from '@plumline/core';
import { PlumEmulator } from '@plumline/source-plum/emulator';
import { tmpDir } from '@plumline/core/testing';
import { installPrometheus, OpsServer } from './ops-server.js';
import { ProgressView } from './progress-view.js';
import { componentRows, parsePrometheus } from './top-command.js';
import { builtinRegistry } from './registry.js';
import { CLI_BIN } from './test-support/run-cli.js';

const PASSWORD = 'pw-7f3a-known-secret';
const emulator = new PlumEmulator({ seed: 12, sessionsPerSecond: 0.02, username: 'ops', password: PASSWORD });
let plumUrl = '';
let work: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  plumUrl = await emulator.start();
  work = await tmpDir('plumline-ops-');
});
afterAll(async () => {
  await emulator.stop();
  await work.cleanup();
});

const value = (samples: ReturnType<typeof parsePrometheus>, name: string, component: string) => samples.find((s) => s.name === name && s.labels.component === component)?.value;

describe('operations: /metrics, /healthz, /readyz, progress, logs', () => {
  it('exposes the listed series with the values of a known run; health and readiness follow the pipeline', async () => {
    const exporter = installPrometheus();
    const ops = new OpsServer(exporter);
    const base = await ops.start('127.0.0.1:0');
    try {
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      const file = join(work.dir, 'ops.yaml');
      await writeFile(
        file,
        `id: ops
state: { type: directory, path: ${join(work.dir, 'state')} }
dead_letter: { path: ${join(work.dir, 'dead.ndjson')} }
sources:
  plum: { type: plum, base_url: "${plumUrl}", username: ops, password: "${PASSWORD}", streams: [sessions, errors], backfill: 1d, page_size: 500 }
transforms:
  sessions: { type: filter, inputs: [plum], where: { kind: session } }
sinks:
  out: { type: file, inputs: [sessions], path: ${join(work.dir, 'out.ndjson')} }
`,
      );
      const lines: string[] = [];
      const logger = createLogger({ level: 'debug', pretty: false, destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
      const requestsBefore = emulator.stats.requests;
      // One 503 and some malformed lines: the source logs a retry and dead-letters, with its id on each line.
      emulator.setFaults({ next: [{ status: 503, retryAfterSec: 0 }, { malformedLines: true }] });
      const pipeline = await loadPipeline(file, { plugins: builtinRegistry(), once: true, logger });
      ops.attach(pipeline);
      await pipeline.start();
      const ready = await fetch(`${base}/readyz`);
      expect([200, 503]).toContain(ready.status); // it may already be done
      const result = await pipeline.done;

      const samples = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
      for (const id of ['plum', 'sessions', 'out']) {
        expect(value(samples, 'plumline_component_events_out_total', id), id).toBe(result.stats[id]!.eventsOut);
      }
      expect(value(samples, 'plumline_component_events_in_total', 'sessions')).toBe(result.stats.plum!.eventsOut);
      expect(value(samples, 'plumline_component_bytes_out_total', 'out')).toBeGreaterThan(0);
      expect(value(samples, 'plumline_component_checkpoint_lag_seconds', 'plum')).toBeUndefined(); // finished: gauges stop
      // One latency observation per request the emulator served.
      const requests = samples.filter((s) => s.name === 'plumline_source_request_duration_seconds_count' && s.labels.component === 'plum').reduce((n, s) => n + s.value, 0);
      expect(requests).toBe(emulator.stats.requests - requestsBefore);
      expect(samples.some((s) => s.name === 'plumline_source_request_duration_seconds_bucket')).toBe(true);

      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503); // finished: no longer ready
      expect(pipeline.health()).toMatchObject({ started: true, finished: true });

      // Progress: both stream ranges done.
      expect(new ProgressView(pipeline, new PassThrough(), logger).render()[0]).toMatch(/^plum\s+\[#+\] 2\/2 streams/);
      // Every line of a component carries its id; the password is nowhere.
      const log = lines.join('');
      expect(log).not.toContain(PASSWORD);
      const fromPlum = lines.map((l) => JSON.parse(l) as { component?: string; level: number; msg: string }).filter((l) => l.level >= 40);
      expect(fromPlum.length).toBeGreaterThan(0);
      for (const l of fromPlum) expect(l.component, l.msg).toBe('plum');
      expect(value(samples, 'plumline_component_retries_total', 'plum')).toBeGreaterThanOrEqual(1);
      expect(value(samples, 'plumline_component_dead_lettered_total', 'plum')).toBe(result.stats.plum!.deadLettered);
    } finally {
      await ops.close();
    }
  });

  it('under generate → dedupe → blackhole at full speed, /healthz answers while the pipeline moves on, and SIGINT ends the process cleanly with a checkpoint past everything counted', { timeout: 60_000 }, async () => {
    const file = join(work.dir, 'flat-out.yaml');
    await writeFile(file, `state: { type: directory, path: ${join(work.dir, 'flat-out-state')} }\nsources:\n  gen: { type: generate, batch_size: 1000 }\ntransforms:\n  u: { type: dedupe, inputs: [gen] }\nsinks:\n  out: { type: blackhole, inputs: [u] }\n`);
    const port = 39490 + Math.floor(Math.random() * 20);
    const run = spawn(process.execPath, [CLI_BIN, 'run', file, '--http', `127.0.0.1:${port}`, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    run.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => run.on('exit', (code) => r(code)));
    const eventsOut = async (): Promise<number> => value(parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()), 'plumline_component_events_out_total', 'gen') ?? 0;
    try {
      await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status, { timeout: 20_000 }).toBe(200);
      // Who reports, and every counter from the start (at 0 until something happens): alert rules need the series.
      const samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      const cliVersion = (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
      expect(samples.find((s) => s.name === 'target_info')?.labels).toMatchObject({ service_name: 'plumline', service_version: cliVersion, plumline_pipeline_id: 'flat-out' });
      for (const id of ['gen', 'u', 'out']) {
        for (const series of ['errors_total', 'retries_total', 'dead_lettered_total']) expect(value(samples, `plumline_component_${series}`, id), `${series} of ${id}`).toBe(0);
      }
      // The pipeline does not starve the HTTP server, nor the server the pipeline: between two
      // answers of /healthz the source moved on (it would not if answers came only in its pauses).
      const counted: number[] = [];
      for (let i = 0; i < 5; i++) {
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
        counted.push(await eventsOut());
      }
      expect(counted.every((n, i) => i === 0 || n > counted[i - 1]!), counted.join(' ')).toBe(true);
      run.kill('SIGINT');
      expect(await exited, stderr.slice(-2000)).toBe(0);
      // The stop drained and committed: the final checkpoint covers every event counted before it.
      const finished = stderr.split('\n').filter((l) => l.includes('"pipeline finished"')).map((l) => JSON.parse(l) as { checkpoints: { gen: { position: { next: number } } } });
      expect(finished, stderr.slice(-2000)).toHaveLength(1);
      expect(finished[0]!.checkpoints.gen.position.next).toBeGreaterThanOrEqual(counted.at(-1)!);
    } finally {
      run.kill('SIGKILL');
    }
  });

  it('top renders the components of a running pipeline, with rates from two scrapes', { timeout: 60_000 }, async () => {
    const file = join(work.dir, 'top.yaml');
    await writeFile(file, `state: { type: directory, path: ${join(work.dir, 'top-state')} }\nsources:\n  gen: { type: generate, count: 100000, rate: 10000, batch_size: 200 }\nsinks:\n  out: { type: blackhole, inputs: [gen] }\n`);
    const port = 39470 + Math.floor(Math.random() * 20);
    const run = spawn(process.execPath, [CLI_BIN, 'run', file, '--once', '--http', `127.0.0.1:${port}`, '--log-level', 'warn'], { stdio: 'ignore' });
    try {
      await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status, { timeout: 20_000 }).toBe(200);
      const top = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [CLI_BIN, 'top', `http://127.0.0.1:${port}`, '--frames', '2', '--interval', '1s'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`top exited ${code}`))));
      });
      const frames = top.split('plumline top — ').filter(Boolean);
      expect(frames).toHaveLength(2);
      const last = frames[1]!;
      expect(last).toMatch(/ready/);
      const gen = last.split('\n').find((l) => l.startsWith('gen '))!;
      const out = last.split('\n').find((l) => l.startsWith('out '))!;
      expect(gen).toMatch(/source\s+generate/);
      expect(out).toMatch(/sink\s+blackhole/);
      // The rate column of the second frame: events per second between the two scrapes (~10k/s).
      const outRate = out.split(/\s+/)[4]!;
      expect(Number(outRate.replace('k', '')) * (outRate.endsWith('k') ? 1000 : 1)).toBeGreaterThan(1000);
    } finally {
      run.kill('SIGTERM');
    }
  });

  it('tap --url watches a component of a running pipeline without touching it: a sample, then the pipeline goes on and its output is whole', { timeout: 60_000 }, async () => {
    const file = join(work.dir, 'tap.yaml');
    const out = join(work.dir, 'tap-out.ndjson');
    await writeFile(file, `state: { type: directory, path: ${join(work.dir, 'tap-state')} }\nsources:\n  gen: { type: generate, rate: 2000, batch_size: 50 }\ntransforms:\n  tagged: { type: map, inputs: [gen], set: { attributes.team: support } }\nsinks:\n  out: { type: file, inputs: [tagged], path: ${out} }\n`);
    const port = 39450 + Math.floor(Math.random() * 20);
    const base = `http://127.0.0.1:${port}`;
    const run = spawn(process.execPath, [CLI_BIN, 'run', file, '--http', `127.0.0.1:${port}`, '--log-level', 'warn'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => run.on('exit', (code) => r(code)));
    const tap = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI_BIN, 'tap', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    try {
      await expect.poll(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status, { timeout: 20_000 }).toBe(200);
      const r = await tap(['--url', base, 'tagged', '--limit', '5', '--every', '3', '--format', 'ndjson']);
      expect(r.code, r.stderr).toBe(0);
      const tapped = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; attributes: { team: string } });
      expect(tapped).toHaveLength(5);
      expect(tapped.every((e) => e.attributes.team === 'support')).toBe(true);
      const unknown = await tap(['--url', base, 'nope']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('404');
      expect((await fetch(`${base}/tap/tagged?limit=0`)).status).toBe(400);
      // The pipeline went on: still ready, and what it wrote holds every generated event once, in order.
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      run.kill('SIGINT');
      expect(await exited).toBe(0);
      const ids = (await readFile(out, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { attributes: { index: number } }).attributes.index);
      expect(ids.length).toBeGreaterThan(5);
      expect(ids).toEqual(ids.map((_, i) => i));
      for (const e of tapped) expect(ids).toContain(Number(e.id.split(':').pop()));
    } finally {
      run.kill('SIGKILL');
    }
  });

  it('componentRows turns two scrapes into rates', () => {
    const a = parsePrometheus('plumline_component_events_out_total{component="x",component_kind="sink",component_type="file"} 100\n');
    const b = parsePrometheus('plumline_component_events_out_total{component="x",component_kind="sink",component_type="file"} 400\n');
    expect(componentRows(b, a, 2)[0]).toMatchObject({ id: 'x', eventsOut: 400, outPerSec: 150 });
  });
});
