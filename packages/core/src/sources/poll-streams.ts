import type { SourcePage } from '../plugin.js';
import { pollRanges, type PollCheckpoint, type PollPart, type PollRangesOptions } from './poll-ranges.js';
import type { SeenChunk } from './seen-ids.js';

type Pull<S extends string> = { stream: S; result: IteratorResult<SourcePage<PollCheckpoint<S>>> };

/**
 * {@link pollRanges} with every stream on its own loop: each stream polls, retries and sleeps
 * by itself, so an outage of one endpoint (sessions answering 503 for an hour) does not hold
 * back the others (errors go on being read). Pages are handed on as they come; each carries the
 * checkpoint of every stream as of the last page of that stream handed on before it, in the
 * same shape one loop over all streams writes, so a checkpoint from either reads back in both.
 * A page without a checkpoint is followed by its own stream's pages until one carries one.
 *
 * Shared between the streams: progress (summed) and readiness (recovered only once no stream is
 * failing). An account of many (`turn` given) keeps one loop over its streams: its turn at the
 * vendor is scheduled per pass.
 */
export async function* pollStreams<S extends string>(o: PollRangesOptions<S>): AsyncGenerator<SourcePage<PollCheckpoint<S>>> {
  // A tenant of many (`turn`) keeps one loop: its turn at the vendor is scheduled per pass.
  if (o.streams.length <= 1 || o.turn) {
    yield* pollRanges(o);
    return;
  }
  const latest = new Map<S, PollCheckpoint<S>>(o.streams.map((s) => [s, only(o.checkpoint, s)]));
  const progress = new Map<S, [number, number]>();
  const failing = new Set<S>();
  // A stream that handed on a page without a checkpoint (iPlum: a window is one page, its cursor
  // moves on the next): the runtime gives such a page the position before it, so no page of
  // another stream may come between it and its stream's next checkpoint — a commit there would
  // cover the page without its stream's cursor covering it, and a restart would deliver it twice.
  let unplaced: S | undefined;
  const iterators = new Map(
    o.streams.map((stream) => [
      stream,
      pollRanges<S>({
        ...o,
        streams: [stream],
        checkpoint: latest.get(stream),
        onProgress: (done, total) => {
          progress.set(stream, [done, total]);
          let d = 0;
          let t = 0;
          for (const [dn, tn] of progress.values()) (d += dn), (t += tn);
          o.onProgress?.(d, t);
        },
        onRetry: (err, attempt, delayMs) => {
          failing.add(stream);
          o.onRetry?.(err, attempt, delayMs);
        },
        onRecovered: () => {
          failing.delete(stream);
          if (failing.size === 0) o.onRecovered?.();
        },
      })[Symbol.asyncIterator](),
    ]),
  );
  const pending = new Map<S, Promise<Pull<S>>>();
  const pull = (stream: S) => {
    const next = iterators.get(stream)!.next().then((result) => ({ stream, result }));
    // Handled when awaited; meanwhile (another stream is awaited alone) a failure must not go unhandled.
    next.catch(() => {});
    pending.set(stream, next);
  };
  for (const stream of iterators.keys()) pull(stream);
  try {
    while (pending.size > 0) {
      const { stream, result } = await (unplaced !== undefined && pending.has(unplaced) ? pending.get(unplaced)! : Promise.race(pending.values()));
      pending.delete(stream);
      unplaced = undefined;
      if (result.done) continue;
      const page = result.value;
      if (page.checkpoint === undefined) unplaced = stream;
      else latest.set(stream, page.checkpoint);
      pull(stream);
      yield page.checkpoint === undefined ? page : { ...page, checkpoint: combine(o.streams, latest) };
    }
  } finally {
    // A stop or a failed stream: end every stream's loop (their pending pulls settle on their own).
    await Promise.allSettled([...iterators.values()].map((it) => Promise.resolve(it.return?.(undefined))));
  }
}

/** The part of a checkpoint that belongs to `stream`. */
function only<S extends string>(cp: PollCheckpoint<S> | undefined, stream: S): PollCheckpoint<S> {
  const out: Record<string, unknown> = {};
  if (!cp) return out as PollCheckpoint<S>;
  if (cp[stream] !== undefined) out[stream] = cp[stream];
  const readAt = cp['@readAt']?.[stream];
  if (readAt !== undefined) out['@readAt'] = { [stream]: readAt };
  const parts = (cp['@parts'] ?? []).filter((p) => p.stream === stream);
  if (parts.length) out['@parts'] = parts;
  const seen = cp['@seen']?.[stream];
  if (seen !== undefined) out['@seen'] = { [stream]: seen };
  return out as PollCheckpoint<S>;
}

/** Every stream's latest checkpoint as one, in the shape of a single loop's. */
function combine<S extends string>(streams: readonly S[], latest: Map<S, PollCheckpoint<S>>): PollCheckpoint<S> {
  const out: Record<string, unknown> = {};
  const readAt: Record<string, number> = {};
  const parts: PollPart<S>[] = [];
  let seen: Record<string, SeenChunk[]> | undefined;
  for (const s of streams) {
    const cp = latest.get(s);
    if (!cp) continue;
    if (cp[s] !== undefined) out[s] = cp[s];
    Object.assign(readAt, cp['@readAt']);
    parts.push(...(cp['@parts'] ?? []));
    if (cp['@seen']) seen = { ...seen, ...(cp['@seen'] as Record<string, SeenChunk[]>) };
  }
  out['@readAt'] = readAt;
  if (parts.length) out['@parts'] = parts;
  if (seen) out['@seen'] = seen;
  return out as PollCheckpoint<S>;
}
