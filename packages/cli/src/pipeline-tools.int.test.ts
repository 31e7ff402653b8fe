import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { main } from './main.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await main(args, { stdout: out, stderr: err });
  return { code, stdout, stderr };
}

const PIPELINE = (tests: string) => `
sources:
  gen: { type: generate, count: 1 }
transforms:
  tagged:
    type: map
    inputs: [gen]
    set: { attributes.team: support }
  long:
    type: filter
    inputs: [tagged]
    where: { durationSec: { gte: 60 } }
sinks:
  out: { type: blackhole, inputs: [long] }
tests:
${tests}`;

describe('plumline test', () => {
  it('passes the example pipelines\u2019 own tests', async () => {
    const r = await cli(['test', join(EXAMPLES, 'demo.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 passed, 0 failed/);
  });

  it('runs inputs through the transforms downstream of insert_at; a failure exits 1 with the closest event and where it differs', async () => {
    const { dir, cleanup } = await tmpDir('plumline-ptest-');
    try {
      const file = join(dir, 'p.yaml');
      await writeFile(
        file,
        PIPELINE(`  - name: long calls keep their tag
    inputs:
      - insert_at: tagged
        events: [{ id: a, durationSec: 90 }, { id: b, durationSec: 5 }]
    outputs:
      - extract_from: long
        count: 1
        conditions: [{ equals: { id: a, attributes.team: support } }]
        absent: [{ equals: { id: b } }]
  - name: a wrong expectation
    inputs:
      - insert_at: tagged
        events: [{ id: c, durationSec: 120 }]
    outputs:
      - extract_from: long
        conditions: [{ equals: { attributes.team: sales }, matches: { id: "^c$" } }]
`),
      );
      const r = await cli(['test', file]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('✓ long calls keep their tag');
      expect(r.stdout).toContain('✗ a wrong expectation');
      expect(r.stdout).toContain('attributes.team: expected "sales", got "support"');
      expect(r.stdout).toContain('1 passed, 1 failed');
    } finally {
      await cleanup();
    }
  });

  it('a test naming an unknown component is a config error located at its line (exit 2)', async () => {
    const { dir, cleanup } = await tmpDir('plumline-ptest-');
    try {
      const file = join(dir, 'p.yaml');
      await writeFile(
        file,
        PIPELINE(`  - name: typo
    inputs:
      - insert_at: taged
        events: [{ id: a }]
    outputs:
      - extract_from: long
`),
      );
      const r = await cli(['test', file]);
      expect(r.code).toBe(2);
      const line = (await readFile(file, 'utf8')).split('\n').findIndex((l) => l.includes('insert_at: taged')) + 1;
      expect(r.stderr).toContain(`p.yaml:${line}:`);
      expect(r.stderr).toContain('"taged" is not a transform');
    } finally {
      await cleanup();
    }
  });
});

describe('plumline tap', () => {
  it('standalone: prints a sample of what a component emits, and writes nothing (sinks are blackholes, state stays in memory)', async () => {
    const { dir, cleanup } = await tmpDir('plumline-tap-');
    try {
      const file = join(dir, 'p.yaml');
      await writeFile(
        file,
        `state: { type: directory, path: ${join(dir, "state")} }
sources:
  gen: { type: generate, count: 200, batch_size: 20 }
transforms:
  tagged: { type: map, inputs: [gen], set: { attributes.team: support } }
sinks:
  out: { type: file, inputs: [tagged], path: ${join(dir, "out.ndjson")} }
`,
      );
      for (let run = 0; run < 2; run++) {
        const r = await cli(['tap', file, 'tagged', '--limit', '0', '--every', '20', '--format', 'ndjson']);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain('nothing is written and no checkpoint moves');
        const tapped = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; attributes: { team: string } });
        // The same sample each time: the first run moved no checkpoint.
        expect(tapped).toHaveLength(10);
        expect(tapped.every((e) => e.attributes.team === 'support')).toBe(true);
      }
      expect(existsSync(join(dir, 'out.ndjson'))).toBe(false);
      expect(existsSync(join(dir, 'state'))).toBe(false);
      expect(existsSync(join(dir, '.plumline'))).toBe(false);
    } finally {
      await cleanup();
    }
  });

  it('stops after --limit events; an unknown component exits 2 naming the known ones', async () => {
    const r = await cli(['tap', join(EXAMPLES, 'generate-demo.yaml'), 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('known: dead_letter, calls, tagged, unique, by_kind');
  });
});
