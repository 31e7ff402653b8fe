import { metrics, trace, type Counter, type Meter, type Tracer, type UpDownCounter, type Histogram } from '@opentelemetry/api';

export const INSTRUMENTATION_NAME = '@plumline/core';

/**
 * Per-component counters. Kept as plain numbers (cheap, readable from the pipeline handle)
 * and mirrored into OpenTelemetry instruments, which are no-ops unless the host installed an SDK.
 */
export interface ComponentStats {
  eventsIn: number;
  eventsOut: number;
  bytesOut: number;
  errors: number;
  retries: number;
  deadLettered: number;
  inFlightBatches: number;
  /** Seconds between now and the time of the newest event covered by the committed checkpoint (sources only). */
  checkpointLagSec: number;
}

export function emptyStats(): ComponentStats {
  return { eventsIn: 0, eventsOut: 0, bytesOut: 0, errors: 0, retries: 0, deadLettered: 0, inFlightBatches: 0, checkpointLagSec: 0 };
}

interface Instruments {
  eventsIn: Counter;
  eventsOut: Counter;
  bytesOut: Counter;
  errors: Counter;
  retries: Counter;
  deadLettered: Counter;
  inFlight: UpDownCounter;
  requestDuration: Histogram;
  checkpointLag: Histogram;
}

let instruments: Instruments | undefined;

function getInstruments(meter: Meter): Instruments {
  // Created once: the API hands back no-op instruments until an SDK is registered, and the
  // SDK's global meter provider is registered before pipelines start in every supported setup.
  return (instruments ??= {
    eventsIn: meter.createCounter('plumline.component.events_in', { description: 'Events received by a component' }),
    eventsOut: meter.createCounter('plumline.component.events_out', { description: 'Events emitted or written by a component' }),
    bytesOut: meter.createCounter('plumline.component.bytes_out', { description: 'Bytes written by a sink', unit: 'By' }),
    errors: meter.createCounter('plumline.component.errors', { description: 'Errors raised by a component' }),
    retries: meter.createCounter('plumline.component.retries', { description: 'Retried operations' }),
    deadLettered: meter.createCounter('plumline.component.dead_lettered', { description: 'Records sent to the dead-letter output' }),
    inFlight: meter.createUpDownCounter('plumline.component.in_flight_batches', { description: 'Batches emitted and not yet acknowledged' }),
    requestDuration: meter.createHistogram('plumline.source.request_duration', { description: 'Source request latency', unit: 's' }),
    checkpointLag: meter.createHistogram('plumline.source.checkpoint_lag', { description: 'Age of the newest event covered by a committed checkpoint', unit: 's' }),
  });
}

/** Counts for one component; every method updates both the plain stats and the OTel instruments. */
export class ComponentTelemetry {
  readonly stats: ComponentStats = emptyStats();
  readonly meter: Meter;
  readonly tracer: Tracer;
  private readonly attrs: { component: string; component_type: string; component_kind: string };
  private readonly inst: Instruments;

  constructor(readonly componentId: string, componentType: string, componentKind: 'source' | 'transform' | 'sink') {
    this.meter = metrics.getMeter(INSTRUMENTATION_NAME);
    this.tracer = trace.getTracer(INSTRUMENTATION_NAME);
    this.attrs = { component: componentId, component_type: componentType, component_kind: componentKind };
    this.inst = getInstruments(this.meter);
  }

  eventsIn(n: number): void {
    if (n === 0) return;
    this.stats.eventsIn += n;
    this.inst.eventsIn.add(n, this.attrs);
  }
  eventsOut(n: number): void {
    if (n === 0) return;
    this.stats.eventsOut += n;
    this.inst.eventsOut.add(n, this.attrs);
  }
  bytesOut(n: number): void {
    this.stats.bytesOut += n;
    this.inst.bytesOut.add(n, this.attrs);
  }
  error(): void {
    this.stats.errors++;
    this.inst.errors.add(1, this.attrs);
  }
  retry(): void {
    this.stats.retries++;
    this.inst.retries.add(1, this.attrs);
  }
  deadLettered(n: number): void {
    this.stats.deadLettered += n;
    this.inst.deadLettered.add(n, this.attrs);
  }
  inFlight(delta: number): void {
    this.stats.inFlightBatches += delta;
    this.inst.inFlight.add(delta, this.attrs);
  }
  /** Recorded at each checkpoint commit: now minus the time of the newest event the checkpoint covers. */
  checkpointLag(seconds: number): void {
    this.stats.checkpointLagSec = seconds;
    this.inst.checkpointLag.record(seconds, this.attrs);
  }
  requestDuration(seconds: number, attributes: Record<string, string | number> = {}): void {
    this.inst.requestDuration.record(seconds, { ...this.attrs, ...attributes });
  }
}
