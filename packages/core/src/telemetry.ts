import { systemClock, type Clock } from './util/clock.js';
import { TenantBook, type TenantNote, type TenantsView } from './tenant-telemetry.js';
import { isSpanContextValid, metrics, SpanKind, SpanStatusCode, trace, type Counter, type Span, type Meter, type Tracer, type UpDownCounter, type Histogram, type ObservableGauge } from '@opentelemetry/api';

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
  /** Sources that know their range: units (windows, pages, ranges) done of the total. */
  progress?: { done: number; total: number; unit: string };
  /** Sources that know what waits for them: records not read yet, per partition (a Kafka partition's lag). */
  backlog?: Record<string, number>;
  /** What an operator keeps between batches, by what it is: `{ keys }` (dedupe), `{ events }` (correlate). */
  holding?: Record<string, number>;
  /** Polling sources between polls: when the next poll starts (epoch milliseconds). */
  nextPollAtMs?: number;
  /** The last error this component raised or retried (the web view and `/status` show it). */
  lastError?: ErrorNote;
  /** A source of many accounts: its tenants, the failing and the furthest behind by name. */
  tenants?: TenantsView;
}

/** An error as the ops views show it: when, its stable code (when it has one), its message, whether it is retried. */
export interface ErrorNote {
  /** Epoch milliseconds. */
  atMs: number;
  code?: string;
  message: string;
  retriable: boolean;
}

/** The most of an error message kept for the views: a stack or a whole response body is not a status line. */
const ERROR_NOTE_MAX_CHARS = 500;

/** What the views keep of `error`: its code, the start of its message, whether it will be retried. */
export function errorNote(error: unknown, retriable: boolean, atMs = systemClock.now()): ErrorNote {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return { atMs, ...(typeof e?.code === 'string' ? { code: e.code } : {}), message: message.length > ERROR_NOTE_MAX_CHARS ? `${message.slice(0, ERROR_NOTE_MAX_CHARS)}…` : message, retriable };
}

/** Whether a component works right now, for readiness. */
export interface ComponentHealth {
  ok: boolean;
  /** Why not, when not. */
  reason?: string;
  /** A source of many accounts: the tenants set aside (failing) now, by name (at most 20) — the component stays ready while some tenant is not failing. */
  failingTenants?: string[];
  /** A source of many accounts whose `accounts_file` changed to a version that does not validate: why (located). It stays ready: the accounts it had are read on. */
  accountsFile?: string;
}

/** Buckets of the request-duration histogram, in seconds: HTTP calls take milliseconds to tens of seconds. */
export const REQUEST_DURATION_BUCKETS_SEC = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

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
  checkpointLag: ObservableGauge;
  backlog: ObservableGauge;
}

/** Components alive now, for the observable gauges. */
const live = new Set<ComponentTelemetry>();
/** One set of instruments per meter: the API hands out no-op meters until an SDK is registered, then real ones. */
const instrumentsByMeter = new WeakMap<Meter, Instruments>();

function getInstruments(meter: Meter): Instruments {
  let found = instrumentsByMeter.get(meter);
  if (found) return found;
  const checkpointLag = meter.createObservableGauge('plumline.component.checkpoint_lag_seconds', { description: 'Age of the newest event covered by the committed checkpoint (sources)', unit: 's' });
  checkpointLag.addCallback((result) => {
    for (const t of live) if (t.kind === 'source') result.observe(t.stats.checkpointLagSec, t.attributes);
  });
  const backlog = meter.createObservableGauge('plumline.source.backlog_records', { description: 'Records waiting to be read, per partition (a Kafka source\'s lag)' });
  backlog.addCallback((result) => {
    for (const t of live) for (const [partition, n] of Object.entries(t.stats.backlog ?? {})) result.observe(n, { ...t.attributes, partition });
  });
  found = {
    eventsIn: meter.createCounter('plumline.component.events_in', { description: 'Events received by a component' }),
    eventsOut: meter.createCounter('plumline.component.events_out', { description: 'Events emitted or written by a component' }),
    bytesOut: meter.createCounter('plumline.component.bytes_out', { description: 'Bytes written by a sink', unit: 'By' }),
    errors: meter.createCounter('plumline.component.errors', { description: 'Errors raised by a component' }),
    retries: meter.createCounter('plumline.component.retries', { description: 'Retried operations' }),
    deadLettered: meter.createCounter('plumline.component.dead_lettered', { description: 'Records sent to the dead-letter output' }),
    inFlight: meter.createUpDownCounter('plumline.component.in_flight_batches', { description: 'Batches emitted and not yet acknowledged' }),
    requestDuration: meter.createHistogram('plumline.source.request_duration_seconds', { description: 'Source request latency', unit: 's', advice: { explicitBucketBoundaries: REQUEST_DURATION_BUCKETS_SEC } }),
    checkpointLag,
    backlog,
  };
  instrumentsByMeter.set(meter, found);
  return found;
}

