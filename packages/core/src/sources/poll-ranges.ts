import { isPlumlineError } from '../errors.js';
import type { ComponentContext, SourcePage } from '../plugin.js';
import type { JsonValue } from '../util/json.js';
import { backoffDelayMs, type BackoffPolicy } from '../util/backoff.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { CallEvent } from '../event.js';
import { SeenIds, type SeenChunk } from './seen-ids.js';
import type { TenantTurn } from './tenant-turns.js';

/** Between attempts at a part that failed for a reason that may pass (an outage): capped at a minute, jittered. */
export const OUTAGE_BACKOFF: BackoffPolicy = { initialDelayMs: 1_000, maxDelayMs: 60_000, multiplier: 2 };
/** Attempts at a part that fails with an error plumline does not know (a bug, most likely) before it ends the source. */
export const UNKNOWN_ERROR_ATTEMPTS = 3;
/**
 * How long an idle account of many (its polls list nothing new) goes at most without handing on
 * its moved cursor (see `quietCheckpointMs`): a restart reads at most this much more again, on top
 * of the `lateness` every poll reads again anyway (2 h by default). 10,000 idle accounts of ≈ 1 KB
 * each write ≈ 10 MB an hour, spread over it: ≈ 0.2–0.4 MB a minute.
 */
export const QUIET_CHECKPOINT_MS = 60 * 60_000;
/** A bounded run (`--once`, an `end`) gives up on an outage after this long unless the source says otherwise. */
export const DEFAULT_BOUNDED_RETRY_DURATION_MS = 5 * 60_000;

/**
 * `onRetry`/`onRecovered` for a polling source: a warning per attempt, a retry counted, not ready
 * until a part succeeds; and `onNextPoll`: when the next poll starts, for the ops views.
 */
export function outageReporting(ctx: Pick<ComponentContext, 'logger' | 'telemetry' | 'clock'>): Pick<PollRangesOptions<string>, 'onRetry' | 'onRecovered' | 'onNextPoll'> {
  return {
    // Wall time, for people reading the views: the wait itself runs on `sleep`.
    onNextPoll: (delayMs) => ctx.telemetry.nextPoll(delayMs === undefined ? undefined : ctx.clock.now() + delayMs),
    onRetry: (err, attempt, delayMs) => {
      const e = err as { code?: string; message?: string };
      ctx.telemetry.retry(err);
      ctx.telemetry.failing(`reading failed (${e.code ?? 'error'}): retrying`);
      ctx.logger.warn({ code: e.code, err: isPlumlineError(err) ? undefined : err, message: e.message, attempt, delayMs }, 'source read failed; retrying the range');
    },
    onRecovered: () => {
      ctx.telemetry.recovered();
      ctx.logger.info('source read recovered');
    },
  };
}

/**
 * The checkpoint of a polling source: per stream, the cursor (everything that started before it
 * was delivered); under `@readAt`, per stream, when the part that moved its cursor was read; under
 * `@parts`, the parts being read when the checkpoint was taken (at most one per stream) and where
 * in each to resume; under `@seen`, per stream, the ids delivered that a later pass may list
 * again (see `startOf`).
 */
export type PollCheckpoint<S extends string> = Partial<Record<S, number>> & {
  '@readAt'?: Partial<Record<S, number>>;
  '@parts'?: PollPart<S>[];
  '@seen'?: Partial<Record<S, SeenChunk[]>>;
};

/** A part being read, and where in it the source is (the last acknowledged page's position). */
export interface PollPart<S extends string> {
  stream: S;
  start: number;
  end: number;
  at: JsonValue;
}

