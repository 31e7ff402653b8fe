import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '@plumline/core';
import { tmpDir } from '@plumline/core/testing';
import { CLI_BIN } from './test-support/run-cli.js';
import { TenantsServer } from './test-support/tenants-server.js';

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `acct-${String(i).padStart(3, '0')}`);
const nowSec = (): number => Math.floor(Date.now() / 1000);

/** A port free a moment ago, for --http. */
const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

/** Runs `plumline run p.yaml …` in `dir`; `until` (checked every 200 ms) sends SIGTERM when it holds. */
function run(dir: string, args: string[], until?: () => boolean, giveUpMs = 60_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, 'run', 'p.yaml', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    const check = until
      ? setInterval(() => {
          if (until() || Date.now() - started > giveUpMs) {
            clearInterval(check);
            child.kill('SIGTERM');
          }
        }, 200)
      : undefined;
    child.on('error', reject);
    child.on('exit', (code) => {
      if (check) clearInterval(check);
      resolve({ code, stderr });
    });
  });
}

/** `plumline run p.yaml …args` in `dir` until killed: its stderr so far, a wait for what it logs or the server sees (30 s at most), its exit. */
function daemon(dir: string, args: string[] = []) {
  const child = spawn(process.execPath, [CLI_BIN, 'run', 'p.yaml', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    const started = Date.now();
    while (!ok()) {
      if (Date.now() - started > 30_000) throw new Error(`waited 30 s for ${what}; stderr:\n${stderr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, stderr: () => stderr, until, exited };
}

const events = async (file: string): Promise<CallEvent[]> =>
  (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CallEvent);

describe('many accounts (tenants): one failing account is set aside alone', () => {
  it('100 accounts, one with a wrong password: --once reads the 99 to their end, exits 4 naming the one', { timeout: 120_000 }, async () => {
    const accounts = names(100);
    const bad = 'acct-042';
    const server = new TenantsServer({ accounts, behaviour: (a) => (a === bad ? 'reject' : 'ok') });
    const url = await server.start();
    const { dir, cleanup } = await tmpDir('plumline-tenants-');
    try {
      const start = nowSec() - 86_400;
      const end = nowSec() - 60;
      await writeFile(join(dir, 'tenants.yaml'), TenantsServer.accountsYaml(accounts, url));
      await writeFile(join(dir, 'p.yaml'), `sources:\n  plum: { type: plum, accounts_file: tenants.yaml, streams: [sessions], start: ${start}, end: ${end}, max_concurrent_accounts: 8 }\nsinks:\n  out: { type: file, inputs: [plum], path: out.ndjson }\n`);
      const r = await run(dir, ['--once']);
      expect(r.code, r.stderr.slice(-3000)).toBe(4);
      const verdict = r.stderr.split('\n').filter((l) => l.startsWith('error:') || l.startsWith('The other accounts'));
      expect(verdict.join('\n')).toContain(`${bad} (PLUM_AUTH_FAILED`);
      expect(verdict.join('\n')).toContain('1 account failed');
      // The failure is logged with the account, and no password reaches a log line.
      expect(r.stderr).toMatch(new RegExp(`"account":"${bad}".*refused an account's credentials|"account":"${bad}".*reading an account failed`));
      expect(r.stderr).not.toContain('pw-acct-');
      const out = await events(join(dir, 'out.ndjson'));
      for (const a of accounts) {
        const got = out.filter((e) => e.attributes.account === a).length;
        expect(got, a).toBe(a === bad ? 0 : server.sessionsIn(a, start, end).length);
      }
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('20 accounts, 4 answering 503: every healthy account is polled again and again while the 4 retry (a retrying account holds no turn)', { timeout: 120_000 }, async () => {
    const accounts = names(20);
    const failing = new Set(accounts.slice(0, 4));
    const server = new TenantsServer({ accounts, behaviour: (a) => (failing.has(a) ? 503 : 'ok') });
    const url = await server.start();
    const { dir, cleanup } = await tmpDir('plumline-tenants-');
    try {
      await writeFile(join(dir, 'tenants.yaml'), TenantsServer.accountsYaml(accounts, url));
      // Four turns (the default), four accounts failing first in line: today they keep every turn while they back off.
      await writeFile(join(dir, 'p.yaml'), `sources:\n  plum: { type: plum, accounts_file: tenants.yaml, streams: [sessions], backfill: 1h, poll_interval: 1s, max_retries: 1 }\nsinks:\n  out: { type: file, inputs: [plum], path: out.ndjson }\n`);
      const healthy = accounts.filter((a) => !failing.has(a));
      const polls = (a: string): number => server.requests.get(a)!.polls.length;
      const port = await freePort();
      const enough = () => healthy.every((a) => polls(a) >= 4) && [...failing].every((a) => server.requests.get(a)!.refused >= 4);
      let seen: { metrics: string; ready: number; readyz: { components?: Record<string, { ok: boolean; failingTenants?: string[] }> } } | undefined;
      let stopWatching = false;
      const watching = (async () => {
        while (!enough() && !stopWatching) await new Promise((r) => setTimeout(r, 200));
        if (stopWatching) return;
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
        seen = { metrics, ready: readyz.status, readyz: (await readyz.json()) as never };
      })();
      const r = await run(dir, ['--http', `127.0.0.1:${port}`], () => seen !== undefined, 45_000);
      stopWatching = true;
      await watching;
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      // Visible per account: ready (16 accounts are read), the 4 named; metrics labelled by account; request durations in HTTP-sized buckets.
      expect(seen?.ready).toBe(200);
      expect([...(seen!.readyz.components?.plum?.failingTenants ?? [])].sort()).toEqual([...failing].map((a) => `${a} (PLUM_HTTP_STATUS)`));
      for (const a of failing) expect(seen!.metrics).toMatch(new RegExp(`plumline_tenant_retries_total\\{[^}]*account="${a}"[^}]*\\} [1-9]`));
      expect(seen!.metrics).toMatch(/plumline_tenant_events_total\{[^}]*account="acct-010"[^}]*\} [1-9]/);
      expect(seen!.metrics).toMatch(/plumline_tenant_last_poll_timestamp_seconds\{[^}]*account="acct-010"/);
      expect(seen!.metrics).toMatch(/plumline_tenant_lag_seconds\{[^}]*account="acct-010"/);
      expect(seen!.metrics).toMatch(/plumline_source_request_duration_seconds_bucket\{[^}]*le="0.005"/);
      for (const a of failing) expect(server.requests.get(a)!.refused, a).toBeGreaterThanOrEqual(4);
      // Counted, not timed: each healthy account polled at least 4 times while the failing ones kept failing.
      for (const a of healthy) expect(polls(a), a).toBeGreaterThanOrEqual(4);
    } finally {
      await server.stop();
      await cleanup();
    }
  });
});

describe('many accounts (tenants): the accounts file changes while the daemon runs', () => {
  it('an added account is polled, a file that does not validate is refused (located) and the running accounts stay, a removed account stops, added back it resumes from its checkpoint; SIGHUP reads the file again', { timeout: 120_000 }, async () => {
    const server = new TenantsServer({ accounts: names(3) });
    const url = await server.start();
    const { dir, cleanup } = await tmpDir('plumline-tenants-');
    const [a0, a1, a2] = names(3) as [string, string, string];
    const polls = (a: string): number => server.requests.get(a)!.polls.length;
    const file = (accounts: string[], extra = ''): Promise<void> => writeFile(join(dir, 'tenants.yaml'), TenantsServer.accountsYaml(accounts, url) + extra);
    try {
      await file([a0, a1]);
      const backfillFrom = nowSec() - 86_400;
      await writeFile(join(dir, 'p.yaml'), `sources:\n  plum: { type: plum, accounts_file: tenants.yaml, streams: [sessions], backfill: 1d, poll_interval: 1s }\nsinks:\n  out: { type: file, inputs: [plum], path: out.ndjson }\n`);
      const { child, stderr: logged, until, exited } = daemon(dir);
      try {
        await until('both accounts polled twice', () => polls(a0) >= 2 && polls(a1) >= 2);
        expect(polls(a2)).toBe(0);
        await file([a0, a1, a2]);
        await until('the added account polled', () => polls(a2) >= 2);
        // A mistake in the file: refused where it is, the three accounts go on.
        await file([a0, a1, a2], '- { name: acct-009, base_url: "x", username: u, passwrd: p }\n');
        await until('the refusal', () => /accounts_file refused/.test(logged()));
        const refusal = logged().split('\n').find((l) => l.includes('accounts_file refused'))!;
        expect(refusal).toMatch(/tenants\.yaml:4:\d+/);
        expect(refusal).toContain('passwrd');
        const before = polls(a2);
        await until('the accounts polled after the refusal', () => polls(a2) >= before + 2);
        // Removed: no longer polled while the others are.
        await file([a0, a1]);
        await until('the removal', () => /account removed/.test(logged()));
        const removedAt = polls(a2);
        const lastRange = server.requests.get(a2)!.ranges.at(-1)!;
        const others = polls(a0);
        await until('the others polled twice more', () => polls(a0) >= others + 2);
        expect(polls(a2)).toBe(removedAt);
        // SIGHUP reads the file again (and does not end the process, which is Node's default).
        await file([a0, a1, a2]);
        child.kill('SIGHUP');
        await until('the re-added account polled', () => polls(a2) > removedAt);
        expect(logged()).toContain('reading accounts files again');
        // Added back, it resumed from its checkpoint: not from the backfill's start.
        const resumed = server.requests.get(a2)!.ranges[removedAt]!;
        expect(resumed.from).toBeGreaterThan(backfillFrom + 3_600);
        expect(resumed.from).toBeLessThanOrEqual(lastRange.to);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited, logged().slice(-2000)).toBe(0);
    } finally {
      await server.stop();
      await cleanup();
    }
  });
});

/** Bytes of every file under `dir` (the state directory): what the store wrote, as the disk holds it. */
const bytesUnder = async (dir: string): Promise<number> => {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? await bytesUnder(p) : (await stat(p)).size;
  }
  return n;
};

describe('many accounts (tenants): idle accounts cost state writes by what changed, not by how many', () => {
  it('40 idle accounts polled round after round write (almost) nothing to the state directory, one account that gets a record writes its entry alone; a restart reads the quiet window again and delivers nothing twice', { timeout: 120_000 }, async () => {
    const accounts = names(40);
    const server = new TenantsServer({ accounts });
    // Sessions up to two minutes ago, none after: after the backfill every poll lists nothing new.
    server.quietFromSec = nowSec() - 120;
    const url = await server.start();
    const { dir, cleanup } = await tmpDir('plumline-tenants-');
    const polls = (a: string): number => server.requests.get(a)!.polls.length;
    const everyPolled = (n: (a: string) => number) => () => accounts.every((a) => polls(a) >= n(a));
    try {
      await writeFile(join(dir, 'tenants.yaml'), TenantsServer.accountsYaml(accounts, url));
      await writeFile(join(dir, 'p.yaml'), `state: { type: directory, path: state }\nsources:\n  plum: { type: plum, accounts_file: tenants.yaml, streams: [sessions], backfill: 1h, poll_interval: 1s, max_concurrent_accounts: 8 }\nsinks:\n  out: { type: file, inputs: [plum], path: out.ndjson }\n`);
      const state = join(dir, 'state');
      type Mark = { bytes: number; polls: Map<string, number> };
      const mark = async (): Promise<Mark> => ({ bytes: await bytesUnder(state), polls: new Map(accounts.map((a) => [a, polls(a)])) });
      const threeMore = (m: Mark) => everyPolled((a) => m.polls.get(a)! + 3)();
      // One account gets a session after the idle rounds; the 39 others stay idle.
      const woken = accounts[7]!;
      let idle: Mark | undefined;
      let idleWritten: number | undefined;
      let wake: Mark | undefined;
      let wokenWritten: number | undefined;
      let rounds = 0;
      let busy = false;
      const step = async (): Promise<void> => {
        // Three polls each: the backfill (which delivered) and its commit (every second) are behind us.
        if (!idle) {
          if (everyPolled(() => 3)()) idle = await mark();
        } else if (idleWritten === undefined) {
          if (threeMore(idle)) {
            rounds = Math.min(...accounts.map((a) => polls(a) - idle!.polls.get(a)!));
            idleWritten = (await bytesUnder(state)) - idle.bytes;
            wake = await mark();
            server.addSession(woken, nowSec() - 5);
          }
        } else if (wake && threeMore(wake)) wokenWritten = (await bytesUnder(state)) - wake.bytes;
      };
      const first = await run(dir, [], () => {
        if (!busy) {
          busy = true;
          void step().finally(() => (busy = false));
        }
        return wokenWritten !== undefined;
      });
      expect(first.code, first.stderr.slice(-3000)).toBe(0);
      expect(idleWritten, first.stderr.slice(-3000)).toBeDefined();
      expect(rounds).toBeGreaterThanOrEqual(3);
      // Each account's moved cursor is ≈ 800 bytes: 40 accounts × 3 rounds rewrote ≈ 90 KB before.
      // Idle, what changed is nothing: no account's entry is written (a few bytes may be the batch number).
      expect(idleWritten!).toBeLessThan(1_000);
      // What changed is one account: its entry (≈ 0.8 KB) and the batch numbers, not 40 entries (≈ 32 KB).
      expect(wokenWritten!).toBeGreaterThan(0);
      expect(wokenWritten!).toBeLessThan(3_000);
      const lastRangeOfFirstRun = new Map(accounts.map((a) => [a, server.requests.get(a)!.ranges.at(-1)!]));
      const pollsOfFirstRun = new Map(accounts.map((a) => [a, polls(a)]));
      // A restart reads from the stored positions: the window the idle polls read is read again.
      const second = await run(dir, [], everyPolled((a) => pollsOfFirstRun.get(a)! + 2));
      expect(second.code, second.stderr.slice(-3000)).toBe(0);
      const out = await events(join(dir, 'out.ndjson'));
      // Two accounts' sessions may share an id (the server's ids are times): a record is the account's id.
      const ids = out.map((e) => `${String(e.attributes.account)}/${e.id}`);
      const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
      expect(twice.join(' '), 'each record once').toBe('');
      for (const a of accounts) {
        const ranges = server.requests.get(a)!.ranges;
        const reread = ranges[pollsOfFirstRun.get(a)!]!;
        expect(reread.from, a).toBeLessThan(lastRangeOfFirstRun.get(a)!.from);
        // Every session any poll reached (a poll reaches back `lateness`, before the backfill's start too), the woken one's too, once.
        expect(out.filter((e) => e.attributes.account === a).length, a).toBe(server.sessionsIn(a, Math.min(...ranges.map((r) => r.from)), nowSec() + 1).length);
      }
    } finally {
      await server.stop();
      await cleanup();
    }
  });
});

describe('many accounts (tenants): a failing account costs few requests', () => {
  it('an account answering 503 sends about one request per backoff once it is retried as a whole (no retries of each request inside), while the healthy ones poll', { timeout: 120_000 }, async () => {
    const accounts = names(8);
    const failing = ['acct-000', 'acct-001'];
    const server = new TenantsServer({ accounts, behaviour: (a) => (failing.includes(a) ? 503 : 'ok') });
    const url = await server.start();
    const { dir, cleanup } = await tmpDir('plumline-tenants-');
    const maxRetries = 3;
    // The source's warning per failed attempt at a range, with the account (what an operator sees).
    const rangeRetries = (stderr: string, a: string): number => stderr.split('\n').filter((l) => l.includes(`"account":"${a}"`) && l.includes('retrying the range')).length;
    try {
      await writeFile(join(dir, 'tenants.yaml'), TenantsServer.accountsYaml(accounts, url));
      await writeFile(join(dir, 'p.yaml'), `sources:\n  plum: { type: plum, accounts_file: tenants.yaml, streams: [sessions], backfill: 1h, poll_interval: 1s, max_retries: ${maxRetries} }\nsinks:\n  out: { type: file, inputs: [plum], path: out.ndjson }\n`);
      const child = run(dir, ['--log-level', 'info'], () => failing.every((a) => server.requests.get(a)!.refused >= 8), 60_000);
      const r = await child;
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      for (const a of failing) {
        const refused = server.requests.get(a)!.refused;
        const attempts = rangeRetries(r.stderr, a) + 1;
        expect(refused, `${a}: ${refused} requests for ${attempts} attempts at its range`).toBeGreaterThanOrEqual(8);
        // The first attempt may retry its request (the account was not known to fail); each attempt after it sends one.
        // (+1: an attempt under way when the run stopped, not yet logged.) Before: every attempt sent max_retries + 1.
        expect(refused, `${a}: ${refused} requests for ${attempts} attempts at its range`).toBeLessThanOrEqual(maxRetries + attempts + 1);
      }
      for (const a of accounts.filter((x) => !failing.includes(x))) expect(server.requests.get(a)!.polls.length, a).toBeGreaterThanOrEqual(3);
    } finally {
      await server.stop();
      await cleanup();
    }
  });
});

describe('many accounts (tenants): the views follow the accounts file', () => {
  it("an added account's retry and lag series exist from its add, a removed account's series leave /metrics; a refused file is logged once and shown by /readyz (still ready) until a good one is read", { timeout: 120_000 }, async () => {
    const server = new TenantsServer({ accounts: names(3) });
    const url = await server.start();
    const { dir, cleanup } = await tmpDir('plumline-tenants-');
    const [a0, a1, a2] = names(3) as [string, string, string];
    const polls = (a: string): number => server.requests.get(a)!.polls.length;
    const file = (accounts: string[], extra = ''): Promise<void> => writeFile(join(dir, 'tenants.yaml'), TenantsServer.accountsYaml(accounts, url) + extra);
    const port = await freePort();
    const get = async (path: string): Promise<{ status: number; text: string }> => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: r.status, text: await r.text() };
    };
    const series = (metrics: string, name: string, account: string): string[] => metrics.split('\n').filter((l) => l.startsWith(`${name}{`) && l.includes(`account="${account}"`));
    try {
      await file([a0, a1]);
      await writeFile(join(dir, 'p.yaml'), `sources:\n  plum: { type: plum, accounts_file: tenants.yaml, streams: [sessions], backfill: 1h, poll_interval: 1s }\nsinks:\n  out: { type: file, inputs: [plum], path: out.ndjson }\n`);
      const { child, stderr: logged, until, exited } = daemon(dir, ['--http', `127.0.0.1:${port}`]);
      try {
        await until('both accounts polled twice', () => polls(a0) >= 2 && polls(a1) >= 2);
        // Added: its retries (0) and its lag are series at once, before anything went wrong with it.
        await file([a0, a1, a2]);
        await until('the add', () => logged().includes(`"account":"${a2}"`) && /account added/.test(logged()));
        const added = (await get('/metrics')).text;
        expect(series(added, 'plumline_tenant_retries_total', a2).join('\n')).toMatch(/ 0$/);
        expect(series(added, 'plumline_tenant_lag_seconds', a2)).toHaveLength(1);
        // A file that does not validate: refused once (the change event and the stat poll both see it), shown by /readyz, still ready.
        await file([a0, a1, a2], '- { name: acct-009, base_url: "x", username: u, passwrd: p }\n');
        await until('the refusal', () => /accounts_file refused/.test(logged()));
        const after = polls(a0);
        // Three more polls a second apart: past the stat poll (2 s) that saw the same version.
        await until('three more polls', () => polls(a0) >= after + 3);
        expect(logged().split('\n').filter((l) => l.includes('accounts_file refused'))).toHaveLength(1);
        const refused = await get('/readyz');
        expect(refused.status).toBe(200);
        const plum = (JSON.parse(refused.text) as { components: Record<string, { ok: boolean; accountsFile?: string }> }).components.plum!;
        expect(plum.ok).toBe(true);
        expect(plum.accountsFile).toMatch(/tenants\.yaml:4:\d+/);
        expect(plum.accountsFile).toContain('passwrd');
        // A good file: the refusal is over; the removed account's series leave /metrics.
        await file([a0, a2]);
        await until('the removal', () => /account removed/.test(logged()));
        const readyz = JSON.parse((await get('/readyz')).text) as { components: Record<string, { accountsFile?: string }> };
        expect(readyz.components.plum!.accountsFile).toBeUndefined();
        const removed = (await get('/metrics')).text;
        expect(removed.split('\n').filter((l) => l.includes(`account="${a1}"`))).toEqual([]);
        expect(series(removed, 'plumline_tenant_events_total', a0)).toHaveLength(1);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited, logged().slice(-2000)).toBe(0);
    } finally {
      await server.stop();
      await cleanup();
    }
  });
});
