import { metrics } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '../errors.js';
import { createLogger } from '../logger.js';
import type { Source, SourcePage } from '../plugin.js';
import { TenantBook } from '../tenant-telemetry.js';
import { accountsSource, type AccountSource } from './accounts-source.js';
import { migrateAccountsCheckpoint } from './accounts-fields.js';
import { loggableCheckpoints } from '../runtime/commit-coordinator.js';
import { TenantTurn, TenantTurns } from './tenant-turns.js';

const silent = createLogger({ level: 'silent' });
const book = () => new TenantBook(metrics.getMeter('test'), { component: 'src' }, true, 60);
const event = (id: string) => ({ id, source: 's', kind: 'k', time: '2026-01-01T00:00:00.000Z', attributes: {} });
const refused = () => new PipelineError('PLUM_AUTH_FAILED', 'Plum refused the login', { retriable: false });

/** An account whose source yields `pages` pages (checkpoint = page number, resuming after the given one), failing first with `fail` `failTimes` times. */
function account(name: string, pages: number, o: { fail?: () => Error; failTimes?: number; reads?: (number | undefined)[]; bounded?: boolean } = {}): AccountSource<number> {
  let failures = 0;
  return {
    name,
    create: (signal): Source<number> => ({
      bounded: o.bounded ?? true,
      async *read(cp) {
        o.reads?.push(cp);
        if (o.fail && failures < (o.failTimes ?? Infinity)) {
          failures++;
          throw o.fail();
        }
        for (let i = (cp ?? 0) + 1; i <= pages && !signal.aborted; i++) yield { events: [event(`${name}-${i}`)], checkpoint: i };
        if (!(o.bounded ?? true)) await new Promise((r) => signal.addEventListener('abort', r));
      },
    }),
  };
}

async function drain<C>(source: Source<C>, cp?: C, until?: (pages: SourcePage<C>[]) => boolean): Promise<SourcePage<C>[]> {
  const pages: SourcePage<C>[] = [];
  for await (const p of source.read(cp)) {
    pages.push(p);
    if (until?.(pages)) break;
  }
  return pages;
}

describe('accountsSource: one failing account is set aside alone', () => {
  it('a bounded run reads every other account to its end and names the failed one (which is shown failing, not the source)', async () => {
    const b = book();
    const s = accountsSource([account('a', 3), account('bad', 3, { fail: refused }), account('c', 2)], { logger: silent, book: b, signal: new AbortController().signal, bounded: true });
    const pages = await drain(s);
    expect(pages.map((p) => p.events[0]!.id).sort()).toEqual(['a-1', 'a-2', 'a-3', 'c-1', 'c-2']);
    expect(s.failedAccounts().map((f) => [f.account, (f.error as PipelineError).code])).toEqual([['bad', 'PLUM_AUTH_FAILED']]);
    expect(b.failingTenants().map((t) => [t.account, t.state, t.error?.code])).toEqual([['bad', 'failed', 'PLUM_AUTH_FAILED']]);
    // Each page moves only its own account's position.
    expect(pages.map((p) => `${p.checkpointKey}:${String(p.checkpoint)}`).sort()).toEqual(['a:1', 'a:2', 'a:3', 'c:1', 'c:2']);
  });

  it('polling, a failed account waits alone (refused credentials: minutes) and resumes from its own position when tried again', async () => {
    const timers: { ms: number; fn: () => void }[] = [];
    const reads: (number | undefined)[] = [];
    const stop = new AbortController();
    const s = accountsSource([account('ok', 2, { bounded: false }), account('flaky', 4, { fail: refused, failTimes: 1, reads, bounded: false })], {
      logger: silent,
      book: book(),
      signal: stop.signal,
      bounded: false,
      rejectedRetryMs: 300_000,
      setTimer: (fn, ms) => {
        timers.push({ fn, ms });
        return () => {};
      },
    });
    const seen: string[] = [];
    const done = (async () => {
      for await (const p of s.read({ flaky: 1 })) {
        seen.push(p.events[0]!.id);
        if (seen.length === 2) {
          // The healthy account was read while the flaky one waits: its retry is minutes away.
          expect(timers.map((t) => t.ms)).toEqual([300_000]);
          timers[0]!.fn();
        }
        if (seen.length === 5) stop.abort();
      }
    })();
    await done;
    expect(seen.slice(0, 2)).toEqual(['ok-1', 'ok-2']);
    expect(seen.slice(2)).toEqual(['flaky-2', 'flaky-3', 'flaky-4']);
    // Tried again from the position it had: the stored checkpoint's.
    expect(reads).toEqual([1, 1]);
  });

  it('accounts added, removed and changed while reading: an added one is read, a removed one stops, one added back resumes from its position', async () => {
    const stop = new AbortController();
    const reads: (number | undefined)[] = [];
    const s = accountsSource([account('a', 2, { bounded: false })], { logger: silent, book: book(), signal: stop.signal, bounded: false });
    const seen: string[] = [];
    for await (const p of s.read(undefined)) {
      seen.push(`${p.checkpointKey}:${String(p.checkpoint)}`);
      if (seen.length === 2) s.update([account('a', 2, { bounded: false }), account('b', 2, { bounded: false, reads })]);
      if (seen.length === 4) {
        s.update([account('a', 2, { bounded: false })]);
        s.update([account('a', 2, { bounded: false }), account('b', 3, { bounded: false, reads })]);
      }
      if (seen.length === 5) stop.abort();
    }
    expect(seen).toEqual(['a:1', 'a:2', 'b:1', 'b:2', 'b:3']);
    expect(reads).toEqual([undefined, 2]);
  });
});

