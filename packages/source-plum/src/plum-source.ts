import { defineSource, type JsonValue, type CallEvent, type ComponentContext, type DeadLetter, type Source, type SourcePage } from '@plumline/core';
import { ACCOUNTS_INCLUDES, accountsCheckpointSchema, pollCheckpointSchema, accountsShardable, type AccountsCheckpoint, type SharedByAccounts, migrateAccountsCheckpoint, sourceOfAccounts, warnIfOverlapGiven, type PollCheckpoint, pollingBounded, pollingOptions, pollStreams, scaleCursors, vendorClientOptions } from '@plumline/core/sources';
import { backoffDelayMs, mapConcurrent } from '@plumline/core/util';
import { PlumClient } from './plum-client.js';
import type { PlumLogDetail, PlumLogRow } from './plum-envelope.js';
import { PlumApiError } from './plum-errors.js';

import { parseErrorLine, parseSessionLine, PLUM_SOURCE } from './parse/plum-line-parser.js';
import { PLUM_STREAMS, plumSourceConfigSchema, type PlumSourceConfig, type PlumStream } from './plum-source-config.js';

/** Per stream: every record that started before this epoch ms (a whole second) was delivered (see PollCheckpoint). */
export type PlumCheckpoint = PollCheckpoint<PlumStream>;

/** Where a listing stands inside one range: the index into `numbers` and the offset of the next page. */
interface ListingPosition {
  n: number;
  offset: number;
}

export const RETENTION_SEC: Record<PlumStream, number> = { calls: 5 * 86_400, sessions: 365 * 86_400, errors: 365 * 86_400 };
/** Keep clear of the retention edge: a request that starts exactly on it may be refused a moment later. */
const RETENTION_MARGIN_SEC = 120;

/** Cursors are epoch ms (as iPlum's) on whole seconds, which is what Plum's API takes. */
const SECOND_MS = 1000;

const iso = (sec: number): string => new Date(sec * 1000).toISOString();
const isoMs = (ms: number): string => new Date(ms).toISOString();

const callId = (row: PlumLogRow): string => `plum:call:${row.log_id}`;

/** Turns a list row and its detail into a call event. */
export function callEvent(row: PlumLogRow, detail: PlumLogDetail, includeRaw: boolean): CallEvent {
  const start = Number(row.start);
  const end = Number(row.end);
  const e: CallEvent = {
    id: callId(row),
    source: PLUM_SOURCE,
    kind: 'call',
    time: iso(start),
    endTime: iso(end),
    // Only the two types the vendor documents become a direction; anything else stays as given.
    ...(row.type === 'outbound' || row.type === 'inbound' ? { direction: row.type } : {}),
    from: row.src,
    to: row.dest,
    durationSec: end - start,
    attributes: { logId: row.log_id, sessionId: row.session_id, type: row.type, location: detail.location, log: detail.log, detailTimestamp: Number(detail.timestamp) },
  };
  if (includeRaw) e.raw = { row, detail };
  return e;
}

/** Why a calls/logs row cannot become an event, or undefined. */
function rowProblem(row: PlumLogRow): string | undefined {
  if (!row || typeof row !== 'object') return 'calls/logs row is not an object';
  if (typeof row.log_id !== 'string' && typeof row.log_id !== 'number') return 'calls/logs row has no log_id';
  for (const k of ['start', 'end'] as const) {
    // Strings by the API's documentation; checked as what a vendor may send instead.
    const v: unknown = row[k];
    if ((typeof v !== 'string' && typeof v !== 'number') || v === '' || !Number.isFinite(Number(v))) return `calls/logs row ${String(row.log_id)}: ${k} "${String(v)}" is not a UNIX time`;
  }
  if (Number(row.end) < Number(row.start)) return `calls/logs row ${String(row.log_id)}: ends before it starts`;
  return undefined;
}

class PlumSource implements Source<PlumCheckpoint> {
  readonly wellFormedEvents = true;
  private readonly client: PlumClient;
  private readonly clamped = new Set<PlumStream>();

