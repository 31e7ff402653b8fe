import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
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
