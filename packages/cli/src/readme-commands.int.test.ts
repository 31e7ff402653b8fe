import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI_BIN } from './test-support/run-cli.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const scripts = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;

/** The pnpm commands the README gives (`npx [--yes] pnpm@… <what>`). */
const pnpmCommands = [...new Set([...readme.matchAll(/npx (?:--yes )?pnpm@[\d.]+ ([a-z][\w:-]*(?: [\w:-]+)?)/g)].map((m) => m[1]!))];
/** The `plumline <command>` lines of the README's CLI section. */
const cliLines = (/## CLI\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '').split('\n').filter((l) => l.startsWith('plumline '));

// The demo and the test command run in CI as such (.ci/run, on Node 20 and 24); here, that
// every other command the README gives exists and starts.
describe('the commands the README gives', () => {
  it('every `npx pnpm` command names a script of package.json or a pnpm command', () => {
    expect(pnpmCommands.length).toBeGreaterThanOrEqual(6);
    for (const c of pnpmCommands) {
      const [what, arg] = c.split(' ');
      if (what === 'install' || what === 'exec') continue;
      expect(scripts, c).toHaveProperty(what === 'run' ? arg! : what!);
    }
  });

  it('`npx pnpm exec plumline --help` runs the CLI', () => {
    // As from a user's shell: not the npm_* variables of the runner that started these tests
    // (under `npx -p node@24`, npm_config_package would make this npx run that package).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const r = spawnSync('npx', ['--yes', 'pnpm@10.34.9', 'exec', 'plumline', '--help'], { cwd: root, encoding: 'utf8', env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('plumline run');
  });

  it('every command of the CLI section exists: its --help exits 0', () => {
    expect(cliLines.length).toBeGreaterThanOrEqual(10);
    for (const line of cliLines) {
      const command = line.split(/\s+/)[1]!;
      if (command.startsWith('<') || command.startsWith('--')) continue;
      const r = spawnSync(process.execPath, [CLI_BIN, command, '--help'], { encoding: 'utf8' });
      expect(r.status, `${line}: ${r.stderr}`).toBe(0);
      expect(r.stdout, line).toContain(`plumline ${command}`);
    }
  });
});
