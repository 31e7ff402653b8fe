import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 (its last release) re-arms a 1 ms timer on every connection for as long as the
 * connection is open. After each response its request queue schedules the next check of its
 * queued requests at `throttledUntil - Date.now()`; never throttled, `throttledUntil` is -1, so the
 * delay is minus the epoch, which Node runs as 1 ms (Node 24 says so: `TimeoutNegativeWarning:
 * -1796… is a negative number`), and that check, finding nothing queued, arms the next one. An idle
 * admin client was counted waking the process 570 times a second (kafkajs issue 1751).
 *
 * A check with nothing queued has nothing to do: a request queued later (throttled, or over
 * `maxInFlightRequests`) schedules its own. So the check is scheduled only when something waits.
 */
interface RequestQueuePrototype {
  pending: unknown[];
  scheduleCheckPendingRequests(this: RequestQueuePrototype): void;
}

const REQUEST_QUEUE_MODULE = 'kafkajs/src/network/requestQueue/index.js';
const FIXED = Symbol.for('plumline.kafkajs.idleRequestQueue');
/** Resolves kafkajs as the rest of this package does. */
const packageRequire = createRequire(import.meta.url);

/** Schedules kafkajs's pending-request check only when a request waits. Idempotent; a kafkajs laid out differently is left as it is (it works, only busier). */
export function installRequestQueueIdleFix(): void {
  try {
    const { prototype } = packageRequire(REQUEST_QUEUE_MODULE) as { prototype: RequestQueuePrototype & { [FIXED]?: true } };
    const schedule = prototype.scheduleCheckPendingRequests;
    if (prototype[FIXED] || typeof schedule !== 'function') return;
    prototype.scheduleCheckPendingRequests = function (this: RequestQueuePrototype): void {
      if (this.pending.length > 0) schedule.call(this);
    };
    prototype[FIXED] = true;
  } catch {
    // Not found where 2.2.4 keeps it: nothing to correct.
  }
}
