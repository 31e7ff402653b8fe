import { describe, expect, inject, it } from 'vitest';
import kafkajs from 'kafkajs';
import { corePlugins, createLogger, createPipeline, MemoryStateStore, PluginRegistry } from '@plumline/core';
import { PassThrough } from 'node:stream';
import { kafkaSink } from './kafka-sink.js';

const secured = inject('kafkaSecured');
const brokers = inject('kafkaBrokers');
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;

/** Runs generate → kafka with the given connection settings; returns the log lines too. */
async function run(sink: Record<string, unknown>, count = 50, lines: string[] = []) {
  const destination = new PassThrough();
  destination.on('data', (c: Buffer) => lines.push(c.toString()));
  const logger = createLogger({ level: 'debug', destination });
  const p = await createPipeline(
    { sources: { gen: { type: 'generate', count } }, sinks: { kafka: { type: 'kafka', inputs: ['gen'], create_topics: {}, ...sink } } },
    { plugins: new PluginRegistry([...corePlugins, kafkaSink]), logger, once: true, stateStore: new MemoryStateStore() },
  );
  await p.start();
  return { result: await p.done, lines };
}

/** Counts the records of a topic through the plain listener, as an independent reader. */
async function countRecords(topic: string): Promise<number> {
  const admin = new kafkajs.Kafka({ clientId: 'check', brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
}

describe('kafka sink: authentication and TLS (real broker listeners)', () => {
  it.each(['plain', 'scram-sha-256', 'scram-sha-512'])('authenticates with SASL %s', async (mechanism) => {
    const topic = unique(`sasl-${mechanism}`);
    const { result } = await run({ brokers: secured.saslBrokers, topic, sasl: { mechanism, username: secured.username, password: secured.password } });
    expect(result.stats.kafka!.eventsOut).toBe(50);
    expect(await countRecords(topic)).toBe(50);
  });

  it('fails at start with KAFKA_CONNECT_FAILED on a wrong password, and the password appears in no error or log line', async () => {
    const wrong = `wrong-${secured.password}`;
    let caught: unknown;
    const lines: string[] = [];
    try {
      await run({ brokers: secured.saslBrokers, topic: unique('denied'), sasl: { mechanism: 'scram-sha-256', username: secured.username, password: wrong } }, 50, lines);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'KAFKA_CONNECT_FAILED' });
    const text = JSON.stringify(caught, Object.getOwnPropertyNames(caught)) + String((caught as Error).stack) + lines.join('\n');
    expect(text).not.toContain(wrong);
  });

  it('connects over TLS, verifying the broker against a CA file', async () => {
    const topic = unique('tls');
    const { result } = await run({ brokers: secured.sslBrokers, topic, ssl: { ca: secured.caFile } });
    expect(result.stats.kafka!.eventsOut).toBe(50);
    expect(await countRecords(topic)).toBe(50);
  });

  it('refuses a broker whose certificate it cannot verify', async () => {
    await expect(run({ brokers: secured.sslBrokers, topic: unique('tls-bad'), ssl: true, request_timeout: '5s' })).rejects.toMatchObject({ code: 'KAFKA_CONNECT_FAILED' });
  });
});
