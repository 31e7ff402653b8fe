import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import kafkajs from 'kafkajs';
import { createLogger, createPipeline, MemoryStateStore } from '@plumline/core';
import { installPrometheus, OpsServer } from './ops-server.js';
import { builtinRegistry } from './registry.js';

const brokers = inject('kafkaBrokers');
const SCRIPT = fileURLToPath(new URL('../../../scripts/kafka.sh', import.meta.url));
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;

describe('operations against a real broker', () => {
  it('/readyz turns 503 while the Kafka broker hangs or is down, and 200 again once it is back; nothing is lost', { timeout: 120_000 }, async () => {
    const ops = new OpsServer(installPrometheus());
    const base = await ops.start('127.0.0.1:0');
    const topic = unique('ready');
    const p = await createPipeline(
      {
        runtime: { stall_timeout: '2s' },
        sources: { gen: { type: 'generate', count: 25000, rate: 1000, batch_size: 50 } },
        sinks: { kafka: { type: 'kafka', inputs: ['gen'], brokers, topic, create_topics: {} } },
      },
      { plugins: builtinRegistry(), once: true, logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() },
    );
    ops.attach(p);
    const env = { ...process.env, KAFKA_PORT: brokers[0]!.split(':')[1]! };
    try {
      await p.start();
      const status = async () => (await fetch(`${base}/readyz`)).status;
      await expect.poll(status, { timeout: 10_000 }).toBe(200);
      execFileSync('bash', [SCRIPT, 'pause'], { env, stdio: 'ignore' });
      await expect.poll(status, { timeout: 30_000, interval: 250 }).toBe(503);
      const body = (await (await fetch(`${base}/readyz`)).json()) as { components: Record<string, { ok: boolean; reason?: string }> };

      expect(body.components.kafka).toMatchObject({ ok: false, reason: expect.stringMatching(/not finished|failed/) });
      execFileSync('bash', [SCRIPT, 'resume'], { env, stdio: 'ignore' });
      await expect.poll(status, { timeout: 60_000, interval: 250 }).toBe(200);
      // Now a crash: the process is gone, connections are refused until it is started again.
      execFileSync('bash', [SCRIPT, 'kill'], { env, stdio: 'ignore' });
      await expect.poll(status, { timeout: 30_000, interval: 250 }).toBe(503);
      execFileSync('bash', [SCRIPT, 'start'], { env, stdio: 'ignore' });
      await expect.poll(status, { timeout: 60_000, interval: 250 }).toBe(200);
      const result = await p.done;
      expect(result.stats.kafka!.eventsOut).toBe(25000);
    } finally {
      execFileSync('bash', [SCRIPT, 'resume'], { env, stdio: 'ignore' });
      await p.stop().catch(() => {});
      await ops.close();
    }
  });

  it('puts the W3C traceparent of each write span into the Kafka record headers', { timeout: 60_000 }, async () => {
    const spans = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
    try {
      const topic = unique('trace');
      const p = await createPipeline(
        { sources: { gen: { type: 'generate', count: 300, batch_size: 100 } }, sinks: { kafka: { type: 'kafka', inputs: ['gen'], brokers, topic, create_topics: {} } } },
        { plugins: builtinRegistry(), once: true, logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() },
      );
      await p.start();
      await p.done;
      const writes = spans.getFinishedSpans().filter((s) => s.name === 'kafka write');
      expect(writes).toHaveLength(3);
      const consumer = new kafkajs.Kafka({ clientId: 'trace-check', brokers, logLevel: kafkajs.logLevel.NOTHING }).consumer({ groupId: unique('trace') });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const parents = new Set<string>();
      let n = 0;
      await new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            parents.add(String(message.headers?.traceparent));
            if (++n >= 300) resolve();
          },
        });
      });
      await consumer.disconnect();
      const expected = new Set(writes.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`));
      expect(parents).toEqual(expected);
    } finally {
      trace.disable();
    }
  });
});
