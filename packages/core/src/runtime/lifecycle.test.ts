import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Lifecycle, type LifecyclePhase, type LifecycleSteps } from './lifecycle.js';

/** A promise the test settles by hand. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued promise callback run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A lifecycle whose steps record what ran, in which phase, and wait for the test where told:
 * `log` reads like `start@starting`, `drain@stopping`, `finish(true)@finishing`, `ended@ended`.
 */
function recorded(overrides: Partial<LifecycleSteps<string>> = {}, signal?: AbortSignal) {
  const log: string[] = [];
  const steps: LifecycleSteps<string> = {
    start: async () => {
      log.push(`start@${life.phase}`);
      await overrides.start?.();
    },
    stopRequested: () => log.push(`stopRequested@${life.phase}`),
    drain: async () => {
      log.push(`drain@${life.phase}`);
      await overrides.drain?.();
    },
    finish: async (started) => {
      log.push(`finish(${started})@${life.phase}`);
      return overrides.finish ? overrides.finish(started) : 'result';
    },
    onFail: (error) => log.push(`onFail@${life.phase}:${(error as Error).message}`),
    ended: (error) => log.push(`ended@${life.phase}${error === undefined ? '' : `:${(error as Error).message}`}`),
  };
  const life: Lifecycle<string> = new Lifecycle('test thing', steps, signal);
  return { life, log };
}

