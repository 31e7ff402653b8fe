import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { createLogger, createPipeline, MemoryStateStore } from '@plumline/core';
import { tmpDir } from '@plumline/core/testing';
import { ProgressView } from './progress-view.js';
import { builtinRegistry } from './registry.js';
import { runCli } from './test-support/run-cli.js';
import { seedCallTopic } from './test-support/call-topics.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const brokers = () => inject('kafkaBrokers');
const suffix = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

describe('a Kafka source as an operator sees it (real broker)', () => {
  it('logs one line per source on assignment (not one per partition), no kafkajs warnings at start, and a stop_at_end run knows its progress (an ETA, not "?")', { timeout: 120_000 }, async () => {
    const s = suffix();
    const EVENTS = 6_000;
    await seedCallTopic(brokers(), `ops-in-${s}`, { events: EVENTS, partitions: 12, seed: 3 });
    const { dir, cleanup } = await tmpDir('plumline-ops-kafka-');
    try {
      await writeFile(join(dir, 'p.yaml'), `id: ops-kafka-${s}\nsources:\n  raw: { type: kafka, brokers: ${JSON.stringify(brokers())}, topics: [ops-in-${s}], group_id: ops-${s}, stop_at_end: true, max_batch_events: 200 }\nsinks:\n  out: { type: blackhole, inputs: [raw] }\n`);
      const r = await runCli(['run', 'p.yaml', '--once', '--log-level', 'info'], dir);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; partitions?: string[]; fromCheckpoint?: number });
      const assigned = lines.filter((l) => l.msg === 'kafka group assigned partitions');
      expect(assigned).toHaveLength(1);
      expect(assigned[0]!.partitions).toHaveLength(12);
      expect(assigned[0]!.fromCheckpoint).toBe(0);
      expect(lines.filter((l) => l.msg === 'kafka partition resumed')).toEqual([]);
      expect(lines.filter((l) => l.level >= 40), r.stderr).toEqual([]);
    } finally {
      await cleanup();
    }

    // In process: the progress bar of the same kind of run, half way, has a numeric ETA.
    const pipeline = await createPipeline(
      { id: `ops-eta-${s}`, sources: { raw: { type: 'kafka', brokers: brokers(), topics: [`ops-in-${s}`], group_id: `eta-${s}`, stop_at_end: true, max_batch_events: 100 } }, sinks: { out: { type: 'blackhole', inputs: ['raw'] } } },
      { plugins: builtinRegistry(), once: true, logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() },
    );
    const view = new ProgressView(pipeline, new Writable({ write: (_c, _e, cb) => cb() }), createLogger({ level: 'silent' }));
    let halfWay: string[] | undefined;
    let seen = 0;
    pipeline.output$('raw').subscribe(() => {
      if (++seen === EVENTS / 2) halfWay = view.render();
    });
    await pipeline.start();
    const result = await pipeline.done;
    expect(result.stats.raw!.progress).toEqual({ done: EVENTS, total: EVENTS, unit: 'records' });
    expect(halfWay![0]).toMatch(/^raw\s+\[#+\.*\] \d+\/6000 records .* ETA \d+(s|m\d\ds)$/);
  });

  it('brokers at the KRaft controller port: says it is the controller\'s and which port to use', { timeout: 60_000 }, async () => {
    const [host, port] = brokers()[0]!.split(':');
    const controller = `${host}:${Number(port) + 1}`;
    const { dir, cleanup } = await tmpDir('plumline-ops-ctl-');
    try {
      await writeFile(join(dir, 'p.yaml'), `sources:\n  raw: { type: kafka, brokers: ["${controller}"], topics: [t], group_id: g, stop_at_end: true }\nsinks:\n  out: { type: blackhole, inputs: [raw] }\n`);
      const r = await runCli(['run', 'p.yaml', '--once', '--log-level', 'silent'], dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot reach Kafka at ${controller}: The Kafka server does not support the requested API version — it is likely a KRaft controller listener, not a broker's: point brokers at the broker listener`);
    } finally {
      await cleanup();
    }
  });

  it('the Kafka demo writes to the broker KAFKA_PORT names (scripts/demo.mjs --kafka, as pnpm demo:kafka runs it)', { timeout: 180_000 }, async () => {
    const port = brokers()[0]!.split(':')[1]!;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'KAFKA_BROKERS'));
    const r = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(root, 'scripts/demo.mjs'), '--kafka'], { cwd: root, env: { ...env, KAFKA_PORT: port }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, out }));
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out, r.out).toMatch(/Kafka topics:\n(?: +demo\.\S+ +\d+ records\n)* +demo\.plum\.call +[1-9]\d* records\n/);
  });
});
