import { describe, expect, inject, it } from 'vitest';
import kafkajs from 'kafkajs';
import { createLogger, createPipeline, MemoryStateStore, type CallEvent, type Pipeline } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { builtinRegistry } from './registry.js';

const brokers = () => inject('kafkaBrokers');
const SESSIONS = 1200;
const PARTITIONS = 4;

const session = (i: number): CallEvent => ({ id: `s${i}`, source: 'plum', kind: 'session', time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), attributes: { sessionId: `x${i}` } });
const call = (i: number): CallEvent => ({ id: `c${i}`, source: 'plum', kind: 'call', time: new Date(Date.UTC(2026, 0, 1) + i * 1000 + 500).toISOString(), attributes: { sessionId: `x${i}` } });

/** Every id an output holds: its own, and those of the partners correlate nested under `details`. */
function idsIn(events: CallEvent[]): string[] {
  return events.flatMap((e) => [e.id, ...((e.attributes.details as CallEvent[] | undefined) ?? []).map((d) => d.id)]);
}

async function until(what: string, cond: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kafka source: a rebalance while correlate holds events (real broker)', () => {
  it('loses nothing: the partitions move with their held events not committed, and the new owner reads them again', { timeout: 180_000 }, async () => {
    const topic = `rebalance-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const kafka = new kafkajs.Kafka({ clientId: 'rebalance-test', brokers: brokers(), logLevel: kafkajs.logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    // Keyed by sessionId: a session and its call share a partition (the co-partitioning correlate needs).
    const send = (events: CallEvent[]) => producer.send({ topic, messages: events.map((e) => ({ key: String(e.attributes.sessionId), value: JSON.stringify(e) })) });
    const worker = async (): Promise<{ pipeline: Pipeline; out: CallEvent[] }> => {
      const sink = memorySink({ type: 'memory' });
      const registry = builtinRegistry();
      registry.register(sink.plugin);
      const pipeline = await createPipeline(
        {
          runtime: { commit_interval: '100ms' },
          sources: { raw: { type: 'kafka', brokers: brokers(), topics: [topic], group_id: `${topic}-group`, keyed_by: ['attributes.sessionId'], session_timeout: '6s', max_batch_events: 100 } },
          transforms: {
            joined: { type: 'correlate', inputs: ['raw'], window: '8s', rules: [{ name: 'detail', anchor: { kind: 'session' }, partner: { kind: 'call' }, anchor_key: 'attributes.sessionId', partner_key: 'attributes.sessionId', as: 'details' }] },
          },
          sinks: { out: { type: 'memory', inputs: ['joined'] } },
        },
        { plugins: registry, logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() },
      );
      await pipeline.start();
      return { pipeline, out: sink.record.events };
    };
    const expected = new Set<string>();
    try {
      const sessions = Array.from({ length: SESSIONS }, (_, i) => session(i));
      await send(sessions);
      sessions.forEach((e) => expected.add(e.id));
      const a = await worker();
      // Worker A reads every session and holds it (its call has not come yet; the window is 8 s).
      await until('A read the sessions', () => (a.pipeline.stats().raw?.eventsOut ?? 0) >= SESSIONS, 60_000);
      expect(idsIn(a.out)).toEqual([]);
      // B joins: the group moves partitions from A to B while A holds their sessions.
      const b = await worker();
      await until('B read sessions A held', () => (b.pipeline.stats().raw?.eventsOut ?? 0) > 0, 60_000);
      const calls = Array.from({ length: SESSIONS }, (_, i) => call(i));
      await send(calls);
      calls.forEach((e) => expected.add(e.id));
      const seen = () => new Set([...idsIn(a.out), ...idsIn(b.out)]);
      await until('every id out of one worker or the other', () => [...expected].every((id) => seen().has(id)));
      await Promise.all([a.pipeline.stop(), b.pipeline.stop()]);
      const missing = [...expected].filter((id) => !seen().has(id));
      // A read every session before B joined: each session B put out is one A had read and was holding.
      const takenOver = idsIn(b.out).filter((id) => id.startsWith('s')).length;
      console.log(`rebalance with held events: ${expected.size} ids, ${missing.length} missing; A put out ${a.out.length} events, B ${b.out.length}; B read again ${takenOver} sessions A was holding`);
      expect(missing).toEqual([]);
      // The scenario happened: B took over partitions whose sessions A was holding.
      expect(takenOver).toBeGreaterThan(0);
    } finally {
      await producer.disconnect();
    }
  });
});