describe('Lifecycle', () => {
  it('goes created → starting → running → stopping → finishing → ended on start then stop, each step once, and resolves done with finish\'s result', async () => {
    const { life, log } = recorded();
    const phases: LifecyclePhase[] = [life.phase];
    await life.start();
    phases.push(life.phase);
    expect(await life.stop()).toBe('result');
    phases.push(life.phase);
    expect(phases).toEqual(['created', 'running', 'ended']);
    expect(life.started).toBe(true);
    expect(log).toEqual(['start@starting', 'stopRequested@running', 'drain@stopping', 'finish(true)@finishing', 'ended@ended']);
    await expect(life.done).resolves.toBe('result');
  });

  it('a stop during start waits for the start to settle, then drains: stopRequested at once, drain only once running', async () => {
    const gate = deferred();
    const { life, log } = recorded({ start: () => gate.promise });
    const starting = life.start();
    await settled();
    const stopping = life.stop();
    await settled();
    expect(life.phase).toBe('starting');
    expect(log).toEqual(['start@starting', 'stopRequested@starting']);
    gate.resolve();
    await starting;
    expect(await stopping).toBe('result');
    expect(log).toEqual(['start@starting', 'stopRequested@starting', 'drain@stopping', 'finish(true)@finishing', 'ended@ended']);
  });

  it('a failed start finishes without draining (finish told it never started) and rejects start() and done with the start\'s error', async () => {
    const broken = new Error('cannot open');
    const { life, log } = recorded({ start: () => Promise.reject(broken) });
    await expect(life.start()).rejects.toBe(broken);
    await expect(life.done).rejects.toBe(broken);
    expect(life.phase).toBe('ended');
    expect(life.failure).toBe(broken);
    expect(life.started).toBe(false);
    expect(log).toEqual(['start@starting', 'finish(false)@finishing', 'ended@ended:cannot open']);
    await expect(life.stop()).rejects.toBe(broken);
    expect(log).toHaveLength(3);
  });

  it('a stop before start finishes at once (no start, no drain); a start after it is refused with LIFECYCLE_ILLEGAL_TRANSITION', async () => {
    const { life, log } = recorded();
    expect(await life.stop()).toBe('result');
    expect(log).toEqual(['stopRequested@created', 'finish(false)@finishing', 'ended@ended']);
    await expect(life.start()).rejects.toMatchObject({ code: 'LIFECYCLE_ILLEGAL_TRANSITION', fields: { from: 'ended', to: 'starting' } });
    await expect(life.start()).rejects.toThrow(/test thing cannot go from ended to starting: it was stopped before it started/);
    expect(log).toHaveLength(3);
  });

  it('a start() called while a stop before start is under way is refused, not run beside the finish', async () => {
    const gate = deferred<string>();
    const { life, log } = recorded({ finish: () => gate.promise });
    const stopping = life.stop();
    expect(life.phase).toBe('finishing');
    await expect(life.start()).rejects.toMatchObject({ code: 'LIFECYCLE_ILLEGAL_TRANSITION', fields: { from: 'finishing', to: 'starting' } });
    gate.resolve('late');
    expect(await stopping).toBe('late');
    expect(log.filter((l) => l.startsWith('start'))).toEqual([]);
  });

  it('a fail during stop is what done rejects with, and starts no second stop', async () => {
    const gate = deferred();
    const { life, log } = recorded({ drain: () => gate.promise });
    await life.start();
    const stopping = life.stop();
    await settled();
    expect(life.phase).toBe('stopping');
    const broken = new Error('sink broke while draining');
    expect(life.fail(broken)).toBe(true);
    expect(life.fail(new Error('later'))).toBe(false);
    gate.resolve();
    await expect(stopping).rejects.toBe(broken);
    await expect(life.done).rejects.toBe(broken);
    expect(log).toEqual(['start@starting', 'stopRequested@running', 'drain@stopping', 'onFail@stopping:sink broke while draining', 'finish(true)@finishing', 'ended@ended:sink broke while draining']);
  });

  it('fail() while running stops it (drain, finish) and the first failure wins', async () => {
    const { life, log } = recorded();
    await life.start();
    const first = new Error('first');
    life.fail(first);
    life.fail(new Error('second'));
    await expect(life.done).rejects.toBe(first);
    expect(log).toEqual(['start@starting', 'onFail@running:first', 'stopRequested@running', 'drain@stopping', 'finish(true)@finishing', 'ended@ended:first']);
  });

  it('a failure recorded while finishing (a close that failed) ends it with that error; once ended, failures are ignored', async () => {
    const closing = new Error('close failed');
    const { life } = recorded({
      finish: async () => {
        expect(life.recordFailure(closing)).toBe(true);
        return 'result';
      },
    });
    await life.start();
    await expect(life.stop()).rejects.toBe(closing);
    expect(life.recordFailure(new Error('after the end'))).toBe(false);
    expect(life.fail(new Error('after the end'))).toBe(false);
    expect(life.failure).toBe(closing);
  });

  it('finish() on its own (a source ran out, an abort) goes running → finishing without a drain; a stop during it drains (bounding the finish), a stop after it waits for the same end', async () => {
    const gate = deferred<string>();
    const { life, log } = recorded({ finish: () => gate.promise });
    await life.start();
    const finishing = life.finish();
    expect(life.phase).toBe('finishing');
    expect(life.finish()).toBe(finishing);
    const stopping = life.stop();
    await settled();
    expect(log).toEqual(['start@starting', 'finish(true)@finishing', 'drain@finishing']);
    gate.resolve('result');
    expect(await stopping).toBe('result');
    const after = recorded();
    await after.life.start();
    await after.life.finish();
    expect(await after.life.stop()).toBe('result');
    expect(after.log).toEqual(['start@starting', 'finish(true)@finishing', 'ended@ended']);
  });

  it('an abort during start (finish while starting) is not undone when the start then completes', async () => {
    const gate = deferred();
    const { life, log } = recorded({ start: () => gate.promise });
    const starting = life.start();
    await settled();
    await life.finish();
    expect(life.phase).toBe('ended');
    gate.resolve();
    await starting;
    expect(life.phase).toBe('ended');
    expect(log).toEqual(['start@starting', 'finish(false)@finishing', 'ended@ended']);
  });

  it('double close: stop() and start() are memoised (one promise, one run each), and a second stop after the end resolves the same result', async () => {
    const { life, log } = recorded();
    expect(life.start()).toBe(life.start());
    await life.start();
    const stopping = life.stop();
    expect(life.stop()).toBe(stopping);
    expect(await stopping).toBe('result');
    expect(await life.stop()).toBe('result');
    expect(log.filter((l) => l.startsWith('finish'))).toHaveLength(1);
    expect(log.filter((l) => l.startsWith('drain'))).toHaveLength(1);
  });

  it('stops when the signal it was given aborts, and stops listening once ended', async () => {
    const controller = new AbortController();
    const { life, log } = recorded({}, controller.signal);
    await life.start();
    controller.abort();
    expect(await life.done).toBe('result');
    expect(log).toContain('drain@stopping');
    const other = new AbortController();
    const second = recorded({}, other.signal).life;
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(1);
    await second.stop();
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });
});
