import { setMaxListeners } from 'node:events';
import type { CallEvent } from '../event.js';
import type { Logger } from '../logger.js';
import type { ComponentContext, Source, SourcePage } from '../plugin.js';
import type { PluginTelemetry } from '../telemetry.js';
import type { TenantBook, TenantTelemetry } from '../tenant-telemetry.js';
import { backoffDelayMs, type BackoffPolicy } from '../util/backoff.js';
import { systemClock, type Clock } from '../util/clock.js';

/**
 * The checkpoint of a source over many accounts: each account's own checkpoint, by account name.
 * Pages carry `checkpointKey` (the account), so the runtime merges one account's position at a
 * time and a store writes only the accounts that moved. A removed account's entry stays, so
 * adding it back resumes where it was.
 */
export type AccountsCheckpoint<C> = Record<string, C>;

/** One account of {@link accountsSource}: its name (tagged on its events as `attributes.account`) and how to make its source. */
export interface AccountSource<C> {
  name: string;
  /** What the account's config is, to tell a changed account on {@link AccountsSource.update} (e.g. a hash of its keys). */
  version?: string;
  /** Makes the account's source; `signal` aborts when the account is removed or the pipeline stops; `tenant` is what it reports. */
  create(signal: AbortSignal, tenant: TenantTelemetry): Source<C>;
}

/** Options of {@link accountsSource}. */
export interface AccountsSourceOptions {
  logger: Logger;
  /** The tenants' book (`ctx.telemetry.tenants(...)`). */
  book: TenantBook;
  /** The pipeline's stop. */
  signal: AbortSignal;
  /** The accounts' sources end by themselves (`--once`, an `end`): a failed account is given up on, the others read to their end. */
  bounded: boolean;
  /** Whether an error means the vendor refused the account's credentials (waits {@link AccountsSourceOptions.rejectedRetryMs}). Default: a code ending in `_AUTH_FAILED`. */
  isRejected?: (error: unknown) => boolean;
  /** How long an account whose credentials were refused waits before it is tried again (or until it is changed). Default 5 minutes. */
  rejectedRetryMs?: number;
  /** Between attempts at an account that failed otherwise. Default: 10 s doubling to 5 minutes, jittered. */
  failedBackoff?: BackoffPolicy;
  /** A bounded run: accounts read to their end (or given up on) of all, as each ends. */
  progress?: (ended: number, total: number) => void;
  /** Timers (tests pass a fake clock's): calls `fn` after `ms`; returns the cancel. Default: `clock`'s. */
  setTimer?: (fn: () => void, ms: number) => () => void;
  /** Where the accounts' retry times are read and timed (`ctx.clock`). Default: the system clock. */
  clock?: Clock;
}

/** A source of many accounts whose set can change while it runs. */
export interface AccountsSource<C> extends Source<AccountsCheckpoint<C>> {
  /** Replaces the accounts: new ones start, removed ones stop (their checkpoints stay), changed ones (another `version`) restart from their checkpoint. */
  update(accounts: readonly AccountSource<C>[]): void;
  /** The accounts given up on (a bounded run), with the error. */
  failedAccounts(): { account: string; error: unknown }[];
}

/** How long an account whose credentials the vendor refused waits before it is tried again (unless its entry changes first). */
export const DEFAULT_REJECTED_RETRY_MS = 5 * 60_000;
/** Between attempts at an account whose read failed otherwise (an error that persisted, one plumline does not know): 10 s doubling to 5 minutes, jittered. */
export const ACCOUNT_BACKOFF: BackoffPolicy = { initialDelayMs: 10_000, maxDelayMs: 5 * 60_000, multiplier: 2 };

const tagged = (events: CallEvent[], account: string): CallEvent[] => events.map((e) => ({ ...e, attributes: { ...e.attributes, account } }));

const defaultIsRejected = (err: unknown): boolean => /_AUTH_FAILED$/.test(String((err as { code?: unknown })?.code ?? ''));

const timerOf =
  (clock: Clock) =>
  (fn: () => void, ms: number): (() => void) => {
    const t = clock.setTimeout(fn, ms);
    return () => t.cancel();
  };

interface Tenant<C> {
  account: AccountSource<C>;
  controller: AbortController;
  source: Source<C>;
  report: TenantTelemetry;
  iterator?: AsyncIterator<SourcePage<C>>;
  /** Bumped when the tenant's read is replaced or stopped: results of an older read are ignored. */
  generation: number;
  failures: number;
  state: 'reading' | 'waiting' | 'done' | 'failed';
  cancelTimer?: () => void;
}

