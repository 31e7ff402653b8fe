import { defineSource, type JsonValue, type CallEvent, type ComponentContext, type DeadLetter, type Source, type SourcePage } from '@plumline/core';
import { ACCOUNTS_INCLUDES, accountsCheckpointSchema, pollCheckpointSchema, accountsShardable, type AccountsCheckpoint, type SharedByAccounts, migrateAccountsCheckpoint, sourceOfAccounts, warnIfOverlapGiven, type PollCheckpoint, pollingBounded, pollingOptions, pollStreams, vendorClientOptions } from '@plumline/core/sources';
import { createPermits, mapConcurrent } from '@plumline/core/util';
import { IplumClient } from './iplum-client.js';
import { formatIplumDate } from './iplum-date.js';
import { IplumApiError } from './iplum-errors.js';
import { recordingEvent, usageEvent } from './iplum-events.js';
import { IPLUM_STREAMS, iplumSourceConfigSchema, type IplumSourceConfig, type IplumStream } from './iplum-source-config.js';
import { splitWindows, type TimeWindow } from './window-splitter.js';

/** Per stream: the end (ms) of the last window whose events were all acknowledged. */
export type IplumCheckpoint = PollCheckpoint<IplumStream>;

const ENDPOINT = { usage: '/usage/getusage', recordings: '/callrecordings/getrecordings' } as const;
const iso = (ms: number) => new Date(ms).toISOString();

class IplumSource implements Source<IplumCheckpoint> {
  readonly wellFormedEvents = true;
  private readonly client: IplumClient;
  /** `concurrency` bounds the enrichment requests of both streams together (they read at once). */
  private readonly enrichPermit: () => Promise<() => void>;

  constructor(
    private readonly c: IplumSourceConfig,
    private readonly ctx: ComponentContext,
    /** The accounts of one source: the turns they share (at most so many poll at once), the host (one pool, one budget), what the account reports. */
    private readonly shared: Partial<SharedByAccounts> = {},
  ) {
    this.enrichPermit = createPermits(c.concurrency);
    this.client = new IplumClient({
      ...vendorClientOptions(c, ctx, shared),
      // Set: the schema requires them unless `accounts` is given, and each account's source gets its own.
      accessKey: c.access_key!,
      secretKey: c.secret_key!,
      username: c.username!,
      version: c.version,
    });
  }

  get bounded(): boolean {
    return pollingBounded(this.c, this.ctx);
  }

  read(checkpoint: IplumCheckpoint | undefined): AsyncIterable<SourcePage<IplumCheckpoint>> {
    // Each stream on its own loop: an outage of one endpoint does not hold back the others.
    return pollStreams<IplumStream>({
      // Cursors in epoch ms, as iPlum's dates carry them (and checkpoints since the first release).
      ...pollingOptions(this.c, this.ctx, this.shared, 1),
      streams: this.c.streams,
      checkpoint,
      // Windows of at most `window`: the checkpoint moves after each one.
      split: (from, to) => splitWindows(from, to, this.c.window).map((w) => ({ start: w.startMs, end: w.endMs })),
      read: (stream, from, to, _resume, seen) => this.readWindowPages(stream, { startMs: from, endMs: to }, seen),
      onProgress: (done, total) => this.ctx.telemetry.progress(done, total, 'windows'),
    });
  }

  private async *readWindowPages(stream: IplumStream, w: TimeWindow, seen: (id: string) => boolean): AsyncGenerator<SourcePage<JsonValue>> {
    yield await this.readWindow(stream, w, seen);
  }

