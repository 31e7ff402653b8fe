import { metrics, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { withoutRemovedTenants } from '@plumline/core/host';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export const DEFAULT_SERVICE_NAME = 'plumline';
/** How often metrics are pushed over OTLP when OTEL_METRIC_EXPORT_INTERVAL does not say (the SDK's default). */
export const DEFAULT_METRIC_EXPORT_INTERVAL_MS = 60_000;
/** Shutting down (the last export of metrics and spans) gives up after this: a collector that is down must not hold the exit. */
export const SHUTDOWN_TIMEOUT_MS = 5_000;

import type { Env } from './otlp-wanted.js';
import { systemClock, type Timer } from '@plumline/core/util';

/** Who reports: `service.name` (OTEL_SERVICE_NAME, default plumline), the version and the pipeline; OTEL_RESOURCE_ATTRIBUTES adds more. */
export function metricsResource(o: { pipelineId?: string; version?: string } = {}, env: Env = process.env): Resource {
  const extra = Object.fromEntries(
    (env.OTEL_RESOURCE_ATTRIBUTES ?? '')
      .split(',')
      .map((kv) => kv.split('=').map((s) => decodeURIComponent(s.trim())))
      .filter((kv): kv is [string, string] => kv.length === 2 && kv[0] !== ''),
  );
  return defaultResource().merge(
    resourceFromAttributes({
      ...extra,
      'service.name': env.OTEL_SERVICE_NAME || DEFAULT_SERVICE_NAME,
      ...(o.version ? { 'service.version': o.version } : {}),
      ...(o.pipelineId ? { 'plumline.pipeline.id': o.pipelineId } : {}),
    }),
  );
}

/** The Prometheus exporter without the series of accounts removed from their source (see withoutRemovedTenants). */
class TenantsPrometheusExporter extends PrometheusExporter {
  override async collect(options?: Parameters<PrometheusExporter['collect']>[0]): ReturnType<PrometheusExporter['collect']> {
    const r = await super.collect(options);
    return { ...r, resourceMetrics: withoutRemovedTenants(r.resourceMetrics) };
  }
}

/**
 * The OpenTelemetry SDK for `plumline run`: the global meter provider with a Prometheus reader
 * (for --http) and/or an OTLP/HTTP (JSON) push reader, and the global tracer provider exporting
 * spans over OTLP — each configured by the standard OTEL_EXPORTER_OTLP_* variables. Install it
 * before the pipeline is created, so its instruments are real ones; `shutdown` exports what is
 * left (call it once the pipeline ended).
 */
export class Observability {
  readonly prometheus: PrometheusExporter | undefined;
  private readonly meterProvider: MeterProvider;
  private readonly tracerProvider: BasicTracerProvider | undefined;
  private closed: Promise<void> | undefined;

  constructor(o: { prometheus: boolean; otlp: { metrics: boolean; traces: boolean }; resource: Resource; env?: Env }) {
    const env = o.env ?? process.env;
    const readers: MetricReader[] = [];
    if (o.prometheus) readers.push((this.prometheus = new TenantsPrometheusExporter({ preventServerStart: true, withoutScopeInfo: true })));
    if (o.otlp.metrics) {
      const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL) || DEFAULT_METRIC_EXPORT_INTERVAL_MS;
      const otlp = new OTLPMetricExporter();
      // A removed account's series are not pushed either (the SDK keeps every attribute set it saw).
      const exporter: PushMetricExporter = {
        export: (metrics, done) => otlp.export(withoutRemovedTenants(metrics), done),
        forceFlush: () => otlp.forceFlush(),
        shutdown: () => otlp.shutdown(),
        selectAggregationTemporality: (type) => otlp.selectAggregationTemporality(type),
      };
      readers.push(new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: interval, exportTimeoutMillis: Math.min(interval, 30_000) }));
    }
    this.meterProvider = new MeterProvider({ readers, resource: o.resource });
    metrics.setGlobalMeterProvider(this.meterProvider);
    if (o.otlp.traces) {
      this.tracerProvider = new BasicTracerProvider({ resource: o.resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
      trace.setGlobalTracerProvider(this.tracerProvider);
    }
  }

  /** Exports the last metrics and spans and stops the exporters. Idempotent; never throws, never waits past SHUTDOWN_TIMEOUT_MS. */
  shutdown(): Promise<void> {
    return (this.closed ??= (async () => {
      let timer: Timer | undefined;
      const timeout = new Promise<void>((resolve) => (timer = systemClock.setTimeout(resolve, SHUTDOWN_TIMEOUT_MS)));
      const done = Promise.allSettled([this.meterProvider.shutdown(), this.tracerProvider?.shutdown()]);
      await Promise.race([done, timeout]);
      timer?.cancel();
    })());
  }
}
