import type { PipelineResult } from './pipeline.js';

/**
 * The `done` of a pipeline handle and how to settle it, plus the stop on the caller's abort
 * signal, which every pipeline handle (one pipeline, or a copy per task) sets up the same way.
 */
export interface PipelineEnd {
  readonly done: Promise<PipelineResult>;
  resolve(result: PipelineResult): void;
  reject(error: unknown): void;
  /** Removes the listener on the caller's signal (once the pipeline ended). */
  unlisten(): void;
}

/** `stop` runs when `signal` aborts; `done` never reports an unhandled rejection (a caller may only await start()). */
export function pipelineEnd(signal: AbortSignal | undefined, stop: () => Promise<unknown>): PipelineEnd {
  let resolve!: (r: PipelineResult) => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<PipelineResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => {});
  const onAbort = (): void => void stop().catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  return { done, resolve, reject, unlisten: () => signal?.removeEventListener('abort', onAbort) };
}
