import { afterEach, describe, expect, it } from 'vitest';
import type { CallEvent } from '@plumline/core';
import { runSource } from '@plumline/core/testing';
import { IplumEmulator } from './emulator/index.js';
import { iplumSource } from './iplum-source.js';

const emulators: IplumEmulator[] = [];
afterEach(async () => {
  for (const e of emulators.splice(0)) await e.stop();
});

/** An account of its own: an emulator with its own data (seed) and keys. */
async function account(seed: number, keys: { access_key: string; secret_key: string; username: string }): Promise<string> {
  const e = new IplumEmulator({ seed, recordsPerSecond: 0.02, accessKey: keys.access_key, secretKey: keys.secret_key, username: keys.username });
  emulators.push(e);
  return e.start();
}

const ids = (events: CallEvent[]) => events.map((e) => e.id).sort();

describe('iplum source over many accounts', () => {
  it('reads every account with its own keys and checkpoint, tags events with the account, and never logs a secret', { timeout: 60_000 }, async () => {
    const acme = { access_key: 'AK-A', secret_key: 'sk-secret-acme', username: 'admin@acme.com' };
    const globex = { access_key: 'AK-G', secret_key: 'sk-secret-globex', username: 'admin@globex.com' };
    const a = await account(3, acme);
    const b = await account(4, globex);
    const end = Date.now() - 60_000;
    const range = { start: new Date(end - 6 * 86_400_000).toISOString(), end: new Date(end).toISOString() };
    const aloneA = await runSource(iplumSource, { base_url: a, ...acme, ...range }, { once: true });
    const aloneB = await runSource(iplumSource, { base_url: b, ...globex, ...range }, { once: true });
    expect(aloneA.events.length).toBeGreaterThan(100);
    const both = await runSource(iplumSource, { accounts: [{ name: 'acme', base_url: a, ...acme }, { name: 'globex', base_url: b, ...globex }], max_concurrent_accounts: 1, ...range }, { once: true });
    expect(both.error).toBeUndefined();
    expect(ids(both.events.filter((e) => e.attributes.account === 'acme'))).toEqual(ids(aloneA.events));
    expect(ids(both.events.filter((e) => e.attributes.account === 'globex'))).toEqual(ids(aloneB.events));
    expect(both.events).toHaveLength(aloneA.events.length + aloneB.events.length);
    expect(both.logs).not.toContain('sk-secret');
  });
});
