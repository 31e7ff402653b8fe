import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { main } from './main.js';
import { CLI_BIN, startCli } from './test-support/run-cli.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the CLI in-process and collects what it wrote. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await main(args, { stdout: out, stderr: err });
  return { code, stdout, stderr };
}

/** Spawns the built CLI and resolves with its exit code and output once it exits. */
function spawned(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

/** A port nothing listens on (taken, then let go). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

let work: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  work = await tmpDir('plumline-edges-');
});
afterAll(() => work.cleanup());

describe('plumline top and tap --url against a running pipeline', () => {
  it('top takes host:port as run --http does, lists components in graph order with whole names; tap --url says at once what it watches and what holds events upstream', { timeout: 60_000 }, async () => {
    await writeFile(
      join(work.dir, 'top.yaml'),
      `id: edges-top
state: { type: directory, path: state-top }
sources:
  zz_calls: { type: generate, seed: 2, rate: 200 }
transforms:
  a_tagged: { type: map, inputs: [zz_calls], set: { attributes.t: 1 } }
  sessions_with_their_errors:
    type: correlate
    inputs: [a_tagged]
    window: 10m
    rules:
      - { name: s, anchor: { kind: session }, partner: { kind: error }, anchor_key: attributes.channel, partner_key: attributes.channel, as: errors, emit: window }
sinks:
  dead_letter_archive: { type: blackhole, inputs: [sessions_with_their_errors] }
`,
    );
    const run = startCli(['run', 'top.yaml', '--http', '127.0.0.1:0'], work.dir);
    try {
      await run.waitFor(/serving the web view on http:\/\/([^ /]+)\/ui\//);
      const address = /serving the web view on http:\/\/([^ /]+)\/ui\//.exec(run.stderr())![1]!;
      // Until correlate holds something, so that the tap has something to say.
      await expect.poll(async () => ((await (await fetch(`http://${address}/status`)).json()) as { components: { stats?: { holding?: { events?: number } } }[] }).components[2]?.stats?.holding?.events ?? 0, { timeout: 20_000 }).toBeGreaterThan(0);

      const top = await cli(['top', address, '--frames', '1']);
      expect(top.code, top.stderr).toBe(0);
      const rows = top.stdout.split('\n').slice(3).filter(Boolean).map((l) => l.split(/\s+/)[0]);
      // The dead-letter file the runtime adds when no sink takes the stream comes after the graph.
      expect(rows).toEqual(['zz_calls', 'a_tagged', 'sessions_with_their_errors', 'dead_letter_archive', 'dead_letter']);

      const tap = await cli(['tap', '--url', address, 'sessions_with_their_errors', '--limit', '1', '--format', 'ndjson']);
      expect(tap.code, tap.stderr).toBe(0);
      expect(tap.stderr).toMatch(/^plumline tap: watching "sessions_with_their_errors" of http:\/\/127\.0\.0\.1:\d+: each event is printed as it leaves it, up to 1 \(Ctrl-C stops\)\. Now "sessions_with_their_errors" \(correlate\) holds \d+ events: they leave when matched or when their window closes\.\n$/);
      expect(tap.stdout.trim().split('\n')).toHaveLength(1);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('a closed port: top and tap say nothing listens there and what to start, not "fetch failed"', async () => {
    const port = await closedPort();
    const top = await cli(['top', `127.0.0.1:${port}`, '--frames', '1']);
    expect(top.code).toBe(1);
    expect(top.stderr).toBe(`error: cannot reach http://127.0.0.1:${port}: nothing listens on 127.0.0.1:${port} (connection refused). Is \`plumline run <pipeline.yaml> --http 127.0.0.1:${port}\` running there?\n`);
    const tap = await cli(['tap', '--url', `http://127.0.0.1:${port}/`, 'x']);
    expect(tap.code).toBe(1);
    expect(tap.stderr).toContain(`nothing listens on 127.0.0.1:${port} (connection refused)`);
    expect((await cli(['top', 'ftp://x:1'])).stderr).toMatch(/^error: plumline top takes the address of a pipeline run with --http: host:port/);
  });
});

describe('plumline emulate', () => {
  it('a busy port is one line of error, exit 1, no stack', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    try {
      for (const which of ['iplum', 'plum', 'schema-registry']) {
        const r = await spawned(['emulate', which, '--port', String(port)], work.dir);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toBe(`error: the ${which} emulator cannot listen on 127.0.0.1:${port}: the port is in use (EADDRINUSE): stop what listens there, or choose another with --port\n`);
      }
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  it('emulate iplum --help is iPlum\'s alone, with the default credentials, which its start line also gives', async () => {
    const help = await cli(['emulate', 'iplum', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('plumline emulate iplum');
    expect(help.stdout).not.toContain('emulate plum ');
    expect(help.stdout).not.toContain('schema-registry');
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('default DEMOACCESSKEY, demo-secret-key and admin@acme-voice.com');
    expect((await cli(['emulate', '--help'])).stdout).toContain('plumline emulate schema-registry');

    const port = await closedPort();
    const child = spawn(process.execPath, [CLI_BIN, 'emulate', 'iplum', '--port', String(port)], { cwd: work.dir, env: { ...process.env, IPLUM_ACCESS_KEY: '', IPLUM_SECRET_KEY: '', IPLUM_USERNAME: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
      expect(line).toBe(`iPlum emulator listening on http://127.0.0.1:${port}/ (access key DEMOACCESSKEY, username admin@acme-voice.com, secret key demo-secret-key (default; IPLUM_SECRET_KEY sets it))\n`);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('options and config errors', () => {
  it('-v prints the version; an unknown option is one line, without help pages or quoting advice', async () => {
    const v = await cli(['-v']);
    expect([v.code, v.stdout]).toEqual([0, `plumline 0.1.0 (Node.js ${process.versions.node})\n`]);
    const bad = await cli(['validate', '-x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("error: unknown option -x: `plumline <command> --help` lists a command's options\n");
  });

  it('tap <file> <route> names the route\'s outputs (not an internal sink at 0:0)', async () => {
    const r = await cli(['tap', join(root, 'examples/generate-demo.yaml'), 'by_kind']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error [PLUGIN_TAP_UNKNOWN_COMPONENT]: "by_kind" has named outputs: tap one of by_kind.errors, by_kind._unmatched\n');
  });

  it('a missing inputs: says what to write, not zod\'s words; a wrong input suggests the close name and never the component itself', async () => {
    await writeFile(join(work.dir, 'inputs.yaml'), 'sources:\n  gen: { type: generate, count: 10 }\ntransforms:\n  u: { type: dedupe }\n  unique: { type: dedupe, inputs: [gne] }\nsinks:\n  out: { type: blackhole, inputs: [uniqe] }\n');
    const r = await cli(['validate', join(work.dir, 'inputs.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('inputs.yaml:4:3: transforms.u.inputs: missing required key "inputs": add it (the components it reads from, e.g. inputs: [<source or transform>])');
    expect(r.stderr).not.toMatch(/received undefined|expected array/);
    expect(r.stderr).toContain('inputs.yaml:5:36: transforms.unique.inputs[0]: input "gne" names no component: did you mean "gen"? (all: gen)');
    expect(r.stderr).toContain('inputs.yaml:7:36: sinks.out.inputs[0]: input "uniqe" names no component: did you mean "unique"? (all: gen, unique)');
  });

  it('a duration written with a word for its unit: the caret on the value, and the spelling it takes', async () => {
    await writeFile(join(work.dir, 'dur.yaml'), 'sources:\n  p:\n    type: plum\n    base_url: "http://127.0.0.1:1/"\n    username: u\n    password: pw\n    poll_interval: 30sec\n    backfill: 1 day\nsinks:\n  out: { type: blackhole, inputs: [p] }\n');
    const r = await cli(['validate', join(work.dir, 'dur.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('dur.yaml:7:20: sources.p.poll_interval: "30sec" is not a duration: write a number and a unit (ms, s, m, h, d, w), here 30s\n  7 |     poll_interval: 30sec\n    |                    ^');
    expect(r.stderr).toContain('dur.yaml:8:15: sources.p.backfill: "1 day" is not a duration: write a number and a unit (ms, s, m, h, d, w), here 1d');
  });

  it('--once with a Kafka source that has no end names the key that gives it one (stop_at_end)', { timeout: 30_000 }, async () => {
    await writeFile(join(work.dir, 'k.yaml'), 'sources:\n  raw: { type: kafka, brokers: ["127.0.0.1:1"], topics: [t], group_id: g }\nsinks:\n  out: { type: blackhole, inputs: [raw] }\n');
    const r = await spawned(['run', 'k.yaml', '--once', '--log-level', 'silent'], work.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('source "raw" (kafka) never ends, so it cannot run with --once: give it an end (stop_at_end: true, to end at the end offsets found at start), or run without --once');
  });

  it('warns of an output nobody takes by its name, and not of a route whose named outputs are all taken', { timeout: 30_000 }, async () => {
    await writeFile(join(work.dir, 'w.yaml'), 'sources:\n  gen: { type: generate, count: 100 }\n  spare: { type: generate, count: 10 }\ntransforms:\n  r: { type: route, inputs: [gen], routes: { e: { kind: error }, c: { kind: call } } }\nsinks:\n  e: { type: blackhole, inputs: [r.e] }\n  c: { type: blackhole, inputs: [r.c] }\n');
    const r = await spawned(['run', 'w.yaml', '--once', '--log-level', 'warn'], work.dir);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('no consumer')).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(warnings).toEqual(['output "spare" has no consumer; its events are discarded']);
  });
});
