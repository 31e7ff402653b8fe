import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { CallGenerator } from '@plumline/core/sources';
import { tmpDir } from '@plumline/core/testing';
import { runCli, runWithRandomKills } from './test-support/run-cli.js';

const brokers = () => inject('kafkaBrokers');

describe('file sink with the kafka state store (real broker): its index and head live in the state topic', () => {
  it('random kills, then runs to the end: the file holds every event once, in order; a run after the end adds nothing', { timeout: 240_000 }, async () => {
    const s = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const count = 8000;
    const { dir, cleanup } = await tmpDir('plumline-file-kstate-');
    try {
      await writeFile(
        join(dir, 'p.yaml'),
        `id: file-kstate-${s}
state: { type: kafka, brokers: ${JSON.stringify(brokers())}, topic: state-${s} }
runtime: { commit_interval: 50ms }
sources:
  gen: { type: generate, seed: 4, count: ${count}, batch_size: 50, rate: 8000 }
sinks:
  out: { type: file, inputs: [gen], path: out.ndjson }
`,
      );
      const kills = await runWithRandomKills(dir, { attempts: 3, minMs: 100, spreadMs: 600, armOn: /first checkpoint committed/, logLevel: 'info' });
      const gen = new CallGenerator({ seed: 4, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'gen' });
      const expected = Array.from({ length: count }, (_, i) => gen.event(i).id);
      const ids = async () => (await readFile(join(dir, 'out.ndjson'), 'utf8')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
      expect(await ids()).toEqual(expected);
      const again = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], dir);
      expect(again.code, again.stderr).toBe(0);
      expect(await ids()).toEqual(expected);
      expect(kills).toBeGreaterThanOrEqual(1);
    } finally {
      await cleanup();
    }
  });
});