describe('TenantTurns', () => {
  it('serves waiting tenants in order of how overdue they are, and a tenant in backoff holds no turn', async () => {
    const turns = new TenantTurns(1);
    const first = await turns.take(10);
    const order: string[] = [];
    const late = turns.take(30).then((r) => (order.push('due-30'), r));
    const overdue = turns.take(5).then((r) => (order.push('due-5'), r));
    first();
    (await overdue)();
    (await late)();
    expect(order).toEqual(['due-5', 'due-30']);

    const backingOff = new TenantTurn(turns);
    await backingOff.take();
    let otherGotTurn = false;
    let endBackoff!: () => void;
    const waiting = backingOff.without(() => new Promise<void>((r) => (endBackoff = r)));
    const other = new TenantTurn(turns);
    await other.take().then(() => (otherGotTurn = true));
    expect(otherGotTurn).toBe(true);
    endBackoff();
    other.give();
    await waiting;
    expect(turns.waiting).toBe(0);
  });
});

describe('the accounts checkpoint, version 2', () => {
  it('migrates version 1 (every account under @accounts) to one key per account, and leaves a single account as it was', () => {
    expect(migrateAccountsCheckpoint({ '@accounts': { a: { calls: 5 }, b: { calls: 7 } } })).toEqual({ a: { calls: 5 }, b: { calls: 7 } });
    expect(migrateAccountsCheckpoint({ calls: 5, '@readAt': { calls: 9 } })).toEqual({ calls: 5, '@readAt': { calls: 9 } });
  });

  it('log lines summarise a record of tenants (how many, the oldest cursor and whose) instead of carrying it', () => {
    const tenants = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`t${i}`, { sessions: 1_000 + i, '@readAt': { sessions: 2_000 }, '@seen': { sessions: [[1, 'x']] } }]));
    expect(loggableCheckpoints({ plum: { seq: 3, position: tenants } })).toEqual({ plum: { seq: 3, position: { tenants: 1000, oldest: 1000, oldestTenant: 't0' } } });
    expect(JSON.stringify(loggableCheckpoints({ plum: { seq: 3, position: tenants } })).length).toBeLessThan(200);
  });
});
