import { concatMap, from, map, mergeMap, type OperatorFunction } from 'rxjs';
import type { Batch } from '../batch.js';
import type { CallEvent, DeadLetter } from '../event.js';
import { isPlumlineError } from '../errors.js';
import { retryWithBackoff } from '../util/retry.js';

/**
 * Applies `fn` to every event of every batch. Returning `null`/`undefined` drops the event;
 * throwing sends it to the dead-letter output with the error's code and message, and the
 * rest of the batch goes on. The receipt passes through unchanged.
 *
 * @example
 * const upper = mapEvents((e) => ({ ...e, kind: e.kind.toUpperCase() }));
 */
export function mapEvents(fn: (event: CallEvent) => CallEvent | null | undefined): OperatorFunction<Batch, Batch> {
  return map((batch) => mapBatch(batch, fn));
}

/**
 * {@link mapEvents} for an operator that can work in place: `inPlace` (which may change each
 * event object and its `attributes` object, nothing deeper) for a batch whose events are the
 * operator's alone (`owns()`, OperatorContext.ownsEvents, asked once per batch), `copying` for any
 * other. Both must give the same output. An event `inPlace` throws on is dead-lettered as far as
 * it got.
 *
 * @example
 * apply: mapEventsOwning(() => ctx.ownsEvents?.() ?? false, (e) => ({ ...e, kind: 'x' }), (e) => ((e.kind = 'x'), e))
 */
export function mapEventsOwning(owns: () => boolean, copying: (event: CallEvent) => CallEvent | null | undefined, inPlace: (event: CallEvent) => CallEvent | null | undefined): OperatorFunction<Batch, Batch> {
  return map((batch) => mapBatch(batch, owns() ? inPlace : copying));
}

function mapBatch(batch: Batch, fn: (event: CallEvent) => CallEvent | null | undefined): Batch {
  const events = batch.events;
  const out: CallEvent[] = [];
  let dead: DeadLetter[] | undefined;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    let r: CallEvent | null | undefined;
    try {
      r = fn(e);
    } catch (err) {
      (dead ??= []).push(toDeadLetter(err, e));
      continue;
    }
    if (r) out.push(r);
  }
  return withDead(batch, out, dead);
}

/**
 * Keeps the events for which `predicate` is true. A throwing predicate dead-letters the event.
 *
 * @example
 * const longCalls = filterEvents((e) => (e.durationSec ?? 0) >= 60);
 */
export function filterEvents(predicate: (event: CallEvent) => boolean): OperatorFunction<Batch, Batch> {
  return map((batch) => {
    const events = batch.events;
    const out: CallEvent[] = [];
    let dead: DeadLetter[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      try {
        if (predicate(e)) out.push(e);
      } catch (err) {
        (dead ??= []).push(toDeadLetter(err, e));
      }
    }
    return out.length === events.length && !dead ? batch : withDead(batch, out, dead);
  });
}

/**
 * Replaces every event of every batch with the events `fn` returns for it (none, one or many:
 * splitting a record, expanding a call into its legs). A throwing `fn` dead-letters that event.
 * The receipt passes through unchanged, so the events made from one input are acknowledged with it.
 *
 * @example
 * const legs = flatMapEvents((e) => (e.attributes.legs as CallEvent[] | undefined) ?? [e]);
 */
export function flatMapEvents(fn: (event: CallEvent) => Iterable<CallEvent>): OperatorFunction<Batch, Batch> {
  return map((batch) => {
    const out: CallEvent[] = [];
    let dead: DeadLetter[] | undefined;
    for (const e of batch.events) {
      try {
        for (const r of fn(e)) out.push(r);
      } catch (err) {
        (dead ??= []).push(toDeadLetter(err, e));
      }
    }
    return withDead(batch, out, dead);
  });
}

/**
 * Sends each event of every batch to the outputs `pick` gives it (indexes into `outputs`: none,
 * one or several), as one batch per output for each input batch, in the order of `outputs`. Empty
 * ones too, so that every output's consumers settle the receipt: it is retained once per output
 * beyond the first, here, so the operator never counts references (what `route` did by hand). A
 * throwing `pick` dead-letters the event, once, on the first output's batch.
 *
 * @example
 * apply: toOutputs(['short', 'long'], (e) => [(e.durationSec ?? 0) < 60 ? 0 : 1])
 */
export function toOutputs(outputs: readonly string[], pick: (event: CallEvent) => Iterable<number>): OperatorFunction<Batch, Batch> {
  return mergeMap((batch) => {
    const buckets: CallEvent[][] = outputs.map(() => []);
    let dead: DeadLetter[] | undefined;
    for (const e of batch.events) {
      let picked: number[];
      try {
        picked = [...pick(e)];
      } catch (err) {
        (dead ??= []).push(toDeadLetter(err, e));
        continue;
      }
      for (const i of picked) buckets[i]!.push(e);
    }
    if (outputs.length > 1) batch.receipt.retain(outputs.length - 1);
    return from(outputs.map((output, i): Batch => (i === 0 && dead ? { events: buckets[i]!, receipt: batch.receipt, output, dead } : { events: buckets[i]!, receipt: batch.receipt, output })));
  });
}

/** The defaults of {@link mapBatches}: retriable errors are retried this often, with core's backoff. */
export const DEFAULT_BATCH_RETRIES = 8;

/**
 * Applies `fn` to the events of each batch as a whole, for work that is cheaper per batch (one
 * lookup for all the events), one batch at a time and in order; `fn` may be async. What it
 * returns replaces the batch's events; the receipt passes through unchanged. A retriable error
 * (`PlumlineError` with `retriable`) is retried with backoff up to `maxRetries` times while
 * `signal` is not aborted; any other error, or the last one, dead-letters every event of the
 * batch with its code, and the pipeline goes on.
 *
 * @example
 * create: (config, ctx) => ({ apply: mapBatches(async (events) => lookup.enrichAll(events), { signal: ctx.signal }) })
 */
export function mapBatches(fn: (events: readonly CallEvent[]) => readonly CallEvent[] | Promise<readonly CallEvent[]>, options: { signal?: AbortSignal; maxRetries?: number } = {}): OperatorFunction<Batch, Batch> {
  const retry = { maxRetries: options.maxRetries ?? DEFAULT_BATCH_RETRIES, ...(options.signal ? { signal: options.signal } : {}) };
  return concatMap(async (batch) => {
    if (batch.events.length === 0) return batch;
    try {
      return withDead(batch, await retryWithBackoff(async () => fn(batch.events), retry), undefined);
    } catch (err) {
      return withDead(batch, [], batch.events.map((e) => toDeadLetter(err, e)));
    }
  });
}

/** A batch with the same receipt and output, new events, and dead letters added. */
export function withDead(batch: Batch, events: readonly CallEvent[], dead: readonly DeadLetter[] | undefined): Batch {
  const all = dead && batch.dead ? [...batch.dead, ...dead] : (dead ?? batch.dead);
  const out: { events: readonly CallEvent[]; receipt: Batch['receipt']; dead?: readonly DeadLetter[]; output?: string } = { events, receipt: batch.receipt };
  if (all) out.dead = all;
  if (batch.output !== undefined) out.output = batch.output;
  return out;
}

/** The dead letter for `record` that failed with `err`. */
export function toDeadLetter(err: unknown, record: unknown, context?: Record<string, unknown>): DeadLetter {
  const code = isPlumlineError(err) ? err.code : 'PROCESSING_FAILED';
  const reason = err instanceof Error ? err.message : String(err);
  return context ? { code, reason, record, context } : { code, reason, record };
}
