import { map, type OperatorFunction } from 'rxjs';
import type { Batch } from '../batch.js';
import type { CallEvent, DeadLetter } from '../event.js';
import { PlumlineError } from '../errors.js';

/**
 * Applies `fn` to every event of every batch. Returning `null`/`undefined` drops the event;
 * throwing sends it to the dead-letter output with the error's code and message, and the
 * rest of the batch goes on. The receipt passes through unchanged.
 *
 * @example
 * const upper = mapEvents((e) => ({ ...e, kind: e.kind.toUpperCase() }));
 */
export function mapEvents(fn: (event: CallEvent) => CallEvent | null | undefined): OperatorFunction<Batch, Batch> {
  return map((batch) => {
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
  });
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
  const code = err instanceof PlumlineError ? err.code : 'PROCESSING_FAILED';
  const reason = err instanceof Error ? err.message : String(err);
  return context ? { code, reason, record, context } : { code, reason, record };
}