  constructor(
    private readonly c: PlumSourceConfig,
    private readonly ctx: ComponentContext,
    /** The accounts of one source: the turns they share (at most so many poll at once), the host (one pool, one budget), what the account reports. */
    private readonly shared: Partial<SharedByAccounts> = {},
  ) {
    this.client = new PlumClient({
      ...vendorClientOptions(c, ctx, shared),
      // Set: the schema requires them unless `accounts` is given, and each account's source gets its own.
      username: c.username!,
      password: c.password!,
      format: c.format,
    });
  }

  get bounded(): boolean {
    return pollingBounded(this.c, this.ctx);
  }

  read(checkpoint: PlumCheckpoint | undefined): AsyncIterable<SourcePage<PlumCheckpoint>> {
    // Cursors in epoch ms, on whole seconds (Plum's URLs take seconds); version-2 checkpoints held seconds.
    const options = pollingOptions(this.c, this.ctx, this.shared, 1, SECOND_MS);
    // Each stream on its own loop: an outage of one endpoint does not hold back the others.
    return pollStreams<PlumStream>({
      ...options,
      streams: this.c.streams,
      checkpoint,
      onProgress: (done, total) => this.ctx.telemetry.progress(done, total, 'streams'),
      clampStart: (stream, from) => {
        const oldest = options.now() - (RETENTION_SEC[stream] - RETENTION_MARGIN_SEC) * SECOND_MS;
        if (from >= oldest) return from;
        if (!this.clamped.has(stream)) {
          this.ctx.logger.info({ stream, requested: isoMs(from), clampedTo: isoMs(oldest) }, `Plum keeps ${stream === 'calls' ? '5 days of call logs' : '1 year of ' + stream}: starting at the oldest available time`);
          this.clamped.add(stream);
        }
        return oldest;
      },
      read: (stream, from, to, resume, seen) => this.readRange(stream, from, to, resume as ListingPosition | undefined, seen),
    });
  }

  /**
   * Pages through one range (per number, when `numbers` is set), each page carrying the listing
   * position after it so that a restart resumes at the next page, not at the range's start.
   */
  private async *readRange(stream: PlumStream, from: number, to: number, resume: ListingPosition | undefined, seen: (id: string) => boolean): AsyncGenerator<SourcePage<JsonValue>> {
    const numbers = this.c.numbers ?? [undefined];
    for (let n = resume?.n ?? 0; n < numbers.length; n++) {
      const number = numbers[n];
      let offset = resume?.n === n ? resume.offset : 0;
      const at = (next: number): JsonValue => ({ n, offset: next });
      let total = Number.POSITIVE_INFINITY;
      let emptyRetries = 0;
      while (offset < total && !this.ctx.signal.aborted) {
        const q = { number, offset, limit: this.c.page_size };
        let page: SourcePage;
        let received: number;
        // A body we cannot read (PLUM_BAD_BODY: a proxy's HTML page, a truncated answer) is
        // retriable like a 5xx: it fails the range, which is read again with the outage backoff
        // (without end in a daemon); the cursor stays before it. Nothing is dead-lettered for it.
        if (stream === 'calls') {
          const list = await this.client.listLogs(from / SECOND_MS, to / SECOND_MS, q);
          total = list.total;
          received = list.rows.length;
          page = await this.callsPage(list.rows, seen);
        } else {
          const list = stream === 'sessions' ? await this.client.listSessions(from / SECOND_MS, to / SECOND_MS, q) : await this.client.listErrors(from / SECOND_MS, to / SECOND_MS, q);
          total = list.total;
          received = list.lines.length;
          page = this.linesPage(stream, list.lines, list.path);
        }
        if (received === 0) {
          if (offset >= total) break;
          // The listing is short of its own total: ask again; if it stays short, the range
          // fails (retriably) and the cursor stays before it, rather than skip what is missing.
          if (++emptyRetries <= this.c.max_retries) {
            this.ctx.logger.warn({ stream, offset, total, attempt: emptyRetries }, 'Plum returned an empty page before the reported total; asking again');
            await this.ctx.clock.sleep(backoffDelayMs(emptyRetries), this.ctx.signal).catch(() => {});
            continue;
          }
          throw new PlumApiError('PLUM_SHORT_LISTING', `Plum listed ${offset} of the ${total} ${stream} it reported for ${isoMs(from)}..${isoMs(to)}: the rest never came`, {
            retriable: true,
            fields: { stream, from, to, offset, total, number },
          });
        }
        emptyRetries = 0;
        // Page by what came back: the server may return fewer rows than `limit`.
        offset += received;
        yield { ...page, checkpoint: at(offset) };
      }
    }
  }

