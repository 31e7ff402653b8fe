import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { runCli } from './test-support/run-cli.js';

const EVENTS = 300;
const CODECS = ['snappy', 'lz4', 'zstd'] as const;

const brokers = () => JSON.stringify(inject('kafkaBrokers'));
const suffix = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

// The CLI imports a plugin package only when a pipeline names one of its types: a pipeline with
// a kafka source and no kafka sink loads @plumline/source-kafka and @plumline/kafka-client, never
// @plumline/sink-kafka. kafkajs knows gzip only; snappy, lz4 and zstd are codecs the source must
// register itself, or the first compressed batch fails the pipeline ("… compression not implemented").
describe('kafka source without the kafka sink in the process (as the CLI loads it)', () => {
  it(`reads batches compressed with ${CODECS.join(', ')}: every record, in a run that loads no sink package`, { timeout: 180_000 }, async () => {
    const s = suffix();
    const { dir, cleanup } = await tmpDir('plumline-ksrc-codecs-');
    try {
      // Written by a run of its own (the kafka sink, one topic per codec), in another process.
      await writeFile(
        join(dir, 'write.yaml'),
        `id: codecs-write-${s}
sources:
  calls: { type: generate, seed: 5, count: ${EVENTS} }
sinks:
${CODECS.map((c) => `  ${c}: { type: kafka, inputs: [calls], brokers: ${brokers()}, topic: ${c}-${s}, compression: ${c}, create_topics: { partitions: 1 } }`).join('\n')}
`,
      );
      const written = await runCli(['run', 'write.yaml', '--once', '--log-level', 'warn'], dir);
      expect(written.code, written.stderr).toBe(0);
      await writeFile(
        join(dir, 'read.yaml'),
        `id: codecs-read-${s}
sources:
  raw: { type: kafka, brokers: ${brokers()}, topics: [${CODECS.map((c) => `${c}-${s}`).join(', ')}], group_id: codecs-${s}, stop_at_end: true }
sinks:
  out: { type: file, inputs: [raw], path: out.ndjson }
`,
      );
      const read = await runCli(['run', 'read.yaml', '--once', '--log-level', 'warn'], dir);
      expect(read.code, read.stderr).toBe(0);
      const lines = (await readFile(join(dir, 'out.ndjson'), 'utf8')).split('\n').filter(Boolean);
      expect(lines.length).toBe(EVENTS * CODECS.length);
      expect(new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id)).size).toBe(EVENTS);
    } finally {
      await cleanup();
    }
  });
});
