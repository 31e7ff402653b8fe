/**
 * Where time comes from. Every component reads the time and waits through one of these
 * (`ctx.clock`; a pipeline's from `PipelineOptions.clock`), so a test can run hours of polling,
 * backoff, commit intervals and window closes in milliseconds on a `FakeClock`, and so a timer
 * cannot hide in a component: `pnpm lint` refuses `setTimeout`, `setInterval`, `Date.now` and
 * `new Date()` everywhere in `packages/*\/src` but in this file and in tests.
 */
export interface Clock {
  /** The current time, epoch milliseconds (wall clock: it is what events and checkpoints are stamped with). */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. Never holds the process open. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Runs `fn` once after `ms`. The timer does not hold the process open unless `keepAlive` says so. */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): Timer;
  /** Runs `fn` every `ms` until cancelled. The timer does not hold the process open unless `keepAlive` says so. */
  setInterval(fn: () => void, ms: number, options?: TimerOptions): Timer;
}

/** Options of {@link Clock.setTimeout} and {@link Clock.setInterval}. */
export interface TimerOptions {
  /** Hold the process open while the timer is pending (a Node.js timer's default; `unref()` otherwise). Default false. */
  keepAlive?: boolean;
}

/** A scheduled timer: `cancel()` it (idempotent) to dispose of it. */
export interface Timer {
  cancel(): void;
}

/** The clock of the system: `Date.now` and Node.js timers. The default of every pipeline and component. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      timer.unref();
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  setTimeout: (fn, ms, options) => {
    const timer = setTimeout(fn, ms);
    if (!options?.keepAlive) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  setInterval: (fn, ms, options) => {
    const timer = setInterval(fn, ms);
    if (!options?.keepAlive) timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
};
