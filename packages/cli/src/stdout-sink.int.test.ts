import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CallGenerator } from '@plumline/core/sources';
import { tmpDir } from '@plumline/core/testing';
import { CLI_BIN } from './test-support/run-cli.js';

describe('stdout sink (the real CLI, its standard output read as NDJSON)', () => {
  it('writes every event as one JSON line, whole and in order, and nothing else on stdout (logs go to stderr)', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(
        join(dir, 'p.yaml'),
        `state: { type: directory, path: state }
sources:
  gen: { type: generate, count: 25, seed: 4, batch_size: 10 }
sinks:
  console: { type: stdout, inputs: [gen] }
`,
      );
      const { stdout } = await promisify(execFile)(process.execPath, [CLI_BIN, 'run', 'p.yaml', '--once', '--log-level', 'info'], { cwd: dir });
      const lines = stdout.split('\n').filter(Boolean);
      // The expected events, from the generator itself (the source's own definition).
      const gen = new CallGenerator({ seed: 4, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'gen' });
      expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(Array.from({ length: 25 }, (_, i) => JSON.parse(JSON.stringify(gen.event(i))) as unknown));
    } finally {
      await cleanup();
    }
  });
});
