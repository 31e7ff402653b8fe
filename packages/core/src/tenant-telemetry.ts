import type { Attributes, Counter, Meter, ObservableGauge } from '@opentelemetry/api';
import { systemClock, type Clock } from './util/clock.js';
import { errorNote, type ErrorNote } from './telemetry.js';

/** How many tenants the views list by name (failing, behind): the rest are counted. */
export const TENANTS_LISTED = 20;

/** One tenant as the views show it. */
export interface TenantNote {
  account: string;
  /** `ok`; `backoff` (failed, tried again at `nextAttemptMs`); `failed` (given up: a bounded run). */
  state: 'ok' | 'backoff' | 'failed';
  /** The error that set it aside, while it is. */
  error?: ErrorNote;
  /** When it was set aside (epoch ms). */
  sinceMs?: number;
  nextAttemptMs?: number;
  /** When it last read a whole poll to the end (epoch ms). */
  lastPollMs?: number;
  /** Seconds between now and the end of the last range it read fully (the vendor's records up to there are out). */
  lagSec?: number;
}

/** The tenants of a source of many accounts, as `/status`, `/readyz` and `plumline top` show them. */
export interface TenantsView {
  total: number;
  failingCount: number;
  /** The failing tenants, longest failing first, at most {@link TENANTS_LISTED}. */
  failing: TenantNote[];
  /** The tenants furthest behind (largest lag), at most {@link TENANTS_LISTED}, those more than `behindSec` behind. */
  behind: TenantNote[];
  behindCount: number;
}

interface Tenant {
  account: string;
  state: TenantNote['state'];
  error?: ErrorNote;
  sinceMs?: number;
  nextAttemptMs?: number;
  lastPollMs?: number;
  /** End (epoch ms) of the last range fully read. */
  caughtUpToMs?: number;
  /** When it was added (epoch ms): its lag counts from here until its first poll reads to the end. */
  addedMs: number;
}

/** What one tenant reports (see {@link TenantBook.tenant}). */
export interface TenantTelemetry {
  events(n: number): void;
  retry(error?: unknown): void;
  /** A poll read everything up to `rangeEndMs` (epoch ms). */
  polled(rangeEndMs: number): void;
  /** Set aside after `error`: `nextAttemptMs` when it is tried again, undefined when it is not (a bounded run). */
  failed(error: unknown, nextAttemptMs: number | undefined): void;
  /** Read again after being set aside (or after retrying). */
  recovered(): void;
  /** Its reads fail and are retried (an outage): shown failing (`backoff`) until `recovered`. */
  retrying(): void;
}

export interface TenantInstruments {
  events: Counter;
  errors: Counter;
  retries: Counter;
  lastPoll: ObservableGauge;
  lag: ObservableGauge;
}

const byMeter = new WeakMap<Meter, TenantInstruments>();
const books = new Set<TenantBook>();

function instruments(meter: Meter): TenantInstruments {
  let found = byMeter.get(meter);
  if (found) return found;
  const lastPoll = meter.createObservableGauge('plumline.tenant.last_poll_timestamp_seconds', { description: 'When a tenant last read a whole poll (UNIX seconds)', unit: 's' });
  const lag = meter.createObservableGauge('plumline.tenant.lag_seconds', { description: 'Now minus the end of the last range a tenant read fully', unit: 's' });
  lastPoll.addCallback((r) => {
    for (const b of books) b.observe((t, attrs) => t.lastPollMs !== undefined && r.observe(t.lastPollMs / 1000, attrs), 'min');
  });
  lag.addCallback((r) => {
    for (const b of books) {
      const now = b.clock.now();
      // From the add on (0 then): before its first poll read to the end, the time it has waited.
      b.observe((t, attrs) => r.observe(Math.max(0, (now - (t.caughtUpToMs ?? t.addedMs)) / 1000), attrs), 'lag');
    }
  });
  found = {
    events: meter.createCounter('plumline.tenant.events', { description: 'Events read per tenant (account)' }),
    errors: meter.createCounter('plumline.tenant.errors', { description: 'Times a tenant was set aside after an error' }),
    retries: meter.createCounter('plumline.tenant.retries', { description: 'Retried requests and ranges per tenant' }),
    lastPoll,
    lag,
  };
  byMeter.set(meter, found);
  return found;
}

/** What {@link withoutRemovedTenants} reads of collected metrics (the SDK's ResourceMetrics, which core does not depend on). */
export interface CollectedMetrics {
  scopeMetrics: { metrics: { descriptor: { name: string }; dataPoints: { attributes: Attributes }[] }[] }[];
}

/**
 * Collected metrics without the series of tenants removed from their source: the SDK keeps
 * every attribute set it saw, and a removed account's `plumline.tenant.*` series would be
 * exported for ever. Exporters (Prometheus, OTLP) pass what they collect through this.
 */
export function withoutRemovedTenants<T extends CollectedMetrics>(collected: T): T {
  if (books.size === 0) return collected;
  const removed = (attrs: Attributes): boolean => {
    for (const b of books) if (b.removed(attrs)) return true;
    return false;
  };
  return {
    ...collected,
    scopeMetrics: collected.scopeMetrics.map((s) => ({
      ...s,
      metrics: s.metrics.map((m) => (m.descriptor.name.startsWith('plumline.tenant.') ? { ...m, dataPoints: m.dataPoints.filter((p) => !removed(p.attributes)) } : m)),
    })),
  };
}

/**
 * The tenants of one source (its accounts): per-tenant state for the views and metrics labelled
 * `account` (or, with `accountLabel: false`, one series per source, for operators who must bound
 * label cardinality: counters summed, last poll the oldest, lag the largest). Memory: one small
 * record per tenant.
 */
