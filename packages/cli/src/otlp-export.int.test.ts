import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { CLI_BIN } from './test-support/run-cli.js';

const EVENTS = 2_000;

/** An OTLP/HTTP receiver (a plain node:http server): every JSON body posted, by path. */
class OtlpReceiver {
  readonly bodies: { path: string; contentType: string; body: Record<string, unknown> }[] = [];
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.bodies.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

type KeyValue = { key: string; value: { stringValue?: string; intValue?: string | number } };
const attr = (attrs: KeyValue[] | undefined, key: string) => attrs?.find((a) => a.key === key)?.value;

describe('OTLP export configured by the standard OTEL_EXPORTER_OTLP_* variables (real CLI process, a plain OTLP/HTTP receiver)', () => {
  const receiver = new OtlpReceiver();
  let endpoint: string;
  let work: Awaited<ReturnType<typeof tmpDir>>;
  beforeAll(async () => {
    endpoint = await receiver.start();
    work = await tmpDir('plumline-otlp-');
  });
  afterAll(async () => {
    await receiver.close();
    await work.cleanup();
  });

  it('pushes the metrics and a span per sink write, with service.name and the pipeline id, and exports the last of them before exiting', { timeout: 60_000 }, async () => {
    await writeFile(join(work.dir, 'otlp.yaml'), `sources:\n  gen: { type: generate, count: ${EVENTS}, batch_size: 500 }\nsinks:\n  out: { type: file, inputs: [gen], path: out.ndjson }\n`);
    const { OTEL_SERVICE_NAME: _name, ...env } = process.env;
    const child = spawn(process.execPath, [CLI_BIN, 'run', 'otlp.yaml', '--once', '--log-level', 'warn'], { cwd: work.dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_METRIC_EXPORT_INTERVAL: '60000' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await new Promise((resolve) => child.on('exit', resolve)), stderr).toBe(0);

    const metrics = receiver.bodies.filter((b) => b.path === '/v1/metrics');
    const traces = receiver.bodies.filter((b) => b.path === '/v1/traces');
    // The export interval is a minute: what arrived was flushed at shutdown.
    expect(metrics.length).toBeGreaterThanOrEqual(1);
    expect(metrics[0]!.contentType).toContain('application/json');
    type ResourceMetrics = { resource: { attributes: KeyValue[] }; scopeMetrics: { metrics: { name: string; sum?: { dataPoints: { attributes: KeyValue[]; asInt?: string | number; asDouble?: number }[] } }[] }[] };
    const rm = (metrics.at(-1)!.body.resourceMetrics as ResourceMetrics[])[0]!;
    expect(attr(rm.resource.attributes, 'service.name')?.stringValue).toBe('plumline');
    expect(attr(rm.resource.attributes, 'plumline.pipeline.id')?.stringValue).toBe('otlp');
    const eventsOut = rm.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.name === 'plumline.component.events_out');
    const point = (component: string) => {
      const p = eventsOut?.sum?.dataPoints.find((d) => attr(d.attributes, 'component')?.stringValue === component);
      return Number(p?.asInt ?? p?.asDouble);
    };
    expect(point('gen')).toBe(EVENTS);
    expect(point('out')).toBe(EVENTS);

    type ResourceSpans = { resource: { attributes: KeyValue[] }; scopeSpans: { spans: { name: string; attributes: KeyValue[] }[] }[] };
    const spans = traces.flatMap((t) => t.body.resourceSpans as ResourceSpans[]);
    expect(spans.length).toBeGreaterThanOrEqual(1);
    expect(attr(spans[0]!.resource.attributes, 'service.name')?.stringValue).toBe('plumline');
    const writes = spans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).filter((s) => s.name === 'out write');
    expect(writes.reduce((n, s) => n + Number(attr(s.attributes, 'plumline.events')?.intValue), 0)).toBe(EVENTS);
  });
});
