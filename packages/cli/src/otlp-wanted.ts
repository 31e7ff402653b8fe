export type Env = Readonly<Record<string, string | undefined>>;

/** What the standard OTEL_* variables ask for: OTLP export of metrics, of traces (each may be turned off with OTEL_*_EXPORTER=none). */
export function otlpWanted(env: Env): { metrics: boolean; traces: boolean } {
  const all = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  return {
    metrics: (all || Boolean(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)) && env.OTEL_METRICS_EXPORTER !== 'none',
    traces: (all || Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)) && env.OTEL_TRACES_EXPORTER !== 'none',
  };
}
