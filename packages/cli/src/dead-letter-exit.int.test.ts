import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { CLI_BIN } from './test-support/run-cli.js';

interface Run {
  code: number | null;
  stderr: string;
  /** The JSON log lines of stderr (what is not JSON is left out). */
  logs: Record<string, unknown>[];
}

/** Runs the built CLI in `cwd`, with `stdin` as its input; SIGTERM once stderr matches `stopOn`. */
function cli(args: string[], cwd: string, opts: { stdin?: string; stopOn?: RegExp } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    let stopped = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (opts.stopOn && !stopped && opts.stopOn.test(stderr)) {
        stopped = true;
        child.kill('SIGTERM');
      }
    });
    child.stdin.end(opts.stdin ?? '');
    child.on('error', reject);
    child.on('exit', (code) => {
      const logs = stderr.split('\n').flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
      resolve({ code, stderr, logs });
    });
  });
}

const deadLines = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { kind: string; attributes: { code: string; reason: string } });

/** 100 NDJSON lines of stdin, `bad` of them not JSON. */
const input = (bad: number) => Array.from({ length: 100 }, (_, i) => (i < bad ? `not json ${i}` : JSON.stringify({ id: `e${i}`, kind: 'call' }))).join('\n') + '\n';

describe('dead letters are loud: warnings, and the exit status of a run that ends', () => {
  it('a file sink that dead-letters every event (a path field no event has): one warning with count and example, no out/unknown/, exit 3 with what to do', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'p.yaml'), 'sources:\n  g: { type: generate, count: 200 }\nsinks:\n  o: { type: file, inputs: [g], path: "out/{{attributes.tenant}}/x.ndjson" }\n');
      const r = await cli(['run', 'p.yaml', '--once', '--log-level', 'warn'], dir);
      expect(r.code).toBe(3);
      const warned = r.logs.filter((l) => l.code === 'FILE_TEMPLATE_FIELD_MISSING');
      expect(warned.length).toBeGreaterThanOrEqual(1);
      expect(warned.reduce((n, l) => n + (l.count as number), 0)).toBe(200);
      expect(warned[0]).toMatchObject({ level: 40, component: 'o', example: { reason: expect.stringContaining('lacks attributes.tenant'), record: expect.stringMatching(/^event g:\w+:\d+ \(g \w+\)$/) }, to: 'the dead-letter file .plumline/dead-letter.ndjson' });
      expect(warned[warned.length - 1]!.total).toBe(200);
      expect(r.stderr).toContain('error: 200 of the 200 records read were dead-lettered (FILE_TEMPLATE_FIELD_MISSING: 200); they are in the dead-letter file .plumline/dead-letter.ndjson. Fix what refused them, or if this pipeline expects them, say so: dead_letter: { expected: true }');
      // Nothing written, no made-up directory: out/ holds only the template's claim, made at start.
      expect(await readdir(join(dir, 'out'))).toEqual(['.plumline-owner']);
      const dead = await deadLines(join(dir, '.plumline/dead-letter.ndjson'));
      expect(dead.length).toBe(200);
      expect(new Set(dead.map((d) => d.attributes.code))).toEqual(new Set(['FILE_TEMPLATE_FIELD_MISSING']));
    } finally {
      await cleanup();
    }
  });

  it('dead_letter: { expected: true } ends 0, still warning; a run stopped by a signal ends 0 either way', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'p.yaml'), 'dead_letter: { expected: true }\nsources:\n  g: { type: generate, count: 200 }\nsinks:\n  o: { type: file, inputs: [g], path: "out/{{attributes.tenant}}/x.ndjson" }\n');
      const expected = await cli(['run', 'p.yaml', '--once', '--log-level', 'warn'], dir);
      expect(expected.stderr).not.toContain('error:');
      expect(expected.code).toBe(0);
      expect(expected.logs.some((l) => l.code === 'FILE_TEMPLATE_FIELD_MISSING' && l.level === 40)).toBe(true);
      // A daemon (endless source) stopped with SIGTERM after its first dead letters: another
      // pipeline (id d), so a directory of its own (out/ is p's, FILE_PATH_IN_USE).
      await writeFile(join(dir, 'd.yaml'), 'sources:\n  g: { type: generate, rate: 200 }\nsinks:\n  o: { type: file, inputs: [g], path: "out-d/{{attributes.tenant}}/x.ndjson" }\n');
      const daemon = await cli(['run', 'd.yaml', '--log-level', 'warn'], dir, { stopOn: /FILE_TEMPLATE_FIELD_MISSING/ });
      expect(daemon.code).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it('max_ratio: a share of the records read (stdin: 2 of 100 lines not JSON) is expected, more is not', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      // Each pipeline its own output: a file is written by one pipeline (FILE_PATH_IN_USE).
      const pipeline = (ratio: number) => `dead_letter: { max_ratio: ${ratio} }\nsources:\n  in: { type: stdin }\nsinks:\n  o: { type: file, inputs: [in], path: out-${ratio}.ndjson }\n`;
      await writeFile(join(dir, 'within.yaml'), pipeline(0.02));
      await writeFile(join(dir, 'beyond.yaml'), pipeline(0.01));
      const within = await cli(['run', 'within.yaml', '--once', '--log-level', 'warn'], dir, { stdin: input(2) });
      expect(within.code).toBe(0);
      expect(within.logs.find((l) => l.component === 'in')).toMatchObject({ code: 'BAD_EVENT_LINE', count: 2 });
      const beyond = await cli(['run', 'beyond.yaml', '--once', '--log-level', 'warn'], dir, { stdin: input(2) });
      expect(beyond.code).toBe(3);
      expect(beyond.stderr).toContain('error: 2 of the 100 records read were dead-lettered (BAD_EVENT_LINE: 2), more than max_ratio 0.01 allows');
      const plain = await cli(['run', 'beyond.yaml', '--once', '--log-level', 'warn'], dir, { stdin: input(0) });
      expect(plain.code).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it('the issue as filed: templates naming a field no event has, or a topic Kafka never takes, are refused by validate and run (exit 2, located, the fields listed)', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(
        join(dir, 'p.yaml'),
        [
          'sources:',
          '  g: { type: generate, count: 10 }',
          'transforms:',
          '  m: { type: map, inputs: [g], set: { attributes.key: { template: "{{sorce}}:{{id}}" } } }',
          'sinks:',
          '  k: { type: kafka, inputs: [m], brokers: ["127.0.0.1:9"], topic: "calls.{{sorce}}.{{kind}}" }',
          '  k2: { type: kafka, inputs: [m], brokers: ["127.0.0.1:9"], topic: "calls/{{source}}" }',
          '  f: { type: file, inputs: [m], path: "out/{{sorce}}/x.ndjson" }',
          '',
        ].join('\n'),
      );
      for (const command of ['validate', 'run']) {
        const r = await cli(command === 'run' ? ['run', 'p.yaml', '--once'] : ['validate', 'p.yaml'], dir);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/p\.yaml:4:\d+: transforms\.m\.set\.attributes\.key\.template: "sorce" is not a field of an event \(did you mean "source"\?\): a template reads id, source, kind, time, endTime, direction, from, to, durationSec, attributes\.<name>, raw\.<name>/);
        expect(r.stderr).toMatch(/p\.yaml:6:\d+: sinks\.k\.topic: .*"sorce" is not a field of an event/);
        expect(r.stderr).toMatch(/p\.yaml:7:\d+: sinks\.k2\.topic: "calls\/\{\{source\}\}" can never be a topic: "\/" is in its fixed text/);
        expect(r.stderr).toMatch(/p\.yaml:8:\d+: sinks\.f\.path: "sorce" is not a field of an event/);
      }
      expect(existsSync(join(dir, 'out'))).toBe(false);
    } finally {
      await cleanup();
    }
  });
});
