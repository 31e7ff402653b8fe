import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { sh } from './test-support/user-shell.js';
import { runCli, startCli } from './test-support/run-cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EVENTS = 2_000;

/**
 * The layout `plumline new plugin` produces: the plugin is its own npm package with its own
 * copy of @plumline/core (installed from the packed tarball), loaded by the CLI with `use:`.
 * Its errors are another copy's classes: the engine must still know them by what they carry.
 */
describe('a plugin built against its own copy of @plumline/core (the scaffold, installed with npm from the packed core)', () => {
  let work: Awaited<ReturnType<typeof tmpDir>>;
  let plugin: string;

  beforeAll(async () => {
    work = await tmpDir('plumline-own-core-');
    const packs = join(work.dir, 'packs');
    sh('npx', ['--yes', 'pnpm@10.34.9', '--filter', '@plumline/core', 'pack', '--pack-destination', packs], ROOT);
    const core = join(packs, 'plumline-core-0.1.0.tgz');
    sh(process.execPath, [join(ROOT, 'packages/cli/dist/bin.js'), 'new', 'plugin', 'acme-sink', '--kind', 'sink', '--core', core], work.dir);
    plugin = join(work.dir, 'acme-sink');
    // What the plugin's author would write: a path that is a directory will never become writable.
    const source = join(plugin, 'src/acme-sink.ts');
    const text = await readFile(source, 'utf8');
    const classified = text.replace('{ cause: err, retriable: true }', "{ cause: err, retriable: (err as NodeJS.ErrnoException).code !== 'EISDIR' }");
    expect(classified).not.toBe(text);
    await writeFile(source, classified);
    sh('npm', ['install', '--ignore-scripts', '--prefer-offline'], plugin);
    sh('npm', ['run', 'build'], plugin);
  }, 180_000);

  afterAll(async () => {
    await work?.cleanup();
  });

  /** Each run in its own directory, with its own state. */
  const pipeline = async (id: string, path: string): Promise<string> => {
    const dir = join(work.dir, id);
    await mkdir(dir);
    await writeFile(join(dir, 'p.yaml'), `id: ${id}
sources:
  gen: { type: generate, count: ${EVENTS} }
sinks:
  out:
    use: ../acme-sink/dist/index.js
    type: acme
    inputs: [gen]
    path: ${path}
`);
    return dir;
  };

  it('its retriable error (the directory appears once a write was retried) is retried: the run ends 0 with every event, its code in the warnings', { timeout: 90_000 }, async () => {
    const dir = await pipeline('late', 'late/out.ndjson');
    // The directory is made once the sink's write failed and was retried (was: 5 s after the
    // start, which a slow start on a loaded machine passed before the first write: no retry).
    const cli = startCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], dir);
    const r = await (async () => {
      try {
        await Promise.race([cli.waitFor(/sink write failed; retrying/), cli.exited.then((code) => Promise.reject(new Error(`exited ${code} before any retry: ${cli.stderr()}`)))]);
        await mkdir(join(dir, 'late'));
        return { code: await cli.exited, stderr: cli.stderr() };
      } finally {
        if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
      }
    })();
    expect(r.code, r.stderr).toBe(0);
    const ids = (await readFile(join(dir, 'late/out.ndjson'), 'utf8')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
    expect(new Set(ids).size).toBe(EVENTS);
    const retries = r.stderr.split('\n').filter((l) => l.includes('sink write failed; retrying'));
    expect(retries.length).toBeGreaterThan(0);
    for (const l of retries) expect(l).toContain('"code":"ACME_WRITE_FAILED"');
  });

  it('its permanent error keeps its code in the final line and fails the run at once', { timeout: 60_000 }, async () => {
    const dir = await pipeline('refused', 'a-directory');
    await mkdir(join(dir, 'a-directory'));
    const r = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], dir);
    expect(r.code).toBe(1);
    const last = r.stderr.trim().split('\n').pop()!;
    expect(last).toMatch(/^error \[ACME_WRITE_FAILED\]: cannot write a-directory/);
    // Permanent: no retry.
    expect(r.stderr).not.toContain('sink write failed; retrying');
  });
});
