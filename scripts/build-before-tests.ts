import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Runs the workspace's `build` script (an incremental `tsc -b`: ≈ 0.5 s when nothing changed)
 * before the tests, and again before every rerun in watch mode. In-process tests import the
 * TypeScript sources (vitest.config.ts's aliases), but the tests that spawn the CLI or a package
 * (run-cli.ts, pack-install, the soak, the docs' programs) run the built `dist/`: without this, a
 * bare `vitest` after an edit tested the code as it was before the edit.
 *
 * Type errors do not stop the tests: `tsc -b` still writes the JavaScript (exit status 2), so the
 * build is current, and `pnpm test` fails on them anyway (it type-checks first). Any other failure
 * (exit status 1: nothing written) stops the run, since `dist/` would then be stale.
 */
export function buildPackages(): void {
  const { scripts } = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: { build: string } };
  const env = { ...process.env, PATH: `${resolve(ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH ?? ''}` };
  const run = spawnSync(scripts.build, { cwd: ROOT, env, shell: true, stdio: 'inherit' });
  if (run.status === 0) return;
  if (run.status === 2) {
    console.warn('plumline: the build reported type errors (above); it wrote the JavaScript all the same, so the tests run on what you edited');
    return;
  }
  throw new Error(`plumline: the build before the tests failed (\`${scripts.build}\`, exit status ${run.status ?? run.signal}, output above): the tests that spawn the CLI would run a stale dist/. Fix it and run the tests again`);
}

export default function setup(project: TestProject): void {
  buildPackages();
  project.onTestsRerun(() => buildPackages());
}
