import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpDir } from '@plumline/core/testing';
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from './registry.js';
import { namedTypes, registryFor, registryForFile } from './plugins-for-pipeline.js';

describe('plugins loaded for the types a pipeline names', () => {
  it('loads only the packages named, all of them for a type it does not know or a file it cannot read', async () => {
    const small = await registryFor(['source:generate', 'transform:dedupe', 'sink:file']);
    expect(small.get('sink', 'file')).toBeDefined();
    expect(small.get('source', 'generate')).toBeDefined();
    expect(small.get('sink', 'kafka')).toBeUndefined();
    expect(small.get('transform', 'enrich')).toBeUndefined();
    // An unknown type is reported against the full list of types.
    expect((await registryFor(['sink:webhook'])).types('sink')).toEqual(builtinRegistry().types('sink'));
    expect((await registryFor(undefined)).all().length).toBe(builtinRegistry().all().length);
    const { dir, cleanup } = await tmpDir();
    try {
      const file = join(dir, 'p.yaml');
      // An unset variable does not stop the look for types: validate reports it on the real read.
      await writeFile(file, 'sources:\n  k: { type: kafka, brokers: ["${BROKER_UNSET_IN_TEST}"], topics: [t], group_id: g }\nsinks:\n  out: { type: stdout, inputs: [k] }\n');
      const fromFile = await registryForFile(file);
      expect(fromFile.get('source', 'kafka')).toBeDefined();
      expect(fromFile.get('sink', 'file')).toBeUndefined();
      expect((await registryForFile(join(dir, 'absent.yaml'))).all().length).toBe(builtinRegistry().all().length);
    } finally {
      await cleanup();
    }
  });

  it('reads the types of sources, transforms, sinks and the state store', () => {
    expect(namedTypes({ state: { type: 'kafka' }, sources: { a: { type: 'plum' } }, transforms: { t: { type: 'mask' } }, sinks: { s: { type: 'file' } } })).toEqual(['source:plum', 'transform:mask', 'sink:file', 'state:kafka']);
    expect(namedTypes({ sources: 'not a map' })).toBeUndefined();
    expect(namedTypes('text')).toBeUndefined();
    // A component without a type is told every type it may take, so every package is loaded.
    expect(namedTypes({ sources: { a: { tpye: 'plum' } } })).toBeUndefined();
  });
});