/** Options of {@link pollRanges}. */
export interface PollRangesOptions<S extends string> {
  /** The streams to read, in order, each with its own cursor. */
  streams: readonly S[];
  /** Restored from the checkpoint (see {@link PollCheckpoint}). */
  checkpoint: PollCheckpoint<S> | undefined;
  /** Start of the first range of a stream without a cursor. */
  firstStart: number;
  /** A later range never starts before this (a configured `start`), however large `lateness` is. */
  configuredStart: number;
  /** End of the whole range (exclusive); undefined: keep polling up to `now()`. */
  end?: number;
  /**
   * How long after its start a record may first be listed (late records: a call listed once it
   * ended). A later range reaches back this far before the time its predecessor was read, never
   * further than its cursor needs: a part read long after its end (a backfill) is not read again.
   */
  lateness: number;
  /**
   * The start of an event, in cursor units. Given it, a record that a later pass lists again
   * (every pass re-reads `lateness`) is delivered once: the ids delivered that a later pass may
   * reach are kept, in the checkpoint too, and events with those ids are dropped. Absent: every
   * listing is delivered as it comes (a `dedupe` downstream must remove the repeats).
   */
  startOf?: (e: CallEvent) => number;
  /** Milliseconds between polls. */
  pollIntervalMs: number;
  /** Stop after the range that reaches `end` (or after the first pass when there is no end: `--once`). */
  bounded: boolean;
  signal: AbortSignal;
  /** The clock, in the same unit as cursors (seconds for Plum, milliseconds for iPlum). */
  now: () => number;
  /** Moves a range start, e.g. into a service's retention window. */
  clampStart?: (stream: S, from: number) => number;
  /** Splits [from, to) into parts; the cursor advances after each (iPlum: windows of ≤ 5 days). Default: one part. */
  split?: (from: number, to: number) => { start: number; end: number }[];
  /**
   * Reads one part of one stream, from its beginning or, given `resume`, from where a page's
   * `checkpoint` said (a page's `checkpoint` is its position inside the part: the position after
   * it, to resume there after a crash). Must end early (without error) when `signal` aborts.
   * `seen` (with `startOf`) tells ids delivered before, whose records need no more work (a
   * detail request): their events are dropped anyway.
   */
  read: (stream: S, from: number, to: number, resume: JsonValue | undefined, seen: (id: string) => boolean) => AsyncIterable<SourcePage<JsonValue>>;
  /** Called at the start of each pass and after each part: parts done of the pass's total (progress bars). */
  onProgress?: (done: number, total: number) => void;
  /** Waits between polls and retries. Default: `clock`'s. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * The component's clock (`ctx.clock`), in milliseconds whatever the cursors' unit: how long a
   * part has been retried (`maxRetryDurationMs`) and, without `sleep`, the waits. Default: the system clock.
   */
  clock?: Clock;
  /**
   * How long a part that keeps failing with retriable errors (an outage) is tried again before
   * the error ends the source. Default: without limit. The cursor never passes a failed part.
   */
  maxRetryDurationMs?: number;
  /** Called after each failed attempt at a part that will be tried again (warn, count, report not ready). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Called when a part succeeds after failed attempts (report ready again). */
  onRecovered?: () => void;
  /** Called with the wait before the next poll as it starts, and with `undefined` when the poll begins. */
  onNextPoll?: (delayMs: number | undefined) => void;
  /**
   * A tenant's turn at the vendor, shared by the accounts of one source (see `accountsSource`):
   * taken before each pass, let go while a failed part waits in backoff (the others poll
   * meanwhile) and when the pass ends (before the sleep).
   */
  turn?: TenantTurn;
  /** Called when a pass read every part up to `rangeEnd` (cursor units): the tenant is caught up to there (lag, last successful poll). */
  onPassDone?: (rangeEnd: number) => void;
  /**
   * Polling (not bounded): a pass that delivers no event hands on no checkpoint unless this long
   * (ms of `clockMs`) passed since the last checkpoint handed on — an idle account of thousands
   * does not rewrite its moved cursor at every poll. Its cursor still moves in memory; a restart
   * reads again from the stored one, at most this long plus a poll, and delivers nothing twice
   * (nothing was delivered since that checkpoint; what it had delivered is in its `@seen`). The
   * first pass of each `read` always hands on. Default 0: every pass.
   */
  quietCheckpointMs?: number;
  /** Wall clock for `quietCheckpointMs` (tests pass a fake clock's). Default: `clock`'s now. */
  clockMs?: () => number;
  /** In [0, 1): each quiet stretch lasts between half and all of `quietCheckpointMs`, so thousands of accounts started together do not all write in one minute. Default `Math.random`. */
  random?: () => number;
}

interface Part {
  start: number;
  end: number;
  /** Where to resume inside the part (from a checkpoint taken while it was read). */
  resume?: JsonValue;
}

/**
 * The loop of an incremental polling source, as an async generator of pages: per stream, read
 * from its cursor (reaching back `lateness` before the time the cursor's part was read; the first
 * time from `firstStart`) to now, then yield a checkpoint-only page with the cursor moved to the
 * end of what was read — the runtime stores it only once every page before it was acknowledged.
 * Pages inside a part carry the part and their position in it (`@parts`), so a restart resumes after the
 * last acknowledged page rather than at the part's start. Then sleep `pollIntervalMs` and poll
 * again, unless bounded.
 *
 * @example
 * read: (cp) => pollRanges({ streams: ['calls'], checkpoint: cp, firstStart: ctx.clock.now() - 86_400_000,
 *   configuredStart: 0, lateness: 7_200_000, pollIntervalMs: 60_000, bounded: ctx.once, signal: ctx.signal,
 *   now: () => ctx.clock.now(), clock: ctx.clock, read: (stream, from, to) => fetchPages(stream, from, to) })
 */
