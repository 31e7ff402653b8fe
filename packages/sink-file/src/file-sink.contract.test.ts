import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { sinkContract } from '@plumline/core/testing';
import { fileSink } from './file-sink.js';

const root = mkdtempSync(join(tmpdir(), 'plumline-file-contract-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Reads back independently: every line of every file under the sink's directory. */
function readBack(config: Record<string, unknown>): Promise<string[]> {
  const dir = join(String(config.path), '..');
  const ids = readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id));
  return Promise.resolve(ids);
}

sinkContract({
  plugin: fileSink,
  config: () => ({ path: join(root, `run-${++n}`, 'out.ndjson') }),
  readBack,
  // A path under a file cannot be created.
  failingConfig: () => ({ path: join('/dev/null', 'cannot', 'out.ndjson') }),
});
