import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { corePlugins, createLogger, createPipeline, defineSink, PluginRegistry, MemoryStateStore, z, type Pipeline } from '@plumline/core';
import { getEventListeners } from 'node:events';
import { FakeClock, memorySink, testContext } from '@plumline/core/testing';
import { iplumCallbacksSource } from './callback-receiver.js';
import { iplumSource } from '../iplum-source.js';
import { usageEvent } from '../iplum-events.js';
import { IplumEmulator } from '../emulator/index.js';

const USAGE = { source: 'iPlum', clientReferenceId: '1234', usage: 'text', recordId: 'rec-1', from: '+14081231234', to: 'test@iplum.com', startTimeUTC: '2023-03-24T00:00:00Z', endTimeUTC: '2023-03-24T00:00:00Z', duration: '1', direction: 'in', type: 'external', content: 'Hello', iPlumCredits: 1, userId: 'test@test.com' };
const RECORDING = { source: 'iPlum', clientReferenceId: '1234', recordId: 'ae0b4e3e', phonenumber: '+14081231234', dateTimeUTC: '2023-03-22T00:24:00Z', duration: '3', direction: 'in', length: '434.2 KB', content: 'http://media.iplum.com/ae0b4e3e.mp3', userId: 'test@test.com' };

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function receiver(auth: Record<string, unknown>, extra: Record<string, unknown> = {}, sinkPlugin = memorySink({ type: 'mem' })) {
  const p: Pipeline = await createPipeline(
    { runtime: { commit_interval: '20ms' }, sources: { cb: { type: 'iplum_callbacks', auth, ...extra } }, sinks: { out: { type: 'mem', inputs: ['cb'] } } },
    { plugins: new PluginRegistry([...corePlugins, iplumCallbacksSource, sinkPlugin.plugin]), logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() },
  );
  await p.start();
  cleanup.push(() => p.stop().catch(() => {}));
  return { p, record: sinkPlugin.record };
}