  private linesPage(stream: 'sessions' | 'errors', lines: string[], path: string): SourcePage {
    const events: CallEvent[] = [];
    const dead: DeadLetter[] = [];
    for (const line of lines) {
      try {
        const e = stream === 'sessions' ? parseSessionLine(line) : parseErrorLine(line, this.c.time_zone);
        if (!this.c.include_raw) e.raw = undefined;
        events.push(e);
      } catch (err) {
        dead.push({ code: (err as { code?: string }).code ?? 'PLUM_LINE_UNPARSEABLE', reason: (err as Error).message, record: line, context: { stream, path } });
      }
    }
    return dead.length ? { events, dead } : { events };
  }

  private async callsPage(listed: PlumLogRow[], seen: (id: string) => boolean): Promise<SourcePage> {
    const dead: DeadLetter[] = [];
    // A row without a readable start and end cannot be placed in time: it goes to the dead letters.
    // A call delivered by an earlier pass (listed again within `lateness`) needs no detail request.
    const rows = listed.filter((row) => {
      if (row && typeof row === 'object' && seen(callId(row))) return false;
      const problem = rowProblem(row);
      if (problem) dead.push({ code: 'PLUM_BAD_ROW', reason: problem, record: row });
      return !problem;
    });
    const details = await mapConcurrent(rows, this.c.concurrency, async (row) => {
      try {
        return await this.client.getLog(row.log_id);
      } catch (err) {
        // A detail that may come later (5xx, a timeout) fails the page: the range is read again.
        if (err instanceof PlumApiError && (err.retriable || err.code === 'PLUM_AUTH_FAILED' || this.ctx.signal.aborted)) throw err;
        dead.push({ code: (err as PlumApiError).code ?? 'PLUM_DETAIL_FAILED', reason: (err as Error).message, record: row, context: { path: (err as PlumApiError).path } });
        return undefined;
      }
    });
    const events: CallEvent[] = [];
    rows.forEach((row, i) => {
      const d = details[i];
      if (d) events.push(callEvent(row, d, this.c.include_raw));
    });
    return dead.length ? { events, dead } : { events };
  }

  close(): Promise<void> {
    return this.client.close();
  }
}


/**
 * `plum`: Plum DEV's Call Log API as a stream of `call`, `session` and `error` events.
 *
 * ```yaml
 * sources:
 *   plum:
 *     type: plum
 *     base_url: ${PLUM_URL:-https://hosting.plumvoice.com/ws/}
 *     username: ${PLUM_USER}
 *     password: ${PLUM_PASSWORD}
 *     backfill: 2d
 *     poll_interval: 60s
 * ```
 */
export const plumSource = defineSource({
  type: 'plum',
  description: "Reads Plum DEV's Call Log API (calls with their detail, session lines, error lines); polls incrementally.",
  configSchema: plumSourceConfigSchema,
  includes: ACCOUNTS_INCLUDES,
  shardable: accountsShardable,
  // 2: the accounts' checkpoints are the record itself, one key per account (was under `@accounts`).
  // 3: times in epoch ms, as iPlum's (were epoch seconds): the same position, × 1000.
  checkpointVersion: 3,
  // The shape of a stored position (after migration): a wrong one stops the start with STATE_CORRUPT.
  checkpointSchema: accountsCheckpointSchema(pollCheckpointSchema(PLUM_STREAMS)),
  migrateCheckpoint: (position, fromVersion) => {
    const accounts = migrateAccountsCheckpoint<JsonValue>(position);
    return (fromVersion < 3 ? scaleCursors(accounts, SECOND_MS) : accounts) as PlumCheckpoint | AccountsCheckpoint<PlumCheckpoint>;
  },
  create(config, ctx): Source<PlumCheckpoint | AccountsCheckpoint<PlumCheckpoint>> {
    warnIfOverlapGiven(config, ctx.logger);
    if (!config.accounts) return new PlumSource(config, ctx);
    return sourceOfAccounts<PlumCheckpoint, PlumSourceConfig>(config, ctx, (c, accountCtx, shared) => new PlumSource(c, accountCtx, shared), plumSourceConfigSchema);
  },
});
