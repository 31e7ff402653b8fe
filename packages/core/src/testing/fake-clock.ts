/**
 * A clock for testing polling code without waiting: `now()` reads it, `sleep(ms)` resolves only
 * when `advance` moves the clock past its deadline (or rejects when its signal aborts).
 *
 * @example
 * const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
 * const pages = pollRanges({ ..., now: clock.now, sleep: clock.sleep });
 * await clock.advance(60_000);   // the next poll happens
 */
export class FakeClock {
  private nowMs: number;
  private waiters: { at: number; resolve: () => void }[] = [];

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  /** The current time (milliseconds). */
  readonly now = (): number => this.nowMs;

  /** Sleeps on this clock. */
  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const w = { at: this.nowMs + ms, resolve };
      this.waiters.push(w);
      signal?.addEventListener(
        'abort',
        () => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(signal.reason);
        },
        { once: true },
      );
    });

  /** Sleepers waiting now. */
  get pending(): number {
    return this.waiters.length;
  }

  /** Moves the clock forward, waking every sleeper whose deadline passed, then lets them run. */
  async advance(ms: number): Promise<void> {
    this.nowMs += ms;
    const due = this.waiters.filter((w) => w.at <= this.nowMs);
    this.waiters = this.waiters.filter((w) => w.at > this.nowMs);
    for (const w of due) w.resolve();
    // Let the woken code run up to its next await.
    for (let i = 0; i < 10; i++) await Promise.resolve();
  }
}
