import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallEvent } from '../event.js';
import { eventJsonLine } from '../event-json-line.js';
import { isPlumlineError } from '../errors.js';
import type { Pipeline } from '../runtime/pipeline.js';

/** Events a tap request streams when it gives no `limit`. */
export const DEFAULT_TAP_LIMIT = 100;
/** The most one tap request may ask for: a tap is a look, not an export. */
export const MAX_TAP_LIMIT = 100_000;

/**
 * `GET /tap/<component>[?limit=N&every=K]` of the ops handler (`plumline run --http`): the events leaving a source
 * or transform of the running pipeline as NDJSON, one in every K, until N were sent or the client
 * goes away. It watches (Pipeline.output$) without touching the pipeline: no sink, no state, no
 * acknowledgement. 400 for a bad query, 404 for a reference the pipeline does not have, 503
 * before the pipeline exists.
 */
export function serveTap(req: IncomingMessage, res: ServerResponse, path: string, pipeline: Pipeline | undefined, redact: (text: string) => string): void {
  const url = new URL(req.url ?? '/', 'http://tap');
  const ref = decodeURIComponent(path.slice('/tap/'.length));
  const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : DEFAULT_TAP_LIMIT;
  const every = url.searchParams.has('every') ? Number(url.searchParams.get('every')) : 1;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TAP_LIMIT || !Number.isInteger(every) || every < 1) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`limit is an integer 1–${MAX_TAP_LIMIT}, every an integer ≥ 1\n`);
    return;
  }
  if (!pipeline) {
    res.writeHead(503, { 'content-type': 'text/plain' }).end('the pipeline is starting\n');
    return;
  }
  let events;
  try {
    events = pipeline.output$(ref);
  } catch (err) {
    res.writeHead(isPlumlineError(err) && err.code === 'PIPELINE_UNKNOWN_OUTPUT' ? 404 : 500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  // Headers now, not with the first event: a component whose events are held upstream (correlate)
  // may send nothing for a while, and the client should know at once that the tap is open.
  res.flushHeaders();
  let seen = 0;
  let sent = 0;
  let ended = false;
  let subscription: { unsubscribe(): void } | undefined;
  const end = (): void => {
    ended = true;
    subscription?.unsubscribe();
    res.end();
  };
  subscription = events.subscribe({
    next: (e: CallEvent) => {
      if (ended || seen++ % every !== 0) return;
      res.write(redact(eventJsonLine(e, true)) + '\n');
      if (++sent >= limit) end();
    },
    complete: end,
    error: end,
  });
  if (ended) subscription.unsubscribe();
  // A client that goes away ends its subscription: nothing keeps a closed tap alive.
  res.on('close', () => subscription?.unsubscribe());
}
