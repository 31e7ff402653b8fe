import { PipelineError } from '../errors.js';

/**
 * Where a runnable thing is in its life. It moves forward only, along {@link NEXT}:
 * created → starting → running → stopping → finishing → ended. A start that fails, a stop
 * before start, an end of its own (a bounded source ran out) or an abort go straight to finishing.
 */
export type LifecyclePhase = 'created' | 'starting' | 'running' | 'stopping' | 'finishing' | 'ended';

const ORDER: readonly LifecyclePhase[] = ['created', 'starting', 'running', 'stopping', 'finishing', 'ended'];

/** The legal moves; anything else is a bug of the caller, refused with LIFECYCLE_ILLEGAL_TRANSITION. */
const NEXT: Readonly<Record<LifecyclePhase, readonly LifecyclePhase[]>> = {
  created: ['starting', 'finishing'],
  starting: ['running', 'finishing'],
  running: ['stopping', 'finishing'],
  stopping: ['finishing'],
  finishing: ['ended'],
  ended: [],
};

/** What a lifecycle runs at each step; it decides when, once each. */
export interface LifecycleSteps<R> {
  /** created → starting: brings the thing up. Resolving moves it to running, unless it was finished meanwhile (an abort). */
  start(): Promise<void>;
  /** At once, on the first stop() before finishing (even while a start is in progress): tell the parts to take no more work. */
  stopRequested?(): void;
  /**
   * Once the start settled, if it is running (→ stopping) or finishing already (its sources ended,
   * a failure, an abort): lets in-flight work drain, or waits for the finish under way, within
   * whatever bound the caller keeps (the pipeline's shutdown_timeout). The lifecycle finishes after it.
   */
  drain(): Promise<void>;
  /**
   * → finishing: the final work (commit, close), once, whatever ended it. `started`: the start had
   * completed. Returns the result; throwing, or a failure recorded before it returns, ends with that error.
   */
  finish(started: boolean): Promise<R>;
  /** The first failure given to fail(), before the stop it starts (to say why it stops). */
  onFail?(error: unknown): void;
  /** → ended, before `done` settles: complete what observers watch. `error` is what ended it. */
  ended?(error: unknown): void;
}

/**
 * One runnable's start/stop/fail/finish, memoised, in explicit forward-only phases: the pipeline
 * and each of its per-task copies (TaskPipeline) hold one, rather than each keeping its own phase
 * variable and promises. Every method may be called any number of times, in any order, concurrently.
 */
export class Lifecycle<R> {
  private current: LifecyclePhase = 'created';
  private firstFailure: unknown;
  private failed = false;
  private startCompleted = false;
  private startWork: Promise<void> | undefined;
  private stopWork: Promise<R> | undefined;
  private finishWork: Promise<void> | undefined;
  private resolveDone!: (result: R) => void;
  private rejectDone!: (error: unknown) => void;
  /** Settles once ended: with the result, or the error that ended it. Never an unhandled rejection (a caller may only await start()). */
  readonly done: Promise<R>;
  private readonly unlisten: () => void;

  /** `name` is for errors; aborting `signal` stops it (stop()). */
  constructor(
    private readonly name: string,
    private readonly steps: LifecycleSteps<R>,
    signal?: AbortSignal,
  ) {
    this.done = new Promise<R>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {});
    const onAbort = (): void => void this.stop().catch(() => {});
    signal?.addEventListener('abort', onAbort, { once: true });
    this.unlisten = () => signal?.removeEventListener('abort', onAbort);
  }

  get phase(): LifecyclePhase {
    return this.current;
  }

  /** Whether it is at `phase` or past it. */
  reached(phase: LifecyclePhase): boolean {
    return ORDER.indexOf(this.current) >= ORDER.indexOf(phase);
  }

  /** The start step completed (a fact for health, not a phase: a stopped pipeline did start). */
  get started(): boolean {
    return this.startCompleted;
  }

  /** The first failure recorded (fail(), recordFailure(), a failed start or finish), if any. */
  get failure(): unknown {
    return this.firstFailure;
  }

  private move(to: LifecyclePhase): void {
    if (!NEXT[this.current].includes(to)) {
      throw new PipelineError('LIFECYCLE_ILLEGAL_TRANSITION', `${this.name} cannot go from ${this.current} to ${to}${to === 'starting' ? ': it was stopped before it started; create a new one to run it' : ''}`, {
        fields: { from: this.current, to },
      });
    }
    this.current = to;
  }

  /** Starts it; the same promise on every call. Rejects with LIFECYCLE_ILLEGAL_TRANSITION once it was stopped before starting. */
  start(): Promise<void> {
    return (this.startWork ??= this.runStart());
  }

  private async runStart(): Promise<void> {
    this.move('starting');
    try {
      await this.steps.start();
    } catch (err) {
      // What the start threw is what ended it, even over a failure reported during the start.
      this.firstFailure = err;
      this.failed = true;
      await this.finish();
      throw err;
    }
    this.startCompleted = true;
    if (this.current === 'starting') this.move('running');
  }

  /** Graceful stop: once a start in progress settled, drains and finishes. Resolves (or rejects) as `done`; the same promise on every call. */
  stop(): Promise<R> {
    return (this.stopWork ??= this.runStop());
  }

  private async runStop(): Promise<R> {
    // Once finishing, the parts were told already (an abort) or have nothing left to stop.
    if (!this.reached('finishing')) this.steps.stopRequested?.();
    // Not awaited when nothing started: a start() called meanwhile must find it finishing already.
    if (this.startWork) await this.startWork.catch(() => {});
    // A stop that finds it finishing still drains: a finish that hangs (a commit to a store that
    // stopped answering) must be bounded by the stop as a drain is.
    if (this.current === 'running') this.move('stopping');
    if (this.current === 'stopping' || this.current === 'finishing') await this.steps.drain();
    await this.finish();
    return this.done;
  }

  /** Records `error` as what ends it, unless an earlier failure did or it ended. Returns whether it was the first. */
  recordFailure(error: unknown): boolean {
    if (this.failed || this.current === 'ended') return false;
    this.firstFailure = error;
    this.failed = true;
    return true;
  }

  /** Records the failure (see recordFailure) and, unless finishing already, stops. Returns whether it was the first. */
  fail(error: unknown): boolean {
    const first = this.recordFailure(error);
    if (first) this.steps.onFail?.(error);
    // The error surfaces through `done`; this internal stop must not add an unhandled rejection.
    if (first && !this.reached('finishing')) this.stop().catch(() => {});
    return first;
  }

  /** Final work, once, then ended and `done` settled: after a stop, an end of its own, a failed start or an abort. */
  finish(): Promise<void> {
    return (this.finishWork ??= this.runFinish());
  }

  private async runFinish(): Promise<void> {
    const started = this.reached('running');
    this.move('finishing');
    let result: R | undefined;
    try {
      result = await this.steps.finish(started);
    } catch (err) {
      this.recordFailure(err);
    }
    this.unlisten();
    const error = this.firstFailure;
    const failed = this.failed;
    this.move('ended');
    this.steps.ended?.(error);
    if (failed) this.rejectDone(error);
    else this.resolveDone(result as R);
  }
}
