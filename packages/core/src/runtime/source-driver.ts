import { Observable } from 'rxjs';
import type { Batch } from '../batch.js';
import type { CallEvent, DeadLetter } from '../event.js';
import { eventShapeProblem } from '../event-shape.js';
import type { Source, SourcePage } from '../plugin.js';
import type { JsonValue } from '../util/json.js';
import type { SourceTracker } from './source-tracker.js';
import type { ComponentTelemetry } from '../telemetry.js';

/** Longest the driver runs before it lets the event loop serve timers, I/O and signals. */
export const YIELD_EVERY_MS = 20;

/** Moves events that are not CallEvents to the page's dead letters, with the reason (rare: one pass, no copy when all fit). */
function checkShapes(page: SourcePage): SourcePage {
  const events = page.events;
  let bad: DeadLetter[] | undefined;
  let good: CallEvent[] | undefined;
  for (let i = 0; i < events.length; i++) {
    const problem = eventShapeProblem(events[i]);
    if (problem === undefined) {
      good?.push(events[i]!);
      continue;
    }
    good ??= events.slice(0, i);
    (bad ??= []).push({ code: 'EVENT_INVALID', reason: `not a CallEvent: ${problem}`, record: events[i] });
  }
  if (!bad) return page;
  return { ...page, events: good!, dead: [...(page.dead ?? []), ...bad] };
}

/**
 * Turns a source's async iterable of pages into a cold Observable of batches that pulls the
 * next page only when the tracker grants credit: a slow sink therefore slows the source
 * instead of filling memory. Unsubscribing (or `stopSignal`) ends the iteration.
 */
/**
 * Waits for credit or the stop, whichever comes first. A listener per wait, removed after it:
 * racing one long-lived "stopping" promise instead adds a reaction to it per batch, for good.
 */
function creditOrStop(tracker: SourceTracker, stopSignal: AbortSignal): Promise<void> {
  if (stopSignal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stopSignal.removeEventListener('abort', done);
      resolve();
    };
    stopSignal.addEventListener('abort', done, { once: true });
    void tracker.waitForCredit().then(done);
  });
}

export function sourceBatches(
  source: Source,
  restored: JsonValue | undefined,
  tracker: SourceTracker,
  telemetry: ComponentTelemetry,
  stopSignal: AbortSignal,
): Observable<Batch> {
  return new Observable<Batch>((subscriber) => {
    let stopped = false;
    const iterator = source.read(restored)[Symbol.asyncIterator]();
    let lastYieldMs = performance.now();
    const run = async (): Promise<void> => {
      try {
        while (!stopped && !stopSignal.aborted) {
          // A source (and sinks) that never wait on I/O would keep the loop in microtasks for
          // good: signals, timers, /healthz and stop() must still get their turn.
          if (performance.now() - lastYieldMs >= YIELD_EVERY_MS) {
            await new Promise<void>((r) => setImmediate(r));
            lastYieldMs = performance.now();
          }
          if (!tracker.hasCredit()) await creditOrStop(tracker, stopSignal);
          if (stopped || stopSignal.aborted) break;
          const result = await iterator.next();
          if (result.done) break;
          if (stopped) break;
          const page = source.wellFormedEvents ? result.value : checkShapes(result.value);
          const last = page.events[page.events.length - 1];
          // Stored as the JSON it is (Source<C> documents C as JSON-serialisable).
          const receipt = tracker.issue(page.checkpoint as JsonValue | undefined, last ? Date.parse(last.time) : Number.NaN, page.checkpointKey);
          telemetry.eventsOut(page.events.length);
          subscriber.next(page.dead?.length ? { events: page.events, receipt, dead: page.dead } : { events: page.events, receipt });
        }
      } catch (err) {
        // An abort while stopping is the expected way out of a pending wait, not a failure.
        if (!stopSignal.aborted && !stopped) {
          // Counted where the stream's error is handled (GraphBuilder.failOnError), once.
          subscriber.error(err);
          return;
        }
      }
      await iterator.return?.(undefined)?.catch(() => {});
      subscriber.complete();
    };
    void run();
    return () => {
      stopped = true;
    };
  });
}
