import { execFile } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { main } from './main.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What `npm install` would give the package, taken from this repository (the registry has no @plumline/core yet). */
async function linkDependencies(dir: string): Promise<void> {
  await mkdir(join(dir, 'node_modules', '@plumline'), { recursive: true });
  await mkdir(join(dir, 'node_modules', '@types'), { recursive: true });
  await symlink(join(ROOT, 'packages/core'), join(dir, 'node_modules/@plumline/core'));
  for (const dep of ['vitest', 'typescript', '@types/node']) await symlink(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep));
}

describe('plumline new plugin', () => {
  it.each(['sink', 'source', 'operator'])('scaffolds a %s package that builds and passes its conformance tests as generated', { timeout: 120_000 }, async (kind) => {
    const { dir, cleanup } = await tmpDir('plumline-new-');
    try {
      const out = new PassThrough();
      const err = new PassThrough();
      let stderr = '';
      err.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await main(['new', 'plugin', `acme-${kind}`, '--kind', kind, '--dir', dir], { stdout: out, stderr: err });
      expect(code, stderr).toBe(0);
      const pkg = join(dir, `acme-${kind}`);
      // Names say the kind once: acmeSink, not acmeSinkSink; the YAML type is acme.
      const index = await readFile(join(pkg, 'src/index.ts'), 'utf8');
      expect(index).toContain(`export { acme${kind[0]!.toUpperCase()}${kind.slice(1)} }`);
      expect(index).not.toMatch(/(Sink|Source|Operator)(Sink|Source|Operator)/);
      expect(await readFile(join(pkg, `src/acme-${kind}.ts`), 'utf8')).toContain("type: 'acme'");
      await linkDependencies(pkg);
      await run(process.execPath, [join(pkg, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: pkg });
      const test = await run(process.execPath, [join(pkg, 'node_modules/vitest/vitest.mjs'), 'run'], { cwd: pkg, env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' } });
      expect(test.stdout).toMatch(/Tests\s+\d+ passed/);
      expect(test.stdout).not.toMatch(/failed/);
    } finally {
      await cleanup();
    }
  });

  it('--core: the tarball is a path relative to the plugin in its package.json, never this machine\'s absolute path', async () => {
    const { dir, cleanup } = await tmpDir('plumline-new-core-');
    try {
      await mkdir(join(dir, 'packs'));
      await writeFile(join(dir, 'packs', 'plumline-core-0.1.0.tgz'), '');
      const io = { stdout: new PassThrough(), stderr: new PassThrough() };
      expect(await main(['new', 'plugin', 'acme-sink', '--kind', 'sink', '--dir', join(dir, 'plugins'), '--core', join(dir, 'packs', 'plumline-core-0.1.0.tgz')], io)).toBe(0);
      const manifest = JSON.parse(await readFile(join(dir, 'plugins', 'acme-sink', 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
      expect(manifest.devDependencies['@plumline/core']).toBe('file:../../packs/plumline-core-0.1.0.tgz');
    } finally {
      await cleanup();
    }
  });

  it('refuses a name that is not kebab-case, an unknown kind, and an existing directory', async () => {
    const io = { stdout: new PassThrough(), stderr: new PassThrough() };
    expect(await main(['new', 'plugin', 'Acme_Sink', '--kind', 'sink'], io)).toBe(2);
    expect(await main(['new', 'plugin', 'acme', '--kind', 'widget'], io)).toBe(2);
    expect(await main(['new', 'plugin', 'cli', '--kind', 'sink', '--dir', join(ROOT, 'packages')], io)).toBe(2);
  });
});

describe('examples/embedding', () => {
  it('runs the engine inside a host application and observes every event in-process', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'examples/embedding/embed.mjs')], { cwd: ROOT });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { byKind: Record<string, number>; delivered: number };
    expect(result.delivered).toBe(5000);
    expect(Object.values(result.byKind).reduce((a, b) => a + b, 0)).toBe(5000);
  });
});