/**
 * A tenant's position as a keyed page carries it: SourcePage types `checkpoint` as the source's
 * whole position (here a record of tenants), but with `checkpointKey` it is that key's entry,
 * which the runtime merges into the record. The one place the two types meet.
 */
function keyedEntry<C>(entry: C | undefined): AccountsCheckpoint<C> | undefined {
  return entry as AccountsCheckpoint<C> | undefined;
}

type Arrival<C> = { tenant: Tenant<C>; generation: number } & ({ result: IteratorResult<SourcePage<C>> } | { error: unknown });

/**
 * Reads many accounts of one service as one source (tenants). Each account's source reads on
 * its own (how many call the vendor at once is their shared `TenantTurns`' business), a page
 * ahead at most; its pages arrive on one queue and are handed on in arrival order, events tagged
 * with `attributes.account` and the page's checkpoint keyed by the account (`checkpointKey`):
 * the cost per page is O(1), whatever the number of accounts.
 *
 * An account that fails is set aside alone: logged with its name, counted, shown by the views;
 * the others go on. Polling, it is tried again later (refused credentials after
 * `rejectedRetryMs`, or at once when its config changes; other errors with a growing backoff);
 * in a bounded run it is given up on and named by {@link AccountsSource.failedAccounts}, and
 * the others are read to their end.
 */
