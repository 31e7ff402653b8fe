import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStateStore, type CallEvent } from '@plumline/core';
import { runSource } from '@plumline/core/testing';
import { PlumEmulator } from './emulator/index.js';
import { plumSource } from './plum-source.js';
import { plumSourceConfigSchema } from './plum-source-config.js';

const emulators: PlumEmulator[] = [];
afterEach(async () => {
  for (const e of emulators.splice(0)) await e.stop();
});

/** An account of its own: an emulator with its own data (seed) and credentials. */
async function account(seed: number, username: string, password: string): Promise<string> {
  const e = new PlumEmulator({ seed, sessionsPerSecond: 0.02, username, password });
  emulators.push(e);
  return e.start();
}

const nowSec = () => Math.floor(Date.now() / 1000);
const ids = (events: CallEvent[]) => events.map((e) => e.id).sort();

describe('plum source over many accounts', () => {
  it('reads every account with its own credentials and checkpoint, tags events with the account, and resumes each where it stopped', { timeout: 60_000 }, async () => {
    const a = await account(11, 'alice', 'pw-a');
    const b = await account(12, 'bob', 'pw-b');
    const range = { start: nowSec() - 86_400, end: nowSec() - 60, streams: ['sessions', 'calls'] };
    // Each account alone, as the expected output.
    const aloneA = await runSource(plumSource, { base_url: a, username: 'alice', password: 'pw-a', ...range }, { once: true });
    const aloneB = await runSource(plumSource, { base_url: b, username: 'bob', password: 'pw-b', ...range }, { once: true });
    expect(aloneA.events.length).toBeGreaterThan(500);
    const accounts = [
      { name: 'acme', base_url: a, username: 'alice', password: 'pw-a' },
      { name: 'globex', base_url: b, username: 'bob', password: 'pw-b' },
    ];
    const state = new MemoryStateStore();
    const both = await runSource(plumSource, { accounts, max_concurrent_accounts: 1, ...range }, { once: true, stateStore: state });
    expect(both.error).toBeUndefined();
    expect(ids(both.events.filter((e) => e.attributes.account === 'acme'))).toEqual(ids(aloneA.events));
    expect(ids(both.events.filter((e) => e.attributes.account === 'globex'))).toEqual(ids(aloneB.events));
    expect(both.events.every((e) => e.attributes.account === 'acme' || e.attributes.account === 'globex')).toBe(true);
    // One key per account (each page moved its own account's entry).
    const cp = both.result!.checkpoints.plum!.position as Record<string, { sessions: number }>;
    expect(Object.keys(cp).sort()).toEqual(['acme', 'globex']);
    expect(cp.acme!.sessions).toBe(range.end * 1000);
    // Again with the same state: each account is past its range, nothing is read twice.
    const again = await runSource(plumSource, { accounts, ...range }, { once: true, stateStore: state });
    expect(again.events).toEqual([]);
    // No password reaches a log line.
    expect(both.logs).not.toContain('pw-a');
    expect(both.logs).not.toContain('pw-b');
  });

  it('sets a refused account aside, naming it, and reads the others to their end', { timeout: 60_000 }, async () => {
    const a = await account(11, 'alice', 'pw-a');
    const run = await runSource(plumSource, { accounts: [{ name: 'acme', base_url: a, username: 'alice', password: 'pw-a' }, { name: 'wrong', base_url: a, username: 'alice', password: 'nope' }], start: nowSec() - 3600, end: nowSec() - 60, streams: ['sessions'] }, { once: true });
    expect(run.error).toBeUndefined();
    expect(run.result!.failedTenants).toEqual({ plum: [{ account: 'wrong', error: expect.objectContaining({ code: 'PLUM_AUTH_FAILED' }) }] });
    expect(run.events.length).toBeGreaterThan(0);
    expect(run.events.every((e) => e.attributes.account === 'acme')).toBe(true);
    const lines = run.logs.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; account?: string; err?: { code?: string } });
    expect(lines.some((l) => l.level >= 50 && l.account === 'wrong' && l.err?.code === 'PLUM_AUTH_FAILED')).toBe(true);
  });

  it('refuses top-level credentials beside accounts, duplicate names, and neither', () => {
    const problems = (c: Record<string, unknown>) => (plumSourceConfigSchema.safeParse(c).error?.issues ?? []).map((i) => i.path.join('.'));
    const acc = { name: 'x', username: 'u', password: 'p' };
    expect(problems({ username: 'u', password: 'p', accounts: [acc] })).toEqual(['username', 'password']);
    expect(problems({ accounts: [acc, acc] })).toEqual(['accounts']);
    expect(problems({})).toEqual(['username', 'password']);
    expect(problems({ accounts: [acc] })).toEqual([]);
  });
});
