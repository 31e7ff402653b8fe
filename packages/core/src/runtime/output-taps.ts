import { Observable, Subject, tap, type MonoTypeOperatorFunction } from 'rxjs';
import type { Batch } from '../batch.js';
import { PipelineError } from '../errors.js';
import type { CallEvent } from '../event.js';
import { DEAD_LETTER_STREAM } from '../config/pipeline-schema.js';
import type { ResolvedPipeline } from './resolve-pipeline.js';

/**
 * The references `Pipeline.output$` takes for a pipeline: dead letters, every source, every
 * transform, or for a transform with named outputs (a route) each of those: what a sink may
 * take as an input.
 */
export function outputRefs(definition: ResolvedPipeline): ReadonlySet<string> {
  return new Set([
    DEAD_LETTER_STREAM,
    ...definition.sources.map((s) => s.id),
    ...definition.transforms.flatMap((t) => {
      const named = t.bound.outputs();
      return named.length ? named.map((o) => `${t.id}.${o}`) : [t.id];
    }),
  ]);
}

/** Why `ref` cannot be observed, and what can: PIPELINE_UNKNOWN_OUTPUT. */
export function unknownOutputError(ref: string, refs: ReadonlySet<string>): PipelineError {
  const named = [...refs].filter((r) => r.startsWith(`${ref}.`));
  const message = named.length
    ? `component "${ref}" has named outputs: observe one of ${named.join(', ')}`
    : `no component output "${ref}": observe one of ${[...refs].join(', ')}`;
  return new PipelineError('PIPELINE_UNKNOWN_OUTPUT', message, { retriable: false, fields: { ref } });
}

/**
 * What `Pipeline.output$` hands out: the events leaving a component, per output reference (`id`
 * or `id.output`). The graph passes each output through `tapInto(ref)`, which costs a map lookup
 * per batch while nobody observes. The subjects are made on the first `observe`, before or
 * after the graph exists, and end with the pipeline.
 */
export class OutputTaps {
  private readonly subjects = new Map<string, Subject<CallEvent>>();
  private ended: { error?: unknown } | undefined;

  constructor(
    /** The references a caller may observe: every source, every transform and its named outputs. */
    private readonly refs: ReadonlySet<string>,
  ) {}

  /** The events leaving `ref` from now on; completes when the pipeline ends, errors when it fails. */
  observe(ref: string): Observable<CallEvent> {
    if (!this.refs.has(ref)) throw unknownOutputError(ref, this.refs);
    const ended = this.ended;
    if (ended) return new Observable((s) => (ended.error === undefined ? s.complete() : s.error(ended.error)));
    let subject = this.subjects.get(ref);
    if (!subject) this.subjects.set(ref, (subject = new Subject<CallEvent>()));
    return subject.asObservable();
  }

  /** Passes batches through unchanged, showing each event to the observers of `ref`, if any. */
  tapInto(ref: string): MonoTypeOperatorFunction<Batch> {
    return tap((batch) => {
      const subject = this.subjects.get(ref);
      if (subject?.observed) for (const e of batch.events) subject.next(e);
    });
  }

  /** True once someone observed `ref` (the events that passed since may be held by an observer). */
  everObserved(ref: string): boolean {
    return this.subjects.has(ref);
  }

  /** The references someone has observed so far (copies of the pipeline forward these). */
  observedRefs(): string[] {
    return [...this.subjects.keys()];
  }

  /** Shows one event to the observers of `ref` (events a copy of the pipeline forwards). */
  publish(ref: string, event: CallEvent): void {
    const subject = this.subjects.get(ref);
    if (subject?.observed) subject.next(event);
  }

  /** The pipeline ended: observers complete (or error with what failed it). */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = error === undefined ? {} : { error };
    for (const s of this.subjects.values()) {
      if (error === undefined) s.complete();
      else s.error(error);
    }
  }
}
