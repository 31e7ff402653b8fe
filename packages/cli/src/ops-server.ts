import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { type Pipeline } from '@plumline/core';
import { closeServerNow } from '@plumline/core/util';
import { metricsResource, Observability } from './observability.js';
import { serveTap } from './tap-endpoint.js';

/** The Prometheus exporter alone as the global meter provider (tests and embedders); `plumline run` uses {@link Observability}. */
export function installPrometheus(resource: Resource = metricsResource()): PrometheusExporter {
  return new Observability({ prometheus: true, otlp: { metrics: false, traces: false }, resource }).prometheus!;
}

/**
 * `plumline run --http host:port`: `/metrics` (Prometheus text, through the OpenTelemetry
 * exporter), `/healthz` (200 while the pipeline runs or ended cleanly, 503 after it failed),
 * `/readyz` (200 once every component started and while none is failing; 503 with the reasons)
 * and `/tap/<component>` (a sample of what it emits, NDJSON: serveTap).
 */
export class OpsServer {
  private server: Server | undefined;
  private pipeline: Pipeline | undefined;

  constructor(private readonly exporter: PrometheusExporter) {}

  private redact: (text: string) => string = (t) => t;

  /** The pipeline to report on (health answers "starting" until it is attached); `redact` cleans what /tap sends. */
  attach(pipeline: Pipeline, redact?: (text: string) => string): void {
    this.pipeline = pipeline;
    if (redact) this.redact = redact;
  }

  async start(listen: string): Promise<string> {
    const m = /^(?:(.*):)?(\d+)$/.exec(listen);
    if (!m) throw new Error(`--http expects host:port (e.g. 127.0.0.1:9464), got "${listen}"`);
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      if (path === '/metrics') return this.exporter.getMetricsRequestHandler(req, res);
      if (path?.startsWith('/tap/')) return serveTap(req, res, this.pipeline, this.redact);
      if (path === '/healthz' || path === '/readyz') {
        const h = this.pipeline?.health();
        const ok = path === '/healthz' ? !h?.error : (h?.ready ?? false);
        const body = JSON.stringify(h ? { status: ok ? 'ok' : 'unavailable', ...h } : { status: 'starting' });
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(body);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /metrics, /healthz, /readyz, /tap/<component>\n');
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(Number(m[2]), m[1] || '127.0.0.1', resolve);
    });
    const a = this.server.address() as AddressInfo;
    return `http://${a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServerNow(s);
  }
}
