import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadPipeline, MemoryStateStore, PluginRegistry, corePlugins } from '@plumline/core';
import { closeServerNow } from '@plumline/core/util';
import { sinkContract } from '@plumline/core/testing';
import { webhookSink } from './webhook-sink.js';

/** A receiver scripted per request: answers from `script` in turn (then 200), and keeps what it accepted. */
class Receiver {
  server: Server | undefined;
  received = new Map<string, string[]>();
  script: number[] = [];
  requests = 0;
  async start(): Promise<string> {
    this.server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.requests++;
        const status = this.script.shift() ?? 200;
        if (status === 200) {
          const path = req.url ?? '/';
          this.received.set(path, [...(this.received.get(path) ?? []), ...(JSON.parse(body) as { id: string }[]).map((e) => e.id)]);
        }
        res.writeHead(status, status === 429 ? { 'retry-after': '0' } : {}).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }
  stop(): Promise<void> {
    return closeServerNow(this.server);
  }
}

const receiver = new Receiver();
let base = '';
let n = 0;
beforeAll(async () => {
  base = await receiver.start();
});
afterAll(() => receiver.stop());

// The engine's contracts, as any plugin author runs them.
sinkContract({
  plugin: webhookSink,
  config: () => ({ url: `${base}/contract-${++n}` }),
  readBack: async (config) => receiver.received.get(new URL(String(config.url)).pathname) ?? [],
  failingConfig: () => ({ url: 'http://127.0.0.1:1/nothing-listens', max_retries: 0 }),
});

describe('webhook sink', () => {
  it('retries 503 and 429, then delivers; a 400 fails the batch for good with WEBHOOK_REJECTED', async () => {
    const ctx = (await import('@plumline/core/testing')).testContext({ kind: 'sink' });
    const sink = await webhookSink.create(webhookSink.configSchema.parse({ url: `${base}/retry` }), ctx);
    receiver.script = [503, 429];
    await sink.write({ events: [{ id: 'r1', source: 's', kind: 'call', time: '2026-01-01T00:00:00Z', attributes: {} }], positions: [] });
    expect(receiver.received.get('/retry')).toEqual(['r1']);
    expect(ctx.telemetry.stats.retries).toBe(2);
    receiver.script = [400];
    await expect(sink.write({ events: [{ id: 'r2', source: 's', kind: 'call', time: '2026-01-01T00:00:00Z', attributes: {} }], positions: [] })).rejects.toMatchObject({ code: 'WEBHOOK_REJECTED', retriable: false });
    await sink.close();
  });

  it('dead-letters an event JSON cannot represent and posts the rest', async () => {
    const ctx = (await import('@plumline/core/testing')).testContext({ kind: 'sink' });
    const sink = await webhookSink.create(webhookSink.configSchema.parse({ url: `${base}/bigint` }), ctx);
    const ok = { id: 'b1', source: 's', kind: 'call', time: '2026-01-01T00:00:00Z', attributes: {} };
    const result = await sink.write({ events: [ok, { ...ok, id: 'b2', attributes: { n: 1n } }, { ...ok, id: 'b3' }], positions: [] });
    expect(result?.dead?.map((d) => [d.code, (d.record as { id: string }).id])).toEqual([['WEBHOOK_ENCODING_FAILED', 'b2']]);
    expect(receiver.received.get('/bigint')).toEqual(['b1', 'b3']);
    await sink.close();
  });

  it('is loaded from a pipeline file with use:, as a user of the published package would', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plumline-webhook-'));
    try {
      const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));
      await writeFile(
        join(dir, 'p.yaml'),
        `sources:
  gen: { type: generate, count: 250, batch_size: 50 }
sinks:
  hook:
    use: ${JSON.stringify(built)}
    type: webhook
    inputs: [gen]
    url: ${base}/pipeline
    bearer_token: \${WEBHOOK_TOKEN:-t0ken-for-tests}
`,
      );
      const p = await loadPipeline(join(dir, 'p.yaml'), { plugins: new PluginRegistry(corePlugins), once: true, logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() });
      await p.start();
      const result = await p.done;
      expect(result.stats.hook!.eventsOut).toBe(250);
      expect(receiver.received.get('/pipeline')).toHaveLength(250);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
