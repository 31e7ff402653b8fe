import { defineSource, type ComponentContext, type JsonValue, type Source, type SourcePage, type SourcePlugin } from '@plumline/core';
import { ACCOUNTS_INCLUDES, QUIET_CHECKPOINT_MS, accountContext, accountsShardable, accountsSource, ownedAccounts, DEFAULT_BOUNDED_RETRY_DURATION_MS, TenantTurn, TenantTurns, pollingBounded, pollingOptions, pollRanges, VendorHttpClient, type AccountsCheckpoint, type PollCheckpoint } from '@plumline/core/sources';
import { pollCursor, type CursorCheckpoint } from './cursor-poll.js';
import { readListing, type ListingPosition, type ListingReader } from './http-listing.js';
import { HttpRequestBuilder, type HttpSigner } from './http-request.js';
import { httpConfigSchema, type HttpAuth, type HttpSourceConfig } from './http-source-config.js';
import { HttpSourceError } from './http-source-errors.js';
import { rateLimiter } from './rate-limit.js';
import { compileMapping } from './record-mapping.js';

/** The checkpoint of an `http` source: time ranges (pollRanges', stream `records`) or the cursor mode's. */
export type HttpCheckpoint = PollCheckpoint<'records'> | CursorCheckpoint;

const formatTime = (sec: number, format: HttpSourceConfig['time_format']): string => (format === 'unix' ? String(sec) : format === 'unix_ms' ? String(sec * 1000) : new Date(sec * 1000).toISOString());

/** `url` with its origin replaced by `baseUrl`'s (an account's own server). */
function onOrigin(url: string, baseUrl: string | undefined): string {
  if (!baseUrl) return url;
  const at = url.indexOf('/', url.indexOf('//') + 2);
  return new URL(baseUrl).origin + (at < 0 ? '' : url.slice(at));
}

class HttpSource implements Source<HttpCheckpoint> {
  readonly wellFormedEvents = true;
  private readonly reader: ListingReader;
  private readonly http: VendorHttpClient;

