import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blackholeSink, stdoutSink } from './builtins.js';
import { checkedAgainstManifest, readPluginManifest } from './plugin-manifest.js';
import { tmpDir } from './testing/tmp-dir.js';

/** A node_modules/<name>/package.json under `root`, with `fields`. */
async function install(root: string, name: string, fields: Record<string, unknown>): Promise<void> {
  const dir = join(root, 'node_modules', name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', ...fields }));
}

describe('plugin manifests: the "plumline" field of a package.json', () => {
  it('is read from the package an import from a directory would find, without importing it', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await install(dir, '@acme/sinks', { plumline: { plugins: [{ kind: 'sink', type: 'acme' }] }, main: 'throws-if-imported.js' });
      await install(dir, 'no-manifest', {});
      const below = join(dir, 'app', 'pipelines');
      await mkdir(below, { recursive: true });
      expect(readPluginManifest('@acme/sinks', below)).toEqual({ name: '@acme/sinks', dir: join(dir, 'node_modules', '@acme/sinks'), manifest: { plugins: [{ kind: 'sink', type: 'acme' }] } });
      expect(readPluginManifest('no-manifest', below)).toBeUndefined();
      expect(readPluginManifest('not-installed', below)).toBeUndefined();
    } finally {
      await cleanup();
    }
  });

  it('refuses a field that is not a manifest, naming the file and what is wrong', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await install(dir, 'bad', { plumline: { plugins: [{ kind: 'operator', type: 'x' }] } });
      await install(dir, 'empty', { plumline: { plugins: [] } });
      expect(() => readPluginManifest('bad', dir)).toThrow(expect.objectContaining({ code: 'PLUGIN_MANIFEST_INVALID', message: expect.stringMatching(/node_modules\/bad\/package\.json: .*plumline\.plugins\.0\.kind/) }));
      expect(() => readPluginManifest('empty', dir)).toThrow(expect.objectContaining({ code: 'PLUGIN_MANIFEST_INVALID' }));
    } finally {
      await cleanup();
    }
  });

  it('is checked against what the package exports: a type it names but does not export is a bug of that package', () => {
    const pkg = { name: 'acme', dir: '/x', manifest: { plugins: [{ kind: 'sink' as const, type: 'stdout' }, { kind: 'sink' as const, type: 'blackhole' }] } };
    expect(checkedAgainstManifest(pkg, [stdoutSink, blackholeSink])).toEqual([stdoutSink, blackholeSink]);
    expect(() => checkedAgainstManifest(pkg, [stdoutSink])).toThrow(expect.objectContaining({ code: 'PLUGIN_MANIFEST_MISMATCH', message: expect.stringContaining('package acme names sink:blackhole') }));
  });
});
