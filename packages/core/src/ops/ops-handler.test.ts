import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { corePlugins, createLogger, createPipeline, defineSink, defineSource, PipelineError, PluginRegistry, z, type Pipeline } from '../index.js';
import { MemoryStateStore } from '../testing/index.js';
import { summarizeCheckpoint } from './checkpoint-summary.js';
import { OpsHandler } from './ops-handler.js';
import type { StatusDocument } from './status-document.js';

const logger = createLogger({ level: 'silent' });
const SECRET = 'tok-3b1f-known-secret';

/** A sink that fails its first write with a retriable error (which the runtime retries), then takes everything. */
const flaky = defineSink({
  type: 'flaky',
  description: 'fails once',
  configSchema: z.strictObject({}),
  create: () => {
    let failed = false;
    return {
      async write() {
        if (!failed) {
          failed = true;
          throw new PipelineError('FLAKY_DOWN', `the receiver is down (token ${SECRET})`, { retriable: true });
        }
      },
      async close() {},
    };
  },
});

/** A source of 5 pages of 10 events, each page with one record refused into the dead letters. */
const withDead = defineSource({
  type: 'with_dead',
  description: 'emits dead letters',
  configSchema: z.strictObject({}),
  create: () => ({
    bounded: true,
    async *read(cp: { page: number } | undefined) {
      for (let page = (cp?.page ?? 0) + 1; page <= 5; page++) {
        const events = Array.from({ length: 10 }, (_, i) => ({ id: `e${page}-${i}`, source: 'w', kind: 'call', time: new Date(Date.UTC(2026, 0, 1, 0, page, i)).toISOString(), attributes: {} }));
        yield { events, dead: [{ code: 'WITH_DEAD_BAD', reason: `page ${page} had a bad line`, record: `line ${page}` }], checkpoint: { page, accounts: Object.fromEntries(Array.from({ length: 1000 }, (_, a) => [`acct-${a}`, { cursor: page }])) } };
      }
    },
  }),
});

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** The handler mounted under /ops in a host's own server, which answers everything else itself. */
async function host(handler: OpsHandler): Promise<string> {
  server = createServer((req, res) => handler.handle(req, res) || res.writeHead(200, { 'content-type': 'text/plain' }).end('the host app\n'));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function pipeline(): Promise<Pipeline> {
  return createPipeline(
    {
      id: 'ops-test',
      runtime: { commit_interval: '50ms' },
      sources: { w: { type: 'with_dead' } },
      transforms: { u: { type: 'dedupe', inputs: ['w'] }, r: { type: 'route', inputs: ['u'], routes: { calls: { kind: 'call' } } } },
      sinks: { out: { type: 'flaky', inputs: ['r.calls'] }, rest: { type: 'blackhole', inputs: ['r._unmatched'] } },
    },
    { plugins: new PluginRegistry([...corePlugins, flaky, withDead]), logger, once: true, stateStore: new MemoryStateStore() },
  );
}

describe('OpsHandler: the ops endpoints mounted in a host server', () => {
  it('answers its own paths under its prefix and leaves the rest to the host; before a pipeline is attached the probes say starting', async () => {
    const base = await host(new OpsHandler({ prefix: '/ops/' }));
    expect(await (await fetch(`${base}/`)).text()).toBe('the host app\n');
    expect(await (await fetch(`${base}/status`)).text()).toBe('the host app\n');
    expect(await (await fetch(`${base}/opsy`)).text()).toBe('the host app\n');
    const ready = await fetch(`${base}/ops/readyz`);
    expect([ready.status, await ready.json()]).toEqual([503, { status: 'starting' }]);
    expect((await fetch(`${base}/ops/status`)).status).toBe(503);
    const metrics = await fetch(`${base}/ops/metrics`);
    expect([metrics.status, await metrics.text()]).toEqual([404, 'no metrics here: give OpsHandler a `metrics` handler (a Prometheus exporter)\n']);
    const ui = await fetch(`${base}/ops/ui`, { redirect: 'manual' });
    expect([ui.status, ui.headers.get('location')]).toEqual([302, '/ops/ui/']);
    const page = await fetch(`${base}/ops/ui/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
    expect((await fetch(`${base}/ops/ui/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${base}/ops/ui/nope.js`)).status).toBe(404);
    for (const method of ['POST', 'PUT', 'DELETE']) expect((await fetch(`${base}/ops/status`, { method })).status).toBe(405);
  });

  it('/status: the graph in graph order, counters, what dedupe holds, each component\'s last error with its code, dead letters and the committed checkpoint, summarized and redacted', async () => {
    const p = await pipeline();
    const handler = new OpsHandler({ prefix: '/ops', version: '9.9.9', redact: (t) => t.replaceAll(SECRET, '[redacted]'), metrics: (_req, res) => res.end('# metrics\n') });
    handler.attach(p);
    const base = await host(handler);
    await p.start();
    await p.done;
    expect(await (await fetch(`${base}/ops/metrics`)).text()).toBe('# metrics\n');
    const doc = (await (await fetch(`${base}/ops/status`)).json()) as StatusDocument;
    expect(doc.pipeline).toBe('ops-test');
    expect(doc.version).toBe('9.9.9');
    expect(doc.components.map((c) => [c.id, c.kind, c.type, c.inputs.join()])).toEqual([
      ['w', 'source', 'with_dead', ''],
      ['u', 'transform', 'dedupe', 'w'],
      ['r', 'transform', 'route', 'u'],
      ['out', 'sink', 'flaky', 'r.calls'],
      ['rest', 'sink', 'blackhole', 'r._unmatched'],
    ]);
    expect(doc.components.find((c) => c.id === 'r')!.outputs).toEqual(['calls', '_unmatched']);
    expect(doc.components.find((c) => c.id === 'u')!.stats!.holding).toEqual({ keys: 50 });
    expect(doc.components.find((c) => c.id === 'out')!.stats!.eventsOut).toBe(50);
    expect(doc.errors).toEqual([expect.objectContaining({ component: 'out', code: 'FLAKY_DOWN', message: 'the receiver is down (token [redacted])', retriable: true })]);
    expect(JSON.stringify(doc)).not.toContain(SECRET);
    expect(doc.deadLetters.map((d) => [d.component, d.code, d.reason, d.record])).toEqual([5, 4, 3, 2, 1].map((n) => ['w', 'WITH_DEAD_BAD', `page ${n} had a bad line`, `"line ${n}"`]));
    const cp = doc.components[0]!.checkpoint!;
    expect(cp.seq).toBe(5);
    const position = cp.position as { page: number; accounts: Record<string, unknown> };
    expect(position.page).toBe(5);
    expect(Object.keys(position.accounts)).toHaveLength(13);
    expect(position.accounts['…']).toBe('988 more');
    expect(JSON.stringify(doc).length).toBeLessThan(10_000);
  });

  it('committed$: every stored set of checkpoints, the last one again for a late subscriber, completed at the end', async () => {
    const p = await pipeline();
    const all = lastValueFrom(p.committed$.pipe(toArray()));
    await p.start();
    await p.done;
    const seen = await all;
    expect(seen[0]!.checkpoints).toEqual({});
    expect(seen.at(-1)!.checkpoints.w!.seq).toBe(5);
    expect(seen.map((c) => c.checkpoints.w?.seq ?? 0)).toEqual([...seen.map((c) => c.checkpoints.w?.seq ?? 0)].sort((a, b) => a - b));
    expect((await firstValueFrom(p.committed$)).checkpoints.w!.seq).toBe(5);
  });
});

describe('summarizeCheckpoint', () => {
  it('keeps a checkpoint readable and bounded: first keys, counts of the rest, delivered ids counted, long strings cut', () => {
    expect(summarizeCheckpoint({ calls: 1_796_000_000, '@seen': { calls: [[1, 'a', 'b'], [2, 'c']] }, list: [1, 2, 3, 4, 5], deep: { a: { b: { c: { d: 1 } } } }, text: 'x'.repeat(200) })).toEqual({
      calls: 1_796_000_000,
      '@seen': { calls: '3 ids' },
      list: [1, 2, 3, '…2 more'],
      deep: { a: { b: '{1 keys}' } },
      text: `${'x'.repeat(120)}…`,
    });
  });
});