  private async readWindow(stream: IplumStream, w: TimeWindow, seen: (id: string) => boolean): Promise<SourcePage<JsonValue>> {
    const body: Record<string, unknown> = { Lang: this.c.lang, StartDate: formatIplumDate(w.startMs), EndDate: formatIplumDate(w.endMs) };
    if (stream === 'usage') body.Usage = this.c.usage_types.join(',');
    // A body we cannot read (IPLUM_BAD_BODY: a proxy's HTML page, truncated JSON, not a list) is
    // retriable like a 5xx: it fails the window, which is read again with the outage backoff
    // (without end in a daemon); the cursor stays before it. Nothing is dead-lettered for it.
    const records = await this.client.post(ENDPOINT[stream], body);
    if (!Array.isArray(records)) {
      throw new IplumApiError('IPLUM_BAD_BODY', `${ENDPOINT[stream]} answered with ${records === null ? 'null' : typeof records}, not a list of records, for ${iso(w.startMs)}..${iso(w.endMs)}`, { retriable: true, path: ENDPOINT[stream] });
    }
    const events: CallEvent[] = [];
    const dead: DeadLetter[] = [];
    for (const r of records) {
      try {
        const e = stream === 'usage' ? usageEvent(r, this.c.include_raw) : recordingEvent(r, this.c.include_raw);
        // Delivered by an earlier pass (listed again within `lateness`): no content request for it.
        if (!seen(e.id)) events.push(e);
      } catch (err) {
        dead.push({ code: (err as { code?: string }).code ?? 'IPLUM_BAD_RECORD', reason: (err as Error).message, record: r, context: { stream } });
      }
    }
    await this.enrich(stream, events);
    return dead.length ? { events, dead } : { events };
  }

  /** Adds message text / media URLs and recording URLs, with bounded concurrency. */
  private async enrich(stream: IplumStream, events: CallEvent[]): Promise<void> {
    const wanted = stream === 'usage' ? (this.c.content ? events.filter((e) => e.kind === 'text' || e.kind === 'fax') : []) : this.c.recording_urls ? events : [];
    if (wanted.length === 0) return;
    const endpoint = stream === 'usage' ? '/usage/getcontent' : '/callrecordings/getrecordingfile';
    await mapConcurrent(wanted, this.c.concurrency, async (e) => {
      const release = await this.enrichPermit();
      try {
        const value = await this.client.post(endpoint, { Lang: this.c.lang, RecordID: e.attributes.recordId }, true);
        if (typeof value !== 'string') throw new IplumApiError('IPLUM_BAD_BODY', `${endpoint} answered with ${typeof value}, not a string`, { retriable: true, path: endpoint });
        const key = stream === 'recordings' ? 'recordingUrl' : /^https?:\/\//i.test(value) ? 'mediaUrl' : 'content';
        e.attributes[key] = value;
      } catch (err) {
        if (err instanceof IplumApiError && err.code === 'IPLUM_AUTH_FAILED') throw err;
        // The record itself is good: deliver it, saying why the extra field is missing.
        e.attributes[stream === 'usage' ? 'contentError' : 'recordingUrlError'] = (err as Error).message;
        this.ctx.logger.warn({ recordId: e.attributes.recordId, endpoint, err }, 'could not fetch extra data for a record; delivering it without');
      } finally {
        release();
      }
    });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * `iplum`: iPlum's usage (calls, texts, faxes) and call recordings, polled in windows of at
 * most 5 days with signed requests.
 *
 * ```yaml
 * sources:
 *   iplum:
 *     type: iplum
 *     access_key: ${IPLUM_ACCESS_KEY}
 *     secret_key: ${IPLUM_SECRET_KEY}
 *     username: admin@example.com
 *     backfill: 30d
 *     content: true
 * ```
 */
export const iplumSource = defineSource({
  type: 'iplum',
  description: "Polls iPlum's usage and call-recording logs (HMAC-signed, 5-day windows), optionally with message content and recording URLs.",
  configSchema: iplumSourceConfigSchema,
  includes: ACCOUNTS_INCLUDES,
  shardable: accountsShardable,
  // 2: the accounts' checkpoints are the record itself, one key per account (was under `@accounts`).
  checkpointVersion: 2,
  // The shape of a stored position (after migration): a wrong one stops the start with STATE_CORRUPT.
  checkpointSchema: accountsCheckpointSchema(pollCheckpointSchema(IPLUM_STREAMS)),
  migrateCheckpoint: (position) => migrateAccountsCheckpoint<IplumCheckpoint | AccountsCheckpoint<IplumCheckpoint>>(position),
  create(config, ctx): Source<IplumCheckpoint | AccountsCheckpoint<IplumCheckpoint>> {
    warnIfOverlapGiven(config, ctx.logger);
    if (!config.accounts) return new IplumSource(config, ctx);
    return sourceOfAccounts<IplumCheckpoint, IplumSourceConfig>(config, ctx, (c, accountCtx, shared) => new IplumSource(c, accountCtx, shared), iplumSourceConfigSchema);
  },
});
