import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { storedCheckpoints } from './test-support/stored-checkpoints.js';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI with `args` in `cwd`: SIGTERM at each of `signalsAtMs`, counted from the
 * first stderr output matching `signalsAfter` when given (start-up takes seconds on a busy machine).
 */
function cli(args: string[], cwd: string, opts: { env?: Record<string, string>; signalsAtMs?: number[]; signalsAfter?: RegExp } = {}): Promise<Run> {
  return spawnRun(process.execPath, [BIN, ...args], cwd, opts);
}

/** Runs `command` and collects its exit code and output. */
function spawnRun(command: string, args: string[], cwd: string, opts: { env?: Record<string, string>; signalsAtMs?: number[]; signalsAfter?: RegExp } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let timers: NodeJS.Timeout[] | undefined;
    const arm = (): void => void (timers ??= (opts.signalsAtMs ?? []).map((ms) => setTimeout(() => child.kill('SIGTERM'), ms)));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (opts.signalsAfter?.test(stderr)) arm();
    });
    if (!opts.signalsAfter) arm();
    child.on('error', reject);
    child.on('exit', (code) => {
      timers?.forEach(clearTimeout);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('plumline CLI', () => {
  it('--version prints the package version; <command> --help prints that command alone, with an example that works', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const version = await cli(['--version'], root);
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(`plumline ${pkg.version} (Node.js ${process.versions.node})\n`);
    const help = await cli(['validate', '--help'], root);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('plumline validate <pipeline.yaml>');
    expect(help.stdout).not.toContain('plumline run');
    // The example it gives runs as written, from the repository root.
    const example = /Example:\n  plumline (.+)\n/.exec(help.stdout)![1]!.split(' ');
    expect(await cli(example, root)).toMatchObject({ code: 0 });
  });

  it('the `plumline` command an install links (node_modules/.bin, as `pnpm exec plumline` runs it) works', async () => {
    const shim = fileURLToPath(new URL('../../../node_modules/.bin/plumline', import.meta.url));
    const r = await spawnRun(shim, ['--help'], process.cwd());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage');
  });

  it('validate: exit 0 for a valid file, 2 with file:line:column and the quoted line for a broken one', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'good.yaml'), 'sources:\n  g: { type: generate, count: 1 }\nsinks:\n  o: { type: file, inputs: [g], path: out.ndjson }\n');
      const ok = await cli(['validate', 'good.yaml'], dir);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('valid');
      await writeFile(join(dir, 'bad.yaml'), 'sources:\n  g: { type: generate, count: 1 }\nsinks:\n  o:\n    type: file\n    inputs: [g]\n    pathh: out.ndjson\n');
      const bad = await cli(['validate', 'bad.yaml'], dir);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('bad.yaml:7:5: sinks.o.pathh: unknown key "pathh"');
      expect(bad.stderr).toContain('did you mean "path"');
      expect(bad.stderr).toContain('7 |     pathh: out.ndjson');
      const syntax = await cli(['validate', 'syntax.yaml'], dir);
      expect(syntax.code).toBe(2);
      await writeFile(join(dir, 'syntax.yaml'), 'sources:\n  g: { type: generate\nsinks: []\n');
      const s2 = await cli(['validate', 'syntax.yaml'], dir);
      expect(s2.code).toBe(2);
      expect(s2.stderr).toMatch(/syntax\.yaml:\d+:\d+: /);
    } finally {
      await cleanup();
    }
  });

  it('validate: exit 2 for what exactly-once cannot make atomic and for templates that cannot render, each located, in one run', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(
        join(dir, 'eos.yaml'),
        'sources:\n  g: { type: generate, count: 1 }\nsinks:\n  k: { type: kafka, inputs: [g], brokers: ["127.0.0.1:9092"], topic: "kq.{{kind", key: "{{ }}", exactly_once: true }\n',
      );
      const r = await cli(['validate', 'eos.yaml'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/eos\.yaml:4:\d+: sinks\.k\.topic: .*unclosed placeholder/);
      expect(r.stderr).toMatch(/eos\.yaml:4:\d+: sinks\.k\.key: .*empty placeholder/);
      await writeFile(join(dir, 'eos2.yaml'), 'sources:\n  g: { type: generate, count: 1 }\nsinks:\n  k: { type: kafka, inputs: [g], brokers: ["127.0.0.1:9092"], topic: t, exactly_once: true }\n');
      const r2 = await cli(['validate', 'eos2.yaml'], dir);
      expect(r2.code).toBe(2);
      expect(r2.stderr).toMatch(/eos2\.yaml:4:\d+: sinks\.k\.exactly_once: exactly_once needs `state: \{ type: kafka \}`/);
    } finally {
      await cleanup();
    }
  });

  it('schema prints a JSON Schema that knows every plugin', async () => {
    const r = await cli(['schema'], process.cwd());
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, { additionalProperties: { allOf: { if: { properties: { type: { const: string } } } }[] } }> };
    const types = (section: string) => schema.properties[section]!.additionalProperties.allOf.map((s) => s.if.properties.type.const);
    expect(types('sinks')).toEqual(expect.arrayContaining(['file', 'stdout', 'blackhole', 'kafka']));
    expect(types('sources')).toEqual(expect.arrayContaining(['plum', 'iplum', 'iplum_callbacks', 'generate', 'stdin']));
  });

  it('run: SIGTERM stops gracefully (exit 0, checkpoint equals what reached the file); a restart continues exactly', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(
        join(dir, 'p.yaml'),
        'sources:\n  g: { type: generate, rate: 2000 }\nsinks:\n  o: { type: file, inputs: [g], path: out.ndjson }\n',
      );
      const r = await cli(['run', 'p.yaml', '--log-level', 'info'], dir, { signalsAtMs: [1500], signalsAfter: /pipeline started/ });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('stopping gracefully');
      const lines = (await readFile(join(dir, 'out.ndjson'), 'utf8')).trim().split('\n');
      expect(lines.length).toBeGreaterThan(100);
      const cp = await storedCheckpoints<{ g: { position: { next: number } } }>(dir, 'p');
      expect(cp.g.position.next).toBe(lines.length);
      // The next run picks up at the next event.
      const again = await cli(['run', 'p.yaml', '--log-level', 'info'], dir, { signalsAtMs: [800], signalsAfter: /pipeline started/ });
      expect(again.code).toBe(0);
      const all = (await readFile(join(dir, 'out.ndjson'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { attributes: { index: number } }).attributes.index);
      expect(all).toEqual(all.map((_, i) => i));
    } finally {
      await cleanup();
    }
  });

  it('run: a second signal stops at once with exit 130', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      // A sink that cannot keep up: stdout into a pipe nobody reads fills up and stalls the drain.
      await writeFile(join(dir, 'p.yaml'), 'runtime: { shutdown_timeout: 1m }\nsources:\n  g: { type: generate, batch_size: 5000 }\nsinks:\n  o: { type: stdout, inputs: [g] }\n');
      const child = spawn(process.execPath, [BIN, 'run', 'p.yaml', '--log-level', 'info'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.pause();
      // Counted from "pipeline started", not from spawn: on a busy machine loading takes seconds,
      // and a signal before the CLI's handlers exist gets Node's default action (exit null).
      let stderr = '';
      await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => /pipeline started/.test((stderr += d.toString())) && resolve()));
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGTERM');
      // The second signal once the first was taken (the graceful stop began), not after a time.
      await new Promise<void>((resolve) => {
        const check = (): void => void (/stopping gracefully/.test(stderr) && (child.stderr.off('data', check), resolve()));
        child.stderr.on('data', check);
        check();
      });
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(130);
    } finally {
      await cleanup();
    }
  });

  it('run --once exits non-zero with a clear message for a source that cannot end', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'p.yaml'), 'sources:\n  g: { type: generate }\nsinks:\n  o: { type: blackhole, inputs: [g] }\n');
      const r = await cli(['run', 'p.yaml', '--once'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('cannot run with --once');
    } finally {
      await cleanup();
    }
  });

  it('stdin: reads a pipe left non-blocking by the parent line by line as it arrives', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'p.yaml'), 'sources:\n  in: { type: stdin }\nsinks:\n  o: { type: stdout, inputs: [in] }\n');
      // Node's spawn hands children blocking descriptors: a small Python wrapper sets O_NONBLOCK
      // on fd 0 and execs the CLI, as shells, supervisors and other runtimes may leave it.
      const wrapper = 'import os, fcntl, sys; fcntl.fcntl(0, fcntl.F_SETFL, fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK); os.execv(sys.argv[1], sys.argv[1:])';
      const child = spawn('python3', ['-c', wrapper, process.execPath, BIN, 'run', 'p.yaml', '--once', '--log-level', 'warn'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await new Promise((r) => setTimeout(r, 500));
      child.stdin.write('{"id":"a1"}\n');
      await expect.poll(() => stdout + stderr, { timeout: 10_000 }).toContain('"id":"a1"');
      child.stdin.end('{"id":"a2"}\n');
      const code = await exited;
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['a1', 'a2']);
    } finally {
      await cleanup();
    }
  });
});