export async function* pollRanges<S extends string>(o: PollRangesOptions<S>): AsyncGenerator<SourcePage<PollCheckpoint<S>>> {
  const restored = (o.checkpoint ?? {}) as Record<string, unknown>;
  const { '@readAt': restoredReadAt, '@parts': restoredParts, '@seen': restoredSeen, ...cursors } = restored;
  const cursor = cursors as Partial<Record<S, number>>;
  const readAt: Partial<Record<S, number>> = { ...(restoredReadAt as Partial<Record<S, number>> | undefined) };
  // Parts in progress, by stream: every checkpoint carries each until it is done, so a checkpoint
  // taken while another stream is read (or before an interrupted part resumes) keeps its place.
  // When a pass is planned it holds only parts a crash interrupted: every pass ends its parts.
  const inProgress = new Map<S, PollPart<S>>(((restoredParts as PollPart<S>[] | undefined) ?? []).map((p) => [p.stream, p]));
  const seen = o.startOf ? new SeenIds<S>(restoredSeen as Partial<Record<S, SeenChunk[]>> | undefined) : undefined;
  const isSeen = (id: string): boolean => seen?.has(id) ?? false;
  const checkpoint = (): PollCheckpoint<S> => {
    const seenNow = seen?.snapshot();
    return { ...cursor, '@readAt': { ...readAt }, ...(inProgress.size ? { '@parts': [...inProgress.values()] } : {}), ...(seenNow ? { '@seen': seenNow } : {}) } as PollCheckpoint<S>;
  };
  const clockMs = o.clockMs ?? (() => (o.clock ?? systemClock).now());
  const quietMs = o.bounded ? 0 : (o.quietCheckpointMs ?? 0);
  // When a checkpoint was last handed on: never, so the first pass hands on its own.
  let handedOnMs = Number.NEGATIVE_INFINITY;
  // This stretch's length: jittered, so accounts started together spread their writes over the window.
  const stretch = (): number => quietMs * (0.5 + 0.5 * (o.random ?? Math.random)());
  let quietForMs = stretch();
  for (;;) {
    await o.turn?.take(o.signal);
    if (o.signal.aborted) return;
    let rangeEnd: number;
    // Until this pass delivers an event (or a dead letter), its pages (checkpoints only) are held back, when quiet.
    let delivered = !(quietMs > 0 && clockMs() - handedOnMs < quietForMs);
    const handOn = (page: SourcePage<PollCheckpoint<S>>): SourcePage<PollCheckpoint<S>> | undefined => {
      if (!delivered && page.events.length === 0 && !page.dead?.length) return undefined;
      delivered = true;
      if (page.checkpoint !== undefined) {
        handedOnMs = clockMs();
        quietForMs = stretch();
      }
      return page;
    };
    try {
      // When this pass began: every record it reads that started more than `lateness` before this
      // was listed by then, so a later pass need not reach back past it.
      const passNow = o.now();
      // The ids delivered now that a later pass may list again: it reads from `horizon` on at least.
      const horizon = passNow - o.lateness;
      rangeEnd = Math.min(o.end ?? Number.POSITIVE_INFINITY, passNow);
      // The whole pass is planned first, so progress knows its total.
      const plan = o.streams.map((stream) => ({ stream, parts: planStream(o, stream, cursor[stream], readAt[stream], rangeEnd, inProgress.get(stream)) }));
      const total = plan.reduce((n, p) => n + p.parts.length, 0);
      let done = 0;
      o.onProgress?.(done, total);
      for (const { stream, parts } of plan) {
        if (o.signal.aborted) return;
        for (const part of parts) {
          for await (const read of readRetrying(o, stream, part, isSeen)) {
            const page = seen ? { ...read, events: seen.accept(stream, read.events, o.startOf!, horizon) } : read;
            let out: SourcePage<PollCheckpoint<S>> | undefined;
            if (page.checkpoint === undefined) out = handOn({ ...page, checkpoint: undefined });
            else {
              inProgress.set(stream, { stream, start: part.start, end: part.end, at: page.checkpoint });
              out = handOn({ ...page, checkpoint: checkpoint() });
            }
            if (out) yield out;
          }
          // A read cut short by a stop did not cover its part: the cursor stays.
          if (o.signal.aborted) return;
          inProgress.delete(stream);
          cursor[stream] = Math.max(cursor[stream] ?? part.end, part.end);
          readAt[stream] = passNow;
          seen?.prune(stream, reachBack(o, cursor[stream]!, passNow));
          o.onProgress?.(++done, total);
          const out = handOn({ events: [], checkpoint: checkpoint() });
          if (out) yield out;
        }
        if (parts.length === 0) {
          cursor[stream] = Math.max(cursor[stream] ?? rangeEnd, rangeEnd);
          const out = handOn({ events: [], checkpoint: checkpoint() });
          if (out) yield out;
        }
      }
    } finally {
      o.turn?.give();
    }
    o.onPassDone?.(rangeEnd);
    if (o.bounded && (o.end === undefined || rangeEnd >= o.end)) return;
    o.onNextPoll?.(o.pollIntervalMs);
    const clock = o.clock ?? systemClock;
    await (o.sleep ?? ((ms, s) => clock.sleep(ms, s)))(o.pollIntervalMs, o.signal).catch(() => {});
    o.onNextPoll?.(undefined);
    if (o.signal.aborted) return;
  }
}