export class TenantBook {
  private readonly tenants = new Map<string, Tenant>();
  private readonly inst: TenantInstruments;

  constructor(
    meter: Meter,
    private readonly attributes: Attributes,
    private readonly accountLabel: boolean,
    /** A tenant further behind than this is listed as behind. */
    private readonly behindSec: number,
    /** Where poll times, failure times and lag read the time. */
    readonly clock: Clock = systemClock,
  ) {
    this.inst = instruments(meter);
    books.add(this);
  }

  dispose(): void {
    books.delete(this);
  }

  private attrs(account: string): Attributes {
    return this.accountLabel ? { ...this.attributes, account } : this.attributes;
  }

  /** The tenant `account`'s reporter; a tenant no longer read is `forget`-ed. */
  tenant(account: string): TenantTelemetry {
    const t: Tenant = this.tenants.get(account) ?? { account, state: 'ok', addedMs: this.clock.now() };
    this.tenants.set(account, t);
    const attrs = this.attrs(account);
    // Every series from the add on, at 0: an alert on a tenant's retries needs it before the first one.
    this.inst.events.add(0, attrs);
    this.inst.errors.add(0, attrs);
    this.inst.retries.add(0, attrs);
    return {
      events: (n) => n > 0 && this.inst.events.add(n, attrs),
      retry: (error) => {
        this.inst.retries.add(1, attrs);
        if (error !== undefined) t.error = errorNote(error, true, this.clock.now());
      },
      polled: (rangeEndMs) => {
        t.lastPollMs = this.clock.now();
        t.caughtUpToMs = rangeEndMs;
      },
      failed: (error, nextAttemptMs) => {
        this.inst.errors.add(1, attrs);
        t.sinceMs ??= this.clock.now();
        t.state = nextAttemptMs === undefined ? 'failed' : 'backoff';
        t.error = errorNote(error, nextAttemptMs !== undefined, this.clock.now());
        t.nextAttemptMs = nextAttemptMs;
      },
      retrying: () => {
        if (t.state === 'ok') t.sinceMs = this.clock.now();
        t.state = 'backoff';
      },
      recovered: () => {
        t.state = 'ok';
        t.error = t.sinceMs = t.nextAttemptMs = undefined;
      },
    };
  }

  /** The tenant is no longer read (removed from the accounts): gone from the views, and its series from the exports (see {@link withoutRemovedTenants}). */
  forget(account: string): void {
    this.tenants.delete(account);
  }

  /** The accounts file's latest version was refused (why), until one is applied (`undefined`): readiness shows it, the running accounts go on. */
  refusedFile(message: string | undefined): void {
    this.accountsFileRefused = message;
  }

  /** Why the accounts file's latest version was refused, while it is. */
  accountsFileRefused: string | undefined;

  /** Whether a data point with `attributes` is of a tenant of this book's source that it no longer has. */
  removed(attributes: Attributes): boolean {
    const account = attributes.account;
    return this.accountLabel && attributes.component === this.attributes.component && typeof account === 'string' && !this.tenants.has(account);
  }

  /** Tenants failing now (backoff or given up), by name. */
  failingTenants(): TenantNote[] {
    const out: TenantNote[] = [];
    for (const t of this.tenants.values()) if (t.state !== 'ok') out.push(this.note(t, this.clock.now()));
    return out.sort((a, b) => (a.sinceMs ?? 0) - (b.sinceMs ?? 0));
  }

  get size(): number {
    return this.tenants.size;
  }

  view(nowMs = this.clock.now()): TenantsView {
    const failing = this.failingTenants();
    const behind: TenantNote[] = [];
    for (const t of this.tenants.values()) {
      const lag = t.caughtUpToMs === undefined ? undefined : (nowMs - t.caughtUpToMs) / 1000;
      if (lag !== undefined && lag > this.behindSec) behind.push(this.note(t, nowMs));
    }
    behind.sort((a, b) => (b.lagSec ?? 0) - (a.lagSec ?? 0));
    return { total: this.tenants.size, failingCount: failing.length, failing: failing.slice(0, TENANTS_LISTED), behind: behind.slice(0, TENANTS_LISTED), behindCount: behind.length };
  }

  private note(t: Tenant, nowMs: number): TenantNote {
    return {
      account: t.account,
      state: t.state,
      ...(t.error && t.state !== 'ok' ? { error: t.error } : {}),
      ...(t.sinceMs !== undefined ? { sinceMs: t.sinceMs } : {}),
      ...(t.nextAttemptMs !== undefined ? { nextAttemptMs: t.nextAttemptMs } : {}),
      ...(t.lastPollMs !== undefined ? { lastPollMs: t.lastPollMs } : {}),
      ...(t.caughtUpToMs !== undefined ? { lagSec: Math.max(0, Math.round((nowMs - t.caughtUpToMs) / 1000)) } : {}),
    };
  }

  /** Gauges: per tenant, or (without the label) the one value that matters most per source. */
  observe(each: (t: Tenant, attrs: Attributes) => void, without: 'min' | 'lag'): void {
    if (this.accountLabel) {
      for (const t of this.tenants.values()) each(t, { ...this.attributes, account: t.account });
      return;
    }
    let pick: Tenant | undefined;
    for (const t of this.tenants.values()) {
      const v = without === 'min' ? t.lastPollMs : t.caughtUpToMs;
      const p = pick && (without === 'min' ? pick.lastPollMs : pick.caughtUpToMs);
      if (v !== undefined && (p === undefined || v < p)) pick = t;
    }
    if (pick) each(pick, this.attributes);
  }
}
