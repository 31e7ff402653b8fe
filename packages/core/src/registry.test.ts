import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CallGenerator } from './sources/index.js';
import { createPipeline, createLogger, corePlugins, defineSink, PluginRegistry, z, MemoryStateStore } from './index.js';
import { tmpDir } from './testing/tmp-dir.js';

describe('plugin registry', () => {
  it('refuses a second plugin of the same kind and type', () => {
    const sink = defineSink({ type: 'stdout', description: 'x', configSchema: z.strictObject({}), create: () => ({ write: async () => {}, close: async () => {} }) });
    expect(() => new PluginRegistry([...corePlugins, sink])).toThrow(expect.objectContaining({ code: 'PLUGIN_DUPLICATE_TYPE' }));
  });

  it('loads a custom plugin from a module path with use:, relative to the pipeline file', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const core = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'index.js')).href;
      await writeFile(
        join(dir, 'upper-sink.mjs'),
        `import { defineSink, z } from ${JSON.stringify(core)};
export const seen = [];
export default defineSink({
  type: 'upper',
  description: 'remembers upper-cased ids',
  configSchema: z.strictObject({ prefix: z.string().describe('prefix') }),
  create(config) {
    return { async write(batch) { for (const e of batch.events) seen.push(config.prefix + e.id.toUpperCase()); }, async close() {} };
  },
});
`,
      );
      const yaml = `sources:\n  g: { type: generate, count: 3 }\nsinks:\n  u: { use: ./upper-sink.mjs, inputs: [g], prefix: "x-" }\n`;
      const p = await createPipeline(yaml, { plugins: corePlugins, logger: createLogger({ level: 'silent' }), once: true, stateStore: new MemoryStateStore(), baseDir: dir, file: join(dir, 'p.yaml') });
      await p.start();
      await p.done;
      const mod = (await import(pathToFileURL(join(dir, 'upper-sink.mjs')).href)) as { seen: string[] };
      const gen = new CallGenerator({ seed: 1, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'g' });
      expect(mod.seen).toEqual([0, 1, 2].map((i) => 'x-' + gen.event(i).id.toUpperCase()));
      // Its schema is checked like any other, with located errors.
      const err = (await createPipeline(yaml.replace('prefix', 'prefx'), { plugins: corePlugins, baseDir: dir, file: 'p.yaml' }).catch((e) => e)) as { errors: { code: string; message: string }[] };
      // The required `prefix` written as `prefx`: one error, at the key as written.
      expect(err.errors.map((e) => [e.code, e.message.replace(/^.*?: unknown/, 'unknown')])).toEqual([['CONFIG_UNKNOWN_KEY', 'unknown key "prefx": did you mean "prefix"? ("prefix" is required)']]);
    } finally {
      await cleanup();
    }
  });

  it('loads a plugin package by name from node_modules beside the pipeline file, also one that exports only an import condition', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const core = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'index.js')).href;
      const pkg = join(dir, 'node_modules', '@acme', 'plumline-esm-only');
      await mkdir(join(pkg, 'dist'), { recursive: true });
      await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: '@acme/plumline-esm-only', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } }));
      await writeFile(
        join(pkg, 'dist', 'index.js'),
        `import { defineSink, z } from ${JSON.stringify(core)};
export const count = { n: 0 };
export const countingSink = defineSink({ type: 'counting', description: 'counts', configSchema: z.strictObject({}), create: () => ({ async write(b) { count.n += b.events.length; }, async close() {} }) });
`,
      );
      const yaml = `sources:\n  g: { type: generate, count: 7 }\nsinks:\n  c: { use: "@acme/plumline-esm-only", type: counting, inputs: [g] }\n`;
      const p = await createPipeline(yaml, { plugins: corePlugins, logger: createLogger({ level: 'silent' }), once: true, stateStore: new MemoryStateStore(), baseDir: dir, file: join(dir, 'p.yaml') });
      await p.start();
      expect((await p.done).stats.c!.eventsOut).toBe(7);
      // A package that is not installed: a clear error with a stable code.
      const missing = await createPipeline(yaml.replace('@acme/plumline-esm-only', '@acme/not-installed'), { plugins: corePlugins, baseDir: dir, file: 'p.yaml' }).catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('cannot load plugin module "@acme/not-installed" (not found in node_modules') });
    } finally {
      await cleanup();
    }
  });
});
