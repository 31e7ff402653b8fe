import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { runCli } from './test-support/run-cli.js';

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

/** A pipeline `id` writing generate's events through the sinks `sinks` (YAML lines under `sinks:`). */
const pipeline = (id: string, sinks: string[]): string => `id: ${id}
state: { type: directory, path: state-${id} }
sources:
  gen: { type: generate, seed: 3, count: 200 }
sinks:
${sinks.map((s) => `  ${s}`).join('\n')}
`;

describe('validate refuses the file-sink paths run would refuse (validate = run before reading anything)', () => {
  const claimed: [string, string, string][] = [
    ['a fixed path another pipeline wrote', 'out.ndjson', 'out.ndjson'],
    ['a template directory another pipeline claims', 'out/{{kind}}.ndjson', 'out/{{source}}/x.ndjson'],
    ['a template directory inside one another pipeline claims', 'out/{{kind}}.ndjson', 'out/sub/{{kind}}.ndjson'],
    ['a fixed path under a template directory another pipeline claims', 'out/{{kind}}.ndjson', 'out/call.ndjson'],
    ['a template directory above a fixed path another pipeline wrote', 'out/alpha.ndjson', 'out/{{kind}}.ndjson'],
  ];
  for (const [name, alphaPath, betaPath] of claimed) {
    it(`${name}: validate exits 2 with FILE_PATH_IN_USE located at the path, as run does; nothing written`, { timeout: 60_000 }, async () => {
      const { dir, cleanup } = await tmpDir('plumline-validate-claim-');
      try {
        await writeFile(join(dir, 'alpha.yaml'), pipeline('alpha', [`o: { type: file, inputs: [gen], path: "${alphaPath}" }`]));
        await writeFile(join(dir, 'beta.yaml'), pipeline('beta', [`o: { type: file, inputs: [gen], path: "${betaPath}" }`]));
        const alpha = await runCli(['run', 'alpha.yaml', '--once'], dir);
        expect(alpha.code, alpha.stderr).toBe(0);
        // The pipeline that holds the claim validates: its own claim is no conflict.
        const own = await runCli(['validate', 'alpha.yaml'], dir);
        expect(own.code, own.stderr).toBe(0);
        const validate = await runCli(['validate', 'beta.yaml'], dir);
        expect(validate.code, validate.stderr).toBe(2);
        expect(validate.stderr).toMatch(/beta\.yaml:6:\d+: sinks\.o\.path: .*FILE_PATH_IN_USE|FILE_PATH_IN_USE.*\n?.*beta\.yaml:6:\d+: sinks\.o\.path/);
        expect(validate.stderr).toContain('pipeline "alpha"');
        const run = await runCli(['run', 'beta.yaml', '--once'], dir);
        expect(run.code).not.toBe(0);
        expect(run.stderr).toContain('FILE_PATH_IN_USE');
        expect(run.stderr).toContain('pipeline "alpha"');
      } finally {
        await cleanup();
      }
    });
  }

  it('validate of a pipeline while it runs is not refused by its own claim (no FILE_PATH_IN_USE for the same pipeline)', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tmpDir('plumline-validate-own-');
    try {
      await writeFile(join(dir, 'alpha.yaml'), pipeline('alpha', ['o: { type: file, inputs: [gen], path: out.ndjson }', 't: { type: file, inputs: [gen], path: "tpl/{{kind}}.ndjson" }']));
      expect((await runCli(['run', 'alpha.yaml', '--once'], dir)).code).toBe(0);
      const sha = await sha256(join(dir, 'out.ndjson'));
      const v = await runCli(['validate', 'alpha.yaml'], dir);
      expect(v.code, v.stderr).toBe(0);
      expect(await sha256(join(dir, 'out.ndjson'))).toBe(sha);
    } finally {
      await cleanup();
    }
  });
});

