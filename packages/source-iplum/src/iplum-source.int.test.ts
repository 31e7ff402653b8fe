import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createLogger } from '@plumline/core';
import { runSource, type SourceRun } from '@plumline/core/testing';
import { IplumEmulator, usageTypeOf, type IplumEmulatorOptions } from './emulator/index.js';
import { iplumSource } from './iplum-source.js';
import { IplumClient } from './iplum-client.js';
import { signedHeaders } from './iplum-signer.js';
import { formatIplumDate } from './iplum-date.js';

/** Streams are read each on its own loop: their pages interleave as they come, each stream's in order. */
const byId = <E extends { id: string }>(events: readonly E[]): E[] => [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

const KEYS = { access_key: 'AK', secret_key: 'sk-test-secret', username: 'admin@acme-voice.com' };
let emulator: IplumEmulator | undefined;
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

async function startEmulator(o: IplumEmulatorOptions = {}): Promise<string> {
  emulator = new IplumEmulator({ seed: 3, recordsPerSecond: 0.02, accessKey: KEYS.access_key, secretKey: KEYS.secret_key, username: KEYS.username, ...o });
  return emulator.start();
}

function run(source: Record<string, unknown>): Promise<SourceRun> {
  return runSource(iplumSource, { ...KEYS, ...source });
}

const DAY = 86_400_000;

describe('iplum source against the emulator', () => {
  it('reads 30 days of usage and recordings in 5-day windows, every record exactly once', async () => {
    const base_url = await startEmulator();
    const end = Date.now() - 60_000;
    const start = end - 30 * DAY;
    const r = await run({ base_url, start: new Date(start).toISOString(), end: new Date(end).toISOString() });
    expect(r.error).toBeUndefined();
    const [lo, hi] = emulator!.data.indexRange(start, end);
    // The default usage_types include iplumcall (the vendor's example sends it): iPlum-to-iPlum calls too.
    const expectedUsage = Array.from({ length: hi - lo }, (_, i) => emulator!.data.usage(lo + i)).map((u) => `iplum:${u.recordId}`);
    expect(expectedUsage.some((_, i) => usageTypeOf(emulator!.data.usage(lo + i)) === 'iplumcall')).toBe(true);
    const expectedRec = Array.from({ length: hi - lo }, (_, i) => lo + i).filter((i) => emulator!.data.hasRecording(i)).map((i) => `iplum:${emulator!.data.recording(i).recordId}`);
    const usage = r.events.filter((e) => e.kind !== 'recording').map((e) => e.id);
    const recs = r.events.filter((e) => e.kind === 'recording').map((e) => e.id);
    expect(usage).toEqual(expectedUsage);
    expect(recs).toEqual(expectedRec);
    expect(emulator!.stats.byEndpoint['/usage/getusage']).toBe(6);
    expect(emulator!.stats.byEndpoint['/callrecordings/getrecordings']).toBe(6);
    expect(new Set(r.events.map((e) => e.kind))).toEqual(new Set(['call', 'text', 'fax', 'recording']));
    expect(r.result!.checkpoints.iplum!.position).toMatchObject({ usage: end, recordings: end });
  });

  it('fetches content and recording URLs with bounded concurrency', async () => {
    const base_url = await startEmulator({ faults: { latencyMs: 5 } });
    const end = Date.now() - 60_000;
    const r = await run({ base_url, start: new Date(end - 3 * DAY).toISOString(), end: new Date(end).toISOString(), content: true, recording_urls: true, concurrency: 3 });
    expect(r.error).toBeUndefined();
    const texts = r.events.filter((e) => e.kind === 'text');
    const faxes = r.events.filter((e) => e.kind === 'fax');
    const recs = r.events.filter((e) => e.kind === 'recording');
    expect(texts.length).toBeGreaterThan(10);
    for (const t of texts) expect(t.attributes.content ?? t.attributes.mediaUrl).toBeTruthy();
    for (const f of faxes) expect(String(f.attributes.mediaUrl)).toMatch(/^http:\/\/media\.iplum\.com\/.+\.pdf$/);
    for (const rec of recs) expect(String(rec.attributes.recordingUrl)).toMatch(/\.mp3$/);
    expect(r.events.filter((e) => e.kind === 'call').every((c) => c.attributes.content === undefined)).toBe(true);
    expect(emulator!.stats.byEndpoint['/usage/getcontent']).toBe(texts.length + faxes.length);
    // At most `concurrency` enrichment requests at once, over both streams (each on its own loop, sharing the bound).
    expect(emulator!.stats.maxConcurrent).toBe(3);
  });

  it('retries 429 (honouring Retry-After), 500 and a truncated body; re-signs each attempt', async () => {
    const base_url = await startEmulator();
    const end = Date.now() - 60_000;
    const range = { base_url, start: new Date(end - DAY).toISOString(), end: new Date(end).toISOString(), streams: ['usage'] };
    const clean = await run(range);
    emulator!.setFaults({ next: [{ status: 429, retryAfterSec: 1 }, { status: 500 }, { truncate: true }] });
    const first = emulator!.stats.arrivals.length;
    const r = await run(range);
    expect(byId(r.events)).toEqual(byId(clean.events));
    expect(r.result!.stats.iplum!.retries).toBe(3);
    const a = emulator!.stats.arrivals.slice(first);
    expect(a[1]! - a[0]!).toBeGreaterThanOrEqual(950);
    expect(emulator!.stats.unauthorized).toBe(0);
  });

  it('a window whose body stays unreadable past the request\'s retries is read again: nothing dead-lettered, nothing lost', async () => {
    const base_url = await startEmulator();
    const end = Date.now() - 60_000;
    const range = { base_url, start: new Date(end - 2 * DAY).toISOString(), end: new Date(end).toISOString(), max_retries: 1 };
    const clean = await run(range);
    emulator!.setFaults({ next: [{ truncate: true }, { truncate: true }] });
    const r = await run(range);
    expect(r.error).toBeUndefined();
    expect(r.dead).toHaveLength(0);
    expect(byId(r.events)).toEqual(byId(clean.events));
  });

  it('stops at once on a wrong secret (401) and on ERR_INVALID_REQUEST, with the server description', async () => {
    const base_url = await startEmulator();
    const end = Date.now() - 60_000;
    const range = { base_url, start: new Date(end - DAY).toISOString(), end: new Date(end).toISOString() };
    const bad = await run({ ...range, secret_key: 'wrong-secret', streams: ['usage'] });
    expect(bad.error).toMatchObject({ code: 'IPLUM_AUTH_FAILED' });
    expect(emulator!.stats.requests).toBe(1);
    expect(bad.logs).not.toContain('wrong-secret');
    emulator!.setFaults({ next: [{ status: 400, errorCode: 'ERR_INVALID_REQUEST', errorDescription: 'Request has invalid parameters.' }] });
    const invalid = await run({ ...range, streams: ['usage'] });
    expect(invalid.error).toMatchObject({ code: 'IPLUM_INVALID_REQUEST' });
    expect(String((invalid.error as Error).message)).toContain('Request has invalid parameters.');
    expect(emulator!.stats.requests).toBe(2);
  });
});

describe('iPlum emulator', () => {
  async function post(base: string, path: string, body: unknown, sign: { path?: string; epochOffsetSec?: number; secret?: string; method?: string } = {}) {
    const epoch = Math.floor(Date.now() / 1000) + (sign.epochOffsetSec ?? 0);
    const headers = signedHeaders({ method: sign.method ?? 'POST', accessKey: KEYS.access_key, username: KEYS.username, version: 'v1', epoch, path: sign.path ?? path }, sign.secret ?? KEYS.secret_key);
    const res = await request(new URL(path.slice(1), base), { method: (sign.method ?? 'POST') as 'POST', headers, body: sign.method === 'GET' ? undefined : JSON.stringify(body) });
    return { status: res.statusCode, body: (await res.body.json().catch(() => undefined)) as Record<string, string> | undefined };
  }
  const range = (days: number) => ({ Lang: 'en', StartDate: formatIplumDate(Date.now() - days * DAY), EndDate: formatIplumDate(Date.now()) });

  it('verifies signatures: wrong key, stale epoch, and a path signed in the wrong case get 401', async () => {
    const base = await startEmulator();
    expect((await post(base, '/usage/getusage', range(1))).status).toBe(200);
    expect((await post(base, '/usage/getusage', range(1), { secret: 'nope' })).status).toBe(401);
    expect((await post(base, '/usage/getusage', range(1), { epochOffsetSec: -301 })).status).toBe(401);
    expect((await post(base, '/usage/getusage', range(1), { epochOffsetSec: 299 })).status).toBe(200);
    // The representation must hold the path in lower case: signing it as typed is refused.
    const client = new IplumClient({ baseUrl: base, accessKey: KEYS.access_key, secretKey: KEYS.secret_key, username: KEYS.username, version: 'v1', requestTimeoutMs: 5000, maxRetries: 0, connections: 1, logger: createLogger({ level: 'silent' }) });
    expect(Array.isArray(await client.post('/Usage/GetUsage', range(1)))).toBe(true);
    await client.close();
    const res = await request(new URL('Usage/GetUsage', base), {
      method: 'POST',
      headers: { ...signedHeaders({ method: 'POST', accessKey: KEYS.access_key, username: KEYS.username, version: 'v1', epoch: Math.floor(Date.now() / 1000), path: '/usage/getusage' }, KEYS.secret_key), authorization: `iPlumAuth ${(await import('node:crypto')).createHmac('sha256', KEYS.secret_key).update(`post\n${KEYS.access_key}\n${KEYS.username}\nv1\n${Math.floor(Date.now() / 1000)}\n/Usage/GetUsage`).digest('base64')}` },
      body: JSON.stringify(range(1)),
    });
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  });

  it('applies the 5-day rule, refuses bad bodies and other methods', async () => {
    const base = await startEmulator();
    const long = await post(base, '/usage/getusage', range(6));
    expect(long).toMatchObject({ status: 400, body: { errorCode: 'ERR_INVALID_DATE' } });
    const bad = await post(base, '/usage/getusage', { Lang: 'en', StartDate: 'yesterday', EndDate: 'today' });
    expect(bad).toMatchObject({ status: 400, body: { errorCode: 'ERR_INVALID_REQUEST' } });
    const get = await request(new URL('usage/getusage', base), { method: 'GET' });
    expect(get.statusCode).toBe(405);
    await get.body.dump();
    const content = await post(base, '/usage/getcontent', { Lang: 'en', RecordID: 'unknown' });
    expect(content).toMatchObject({ status: 400, body: { errorCode: 'ERR_INVALID_REQUEST' } });
  });
});
