import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { type Pipeline } from '@plumline/core';
import { closeServerNow } from '@plumline/core/util';

/** Who reports the metrics: `service.name` (OTEL_SERVICE_NAME, default plumline), the version and the pipeline. */
export function metricsResource(o: { pipelineId?: string; version?: string } = {}): Resource {
  return defaultResource().merge(
    resourceFromAttributes({
      'service.name': process.env.OTEL_SERVICE_NAME || DEFAULT_SERVICE_NAME,
      ...(o.version ? { 'service.version': o.version } : {}),
      ...(o.pipelineId ? { 'plumline.pipeline.id': o.pipelineId } : {}),
    }),
  );
}

export const DEFAULT_SERVICE_NAME = 'plumline';

/**
 * Installs the OpenTelemetry metrics SDK with a Prometheus exporter as the global meter
 * provider. Call before the pipeline is created, so its instruments are real ones. The resource
 * is exported as Prometheus's `target_info` series.
 */
export function installPrometheus(resource: Resource = metricsResource()): PrometheusExporter {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter], resource }));
  return exporter;
}

/**
 * `plumline run --http host:port`: `/metrics` (Prometheus text, through the OpenTelemetry
 * exporter), `/healthz` (200 while the pipeline runs or ended cleanly, 503 after it failed) and
 * `/readyz` (200 once every component started and while none is failing; 503 with the reasons).
 */
export class OpsServer {
  private server: Server | undefined;
  private pipeline: Pipeline | undefined;

  constructor(private readonly exporter: PrometheusExporter) {}

  /** The pipeline to report on (health answers "starting" until it is attached). */
  attach(pipeline: Pipeline): void {
    this.pipeline = pipeline;
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
      if (path === '/healthz' || path === '/readyz') {
        const h = this.pipeline?.health();
        const ok = path === '/healthz' ? !h?.error : (h?.ready ?? false);
        const body = JSON.stringify(h ? { status: ok ? 'ok' : 'unavailable', ...h } : { status: 'starting' });
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(body);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /metrics, /healthz, /readyz\n');
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