describe('two file sinks of one pipeline whose paths can render the same file are refused at validate, located, with what to do', () => {
  const overlapping: [string, string, string][] = [
    ['the same template', 'out/{{kind}}.ndjson', 'out/{{kind}}.ndjson'],
    ['templates of one shape', 'out/{{kind}}.ndjson', 'out/{{source}}.ndjson'],
    ["one's fixed directory inside the other's template", 'out/{{kind}}/x.ndjson', 'out/call/{{source}}.ndjson'],
    ['a fixed path the other template renders', 'out/{{kind}}.ndjson', 'out/call.ndjson'],
    ['a time template and a fixed path it renders', 'logs/%Y/%m.ndjson', 'logs/2026/01.ndjson'],
  ];
  for (const [name, a, b] of overlapping) {
    it(`${name} (${a} and ${b}): validate exits 2 at the second sink's path`, { timeout: 30_000 }, async () => {
      const { dir, cleanup } = await tmpDir('plumline-validate-overlap-');
      try {
        await writeFile(join(dir, 'p.yaml'), pipeline('p', [`a: { type: file, inputs: [gen], path: "${a}" }`, `b: { type: file, inputs: [gen], path: "${b}" }`]));
        const v = await runCli(['validate', 'p.yaml'], dir);
        expect(v.code, v.stderr).toBe(2);
        expect(v.stderr).toContain('p.yaml:7:');
        expect(v.stderr).toContain('sinks.b.path');
        expect(v.stderr).toMatch(/sink "a" (writes \S+ too|\(path "[^"]+"\) can write the same files as)/);
        expect(v.stderr).toMatch(/give each sink/);
      } finally {
        await cleanup();
      }
    });
  }

  const apart: [string, string, string][] = [
    ['sibling directories', 'out/a/{{kind}}.ndjson', 'out/b/{{kind}}.ndjson'],
    ['extensions that never meet', 'out/{{kind}}.ndjson', 'out/{{kind}}.csv'],
    ['gzip and not', 'out/{{kind}}.ndjson', 'out/{{kind}}.ndjson.gz'],
    ['a fixed file beside a template of another depth', 'out/{{kind}}/x.ndjson', 'out/all.ndjson'],
  ];
  for (const [name, a, b] of apart) {
    it(`${name} (${a} and ${b}) validate`, { timeout: 30_000 }, async () => {
      const { dir, cleanup } = await tmpDir('plumline-validate-apart-');
      try {
        await writeFile(join(dir, 'p.yaml'), pipeline('p', [`a: { type: file, inputs: [gen], path: "${a}" }`, `b: { type: file, inputs: [gen], path: "${b}" }`]));
        const v = await runCli(['validate', 'p.yaml'], dir);
        expect(v.code, v.stderr).toBe(0);
      } finally {
        await cleanup();
      }
    });
  }
});

describe('validate --no-env checks a template that holds an unset ${VAR}', () => {
  it('path "${OUT}/{{sorce}}/x.ndjson" is refused at the field (the variable stands for text, not for the field); "${OUT}/{{kind}}/x.ndjson" passes', { timeout: 30_000 }, async () => {
    const { dir, cleanup } = await tmpDir('plumline-validate-noenv-');
    try {
      await writeFile(join(dir, 'bad.yaml'), pipeline('p', ['o: { type: file, inputs: [gen], path: "${OUT}/{{sorce}}/x.ndjson" }']));
      const bad = await runCli(['validate', 'bad.yaml', '--no-env'], dir);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toContain('bad.yaml:6:');
      expect(bad.stderr).toContain('"sorce" is not a field of an event (did you mean "source"?)');
      await writeFile(join(dir, 'topic.yaml'), pipeline('p', ['k: { type: kafka, inputs: [gen], brokers: ["${BROKER}"], topic: "calls.${ENV}.{{knd}}" }']));
      const topic = await runCli(['validate', 'topic.yaml', '--no-env'], dir);
      expect(topic.code, topic.stderr).toBe(2);
      expect(topic.stderr).toContain('"knd" is not a field of an event');
      await writeFile(join(dir, 'good.yaml'), pipeline('p', ['o: { type: file, inputs: [gen], path: "${OUT}/{{kind}}/x.ndjson" }', 'f: { type: file, inputs: [gen], path: "{{${FIELD}}}/x.ndjson" }']));
      const good = await runCli(['validate', 'good.yaml', '--no-env'], dir);
      expect(good.code, good.stderr).toBe(0);
    } finally {
      await cleanup();
    }
  });
});