export function accountsSource<C>(accounts: readonly AccountSource<C>[], o: AccountsSourceOptions): AccountsSource<C> {
  const tenants = new Map<string, Tenant<C>>();
  const failed = new Map<string, unknown>();
  /** Consumed entries are cleared (undefined) so that what they hold can be collected before the queue is compacted. */
  const arrivals: (Arrival<C> | undefined)[] = [];
  let head = 0;
  let wake: (() => void) | undefined;
  let positions: Record<string, C> = {};
  let reading = false;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const clock = o.clock ?? systemClock;
  const setTimer = o.setTimer ?? timerOf(clock);
  const reportProgress = (): void => {
    if (!o.progress) return;
    let ended = 0;
    for (const t of tenants.values()) if (t.state === 'done' || t.state === 'failed') ended++;
    o.progress(ended, tenants.size);
  };
  const isRejected = o.isRejected ?? defaultIsRejected;

  // One listener on the pipeline's stop, not one per account.
  o.signal.addEventListener('abort', () => {
    for (const t of tenants.values()) t.controller.abort(o.signal.reason);
    notify();
  }, { once: true });

  const pull = (t: Tenant<C>): void => {
    const generation = t.generation;
    void t.iterator!.next().then(
      (result) => arrivals.push({ tenant: t, generation, result }),
      (error: unknown) => arrivals.push({ tenant: t, generation, error }),
    ).then(notify);
  };

  const startReading = (t: Tenant<C>): void => {
    t.generation++;
    t.state = 'reading';
    t.iterator = t.source.read(positions[t.account.name])[Symbol.asyncIterator]();
    pull(t);
  };

  const make = (a: AccountSource<C>): Tenant<C> => {
    const controller = new AbortController();
    // Its requests (concurrency), waits and turn each listen for a moment: more than Node's default of 10.
    setMaxListeners(0, controller.signal);
    if (o.signal.aborted) controller.abort(o.signal.reason);
    const report = o.book.tenant(a.name);
    return { account: a, controller, source: a.create(controller.signal, report), report, generation: 0, failures: 0, state: 'waiting' };
  };

  const stop = (t: Tenant<C>): Promise<void> => {
    t.generation++;
    t.cancelTimer?.();
    t.controller.abort();
    const it = t.iterator;
    t.iterator = undefined;
    return Promise.resolve(it?.return?.(undefined))
      .catch(() => {})
      .then(() => t.source.close?.())
      .catch(() => {});
  };

  const fail = (t: Tenant<C>, error: unknown): void => {
    t.failures++;
    t.iterator = undefined;
    const rejected = isRejected(error);
    const code = (error as { code?: string })?.code;
    if (o.bounded) {
      t.state = 'failed';
      failed.set(t.account.name, error);
      t.report.failed(error, undefined);
      reportProgress();
      o.logger.error({ account: t.account.name, code, err: error }, 'reading an account failed: the other accounts go on; this run ends naming it');
      return;
    }
    const delayMs = rejected ? (o.rejectedRetryMs ?? DEFAULT_REJECTED_RETRY_MS) : backoffDelayMs(t.failures, o.failedBackoff ?? ACCOUNT_BACKOFF);
    t.state = 'waiting';
    t.report.failed(error, clock.now() + delayMs);
    o.logger.error({ account: t.account.name, code, err: error, retryInMs: delayMs, failures: t.failures }, rejected ? "the vendor refused an account's credentials: the account waits (the others go on) and is tried again later, or at once when its entry in the accounts changes" : 'reading an account failed: the account waits (the others go on) and is tried again');
    t.cancelTimer = setTimer(() => {
      t.cancelTimer = undefined;
      if (tenants.get(t.account.name) === t && !t.controller.signal.aborted) startReading(t);
    }, delayMs);
  };

  const update = (next: readonly AccountSource<C>[]): void => {
    const wanted = new Map(next.map((a) => [a.name, a]));
    for (const [name, t] of tenants) {
      const a = wanted.get(name);
      if (a && a.version === t.account.version) continue;
      tenants.delete(name);
      failed.delete(name);
      void stop(t);
      if (!a) {
        o.book.forget(name);
        o.logger.info({ account: name }, 'account removed: no longer read (its checkpoint is kept)');
      }
    }
    for (const [name, a] of wanted) {
      if (tenants.has(name)) continue;
      const t = make(a);
      tenants.set(name, t);
      if (reading) {
        startReading(t);
        o.logger.info({ account: name }, 'account added or changed: reading it');
      }
    }
  };

  update(accounts);

  return {
    bounded: o.bounded,
    wellFormedEvents: true,
    update,
    failedAccounts: () => [...failed].map(([account, error]) => ({ account, error })),
    async *read(checkpoint) {
      positions = { ...(checkpoint ?? {}) };
      reading = true;
      for (const t of tenants.values()) startReading(t);
      reportProgress();
      try {
        while (!o.signal.aborted) {
          if (head === arrivals.length) {
            if (o.bounded && ![...tenants.values()].some((t) => t.state === 'reading')) return;
            arrivals.length = head = 0;
            await new Promise<void>((resolve) => (wake = resolve));
            continue;
          }
          const arrival = arrivals[head]!;
          arrivals[head++] = undefined;
          // The queue never empties while pages keep coming: drop the consumed head now and then.
          if (head > 1024 && head * 2 > arrivals.length) {
            arrivals.splice(0, head);
            head = 0;
          }
          const t = arrival.tenant;
          // A stale result: the account was removed, changed or restarted since.
          if (arrival.generation !== t.generation || tenants.get(t.account.name) !== t) continue;
          if ('error' in arrival) {
            fail(t, arrival.error);
            continue;
          }
          if (arrival.result.done) {
            t.state = 'done';
            t.iterator = undefined;
            reportProgress();
            continue;
          }
          const page = arrival.result.value;
          if (t.failures > 0 && page.checkpoint !== undefined) {
            t.failures = 0;
            t.report.recovered();
            o.logger.info({ account: t.account.name }, 'account read again after failing');
          }
          if (page.checkpoint !== undefined) positions[t.account.name] = page.checkpoint;
          pull(t);
          t.report.events(page.events.length);
          const out: SourcePage<AccountsCheckpoint<C>> = { ...page, events: tagged(page.events, t.account.name), checkpoint: keyedEntry(page.checkpoint) };
          if (page.checkpoint !== undefined) out.checkpointKey = t.account.name;
          yield out;
        }
      } finally {
        reading = false;
        await Promise.allSettled([...tenants.values()].map(async (t) => {
          t.generation++;
          t.cancelTimer?.();
          const it = t.iterator;
          t.iterator = undefined;
          await it?.return?.(undefined);
        }));
      }
    },
    async close() {
      await Promise.allSettled([...tenants.values()].map((t) => stop(t)));
    },
  };
}

/**
 * The context an account's source runs in: its own stop signal and logger (`account` on each
 * line), and telemetry whose retries and failures are the account's (counted for the source
 * and the account) rather than the whole source's: one account retrying does not make the
 * source not ready; the views name the account instead.
 */
export function accountContext(ctx: ComponentContext, account: string, signal: AbortSignal, tenant: TenantTelemetry): ComponentContext {
  const t = ctx.telemetry;
  const telemetry: PluginTelemetry = {
    get stats() {
      return t.stats;
    },
    bytesOut: (n) => t.bytesOut(n),
    retry: (error) => {
      t.retry(error);
      tenant.retry(error);
    },
    failing: () => tenant.retrying(),
    recovered: () => tenant.recovered(),
    progress: () => {},
    startRequest: (name, attributes) => t.startRequest(name, attributes),
    backlog: () => {},
    holding: () => {},
    nextPoll: () => {},
    tenants: (options) => t.tenants(options),
  };
  return { ...ctx, signal, logger: ctx.logger.child({ account }), telemetry };
}
