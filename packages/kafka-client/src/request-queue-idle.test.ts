import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
// Loads kafkajs as every module of this package does (with the package's corrections to it).
import './kafkajs-client.js';

/** A request as a connection queues it: resolved with its response. */
interface Entry {
  correlationId: number;
  resolve: (response: unknown) => void;
  reject: (error: unknown) => void;
}
const entry = (correlationId: number): Entry => ({ correlationId, resolve: () => {}, reject: () => {} });

/** kafkajs's per-connection request queue (private module), the one every broker connection of the package uses. */
interface RequestQueue {
  push(request: { entry: Entry; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer | null; size: number }): void;
  maybeThrottle(ms: number | null): void;
  destroy(): void;
}
const RequestQueueClass = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as new (o: Record<string, unknown>) => RequestQueue;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const queue = (): RequestQueue => new RequestQueueClass({ maxInFlightRequests: null, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: '127.0.0.1:1', logger: quiet });
/** What a response to the request does: the socket's read hands it to the queue. */
const answer = (q: RequestQueue, correlationId: number): void => q.fulfillRequest({ correlationId, payload: null, size: 0 });

// kafkajs has no clock to pass in: its queue's timers are Node's, faked here to count and run them.
beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] }));
afterEach(() => vi.useRealTimers());

describe("kafkajs's request queue, as this package loads it", () => {
  it('arms no timer once every request is answered: an idle connection does not wake the process every millisecond', () => {
    // kafkajs 2.2.4 computes the next check as throttledUntil (-1 when never throttled) minus
    // Date.now(): a delay of minus the epoch, which Node turns into 1 ms (Node 24 warns:
    // TimeoutNegativeWarning: -1796…), and each check arms the next: a 1 ms loop per connection
    // for as long as it is open (570 wake-ups a second counted on an idle admin client).
    const q = queue();
    q.push({ entry: entry(1), expectResponse: true, sendRequest: () => {} });
    answer(q, 1);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(vi.getTimerCount()).toBe(0);
    q.destroy();
  });

  it('still sends a request held back by a throttle when the throttle ends, and then arms nothing', () => {
    const q = queue();
    const sent: number[] = [];
    q.maybeThrottle(500);
    q.push({ entry: entry(2), expectResponse: true, sendRequest: () => sent.push(2) });
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(499);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([2]);
    answer(q, 2);
    vi.advanceTimersByTime(1_000);
    expect(vi.getTimerCount()).toBe(0);
    q.destroy();
  });
});
