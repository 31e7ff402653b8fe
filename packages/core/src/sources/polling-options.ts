import type { ComponentContext } from '../plugin.js';
import { latenessMs } from './lateness.js';
import { DEFAULT_BOUNDED_RETRY_DURATION_MS, outageReporting, type PollRangesOptions } from './poll-ranges.js';
import type { TenantTurn } from './tenant-turns.js';

/** The config keys a polling vendor source (plum, iplum, http) reads its time range and retries from. */
export interface PollingConfig {
  /** UNIX seconds or ISO-8601. */
  start?: number | string;
  /** UNIX seconds or ISO-8601 (exclusive). */
  end?: number | string;
  backfill?: number;
  poll_interval: number;
  lateness?: number;
  /** The old name of `lateness`. */
  overlap?: number;
  max_retry_duration?: number;
}

/** What the accounts of one source share that the poll loop takes (see `SharedByAccounts`). */
export interface PollingShared {
  turn?: TenantTurn;
  /** A pass read everything up to `rangeEndMs` (epoch ms). */
  onPassDone?: (rangeEndMs: number) => void;
  /** An idle account hands on its moved cursor at most this often (see `pollRanges`). */
  quietCheckpointMs?: number;
}

/** The options of `pollRanges`/`pollStreams` a polling source derives from its config alike. */
export type PollingOptions = Pick<
  PollRangesOptions<string>,
  'firstStart' | 'configuredStart' | 'end' | 'lateness' | 'startOf' | 'pollIntervalMs' | 'bounded' | 'signal' | 'now' | 'clock' | 'maxRetryDurationMs' | 'turn' | 'quietCheckpointMs' | 'onPassDone' | 'onRetry' | 'onRecovered' | 'onNextPoll'
>;

/** Epoch ms of a config instant: UNIX seconds, or ISO-8601. */
export function instantMs(v: number | string): number {
  return typeof v === 'number' ? v * 1000 : Date.parse(v);
}

/** Whether a polling source ends by itself: run `--once`, or given an `end`. */
export function pollingBounded(c: Pick<PollingConfig, 'end'>, ctx: Pick<ComponentContext, 'once'>): boolean {
  return ctx.once || c.end !== undefined;
}

/**
 * What every polling vendor source gives `pollRanges` or `pollStreams` alike, from its config
 * (start, end, backfill, lateness, poll interval, retry duration), its context (signal, clock,
 * outage reporting) and what its accounts share (turn, pass done). The source adds its streams, its
 * checkpoint, its `read` and what is its own (a retention clamp, windows, progress units).
 *
 * `unitMs` is the unit of the source's cursors: 1 (epoch ms: Plum, iPlum) or 1000 (seconds: http).
 * Checkpoints store cursors in that unit, so changing it takes a checkpoint migration
 * (`scaleCursors`). `gridMs` rounds every time down to a multiple of it (Plum's API takes
 * whole seconds: 1000); default `unitMs`.
 */
export function pollingOptions(c: PollingConfig, ctx: Pick<ComponentContext, 'once' | 'signal' | 'logger' | 'telemetry' | 'clock'>, shared: PollingShared, unitMs: 1 | 1000, gridMs: number = unitMs): PollingOptions {
  const unit = (ms: number) => (Math.floor(ms / gridMs) * gridMs) / unitMs;
  const now = () => unit(ctx.clock.now());
  const bounded = pollingBounded(c, ctx);
  // In cursor units each: `now - backfill` rounds both down, not their difference (as the sources always did).
  const firstStart = () => (c.start !== undefined ? unit(instantMs(c.start)) : c.backfill !== undefined ? now() - unit(c.backfill) : now());
  return {
    firstStart: firstStart(),
    configuredStart: c.start !== undefined ? unit(instantMs(c.start)) : 0,
    end: c.end === undefined ? undefined : unit(instantMs(c.end)),
    lateness: unit(latenessMs(c)),
    startOf: (e) => unit(Date.parse(e.time)),
    pollIntervalMs: c.poll_interval,
    bounded,
    signal: ctx.signal,
    now,
    // The retries' duration, the waits and the quiet-checkpoint window: in ms, whatever the cursors' unit.
    clock: ctx.clock,
    maxRetryDurationMs: c.max_retry_duration ?? (bounded ? DEFAULT_BOUNDED_RETRY_DURATION_MS : undefined),
    turn: shared.turn,
    quietCheckpointMs: shared.quietCheckpointMs,
    onPassDone: (rangeEnd) => shared.onPassDone?.(rangeEnd * unitMs),
    ...outageReporting(ctx),
  };
}
