import { describe, expect, inject, it } from 'vitest';
import { CheckedLog, corePlugins, createLogger, createPipeline, PluginRegistry, type CallEvent, type ComponentState, type StateStore } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { KafkaStateStore, kafkaStateConfigSchema, kafkaStatePlugin } from './kafka-state-store.js';
import type { KafkaDriver } from './producer-driver.js';
import { kafkaDriversToTest } from './testing.js';

const brokers = inject('kafkaBrokers');
const logger = createLogger({ level: 'silent' });
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;

/** Component `d`'s slice of `store`, as the runtime hands it to an operator. */
const slice = (store: StateStore): ComponentState => ({
  get: (k) => store.get(`d/${k}`),
  set: (k, v) => store.set(`d/${k}`, v),
  append: (k, data) => store.append(`d/${k}`, data),
  readLog: (k) => store.readLog(`d/${k}`),
  rewriteLog: (k, data) => store.rewriteLog(`d/${k}`, data),
});

describe.each(kafkaDriversToTest())('kafka state store, driver %s (real broker)', (driver: KafkaDriver) => {
  const store = (topic: string, pipeline: string) => new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers, topic, driver }), pipeline, logger);

  it("an operator's checked log is checked against the head committed with it: whole it loads; shorter than committed, or emptied, the start stops with STATE_CORRUPT", { timeout: 60_000 }, async () => {
    const topic = unique('state');
    const a = store(topic, 'p1');
    await a.open();
    const log = new CheckedLog(slice(a), 'keys', 'd', logger);
    await log.load();
    await log.append([Buffer.from('one'), Buffer.from('two')]);
    await log.storeHead();
    await log.append([Buffer.alloc(1_500_000, 3)]); // more than one chunk on the topic
    await log.storeHead();
    await a.close();
    const b = store(topic, 'p1');
    await b.open();
    const whole = Buffer.from(await b.readLog('d/keys'));
    expect(await new CheckedLog(slice(b), 'keys', 'd', logger).load()).toEqual({ format: 'checked', payloads: [Buffer.from('one'), Buffer.from('two'), Buffer.alloc(1_500_000, 3)] });
    // The log as it was before its last committed append (an older copy): refused, not read as far as it goes.
    await b.rewriteLog('d/keys', whole.subarray(0, whole.length - 1_500_012));
    await expect(new CheckedLog(slice(b), 'keys', 'd', logger).load()).rejects.toMatchObject({ code: 'STATE_CORRUPT' });
    await b.rewriteLog('d/keys', new Uint8Array(0));
    await expect(new CheckedLog(slice(b), 'keys', 'd', logger).load()).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('d~keys.log') });
    await b.close();
  });

  it('keeps values and logs across reopen; a second worker fences the first', { timeout: 60_000 }, async () => {
    const topic = unique('state');
    const a = store(topic, 'p1');
    await a.open();
    await a.set('checkpoints', { src: { seq: 3, position: { next: 30 } } });
    await a.append('d/keys', Buffer.from('abc'));
    await a.append('d/keys', Buffer.alloc(2_000_000, 7));
    const b = store(topic, 'p1');
    await b.open();
    expect(await b.get('checkpoints')).toEqual({ src: { seq: 3, position: { next: 30 } } });
    expect((await b.readLog('d/keys')).byteLength).toBe(2_000_003);
    // A is fenced: its writes fail with a stable code, and nothing of it lands.
    await expect(a.set('checkpoints', { src: { seq: 99, position: null } })).rejects.toMatchObject({ code: 'STATE_FENCED', retriable: false });
    await b.rewriteLog('d/keys', Buffer.from('compacted'));
    await b.set('checkpoints', { src: { seq: 4, position: { next: 40 } } });
    await a.close();
    await b.close();
    // Closed, a fenced store still says why it may not write; a store that was not, that it is closed.
    await expect(a.set('checkpoints', { n: 1 })).rejects.toMatchObject({ code: 'STATE_FENCED' });
    await expect(b.set('checkpoints', { n: 1 })).rejects.toMatchObject({ code: 'STATE_CLOSED' });
    const c = store(topic, 'p1');
    await c.open();
    expect(await c.get('checkpoints')).toEqual({ src: { seq: 4, position: { next: 40 } } });
    expect(Buffer.from(await c.readLog('d/keys')).toString()).toBe('compacted');
    // Another pipeline on the same topic sees nothing of p1.
    const other = store(topic, 'p2');
    await other.open();
    expect(await other.get('checkpoints')).toBeUndefined();
    await c.close();
    await other.close();
  });

  it('a fenced worker whose transaction fails for another reason does not take the pipeline back when it replaces its producer', { timeout: 90_000 }, async () => {
    const topic = unique('state');
    const a = store(topic, 'p1');
    await a.open();
    await a.set('checkpoints', { n: 1 });
    const b = store(topic, 'p1');
    await b.open();
    // A does not know it was fenced: its next transaction fails on its own side (as on a dropped
    // connection), so it replaces its producer, whose initialisation would fence B in turn.
    await expect(a.commitAtomically([{ kind: 'set', key: 'checkpoints', value: { n: 2 } }], async () => { throw new Error('connection reset'); })).rejects.toThrow();
    await expect(a.set('checkpoints', { n: 3 })).rejects.toMatchObject({ code: 'STATE_FENCED', retriable: false });
    // B, the later worker, still owns the pipeline.
    await b.set('checkpoints', { n: 4 });
    await a.close();
    await b.close();
    const c = store(topic, 'p1');
    await c.open();
    expect(await c.get('checkpoints')).toEqual({ n: 4 });
    await c.close();
  });

  it('a transaction Kafka refuses for want of an ACL stops with STATE_NOT_AUTHORIZED naming the grant, not STATE_FENCED', { timeout: 60_000 }, async () => {
    const topic = unique('state');
    const a = store(topic, 'p1');
    await a.open();
    // kafkajs's shape of the refusal (a broker with ACLs is more than this test needs): its retrier
    // wraps the protocol error. Fencing would hand the pipeline over and a task copy be relaunched
    // for ever; a missing ACL is the operator's to grant.
    const protocol = Object.assign(new Error('Transactional Id authorization failed'), { name: 'KafkaJSProtocolError', type: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', code: 53, retriable: false });
    const refused = Object.assign(new Error(protocol.message, { cause: protocol }), { name: 'KafkaJSNonRetriableError', retriable: false });
    const err = await a.commitAtomically([{ kind: 'set', key: 'checkpoints', value: { n: 1 } }], async () => { throw refused; }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STATE_NOT_AUTHORIZED', retriable: false });
    expect((err as Error).message).toContain('Write and Describe on TransactionalId "plumline-p1"');
    // Not fenced: this worker still owns the pipeline, and its next write lands.
    await a.set('checkpoints', { n: 2 });
    await a.close();
    const b = store(topic, 'p1');
    await b.open();
    expect(await b.get('checkpoints')).toEqual({ n: 2 });
    await b.close();
  });

  it('a replacement worker resumes from the checkpoint in Kafka without re-emitting', { timeout: 90_000 }, async () => {
    const topic = unique('state');
    const yaml = { id: unique('pipe'), state: { type: 'kafka', brokers, topic, driver }, runtime: { commit_interval: '100ms' }, sources: { gen: { type: 'generate', count: 20_000, rate: 8000, batch_size: 200, duplicate_ratio: 0.1 } }, transforms: { u: { type: 'dedupe', inputs: ['gen'] } }, sinks: { out: { type: 'mem', inputs: ['u'] } } };
    const worker = async (stopAfterMs?: number): Promise<CallEvent[]> => {
      const sink = memorySink({ type: 'mem' });
      const p = await createPipeline(yaml, { plugins: new PluginRegistry([...corePlugins, kafkaStatePlugin, sink.plugin]), logger, once: stopAfterMs === undefined });
      await p.start();
      if (stopAfterMs !== undefined) {
        await new Promise((r) => setTimeout(r, stopAfterMs));
        await p.stop();
      } else await p.done;
      return sink.record.events;
    };
    const first = await worker(1200);
    const second = await worker();
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    const ids = [...first, ...second].map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const g = (await import('@plumline/core/sources')).CallGenerator;
    const gen = new g({ seed: 1, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0.1, source: 'gen' });
    const expected = new Set(Array.from({ length: 20_000 }, (_, i) => gen.event(i).id));
    expect(new Set(ids)).toEqual(expected);
  });
});
