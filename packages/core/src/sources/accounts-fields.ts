import { z } from 'zod';
import type { ComponentContext } from '../plugin.js';

/** Accounts polled at once by a source of many accounts, unless `max_concurrent_accounts` says otherwise. */
export const DEFAULT_MAX_CONCURRENT_ACCOUNTS = 4;

/** The `includes` of a plugin with {@link accountsFields}: `accounts_file` is read in as `accounts`. */
export const ACCOUNTS_INCLUDES = [{ key: 'accounts_file', into: 'accounts' }] as const;

/**
 * The config keys of a polling source that reads many accounts of one service (tenants):
 * `accounts`, each a `name` plus the service's credential keys (`credentials`) and an optional
 * `base_url`, or `accounts_file` naming a YAML file of them (give the plugin
 * {@link ACCOUNTS_INCLUDES}), and `max_concurrent_accounts`. Credentials come from `${VAR}`, as
 * everywhere. Check the result with {@link accountsProblems}.
 */
export function accountsFields<T extends z.ZodRawShape>(credentials: T) {
  return {
    accounts: z
      .array(
        z.strictObject({
          name: z
            .string()
            .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1–64 of A-Z a-z 0-9 _ . -')
            .describe('The account\'s name: tagged on its events as `attributes.account`, and the key of its checkpoint.'),
          ...credentials,
          base_url: z.url().optional().describe('This account\'s API base URL (default: the source\'s `base_url`).'),
        }),
      )
      .min(1)
      .optional()
      .describe('Many accounts in one source, instead of the top-level credentials: each polled with its own checkpoint, its events tagged with `attributes.account`.'),
    accounts_file: z
      .string()
      .min(1)
      .optional()
      .describe('Instead of `accounts`: a YAML file (relative to the pipeline file) holding the list of accounts, with the same keys; `${VAR}` in it is read from the environment, so the file can name each account\'s credentials without holding them. `plumline validate` checks it, errors located in it.'),
    max_concurrent_accounts: z
      .int()
      .min(1)
      .default(DEFAULT_MAX_CONCURRENT_ACCOUNTS)
      .describe('With `accounts`: how many accounts poll at once; the others wait for a turn, served in order of how overdue they are. An account waiting in backoff holds no turn. The shared connection pool has this many times (`concurrency` + 1) sockets at most.'),
    rate_limit: z
      .number()
      .positive()
      .optional()
      .describe('With `accounts`: requests per second to the API host, shared by every account of this source (a 429 also pauses them all for its Retry-After). Absent: no budget beyond `max_concurrent_accounts`.'),
    account_label: z
      .boolean()
      .default(true)
      .describe('With `accounts`: label the per-account metrics (`plumline_tenant_*`) with `account`. Set false to bound label cardinality: one series per source (lag the largest, last poll the oldest).'),
  };
}

/** What is wrong with a config's choice between top-level credentials and `accounts`, with the key to blame. */
export function accountsProblems(c: Record<string, unknown> & { accounts?: { name: string }[] }, credentialKeys: readonly string[]): { path: string; message: string }[] {
  const given = credentialKeys.filter((k) => c[k] !== undefined);
  if (c.accounts) {
    const problems = given.map((k) => ({ path: k, message: `${k} is per account when accounts is set: move it into each account` }));
    const names = c.accounts.map((a) => a.name);
    const once = new Set<string>();
    const twice = names.filter((n) => once.size === once.add(n).size);
    if (twice.length) problems.push({ path: 'accounts', message: `account names must differ: ${[...new Set(twice)].join(', ')} more than once` });
    return problems;
  }
  return credentialKeys.filter((k) => c[k] === undefined).map((k) => ({ path: k, message: `${k} is required (or list accounts)` }));
}

/**
 * `migrateCheckpoint` of a source with {@link accountsFields}, from version 1: the accounts'
 * checkpoints were kept under `@accounts`; from version 2 they are the record itself (one key
 * per account, which the runtime merges page by page). A single account's checkpoint is as it was.
 */
export function migrateAccountsCheckpoint<C>(position: unknown): C {
  const p = position as { '@accounts'?: unknown } | null;
  return (p && typeof p === 'object' && '@accounts' in p ? p['@accounts'] : position) as C;
}

/** SourcePlugin.shardable for a source with `accounts`: under `spread:` its accounts are the tenants shared out. */
export function accountsShardable(c: { accounts?: readonly unknown[] }): boolean {
  return c.accounts !== undefined;
}

/** The accounts this copy reads: under `spread:` those of its share (ComponentContext.shard), else all. */
export function ownedAccounts<A extends { name: string }>(accounts: readonly A[], ctx: Pick<ComponentContext, 'shard'>): A[] {
  const shard = ctx.shard;
  return shard ? accounts.filter((a) => shard.owns(a.name)) : [...accounts];
}
