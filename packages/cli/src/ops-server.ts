import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { type Pipeline } from '@plumline/core';
import { OpsHandler } from '@plumline/core/host';
import { closeServerNow } from '@plumline/core/util';
import { metricsResource, Observability } from './observability.js';

/** The Prometheus exporter alone as the global meter provider (tests and embedders); `plumline run` uses {@link Observability}. */
export function installPrometheus(resource: Resource = metricsResource()): PrometheusExporter {
  return new Observability({ prometheus: true, otlp: { metrics: false, traces: false }, resource }).prometheus!;
}

/**
 * `plumline run --http host:port`: core's {@link OpsHandler} (`/metrics` through the
 * OpenTelemetry Prometheus exporter, `/healthz`, `/readyz`, `/status`, `/tap/<component>` and the
 * web view `/ui/`) on a server of its own.
 */
export class OpsServer {
  private server: Server | undefined;
  private readonly handler: OpsHandler;
  private redact: (text: string) => string = (t) => t;

  constructor(exporter: PrometheusExporter, version?: string) {
    this.handler = new OpsHandler({ metrics: exporter.getMetricsRequestHandler.bind(exporter), redact: (t) => this.redact(t), ...(version ? { version } : {}) });
  }

  /** The pipeline to report on (health answers "starting" until it is attached); `redact` cleans what the endpoints send. */
  attach(pipeline: Pipeline, redact?: (text: string) => string): void {
    if (redact) this.redact = redact;
    this.handler.attach(pipeline);
  }

  async start(listen: string): Promise<string> {
    const m = /^(?:(.*):)?(\d+)$/.exec(listen);
    if (!m) throw new Error(`--http expects host:port (e.g. 127.0.0.1:9464), got "${listen}"`);
    this.server = createServer((req, res) => {
      if (!this.handler.handle(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /metrics, /healthz, /readyz, /status, /tap/<component>, /ui/\n');
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(Number(m[2]), m[1] || '127.0.0.1', resolve);
    });
    const a = this.server.address() as AddressInfo;
    return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    this.handler.close();
    const s = this.server;
    this.server = undefined;
    await closeServerNow(s);
  }
}
