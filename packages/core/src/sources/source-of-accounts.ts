import { resolve } from 'node:path';
import type { z } from 'zod';
import type { ComponentContext, Source } from '../plugin.js';
import { fieldSchema } from '../config/validate.js';
import { AccountsFileWatch } from './accounts-file-watch.js';
import { ownedAccounts } from './accounts-fields.js';
import { HttpHost } from '../http/http-host.js';
import { accountContext, accountsSource, type AccountsCheckpoint, type AccountSource, type AccountsSource } from './accounts-source.js';
import { TenantTurn, TenantTurns } from './tenant-turns.js';
import { QUIET_CHECKPOINT_MS } from './poll-ranges.js';

/** What one account's source shares with the others of its source. */
export interface SharedByAccounts {
  /** Its turn at the vendor (at most `max_concurrent_accounts` poll at once). */
  turn: TenantTurn;
  /** The vendor host: one pool, one request budget. */
  host: HttpHost;
  /** Call when a poll read everything up to `rangeEndMs` (epoch ms): the account's lag and last poll. */
  onPassDone: (rangeEndMs: number) => void;
  /** An idle account hands on its moved cursor at most this often (pollRanges' `quietCheckpointMs`): idle accounts do not rewrite the state at every poll. */
  quietCheckpointMs: number;
}

/** The config keys {@link sourceOfAccounts} reads (from `accountsFields`, plus the source's own). */
export interface ManyAccountsConfig {
  base_url: string;
  accounts?: ({ name: string; base_url?: string } & Record<string, unknown>)[];
  /** Where `accounts` came from: watched, and read again on a change or `reload()` (SIGHUP). */
  accounts_file?: string;
  max_concurrent_accounts: number;
  rate_limit?: number;
  account_label: boolean;
  /** Parallel requests of one account: the pool holds `max_concurrent_accounts` × (this + 1) sockets. */
  concurrency: number;
  poll_interval: number;
  end?: unknown;
}

/** A stable fingerprint of an account's entry: a changed entry (another password) restarts the account. */
const versionOf = (entry: Record<string, unknown>): string => JSON.stringify(Object.entries(entry).sort(([a], [b]) => a.localeCompare(b)));

/**
 * The source of a config with `accounts` (see `accountsFields`): one {@link accountsSource}
 * whose accounts share turns, one {@link HttpHost} per vendor origin and the tenants' book;
 * `make` builds one account's source from its config (the source's keys with the account's
 * own) and context. Closing it closes the accounts' sources, then the hosts.
 */
export function sourceOfAccounts<C, Cfg extends ManyAccountsConfig>(
  config: Cfg,
  ctx: ComponentContext,
  make: (config: Cfg, ctx: ComponentContext, shared: SharedByAccounts) => Source<C>,
  /** The plugin's config schema: an `accounts_file` read again is checked against its `accounts` key. */
  schema?: z.ZodType,
): AccountsSource<C> & { reload(): Promise<void> } {
  const turns = new TenantTurns(config.max_concurrent_accounts);
  const hosts = new Map<string, HttpHost>();
  const hostOf = (baseUrl: string): HttpHost => {
    const origin = new URL(baseUrl).origin;
    let h = hosts.get(origin);
    if (!h) hosts.set(origin, (h = new HttpHost({ origin, connections: config.max_concurrent_accounts * (config.concurrency + 1), rateLimitPerSec: config.rate_limit, now: () => ctx.clock.now(), sleep: (ms, signal) => ctx.clock.sleep(ms, signal) })));
    return h;
  };
  // Under spread: this copy's share of the accounts (read again, the file is filtered the same way).
  const accountsOf = (list: NonNullable<Cfg['accounts']>): AccountSource<C>[] =>
    ownedAccounts(list, ctx).map(({ name, base_url, ...credentials }) => ({
      name,
      version: versionOf({ base_url, ...credentials }),
      create: (signal, tenant) =>
        make({ ...config, ...credentials, base_url: base_url ?? config.base_url }, accountContext(ctx, name, signal, tenant), {
          turn: new TenantTurn(turns, () => ctx.clock.now()),
          host: hostOf(base_url ?? config.base_url),
          onPassDone: (endMs) => tenant.polled(endMs),
          quietCheckpointMs: QUIET_CHECKPOINT_MS,
        }),
    }));
  const book = ctx.telemetry.tenants({ accountLabel: config.account_label, behindSec: Math.max(60, (2 * config.poll_interval) / 1000) });
  const accounts = accountsSource<C>(accountsOf(config.accounts ?? []), {
    logger: ctx.logger,
    book,
    signal: ctx.signal,
    clock: ctx.clock,
    bounded: ctx.once || config.end !== undefined,
    progress: (ended, total) => ctx.telemetry.progress(ended, total, 'accounts'),
  });
  const accountsSchema = schema && fieldSchema(schema, 'accounts');
  // A run that polls follows its accounts file; a bounded one reads the accounts it started with.
  const watch =
    config.accounts_file !== undefined && accountsSchema && !accounts.bounded
      ? new AccountsFileWatch({ file: resolve(ctx.baseDir, config.accounts_file), schema: accountsSchema as z.ZodType<NonNullable<Cfg['accounts']>>, logger: ctx.logger, secrets: (values) => ctx.addSecrets?.(values), apply: (list) => accounts.update(accountsOf(list)), refused: (message) => book.refusedFile(message), clock: ctx.clock })
      : undefined;
  watch?.start();
  return {
    reload: () => watch?.reload() ?? Promise.resolve(),
    bounded: accounts.bounded,
    wellFormedEvents: accounts.wellFormedEvents,
    read: (cp: AccountsCheckpoint<C> | undefined) => accounts.read(cp),
    update: (list) => accounts.update(list),
    failedAccounts: () => accounts.failedAccounts(),
    async close() {
      watch?.close();
      await accounts.close?.();
      await Promise.all([...hosts.values()].map((h) => h.close()));
    },
  };
}
