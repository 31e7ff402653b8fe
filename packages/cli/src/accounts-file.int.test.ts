import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallEvent, ConfigErrors } from '@plumline/core';
import { resolvePipelineFile } from '@plumline/core/host';
import { tmpDir } from '@plumline/core/testing';
import { PlumEmulator } from '@plumline/source-plum/emulator';
import { builtinRegistry } from './registry.js';
import { CLI_BIN } from './test-support/run-cli.js';

const emulators: PlumEmulator[] = [];
const urls: string[] = [];

beforeAll(async () => {
  for (const [seed, username, password] of [[31, 'alice', 'secret-alice-pw'], [32, 'bob', 'secret-bob-pw']] as const) {
    const e = new PlumEmulator({ seed, sessionsPerSecond: 0.02, username, password });
    emulators.push(e);
    urls.push(await e.start());
  }
});
afterAll(async () => {
  for (const e of emulators) await e.stop();
});

/** Runs the CLI in `cwd` with `env` added; resolves its exit code and output. */
function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const nowSec = () => Math.floor(Date.now() / 1000);

describe('accounts_file: the tenants of a source in a file of their own, credentials from the environment', () => {
  it('reads every account the file lists, tags its events, and keeps its passwords out of every log line', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tmpDir('plumline-accounts-file-');
    try {
      await writeFile(join(dir, 'tenants.yaml'), `- { name: acme, base_url: "${urls[0]}", username: alice, password: "\${ACME_PLUM_PASSWORD}" }\n- { name: globex, base_url: "${urls[1]}", username: bob, password: "\${GLOBEX_PLUM_PASSWORD}" }\n`);
      await writeFile(
        join(dir, 'p.yaml'),
        `sources:
  plum: { type: plum, accounts_file: tenants.yaml, streams: [sessions], start: ${nowSec() - 86_400}, end: ${nowSec() - 60} }
sinks:
  out: { type: file, inputs: [plum], path: out.ndjson }
`,
      );
      const env = { ACME_PLUM_PASSWORD: 'secret-alice-pw', GLOBEX_PLUM_PASSWORD: 'secret-bob-pw' };
      const valid = await cli(['validate', 'p.yaml'], dir, env);
      expect(valid.code, valid.stderr).toBe(0);
      const run = await cli(['run', 'p.yaml', '--once', '--log-level', 'debug'], dir, env);
      expect(run.code, run.stderr).toBe(0);
      const events = (await readFile(join(dir, 'out.ndjson'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as CallEvent);
      const byAccount = (a: string) => events.filter((e) => e.attributes.account === a).length;
      expect(byAccount('acme')).toBeGreaterThan(100);
      expect(byAccount('globex')).toBeGreaterThan(100);
      expect(byAccount('acme') + byAccount('globex')).toBe(events.length);
      expect(run.stderr).not.toContain('secret-alice-pw');
      expect(run.stderr).not.toContain('secret-bob-pw');
      // The passwords read from the file are among the values every log line is redacted of.
      const def = await resolvePipelineFile(join(dir, 'p.yaml'), { registry: builtinRegistry(), env });
      expect(def.secrets).toEqual(expect.arrayContaining(['secret-alice-pw', 'secret-bob-pw']));
    } finally {
      await cleanup();
    }
  });

  it('validate locates mistakes in the accounts file (its name, line, key), a variable not set, and both keys set', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tmpDir('plumline-accounts-file-');
    /** The codes and places of what resolving p.yaml (what `validate` does) refuses. */
    const refused = async (env: Record<string, string>) => {
      try {
        await resolvePipelineFile(join(dir, 'p.yaml'), { registry: builtinRegistry(), env });
        return [];
      } catch (err) {
        return (err as ConfigErrors).errors.map((e) => [e.code, basename(e.location?.file ?? ''), e.location?.line]);
      }
    };
    try {
      await writeFile(join(dir, 'tenants.yaml'), `- name: acme\n  username: alice\n  password: x\n  base_ur: http://127.0.0.1:1\n- name: globex\n  username: bob\n  password: \${GLOBEX_PLUM_PASSWORD}\n`);
      await writeFile(join(dir, 'p.yaml'), `sources:\n  plum: { type: plum, accounts_file: tenants.yaml }\nsinks:\n  out: { type: blackhole, inputs: [plum] }\n`);
      expect(await refused({ GLOBEX_PLUM_PASSWORD: 'x' })).toEqual([['CONFIG_UNKNOWN_KEY', 'tenants.yaml', 4]]);
      expect(await refused({})).toEqual([['CONFIG_ENV_MISSING', 'tenants.yaml', 7]]);
      const cliRun = await cli(['validate', 'p.yaml'], dir, { GLOBEX_PLUM_PASSWORD: 'x' });
      expect(cliRun.code).toBe(2);
      await writeFile(join(dir, 'p.yaml'), `sources:\n  plum: { type: plum, accounts_file: tenants.yaml, accounts: [{ name: a, username: u, password: p }] }\nsinks:\n  out: { type: blackhole, inputs: [plum] }\n`);
      expect(await refused({ GLOBEX_PLUM_PASSWORD: 'x' })).toEqual([['CONFIG_INCLUDE_CONFLICT', 'p.yaml', 2]]);
      await writeFile(join(dir, 'p.yaml'), `sources:\n  plum: { type: plum, accounts_file: missing.yaml }\nsinks:\n  out: { type: blackhole, inputs: [plum] }\n`);
      expect(await refused({})).toEqual([['CONFIG_FILE_UNREADABLE', 'p.yaml', 2]]);
    } finally {
      await cleanup();
    }
  });
});