/** A port the OS just handed out and released, for a receiver configured with a fixed `listen`. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('iplum_callbacks receiver', () => {
  it('accepts authorized usage and recording callbacks as the same events the poller makes', async () => {
    const port = await freePort();
    const { record } = await receiver({ header: { name: 'x-secret', value: 'hunter2-long' } }, { listen: `127.0.0.1:${port}` });
    const url = `http://127.0.0.1:${port}/iplum/callbacks`;
    expect((await postJson(url, USAGE, { 'x-secret': 'hunter2-long' })).status).toBe(200);
    expect((await postJson(url, RECORDING, { 'x-secret': 'hunter2-long' })).status).toBe(200);
    await until(() => record.events.length === 2);
    expect(record.events[0]).toEqual(usageEvent(USAGE));
    expect(record.events[1]).toMatchObject({ id: 'iplum:ae0b4e3e', kind: 'recording', attributes: { recordingUrl: RECORDING.content, sizeBytes: 444621 } });
    const health = await request(`http://127.0.0.1:${port}/healthz`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.json()).toMatchObject({ status: 'ok', accepted: 2 });
  });

  it('refuses with 401 / 413 / 415 / 400 / 405 / 404, and keeps running', async () => {
    const port = await freePort();
    const { record } = await receiver({ header: { name: 'x-secret', value: 'hunter2-long' } }, { listen: `127.0.0.1:${port}`, max_body: '1KiB' });
    const url = `http://127.0.0.1:${port}/iplum/callbacks`;
    const ok = { 'x-secret': 'hunter2-long' };
    expect((await postJson(url, USAGE)).status).toBe(401);
    expect((await postJson(url, USAGE, { 'x-secret': 'wrong' })).status).toBe(401);
    expect((await postJson(url, { ...USAGE, content: 'x'.repeat(2000) }, ok)).status).toBe(413);
    const notJson = await request(url, { method: 'POST', headers: { ...ok, 'content-type': 'text/plain' }, body: 'hi' });
    expect(notJson.statusCode).toBe(415);
    await notJson.body.dump();
    expect((await postJson(url, '{"recordId": ', ok)).status).toBe(400);
    const schema = await postJson(url, { recordId: 'x', usage: 'telex', startTimeUTC: 'now' }, ok);
    expect(schema.status).toBe(400);
    expect(schema.body).toContain('telex');
    const get = await request(url);
    expect(get.statusCode).toBe(405);
    await get.body.dump();
    expect((await postJson(`http://127.0.0.1:${port}/elsewhere`, USAGE, ok)).status).toBe(404);
    expect((await postJson(url, USAGE, ok)).status).toBe(200);
    await until(() => record.events.length === 1);
  });

  it('supports a secret path segment and HTTP Basic', async () => {
    const p1 = await freePort();
    await receiver({ path_secret: 's3cret-path' }, { listen: `127.0.0.1:${p1}` });
    expect((await postJson(`http://127.0.0.1:${p1}/iplum/callbacks/s3cret-path`, USAGE)).status).toBe(200);
    expect((await postJson(`http://127.0.0.1:${p1}/iplum/callbacks/guess`, USAGE)).status).toBe(401);
    const p2 = await freePort();
    await receiver({ basic: { username: 'iplum', password: 'pa55word' } }, { listen: `127.0.0.1:${p2}` });
    const basic = (u: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${pw}`).toString('base64')}` });
    expect((await postJson(`http://127.0.0.1:${p2}/iplum/callbacks`, USAGE, basic('iplum', 'pa55word'))).status).toBe(200);
    expect((await postJson(`http://127.0.0.1:${p2}/iplum/callbacks`, USAGE, basic('iplum', 'nope'))).status).toBe(401);
  });

  it('answers 503 with Retry-After when the pipeline is saturated instead of buffering without bound', async () => {
    const port = await freePort();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const stuck = defineSink({ type: 'mem', description: 'never acks until released', configSchema: z.strictObject({}), create: () => ({ write: () => gate, close: async () => {} }) });
    await receiver({ header: { name: 'x-secret', value: 'hunter2-long' } }, { listen: `127.0.0.1:${port}`, max_pending: 3 }, { plugin: stuck, record: undefined as never });
    const url = `http://127.0.0.1:${port}/iplum/callbacks`;
    const statuses: number[] = [];
    const retryAfter: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await postJson(url, { ...USAGE, recordId: `r${i}` }, { 'x-secret': 'hunter2-long' });
      statuses.push(r.status);
      retryAfter.push(r.headers['retry-after']);
    }
    expect(statuses).toEqual([200, 200, 200, 503, 503]);
    expect(retryAfter[3]).toBe('1');
    release();
  });

  it('acknowledge: delivered answers 200 only once the sink acknowledged the callback, and 503 to what a stop leaves undelivered', async () => {
    const port = await freePort();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let acked = 0;
    let writing = 0;
    const held = defineSink({
      type: 'mem',
      description: 'acks nothing until released',
      configSchema: z.strictObject({}),
      create: () => ({
        write: async (b) => {
          writing++;
          await gate;
          acked += b.events.length;
        },
        close: async () => {},
      }),
    });
    await receiver({ header: { name: 'x-secret', value: 'hunter2-long' } }, { listen: `127.0.0.1:${port}`, acknowledge: 'delivered' }, { plugin: held, record: undefined as never });
    const url = `http://127.0.0.1:${port}/iplum/callbacks`;
    let answered: number | undefined;
    const first = postJson(url, { ...USAGE, recordId: 'd1' }, { 'x-secret': 'hunter2-long' }).then((r) => (answered = r.status));
    // The callback reached the sink, which holds it: no answer yet.
    await until(() => writing === 1);
    expect(answered).toBeUndefined();
    release();
    expect(await first).toBe(200);
    expect(acked).toBe(1);

    // A sink that never acknowledges, and a stop: the waiting caller gets 503 and sends it again.
    const port2 = await freePort();
    let written = 0;
    const never = defineSink({ type: 'mem', description: 'never acks', configSchema: z.strictObject({}), create: () => ({ write: () => new Promise<void>(() => void written++), close: async () => {} }) });
    const second = await createPipeline(
      { runtime: { commit_interval: '20ms', shutdown_timeout: '1s' }, sources: { cb: { type: 'iplum_callbacks', auth: { header: { name: 'x-secret', value: 'hunter2-long' } }, listen: `127.0.0.1:${port2}`, acknowledge: 'delivered' } }, sinks: { out: { type: 'mem', inputs: ['cb'] } } },
      { plugins: new PluginRegistry([...corePlugins, iplumCallbacksSource, never]), logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() },
    );
    await second.start();
    const waiting = postJson(`http://127.0.0.1:${port2}/iplum/callbacks`, { ...USAGE, recordId: 'd2' }, { 'x-secret': 'hunter2-long' });
    await until(() => written === 1);
    await second.stop().catch(() => {});
    expect((await waiting).status).toBe(503);
  });

  it('end to end: the emulator pushes callbacks; with the poller and dedupe, each record arrives once', async () => {
    const port = await freePort();
    const emulator = new IplumEmulator({ seed: 8, recordsPerSecond: 20, accessKey: 'AK', secretKey: 'SK-secret', username: 'admin@acme-voice.com', callbackUrl: `http://127.0.0.1:${port}/iplum/callbacks`, callbackHeaders: { 'x-secret': 'hunter2-long' }, callbackIntervalMs: 100 });
    const base = await emulator.start();
    cleanup.push(() => emulator.stop());
    const sink = memorySink({ type: 'mem' });
    const start = Date.now();
    const p = await createPipeline(
      {
        sources: {
          pushed: { type: 'iplum_callbacks', listen: `127.0.0.1:${port}`, auth: { header: { name: 'x-secret', value: 'hunter2-long' } } },
          polled: { type: 'iplum', base_url: base, access_key: 'AK', secret_key: 'SK-secret', username: 'admin@acme-voice.com', start: new Date(start).toISOString(), poll_interval: '300ms', lateness: '1s', usage_types: ['iplumtext', 'externalcall', 'externaltext', 'fax', 'iplumcall'] },
        },
        transforms: { unique: { type: 'dedupe', inputs: ['pushed', 'polled'] } },
        sinks: { out: { type: 'mem', inputs: ['unique'] } },
      },
      { plugins: new PluginRegistry([...corePlugins, iplumCallbacksSource, iplumSource, sink.plugin]), logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() },
    );
    await p.start();
    await new Promise((r) => setTimeout(r, 2000));
    const cut = Date.now() - 1000;
    const result = await p.stop();
    const ids = sink.record.events.map((e) => e.id);
    expect(ids.length).toBeGreaterThan(20);
    expect(new Set(ids).size).toBe(ids.length);
    // Nothing lost either: every usage record and recording the emulator holds from the start
    // until a second before the stop (both paths had time to bring them) was delivered.
    const [lo, hi] = emulator.data.indexRange(start, cut);
    const expected = Array.from({ length: hi - lo }, (_, i) => lo + i).flatMap((i) => [`iplum:${emulator.data.usage(i).recordId}`, ...(emulator.data.hasRecording(i) ? [`iplum:${emulator.data.recording(i).recordId}`] : [])]);
    expect(expected.length).toBeGreaterThan(10);
    expect(expected.filter((id) => !ids.includes(id))).toEqual([]);
    // Both paths delivered, and dedupe merged the copies.
    expect(result.stats.pushed!.eventsOut).toBeGreaterThan(0);
    expect(result.stats.polled!.eventsOut).toBeGreaterThan(0);
    expect(result.stats.unique!.eventsIn).toBeGreaterThan(result.stats.unique!.eventsOut);
    expect(emulator.stats.callbacksSent).toBeGreaterThan(0);
  });

  it('waits idle without leaving a listener behind per idle second (the stop signal keeps at most one)', async () => {
    // Idle seconds on the source's clock: ten of them pass at once.
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const ctx = testContext({ id: 'cb', kind: 'source', once: false, clock });
    const source = await iplumCallbacksSource.create(iplumCallbacksSource.configSchema.parse({ listen: '127.0.0.1:0', auth: { path_secret: 'idle-secret' } }), ctx);
    const it = source.read(undefined)[Symbol.asyncIterator]();
    const next = it.next();
    for (let second = 0; second < 10; second++) {
      // The source waits out its idle second (its timer armed), then goes round again.
      await until(() => clock.pending === 1);
      expect(getEventListeners(ctx.signal, 'abort').length, `idle second ${second}`).toBeLessThanOrEqual(1);
      await clock.advance(1000);
    }
    await until(() => clock.pending === 1);
    expect(getEventListeners(ctx.signal, 'abort').length).toBeLessThanOrEqual(1);
    ctx.abort();
    await next;
    await source.close?.();
  });
});
