import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { CLI_BIN } from './test-support/run-cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The CLI's environment without any variable a pipeline here reads, plus `env`. */
function environment(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(PLUM|IPLUM|PLUMLINE_MASK|KAFKA)/.test(k)) out[k] = v;
  return { ...out, ...env };
}

function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd, env: environment(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const MASKED = `sources:
  g: { type: generate, count: 10 }
transforms:
  masked: { type: mask, inputs: [g], numbers: hash }
sinks:
  o: { type: file, inputs: [masked], path: out.ndjson }
`;

describe('validate finds what run would refuse before it reads anything; --no-env checks a file without its secrets', () => {
  it('a mask that hashes without a key (unset, or one byte) fails validate as it fails run: exit 2, located, the same message, no key shown', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'p.yaml'), MASKED);
      for (const env of [{}, { PLUMLINE_MASK_KEY: 'k' }] as Record<string, string>[]) {
        const validate = await cli(['validate', 'p.yaml'], dir, env);
        expect(validate.code, validate.stdout).toBe(2);
        expect(validate.stderr).toContain('error: p.yaml:4:3: transforms.masked.key_env: mask needs an HMAC key of at least 16 bytes in the environment variable PLUMLINE_MASK_KEY (it hashes from, to');
        const run = await cli(['run', 'p.yaml', '--once'], dir, env);
        expect(run.code).toBe(2);
        expect(run.stderr).toContain('p.yaml:4:3: transforms.masked.key_env: mask needs an HMAC key of at least 16 bytes');
      }
      const good = await cli(['validate', 'p.yaml'], dir, { PLUMLINE_MASK_KEY: 'a-key-of-24-bytes-or-so!' });
      expect(good.stderr).toBe('');
      expect(good.code).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it('validate --no-env passes examples/demo.yaml with none of its variables set (CI without production secrets), and says what it did not check; plain validate needs them', async () => {
    const plain = await cli(['validate', 'examples/demo.yaml'], ROOT);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('environment variable PLUM_USER is not set');
    const noEnv = await cli(['validate', '--no-env', 'examples/demo.yaml'], ROOT);
    expect(noEnv.stderr).toBe('');
    expect(noEnv.code).toBe(0);
    expect(noEnv.stdout).toBe(
      'examples/demo.yaml: valid without the environment (2 sources, 4 transforms, 1 sinks); not checked: what is made with ${PLUM_USER}, ${PLUM_PASSWORD}, ${IPLUM_ACCESS_KEY}, ${IPLUM_SECRET_KEY}, ${IPLUM_USERNAME} (unset), environment variables components read (e.g. mask\'s key), files of the machine (TLS keys)\n',
    );
    // It reads no variable, set or not: the same answer with production's set.
    const set = await cli(['validate', '--no-env', 'examples/demo.yaml'], ROOT, { PLUM_USER: 'u', PLUM_PASSWORD: 'p' });
    expect(set.stdout).toBe(noEnv.stdout);
  });

  it('validate --no-env still finds every mistake that does not depend on an unset variable', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(
        join(dir, 'p.yaml'),
        'sources:\n  plum: { type: plum, base_url: "${PLUM_URL}", username: "${PLUM_USER}", password: "${PLUM_PASSWORD}", streams: [sesions] }\nsinks:\n  o: { type: file, inputs: [plum], path: "out/{{sorce}}.ndjson" }\n',
      );
      const r = await cli(['validate', '--no-env', 'p.yaml'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/p\.yaml:2:\d+: sources\.plum\.streams\[0\]: /);
      expect(r.stderr).toMatch(/p\.yaml:4:\d+: sinks\.o\.path: "sorce" is not a field of an event/);
      // base_url is not a URL without PLUM_URL: not reported.
      expect(r.stderr).not.toContain('sources.plum.base_url');
    } finally {
      await cleanup();
    }
  });

  it('an enrich lookup file that is missing or does not parse, and a fixed file-sink path that is a directory, are located validate errors', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await mkdir(join(dir, 'out.ndjson'));
      await writeFile(join(dir, 'bad.json'), '{ not json');
      await writeFile(
        join(dir, 'p.yaml'),
        'sources:\n  g: { type: generate, count: 10 }\ntransforms:\n  e:\n    type: enrich\n    inputs: [g]\n    lookups:\n      - { file: missing.csv, key: number, match: to, as: attributes.line }\n      - { file: bad.json, key: number, match: to, as: attributes.other }\nsinks:\n  o: { type: file, inputs: [e], path: out.ndjson }\n',
      );
      const r = await cli(['validate', 'p.yaml'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/p\.yaml:8:\d+: transforms\.e\.lookups\[0\]\.file: lookup file .*missing\.csv cannot be read: ENOENT/);
      expect(r.stderr).toMatch(/p\.yaml:9:\d+: transforms\.e\.lookups\[1\]\.file: lookup file .*bad\.json: not JSON/);
      expect(r.stderr).toMatch(/p\.yaml:11:\d+: sinks\.o\.path: path .*out\.ndjson is a directory/);
    } finally {
      await cleanup();
    }
  });

  it('a Kafka ssl.ca file that does not exist is a located validate error, and run stops with it (exit 2) instead of a raw ENOENT and a stack', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await mkdir(join(dir, 'tls'));
      await writeFile(
        join(dir, 'p.yaml'),
        'sources:\n  g: { type: generate, count: 10 }\nsinks:\n  k:\n    type: kafka\n    inputs: [g]\n    brokers: ["127.0.0.1:9"]\n    topic: t\n    ssl: { ca: tls/ca.pem, cert: tls }\n',
      );
      for (const args of [['validate', 'p.yaml'], ['run', 'p.yaml', '--once']]) {
        const r = await cli(args, dir);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain('error: p.yaml:9:12: sinks.k.ssl.ca: ssl.ca: cannot read tls/ca.pem (ENOENT: no such file): give the path of a readable PEM file (a relative one is from the working directory)');
        expect(r.stderr).toContain('sinks.k.ssl.cert: ssl.cert: tls is a directory, not a file');
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
      // Checked away from the machine (--no-env), the files are not looked for.
      expect((await cli(['validate', '--no-env', 'p.yaml'], dir)).code).toBe(0);
    } finally {
      await cleanup();
    }
  });
});