/**
 * What a plugin counts through `ctx.telemetry`: only what it alone knows. The runtime counts
 * events in and out, errors, dead letters, in-flight batches and checkpoint lag itself, so a
 * plugin cannot count them twice.
 */
export interface PluginTelemetry {
  /** The component's counters so far, read-only. */
  readonly stats: Readonly<ComponentStats>;
  /** Bytes a sink wrote to its destination. */
  bytesOut(n: number): void;
  /** One more attempt at something that failed and is tried again (a request, a range); given the error, the views show it as the component's last error. */
  retry(error?: unknown): void;
  /** The component fails for a reason that may pass: not ready (`/readyz`) until `recovered()`. */
  failing(reason: string): void;
  /** The reason given to `failing` passed. */
  recovered(): void;
  /** Progress of a bounded read, `done` of `total` `unit`s (`plumline top`, the progress bar). */
  progress(done: number, total: number, unit: string): void;
  /** Starts a client span and a latency sample for one request; call the result when it ends, with the error if it failed. */
  startRequest(name: string, attributes?: Record<string, string | number>): (error?: unknown) => void;
  /**
   * Records waiting to be read in `partition` (a Kafka partition's end offset minus the next
   * offset to read); `undefined` forgets a partition this source no longer reads. Exported as
   * `plumline_source_backlog_records{partition}` and summed per source by `plumline top`.
   */
  backlog(partition: string, records: number | undefined): void;
  /**
   * What an operator keeps between batches now, `n` of `what` (`keys`, `events`): shown by the
   * web view and `/status` (`stats.holding`), so a correlate holding events explains a quiet tap.
   */
  holding(what: string, n: number): void;
  /** A polling source sleeps until `atMs` (epoch milliseconds) before its next poll; `undefined` while it reads. */
  nextPoll(atMs: number | undefined): void;
  /**
   * A source of many accounts: its tenants' book (per-tenant metrics labelled `account` unless
   * `accountLabel` is false, `stats.tenants`, and readiness: not ready only while every tenant is failing).
   */
  tenants(options: { accountLabel: boolean; behindSec: number }): TenantBook;
}

/** Counts for one component; every method updates both the plain stats and the OTel instruments. */
export class ComponentTelemetry implements PluginTelemetry {
  readonly stats: ComponentStats = emptyStats();
  readonly meter: Meter;
  readonly tracer: Tracer;
  /** The labels of this component's metrics. */
  readonly attributes: { component: string; component_type: string; component_kind: string };
  private readonly inst: Instruments;
  private failure: string | undefined;
  /** Writes in progress (one token each, with its start time), to see one that hangs. */
  private readonly pending = new Set<{ startedMs: number }>();

  constructor(
    readonly componentId: string,
    componentType: string,
    readonly kind: 'source' | 'transform' | 'sink',
    /** Where write start times, error times and stall checks read the time. */
    private readonly clock: Clock = systemClock,
  ) {
    this.meter = metrics.getMeter(INSTRUMENTATION_NAME);
    this.tracer = trace.getTracer(INSTRUMENTATION_NAME);
    this.attributes = { component: componentId, component_type: componentType, component_kind: kind };
    this.inst = getInstruments(this.meter);
    // Every counter from the start, at 0: an alert on errors or dead letters needs the series
    // before the first one happens (Prometheus's rate() of a missing series is no data, not 0).
    for (const c of [this.inst.eventsIn, this.inst.eventsOut, this.inst.errors, this.inst.retries, this.inst.deadLettered, ...(kind === 'sink' ? [this.inst.bytesOut] : [])]) c.add(0, this.attributes);
    this.inst.inFlight.add(0, this.attributes);
    live.add(this);
  }

  /** The component left the pipeline: its gauges stop reporting. */
  dispose(): void {
    live.delete(this);
    this.book?.dispose();
  }

  private book: TenantBook | undefined;
  /** The tenants given up on (a bounded run), every one. */
  givenUpTenants(): TenantNote[] {
    return this.book ? this.book.failingTenants().filter((t) => t.state === 'failed') : [];
  }
  tenants(options: { accountLabel: boolean; behindSec: number }): TenantBook {
    if (this.book) return this.book;
    const book = (this.book = new TenantBook(this.meter, this.attributes, options.accountLabel, options.behindSec, this.clock));
    // Computed when read (`/status`, `plumline top`): the furthest behind need a pass over the tenants.
    Object.defineProperty(this.stats, 'tenants', { enumerable: true, configurable: true, get: () => book.view() });
    return book;
  }

