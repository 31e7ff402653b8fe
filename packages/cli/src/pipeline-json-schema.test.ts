import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { builtinRegistry } from './registry.js';
import { pipelineSchemaFor } from './schema-command.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SECTIONS = ['sources', 'transforms', 'sinks', 'state', 'runtime', 'dead_letter', 'tests'];

/** A strict ajv: unknown keywords and formats and ambiguous types are errors, not ignored. */
function strictAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats.default(ajv);
  return ajv;
}

/** The YAML blocks of the README and docs/ that are pipelines or sections of one. */
function documentedPipelines(): { where: string; doc: Record<string, unknown> }[] {
  const out: { where: string; doc: Record<string, unknown> }[] = [];
  for (const file of ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`), ...readdirSync(join(root, 'packages')).map((p) => `packages/${p}/README.md`)]) {
    let n = 0;
    for (const m of readFileSync(join(root, file), 'utf8').matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
      n++;
      const doc = parse(m[1]!) as unknown;
      if (doc && typeof doc === 'object' && Object.keys(doc).some((k) => SECTIONS.includes(k))) out.push({ where: `${file} yaml block ${n}`, doc: doc as Record<string, unknown> });
    }
  }
  return out;
}

const problems = (v: ValidateFunction): string[] => (v.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => `${e.instancePath} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);

describe('plumline schema (checked by an independent validator: ajv, strict)', () => {
  let schema: Record<string, unknown>;
  let validate: ValidateFunction;
  beforeAll(async () => {
    schema = await pipelineSchemaFor(builtinRegistry(), undefined);
    validate = strictAjv().compile(schema);
  });

  it('is a JSON Schema 2020-12 the meta-schema accepts, with no keyword or format strict mode refuses', () => {
    const ajv = strictAjv();
    expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
    expect(() => strictAjv().compile(schema)).not.toThrow();
  });

  it('accepts every pipeline in examples/ as written (variables, tests: section included)', () => {
    const files = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) expect(validate(parse(readFileSync(join(root, 'examples', f), 'utf8'))) ? [] : problems(validate), f).toEqual([]);
  });

  it('accepts every pipeline, and every section of one, that the READMEs and docs/ show', () => {
    const docs = documentedPipelines();
    expect(docs.length).toBeGreaterThan(20);
    const sectionSchema = (k: string) => strictAjv().compile((schema.properties as Record<string, object>)[k]!);
    for (const { where, doc } of docs) {
      if (doc.sources && doc.sinks) expect(validate(doc) ? [] : problems(validate), where).toEqual([]);
      else for (const k of Object.keys(doc).filter((s) => SECTIONS.includes(s))) {
        const v = sectionSchema(k);
        expect(v(doc[k]) ? [] : problems(v), `${where}: ${k}`).toEqual([]);
      }
    }
  });

  it('refuses what plumline refuses: a misspelled key, a bare number for a duration, an unknown type, a sink without inputs', () => {
    const base = { sources: { g: { type: 'generate', count: 10 } }, sinks: { out: { type: 'stdout', inputs: ['g'] } } };
    expect(validate(base)).toBe(true);
    expect(validate({ ...base, sources: { g: { type: 'generate', cnt: 10 } } })).toBe(false);
    expect(problems(validate)).toContain('/sources/g must NOT have additional properties (cnt)');
    expect(validate({ ...base, transforms: { d: { type: 'dedupe', inputs: ['g'], ttl: 30 } } })).toBe(false);
    expect(validate({ ...base, sources: { g: { type: 'genrate' } } })).toBe(false);
    expect(validate({ ...base, sinks: { out: { type: 'stdout' } } })).toBe(false);
  });

  it('accepts a component whose plugin comes from use: (its keys are checked once the file is given)', () => {
    expect(validate({ sources: { g: { type: 'generate' } }, sinks: { hook: { use: './my-sink.js', type: 'webhook', inputs: ['g'], url: 'http://x/' } } })).toBe(true);
  });

  it('with a pipeline file, includes the plugins its use: modules export: their keys are checked too', async () => {
    const dir = await tmpDir('plumline-schema-');
    try {
      const file = join(dir.dir, 'p.yaml');
      await writeFile(file, `sources:\n  g: { type: generate, count: 1 }\nsinks:\n  hook: { use: ${JSON.stringify(join(root, 'examples/webhook-sink'))}, type: webhook, inputs: [g], url: "http://127.0.0.1:1/" }\n`);
      const v = strictAjv().compile(await pipelineSchemaFor(builtinRegistry(), file));
      const pipeline = parse(readFileSync(file, 'utf8')) as { sinks: { hook: Record<string, unknown> } };
      expect(v(pipeline) ? [] : problems(v)).toEqual([]);
      pipeline.sinks.hook.urll = 'http://x/';
      expect(v(pipeline)).toBe(false);
      expect(problems(v)).toContain('/sinks/hook must NOT have additional properties (urll)');
    } finally {
      await dir.cleanup();
    }
  });
});