  constructor(
    private readonly c: HttpSourceConfig,
    auth: HttpAuth | undefined,
    private readonly ctx: ComponentContext,
    private readonly shared: { signer?: HttpSigner; turn: () => Promise<void>; tenantTurn?: TenantTurn; onPassDone?: (rangeEndMs: number) => void; quietCheckpointMs?: number },
  ) {
    const origin = new URL(c.url.replace(/\{\{[^}]*\}\}/g, 'x')).origin;
    this.http = new VendorHttpClient({
      baseUrl: origin,
      vendor: `${ctx.id} (http)`,
      connections: 2,
      requestTimeoutMs: c.request_timeout,
      // An account in backoff retries no request: the part's backoff is its retry.
      maxRetries: () => (shared.tenantTurn?.failing ? 0 : c.max_retries),
      logger: ctx.logger,
      telemetry: ctx.telemetry,
      signal: ctx.signal,
      // The raw path is left out of the error: it may hold an API key in its query (the message names the request masked).
      failure: (f) =>
        f.kind === 'status'
          ? new HttpSourceError('HTTP_SOURCE_STATUS', f.message, { retriable: true, status: f.status, retryAfterMs: f.retryAfterMs })
          : new HttpSourceError(f.kind === 'timeout' ? 'HTTP_SOURCE_TIMEOUT' : 'HTTP_SOURCE_CONNECTION', f.message, { retriable: true, cause: f.cause }),
    });
    this.reader = { http: this.http, builder: new HttpRequestBuilder(c, auth, shared.signer), c, map: compileMapping(c.map, c.include_raw), turn: shared.turn, paging: { nextSeen: false, warned: false }, logger: ctx.logger, signal: ctx.signal, clock: ctx.clock };
  }

  get bounded(): boolean {
    return pollingBounded(this.c, this.ctx);
  }

  read(checkpoint: HttpCheckpoint | undefined): AsyncIterable<SourcePage<HttpCheckpoint>> {
    const c = this.c;
    if (c.cursor_field !== undefined) {
      return pollCursor(this.reader, this.ctx, { field: c.cursor_field, start: c.cursor_start, pollIntervalMs: c.poll_interval, bounded: this.ctx.once, maxRetryDurationMs: c.max_retry_duration ?? (this.bounded ? DEFAULT_BOUNDED_RETRY_DURATION_MS : undefined) }, checkpoint as CursorCheckpoint | undefined);
    }
    return pollRanges<'records'>({
      // Cursors in epoch seconds (checkpoints store them so).
      ...pollingOptions(c, this.ctx, { turn: this.shared.tenantTurn, onPassDone: this.shared.onPassDone, quietCheckpointMs: this.shared.quietCheckpointMs }, 1000),
      streams: ['records'],
      checkpoint: checkpoint as PollCheckpoint<'records'> | undefined,
      onProgress: (done, total) => this.ctx.telemetry.progress(done, total, 'ranges'),
      read: (_stream, from, to, resume) => this.readRange(from, to, resume as ListingPosition | undefined),
    });
  }

  /** One range, page by page, each page carrying the listing position after it. */
  private async *readRange(from: number, to: number, resume: ListingPosition | undefined): AsyncGenerator<SourcePage<JsonValue>> {
    const range = { from: formatTime(from, this.c.time_format), to: formatTime(to, this.c.time_format) };
    for await (const page of readListing(this.reader, range, resume)) {
      yield { events: page.events, ...(page.dead.length ? { dead: page.dead } : {}), checkpoint: page.position as JsonValue };
    }
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

/** What makes an `http`-like source type: its name, and a signer for `auth: { type: signed }`. */
export interface HttpSourceDefinition<T extends string> {
  type: T;
  description?: string;
  /** Signs each request attempt (headers, URL, body) with `auth.params`: iPlum's HMAC, AWS SigV4, … */
  sign?: HttpSigner;
}

/**
 * Makes a source type on the `http` source's engine — the hook for signing plugins: a package
 * exports `defineHttpSource({ type: 'acme_http', sign })`, and its pipelines write
 * `auth: { type: signed, params: { key: "${ACME_KEY}" } }` with every other key of `http`.
 */
export function defineHttpSource<const T extends string>(d: HttpSourceDefinition<T>): SourcePlugin<ReturnType<typeof httpConfigSchema>, HttpCheckpoint | AccountsCheckpoint<HttpCheckpoint>> & { readonly type: T } {
  return defineSource({
    type: d.type,
    description: d.description ?? 'Reads any paginated REST API described in YAML (request templates, auth, pagination, time ranges or a cursor field, records mapped to events); polls incrementally.',
    configSchema: httpConfigSchema(d.sign !== undefined),
    includes: ACCOUNTS_INCLUDES,
    shardable: accountsShardable,
    create(config, ctx): Source<HttpCheckpoint | AccountsCheckpoint<HttpCheckpoint>> {
      const turn = rateLimiter(config.rate_limit, ctx.signal, ctx.clock);
      if (!config.accounts) return new HttpSource(config, config.auth, ctx, { signer: d.sign, turn });
      // One accounts source (a ready queue, isolation, the tenants' book) as plum's, with the
      // accounts' own auth; turns shared so at most max_concurrent_accounts poll at once.
      const turns = new TenantTurns(config.max_concurrent_accounts);
      return accountsSource<HttpCheckpoint>(
        ownedAccounts(config.accounts, ctx).map(({ name, base_url, auth }) => ({
          name,
          version: JSON.stringify({ base_url, auth }),
          create: (signal, tenant) =>
            new HttpSource({ ...config, url: onOrigin(config.url, base_url) }, auth, accountContext(ctx, name, signal, tenant), {
              signer: d.sign,
              turn,
              tenantTurn: new TenantTurn(turns, () => ctx.clock.now()),
              onPassDone: (endMs) => tenant.polled(endMs),
              quietCheckpointMs: QUIET_CHECKPOINT_MS,
            }),
        })),
        {
          logger: ctx.logger,
          book: ctx.telemetry.tenants({ accountLabel: config.account_label, behindSec: Math.max(60, (2 * config.poll_interval) / 1000) }),
          signal: ctx.signal,
          clock: ctx.clock,
          bounded: ctx.once || config.end !== undefined,
          progress: (ended, total) => ctx.telemetry.progress(ended, total, 'accounts'),
        },
      );
    },
  });
}

/**
 * `http`: any paginated REST API as a stream of events, described in YAML.
 *
 * ```yaml
 * sources:
 *   vendor:
 *     type: http
 *     url: "https://api.example.com/v1/calls?from={{from}}&to={{to}}&cursor={{cursor}}"
 *     auth: { type: bearer, token: "${VENDOR_TOKEN}" }
 *     pagination: { type: cursor, next: meta.next_cursor }
 *     records: data
 *     map: { id: { copy: id }, time: { copy: started_at } }
 *     backfill: 1d
 * ```
 */
export const httpSource = defineHttpSource({ type: 'http' });
