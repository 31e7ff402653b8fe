import { Observable } from 'rxjs';
import type { Batch } from '../batch.js';
import type { Source } from '../plugin.js';
import type { JsonValue } from '../util/json.js';
import type { SourceTracker } from './source-tracker.js';
import type { ComponentTelemetry } from '../telemetry.js';

/**
 * Turns a source's async iterable of pages into a cold Observable of batches that pulls the
 * next page only when the tracker grants credit: a slow sink therefore slows the source
 * instead of filling memory. Unsubscribing (or `stopSignal`) ends the iteration.
 */
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
    const stopping = new Promise<void>((resolve) => {
      if (stopSignal.aborted) resolve();
      stopSignal.addEventListener('abort', () => resolve(), { once: true });
    });
    const run = async (): Promise<void> => {
      try {
        while (!stopped && !stopSignal.aborted) {
          await Promise.race([tracker.waitForCredit(), stopping]);
          if (stopped || stopSignal.aborted) break;
          const result = await iterator.next();
          if (result.done) break;
          if (stopped) break;
          const page = result.value;
          const last = page.events[page.events.length - 1];
          const receipt = tracker.issue(page.checkpoint, last ? Date.parse(last.time) : Number.NaN);
          telemetry.eventsOut(page.events.length);
          subscriber.next(page.dead?.length ? { events: page.events, receipt, dead: page.dead } : { events: page.events, receipt });
        }
      } catch (err) {
        // An abort while stopping is the expected way out of a pending wait, not a failure.
        if (!stopSignal.aborted && !stopped) {
          telemetry.error();
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