/** The parts of one stream in this pass: the part a crash interrupted first (from where it stopped), then on up to `rangeEnd`. */
function planStream<S extends string>(o: PollRangesOptions<S>, stream: S, at: number | undefined, readAt: number | undefined, rangeEnd: number, interrupted: PollPart<S> | undefined): Part[] {
  const split = (from: number, to: number): Part[] => (from < to ? (o.split ? o.split(from, to) : [{ start: from, end: to }]) : []);
  if (interrupted) return [{ start: interrupted.start, end: interrupted.end, resume: interrupted.at }, ...split(interrupted.end, rangeEnd)];
  let from = at === undefined ? o.firstStart : reachBack(o, at, readAt ?? at);
  if (o.clampStart) from = o.clampStart(stream, from);
  return split(from, rangeEnd);
}

/**
 * Where the next range of a stream starts: records that started before the cursor but were
 * listed late can only be those that started within `lateness` of the time the cursor's part was read.
 */
function reachBack<S extends string>(o: PollRangesOptions<S>, at: number, readAt: number): number {
  return Math.max(Math.min(at, readAt - o.lateness), o.configuredStart);
}

/**
 * Reads one part, trying again after retriable failures with capped, jittered backoff until it
 * succeeds, the pipeline stops, or `maxRetryDurationMs` passed (then the error ends the source,
 * before the cursor moves past the part). Pages the failed attempt yielded were delivered: the
 * retry reads them again (dedupe, or a sink that keeps what a checkpoint covers, absorbs them).
 */
async function* readRetrying<S extends string>(o: PollRangesOptions<S>, stream: S, part: Part, seen: (id: string) => boolean): AsyncGenerator<SourcePage<JsonValue>> {
  const clock = o.clock ?? systemClock;
  const started = clock.now();
  // A retry resumes after the last page the failed attempt yielded, when pages say where they are.
  let resume = part.resume;
  for (let attempt = 1; ; attempt++) {
    try {
      for await (const page of o.read(stream, part.start, part.end, resume, seen)) {
        if (page.checkpoint !== undefined) resume = page.checkpoint;
        yield page;
      }
      if (o.turn) o.turn.failing = false;
      if (attempt > 1) o.onRecovered?.();
      return;
    } catch (err) {
      // Known transient errors (network, 429, 5xx) are retried for as long as allowed; errors
      // plumline does not know a few times only, so a bug cannot spin for ever.
      const transient = isPlumlineError(err) ? err.retriable : attempt < UNKNOWN_ERROR_ATTEMPTS;
      if (o.signal.aborted || !transient || clock.now() - started >= (o.maxRetryDurationMs ?? Number.POSITIVE_INFINITY)) throw err;
      const delay = backoffDelayMs(attempt, OUTAGE_BACKOFF);
      if (o.turn) o.turn.failing = true;
      o.onRetry?.(err, attempt, delay);
      const wait = (): Promise<void> => (o.sleep ?? ((ms, s) => clock.sleep(ms, s)))(delay, o.signal).catch(() => {});
      // A tenant in backoff holds no turn: the others poll while it waits.
      await (o.turn ? o.turn.without(wait, o.signal) : wait());
      if (o.signal.aborted) return;
    }
  }
}
