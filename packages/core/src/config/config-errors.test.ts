import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpDir } from '../testing/tmp-dir.js';
import { describe, expect, it } from 'vitest';
import { ConfigErrors, PluginRegistry, corePlugins } from '../index.js';
import { resolvePipeline } from '../host.js';

const registry = new PluginRegistry(corePlugins);

async function errorsOf(yaml: string, env: Record<string, string> = {}) {
  try {
    await resolvePipeline(yaml, { registry, env, file: 'p.yaml' });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigErrors);
    return (err as ConfigErrors).errors.map((e) => ({ code: e.code, line: e.location?.line, column: e.location?.column, path: e.location?.path, file: e.location?.file }));
  }
  throw new Error('expected the pipeline to be invalid');
}

const VALID = `sources:
  gen: { type: generate, count: 10 }
sinks:
  out: { type: stdout, inputs: [gen] }
`;

describe('pipeline config errors name file, line, column and key path', () => {
  it('reports every mistake of a file in one run, whichever check finds it, in file order', async () => {
    const yaml = `id: five
runtim: { commit_interval: 1s }
sources:
  gen: { type: generate, cnt: 10 }
  bad: { type: nosuch }
  broken: { count: 1 }
transforms:
  d: { type: dedupe, inputs: [gen, missing, broken], ttl: 30 }
sinks:
  out: { type: stdout, inputs: [d, nowhere], flush: often }
`;
    expect((await errorsOf(yaml)).map((e) => [e.code, e.line, e.path])).toEqual([
      ['CONFIG_UNKNOWN_KEY', 2, 'runtim'],
      ['CONFIG_UNKNOWN_KEY', 4, 'sources.gen.cnt'],
      ['CONFIG_UNKNOWN_TYPE', 5, 'sources.bad.type'],
      ['CONFIG_MISSING_KEY', 6, 'sources.broken'],
      ['CONFIG_BAD_INPUT', 8, 'transforms.d.inputs[1]'],
      ['CONFIG_INVALID_VALUE', 8, 'transforms.d.ttl'],
      ['CONFIG_BAD_INPUT', 10, 'sinks.out.inputs[1]'],
      ['CONFIG_UNKNOWN_KEY', 10, 'sinks.out.flush'],
    ]);
  });

  it('accepts a valid file', async () => {
    const def = await resolvePipeline(VALID, { registry, env: {}, file: 'p.yaml' });
    expect(def.sources.map((s) => s.id)).toEqual(['gen']);
    expect(def.id).toBe('p');
  });

  it('locates an unknown key inside a plugin config', async () => {
    const errors = await errorsOf(`sources:
  gen:
    type: generate
    cuont: 10
sinks:
  out: { type: stdout, inputs: [gen] }
`);
    expect(errors).toEqual([{ code: 'CONFIG_UNKNOWN_KEY', line: 4, column: 5, path: 'sources.gen.cuont', file: 'p.yaml' }]);
  });

  it('locates a value of the wrong type', async () => {
    const errors = await errorsOf(`sources:
  gen: { type: generate, count: "many" }
sinks:
  out: { type: stdout, inputs: [gen] }
`);
    expect(errors).toEqual([{ code: 'CONFIG_INVALID_VALUE', line: 2, column: 33, path: 'sources.gen.count', file: 'p.yaml' }]);
  });

  it('locates a bad duration', async () => {
    const errors = await errorsOf(`sources:
  gen: { type: generate, count: 10 }
transforms:
  d:
    type: dedupe
    inputs: [gen]
    ttl: 30
sinks:
  out: { type: stdout, inputs: [d] }
`);
    expect(errors).toEqual([{ code: 'CONFIG_INVALID_VALUE', line: 7, column: 10, path: 'transforms.d.ttl', file: 'p.yaml' }]);
  });

  it('tells what to write for a duration given as a bare number (the unit to add)', async () => {
    const yaml = `sources:
  gen: { type: generate, count: 10 }
transforms:
  d: { type: dedupe, inputs: [gen], ttl: 30 }
sinks:
  out: { type: stdout, inputs: [d] }
`;
    const err = await resolvePipeline(yaml, { registry, env: {}, file: 'p.yaml' }).then(
      () => undefined,
      (e: unknown) => e as ConfigErrors,
    );
    expect(err?.errors.map((e) => e.code)).toEqual(['CONFIG_INVALID_VALUE']);
    // The hint names the fix: the same number with a unit.
    expect(err?.errors[0]!.message).toContain('30s');
  });

  it('reports a missing required key at its parent', async () => {
    const errors = await errorsOf(`sources:
  gen: { type: generate, count: 10 }
sinks:
  out:
    type: stdout
`);
    expect(errors).toEqual([{ code: 'CONFIG_MISSING_KEY', line: 4, column: 3, path: 'sinks.out.inputs', file: 'p.yaml' }]);
  });

  it('a required key written misspelled is one error at the key as written, naming the key it stands for', async () => {
    const yaml = `sourcess:
  gen: { tpye: generate, count: 10 }
sinks:
  out: { type: stdout, inptus: [gen] }
`;
    expect((await errorsOf(yaml))[0]).toEqual({ code: 'CONFIG_UNKNOWN_KEY', line: 1, column: 1, path: 'sourcess', file: 'p.yaml' });
    const fixedTop = yaml.replace('sourcess', 'sources');
    const errors = await resolvePipeline(fixedTop, { registry, env: {}, file: 'p.yaml' }).then(
      () => [],
      (e: unknown) => (e as ConfigErrors).errors,
    );
    expect(errors.map((e) => [e.code, e.location?.path, e.location?.line, e.location?.column, e.message])).toEqual([
      ['CONFIG_UNKNOWN_KEY', 'sinks.out.inptus', 4, 24, 'p.yaml:4:24: sinks.out.inptus: unknown key "inptus": did you mean "inputs"? ("inputs" is required)'],
    ]);
    const typeErrors = await resolvePipeline(fixedTop.replace('inptus', 'inputs'), { registry, env: {}, file: 'p.yaml' }).then(
      () => [],
      (e: unknown) => (e as ConfigErrors).errors,
    );
    expect(typeErrors.map((e) => [e.code, e.location?.path, e.location?.line, e.location?.column])).toEqual([['CONFIG_UNKNOWN_KEY', 'sources.gen.tpye', 2, 10]]);
    expect(typeErrors[0]!.message).toContain('unknown key "tpye": did you mean "type"? ("type" is required: one of generate, stdin');
  });

  it('reports YAML syntax errors with their position', async () => {
    const errors = await errorsOf(`sources:
  gen: { type: generate, count: 10
sinks: {}
`);
    expect(errors[0]!.code).toBe('CONFIG_YAML_SYNTAX');
    expect(errors[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('reports an unknown plugin type and an unknown input', async () => {
    const errors = await errorsOf(`sources:
  gen: { type: generat }
sinks:
  out: { type: stdout, inputs: [nope] }
`);
    expect(errors).toEqual([
      { code: 'CONFIG_UNKNOWN_TYPE', line: 2, column: 16, path: 'sources.gen.type', file: 'p.yaml' },
      { code: 'CONFIG_BAD_INPUT', line: 4, column: 33, path: 'sinks.out.inputs[0]', file: 'p.yaml' },
    ]);
  });

  it('rejects cycles between transforms', async () => {
    const errors = await errorsOf(`sources:
  gen: { type: generate, count: 10 }
transforms:
  a: { type: filter, inputs: [b], where: {} }
  b: { type: filter, inputs: [a], where: {} }
sinks:
  out: { type: stdout, inputs: [a] }
`);
    expect(errors.map((e) => e.code)).toContain('CONFIG_CYCLE');
  });

  it('interpolates ${VAR} and ${VAR:-default}, and locates an unset variable', async () => {
    const yaml = `sources:
  gen: { type: generate, count: \${COUNT}, seed: \${SEED:-9} }
dead_letter: { path: "\${OUT_DIR}/x.ndjson" }
sinks:
  out: { type: stdout, inputs: [gen] }
`;
    const errors = await errorsOf(yaml, { COUNT: '5' });
    expect(errors).toEqual([{ code: 'CONFIG_ENV_MISSING', line: 3, column: 23, path: '', file: 'p.yaml' }]);
    const def = await resolvePipeline(yaml, { registry, env: { COUNT: '5', OUT_DIR: '/tmp/o' }, file: 'p.yaml' });
    expect(def.sources[0]!.config).toMatchObject({ count: 5, seed: 9 });
    expect(def.deadLetterPath).toBe('/tmp/o/x.ndjson');
  });

  it('refuses a variable whose value would add lines to the file', async () => {
    const errors = await errorsOf(`sources:
  gen: { type: generate, count: \${COUNT} }
sinks:
  out: { type: stdout, inputs: [gen] }
`, { COUNT: '5\nsinks: {}' });
    expect(errors).toEqual([{ code: 'CONFIG_ENV_MULTILINE', line: 2, column: 33, path: '', file: 'p.yaml' }]);
  });

  it('puts a variable\'s value into one scalar: it can never add keys (no YAML injection), and a bare number stays a number', async () => {
    const yaml = `sources:
  gen: { type: generate, count: \${N}, seed: 1 }
sinks:
  out: { type: stdout, inputs: [gen] }
`;
    const errors = await errorsOf(yaml, { N: '1, duplicate_ratio: 0.9' });
    expect(errors.map((e) => [e.code, e.line, e.path])).toEqual([['CONFIG_INVALID_VALUE', 2, 'sources.gen.count']]);
    const def = await resolvePipeline(yaml, { registry, env: { N: '7' }, file: 'p.yaml' });
    expect(def.sources[0]!.config).toMatchObject({ count: 7 });
    expect((def.sources[0]!.config as { duplicate_ratio?: number }).duplicate_ratio ?? 0).toBe(0);
  });

  it('locates alias problems: an undefined alias, and a file whose aliases expand too often', async () => {
    const undefinedAlias = await errorsOf(`sources:
  gen: { type: generate, count: *nothing }
sinks:
  out: { type: stdout, inputs: [gen] }
`);
    expect(undefinedAlias.map((e) => [e.code, e.line])).toEqual([[expect.stringMatching(/^CONFIG_YAML/), 2]]);
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [i, c] of ['b', 'c', 'd', 'e', 'f', 'g'].entries()) laughs.push(`${c}: &${c} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`);
    const bomb = await errorsOf(`${laughs.join('\n')}\nsources:\n  gen: { type: generate, count: 1 }\nsinks:\n  out: { type: stdout, inputs: [gen] }\n`);
    expect(bomb.map((e) => e.code)).toEqual(['CONFIG_YAML_ALIAS']);
    expect(bomb[0]!.line).toBeGreaterThan(1);
  });

  it('refuses a key named __proto__ (a component so named used to vanish), located', async () => {
    const errors = await errorsOf(`sources:
  gen: { type: generate, count: 1 }
  __proto__: { type: generate, count: 2 }
sinks:
  out: { type: stdout, inputs: [gen] }
`);
    expect(errors.map((e) => [e.code, e.line])).toEqual([['CONFIG_RESERVED_KEY', 3]]);
  });

  it('refuses a state path that is a file (or runs through one), located, at validate time', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'taken'), 'x');
      for (const path of [join(dir, 'taken'), join(dir, 'taken', 'state')]) {
        const errors = await errorsOf(`state: { type: directory, path: ${JSON.stringify(path)} }\n${VALID}`);
        expect(errors.map((e) => [e.code, e.line, e.path])).toEqual([['CONFIG_INVALID_VALUE', 1, 'state.path']]);
      }
    } finally {
      await cleanup();
    }
  });

  it('leaves $$ and comment lines alone', async () => {
    const def = await resolvePipeline(`# uses \${NOT_SET}
sources:
  gen: { type: generate, count: 1 }
dead_letter: { path: "out/$$HOME.ndjson" }
sinks:
  out: { type: stdout, inputs: [gen] }
`, { registry, env: {}, file: 'p.yaml' });
    expect(def.deadLetterPath).toBe('out/$HOME.ndjson');
  });

  it('rejects unknown top-level keys and names reserved for the dead-letter stream', async () => {
    const errors = await errorsOf(`sourcez: {}
sources:
  dead_letter: { type: generate, count: 1 }
sinks:
  out: { type: stdout, inputs: [dead_letter] }
`);
    expect(errors.map((e) => e.code)).toEqual(['CONFIG_UNKNOWN_KEY', 'CONFIG_DUPLICATE_NAME']);
    const e2 = await errorsOf(`sources:
  dead_letter: { type: generate, count: 1 }
sinks:
  out: { type: stdout, inputs: [dead_letter] }
`);
    expect(e2.map((e) => e.code)).toContain('CONFIG_DUPLICATE_NAME');
  });

  it('requires a named output of a route', async () => {
    const errors = await errorsOf(`sources:
  gen: { type: generate, count: 1 }
transforms:
  r: { type: route, inputs: [gen], routes: { calls: { kind: call } } }
sinks:
  out: { type: stdout, inputs: [r] }
  out2: { type: stdout, inputs: [r.nope] }
`);
    expect(errors.map((e) => [e.code, e.path])).toEqual([
      ['CONFIG_BAD_INPUT', 'sinks.out.inputs[0]'],
      ['CONFIG_BAD_INPUT', 'sinks.out2.inputs[0]'],
    ]);
  });

  it('checks conditions with located messages', async () => {
    const errors = await errorsOf(`sources:
  gen: { type: generate, count: 1 }
transforms:
  f:
    type: filter
    inputs: [gen]
    where:
      durationSec: { greater: 3 }
sinks:
  out: { type: stdout, inputs: [f] }
`);
    expect(errors).toEqual([{ code: 'CONFIG_INVALID_VALUE', line: 8, column: 22, path: 'transforms.f.where.durationSec.greater', file: 'p.yaml' }]);
  });
});