  /** A write (or request) failed and is being retried: not healthy until one succeeds. */
  failing(reason: string): void {
    this.failure = reason;
  }
  recovered(): void {
    this.failure = undefined;
  }
  /**
   * Starts a sink write: tracked for stall detection, with a span whose W3C traceparent (when an
   * SDK records traces) can travel with the batch. Call `end` when the write settled, with its error.
   */
  startWrite(name: string, attributes: Record<string, string | number>): { traceparent: string | undefined; end(error?: unknown): void } {
    const token = { startedMs: this.clock.now() };
    this.pending.add(token);
    const span = this.tracer.startSpan(name, { attributes: { 'plumline.component': this.componentId, ...attributes } });
    const sc = span.spanContext();
    return {
      traceparent: isSpanContextValid(sc) ? `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & 1).toString(16)}` : undefined,
      end: (error) => {
        this.pending.delete(token);
        endSpan(span, error);
      },
    };
  }
  /** Failing, or a write that has taken longer than `stallMs`. */
  health(stallMs: number, now = this.clock.now()): ComponentHealth {
    if (this.failure) return { ok: false, reason: this.failure };
    let tenants: Omit<ComponentHealth, 'ok'> = {};
    if (this.book) {
      const failing = this.book.failingTenants();
      const names = failing.slice(0, 20).map((t) => `${t.account} (${t.error?.code ?? 'error'})`);
      // A refused accounts file does not make the source not ready: the accounts it had are read on (docs/design-decisions.md).
      const file = this.book.accountsFileRefused === undefined ? {} : { accountsFile: this.book.accountsFileRefused };
      // Every tenant failing: nothing is read, not ready. Some: the others are read, ready, and named.
      if (failing.length > 0 && failing.length === this.book.size) return { ok: false, reason: `every account is failing: ${names.join(', ')}${failing.length > 20 ? ` and ${failing.length - 20} more` : ''}`, failingTenants: names, ...file };
      tenants = { ...(failing.length > 0 ? { failingTenants: names } : {}), ...file };
    }
    for (const { startedMs } of this.pending) if (now - startedMs > stallMs) return { ok: false, reason: `a write has not finished for ${Math.round((now - startedMs) / 1000)} s`, ...tenants };
    return { ok: true, ...tenants };
  }
  holding(what: string, n: number): void {
    (this.stats.holding ??= {})[what] = n;
  }
  nextPoll(atMs: number | undefined): void {
    if (atMs === undefined) delete this.stats.nextPollAtMs;
    else this.stats.nextPollAtMs = atMs;
  }
  backlog(partition: string, records: number | undefined): void {
    const b = (this.stats.backlog ??= {});
    if (records === undefined) delete b[partition];
    else b[partition] = records;
  }
  /** Sources that know their range report how far they are. */
  progress(done: number, total: number, unit: string): void {
    this.stats.progress = { done, total, unit };
  }

  eventsIn(n: number): void {
    if (n === 0) return;
    this.stats.eventsIn += n;
    this.inst.eventsIn.add(n, this.attributes);
  }
  eventsOut(n: number): void {
    if (n === 0) return;
    this.stats.eventsOut += n;
    this.inst.eventsOut.add(n, this.attributes);
  }
  bytesOut(n: number): void {
    this.stats.bytesOut += n;
    this.inst.bytesOut.add(n, this.attributes);
  }
  /** An error of this component; given it, it becomes the component's last error (retriable: `true` when it will be retried). */
  error(error?: unknown, retriable = false): void {
    if (error !== undefined) this.stats.lastError = errorNote(error, retriable, this.clock.now());
    this.stats.errors++;
    this.inst.errors.add(1, this.attributes);
  }
  retry(error?: unknown): void {
    if (error !== undefined) this.stats.lastError = errorNote(error, true, this.clock.now());
    this.stats.retries++;
    this.inst.retries.add(1, this.attributes);
  }
  deadLettered(n: number): void {
    this.stats.deadLettered += n;
    this.inst.deadLettered.add(n, this.attributes);
  }
  inFlight(delta: number): void {
    this.stats.inFlightBatches += delta;
    this.inst.inFlight.add(delta, this.attributes);
  }
  /** Recorded at each checkpoint commit: now minus the time of the newest event the checkpoint covers. */
  checkpointLag(seconds: number): void {
    this.stats.checkpointLagSec = seconds;
  }
  requestDuration(seconds: number, attributes: Record<string, string | number> = {}): void {
    this.inst.requestDuration.record(seconds, { ...this.attributes, ...attributes });
  }
  /**
   * Starts a source request: a span (`name`, e.g. "plum GET sessions") and, when the returned
   * function is called, its latency in the request-duration histogram. Pass the error, if any.
   */
  startRequest(name: string, attributes: Record<string, string | number> = {}): (error?: unknown) => void {
    const started = performance.now();
    const span = this.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: { 'plumline.component': this.componentId, ...attributes } });
    return (error) => {
      this.requestDuration((performance.now() - started) / 1000, attributes);
      endSpan(span, error);
    };
  }
}

/** Ends a span, marking it failed with the error when there is one. */
function endSpan(span: Span, error: unknown): void {
  if (error !== undefined) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
  }
  span.end();
}
