import { describe, expect, it } from 'vitest';
import { PipelineError } from '../errors.js';
import type { CallEvent } from '../event.js';
import type { SourcePage } from '../plugin.js';
import type { PollCheckpoint, PollRangesOptions } from './poll-ranges.js';
import { pollStreams } from './poll-streams.js';

type S = 'a' | 'b';
const event = (id: string, t: number): CallEvent => ({ id, source: 't', kind: 'call', time: new Date(t).toISOString(), attributes: {} });

/** Two streams, records every 7 ms from 0 to 1000; `a` answers a window as one page without a position (as iPlum does), `b` in pages of 3 with positions (as Plum does), at different speeds. */
function options(checkpoint: PollCheckpoint<S> | undefined): PollRangesOptions<S> {
  const records = (from: number, to: number) => Array.from({ length: 143 }, (_, i) => i * 7).filter((t) => t >= from && t < to);
  return {
    streams: ['a', 'b'],
    checkpoint,
    firstStart: 0,
    configuredStart: 0,
    end: 1000,
    lateness: 50,
    startOf: (e) => Date.parse(e.time),
    pollIntervalMs: 1,
    bounded: true,
    signal: new AbortController().signal,
    now: () => 1000,
    split: (from, to) => Array.from({ length: Math.ceil((to - from) / 100) }, (_, i) => ({ start: from + i * 100, end: Math.min(to, from + (i + 1) * 100) })),
    async *read(stream, from, to, resume) {
      const all = records(from, to).map((t) => event(`${stream}:${t}`, t));
      if (stream === 'a') {
        await new Promise((r) => setTimeout(r, 1));
        yield { events: all };
        return;
      }
      for (let at = (resume as number | undefined) ?? 0; at < all.length; at += 3) {
        await new Promise((r) => setImmediate(r));
        yield { events: all.slice(at, at + 3), checkpoint: at + 3 };
      }
    },
  };
}

async function take(cp: PollCheckpoint<S> | undefined, stopAfter = Number.POSITIVE_INFINITY): Promise<{ delivered: string[]; checkpoint: PollCheckpoint<S> | undefined }> {
  const pages: SourcePage<PollCheckpoint<S>>[] = [];
  for await (const p of pollStreams(options(cp))) {
    pages.push(p);
    // The runtime does work between pages (credit, sinks): the other stream's pages are ready by then.
    await new Promise((r) => setTimeout(r, 1));
    // Stopped at a page with a checkpoint: one without is followed at once by its stream's next
    // (the runtime issues it before the first settles), so a commit never falls between them
    // unless another stream's page came in between — which is what this test catches.
    if (pages.length >= stopAfter && p.checkpoint !== undefined) break;
  }
  // As the runtime commits: every page handed on is delivered, and the checkpoint stored is the
  // last one handed on (a page without one keeps the position before it).
  const last = pages.findLastIndex((p) => p.checkpoint !== undefined);
  return { delivered: pages.flatMap((p) => p.events.map((e) => e.id)), checkpoint: last < 0 ? cp : pages[last]!.checkpoint };
}

describe('pollStreams (each stream on its own loop)', () => {
  it('stopped after any page and resumed from the last checkpoint handed on: every record once', async () => {
    const { delivered: all } = await take(undefined);
    expect(all.length).toBe(2 * 143);
    expect(new Set(all).size).toBe(all.length);
    for (let stop = 1; stop < 120; stop += 3) {
      const first = await take(undefined, stop);
      const rest = await take(first.checkpoint);
      const ids = [...first.delivered, ...rest.delivered];
      expect({ stop, duplicated: ids.length - new Set(ids).size, missing: all.filter((id) => !ids.includes(id)).length }).toEqual({ stop, duplicated: 0, missing: 0 });
    }
  });

  it('a stream that fails for good ends the source with its error, whichever stream is being awaited', async () => {
    const o = options(undefined);
    const read = o.read;
    o.read = async function* (stream, from, to, resume, seen) {
      if (stream === 'b' && from >= 300) throw new PipelineError('B_REFUSED', 'b refuses', { retriable: false });
      yield* read(stream, from, to, resume, seen);
    };
    const ids: string[] = [];
    await expect(
      (async () => {
        for await (const p of pollStreams(o)) ids.push(...p.events.map((e) => e.id));
      })(),
    ).rejects.toMatchObject({ code: 'B_REFUSED' });
    expect(ids.some((id) => id.startsWith('b:'))).toBe(true);
  });
});
