import type { Clock, Timer, TimerOptions } from '../util/clock.js';

/** A pending sleep or timer of a FakeClock. */
interface Waiter {
  at: number;
  /** Order of scheduling: timers due at the same moment run in the order they were set. */
  order: number;
  fire: () => void;
  /** Set for an interval: it is scheduled again this far after each run. */
  everyMs?: number;
}

/**
 * A clock for testing timed code without waiting: `now()` reads it; sleeps and timers run only
 * when `advance` moves the clock past their deadline, in deadline order, each with the clock
 * reading its own deadline (an interval runs once per period passed). Pass it as a pipeline's
 * `clock` (PipelineOptions.clock) or a component's `ctx.clock`.
 *
 * @example
 * const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
 * const pages = pollRanges({ ..., now: clock.now, sleep: clock.sleep });
 * await clock.advance(60_000);   // the next poll happens
 */
export class FakeClock implements Clock {
  private nowMs: number;
  private waiters: Waiter[] = [];
  private scheduled = 0;

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  /** The current time (milliseconds). */
  readonly now = (): number => this.nowMs;

  /** Sleeps on this clock. */
  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const w = this.add(ms, () => resolve());
      signal?.addEventListener(
        'abort',
        () => {
          this.remove(w);
          reject(signal.reason);
        },
        { once: true },
      );
    });

  /** Runs `fn` once when the clock passes `ms` from now. */
  readonly setTimeout = (fn: () => void, ms: number, _options?: TimerOptions): Timer => {
    const w = this.add(ms, fn);
    return { cancel: () => this.remove(w) };
  };

  /** Runs `fn` each time the clock passes another `ms`. */
  readonly setInterval = (fn: () => void, ms: number, _options?: TimerOptions): Timer => {
    // A zero period would run for ever within one advance.
    const w = this.add(Math.max(1, ms), fn, Math.max(1, ms));
    return { cancel: () => this.remove(w) };
  };

  /** Sleepers and timers waiting now. */
  get pending(): number {
    return this.waiters.length;
  }

  /** Moves the clock forward by `ms`, running every sleeper and timer due on the way in deadline order, and lets what they woke run. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (;;) {
      const next = this.due(target);
      if (!next) break;
      this.nowMs = Math.max(this.nowMs, next.at);
      if (next.everyMs === undefined) this.remove(next);
      else next.at += next.everyMs;
      next.fire();
      await settle();
    }
    this.nowMs = target;
    await settle();
  }

  private add(ms: number, fire: () => void, everyMs?: number): Waiter {
    const w: Waiter = { at: this.nowMs + Math.max(0, ms), order: this.scheduled++, fire, ...(everyMs === undefined ? {} : { everyMs }) };
    this.waiters.push(w);
    return w;
  }

  private remove(w: Waiter): void {
    this.waiters = this.waiters.filter((x) => x !== w);
  }

  /** The first waiter due by `target`. */
  private due(target: number): Waiter | undefined {
    let first: Waiter | undefined;
    for (const w of this.waiters) if (w.at <= target && (!first || w.at < first.at || (w.at === first.at && w.order < first.order))) first = w;
    return first;
  }
}

/** Lets woken code run up to its next await (a few rounds of the microtask queue). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
