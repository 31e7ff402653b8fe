import { describe, expect, it } from 'vitest';
import type { SourcePage } from '../plugin.js';
import { PipelineError } from '../errors.js';
import { pollRanges, type PollRangesOptions } from './poll-ranges.js';
import { FakeClock } from '../testing/fake-clock.js';
import { metrics } from '@opentelemetry/api';
import { createLogger } from '../logger.js';
import { TenantBook } from '../tenant-telemetry.js';
import { accountsSource, type AccountSource } from './accounts-source.js';
import { TenantTurn, TenantTurns } from './tenant-turns.js';

const book = () => new TenantBook(metrics.getMeter('test'), {}, true, 60);

async function collect(o: Partial<PollRangesOptions<'a' | 'b'>>, reads: [string, number, number][]) {
  const pages: SourcePage[] = [];
  const base: PollRangesOptions<'a' | 'b'> = {
    streams: ['a', 'b'],
    checkpoint: undefined,
    firstStart: 0,
    configuredStart: 0,
    end: 100,
    lateness: 10,
    pollIntervalMs: 1,
    bounded: true,
    signal: new AbortController().signal,
    now: () => 1000,
    async *read(stream, from, to) {
      reads.push([stream, from, to]);
      yield { events: [] };
    },
    ...o,
  };
  for await (const p of pollRanges(base)) pages.push(p);
  return pages;
}

/** The cursors of the checkpoints pages carried (without their read times). */
const cursors = (pages: SourcePage[]) =>
  pages.filter((p) => p.checkpoint).map((p) => {
    const { '@readAt': _r, ...c } = p.checkpoint as Record<string, unknown>;
    return c;
  });

describe('pollRanges', () => {
  it('shares turns between accounts: with one turn, one account reads at a time, every account is read, each checkpoint keyed by its account', async () => {
    const turns = new TenantTurns(1);
    let active = 0;
    let most = 0;
    const reads: string[] = [];
    const account = (name: string): AccountSource<unknown> => ({
      name,
      create: () => ({
        bounded: true,
        read: (cp: unknown) =>
          pollRanges<'a'>({
            streams: ['a'],
            checkpoint: cp as never,
            firstStart: 0,
            configuredStart: 0,
            end: 100,
            lateness: 0,
            pollIntervalMs: 1,
            bounded: true,
            signal: new AbortController().signal,
            now: () => 1000,
            turn: new TenantTurn(turns),
            async *read() {
              active++;
              most = Math.max(most, active);
              reads.push(name);
              await new Promise((r) => setTimeout(r, 5));
              yield { events: [{ id: `${name}-1`, source: 's', kind: 'k', time: '2026-01-01T00:00:00.000Z', attributes: {} }] };
              active--;
            },
          }),
      }),
    });
    const merged = accountsSource([account('x'), account('y'), account('z')], { logger: createLogger({ level: 'silent' }), book: book(), signal: new AbortController().signal, bounded: true });
    const pages: SourcePage[] = [];
    for await (const p of merged.read(undefined)) pages.push(p as SourcePage);
    expect(most).toBe(1);
    expect(reads.sort()).toEqual(['x', 'y', 'z']);
    expect(pages.flatMap((p) => p.events.map((e) => `${e.id}@${String(e.attributes.account)}`)).sort()).toEqual(['x-1@x', 'y-1@y', 'z-1@z']);
    const last = (name: string) => pages.filter((p) => p.checkpointKey === name).at(-1)!.checkpoint;
    for (const name of ['x', 'y', 'z']) expect(last(name)).toMatchObject({ a: 100 });
    expect(pages.every((p) => p.checkpoint === undefined || ['x', 'y', 'z'].includes(p.checkpointKey!))).toBe(true);
  });

  it('reads each stream from its start to the end, then checkpoints it', async () => {
    const reads: [string, number, number][] = [];
    const pages = await collect({}, reads);
    expect(reads).toEqual([['a', 0, 100], ['b', 0, 100]]);
    expect(cursors(pages)).toEqual([{ a: 100 }, { a: 100, b: 100 }]);
    expect(pages.at(-1)!.checkpoint).toMatchObject({ '@readAt': { a: 1000, b: 1000 } });
  });

  it('resumes from the checkpoint minus overlap, never before a configured start, and splits into parts', async () => {
    const reads: [string, number, number][] = [];
    const pages = await collect({ checkpoint: { a: 50, b: 5 }, configuredStart: 0, end: 90, split: (f, t) => [{ start: f, end: Math.min(t, f + 30) }, ...(f + 30 < t ? [{ start: f + 30, end: t }] : [])] }, reads);
    expect(reads).toEqual([['a', 40, 70], ['a', 70, 90], ['b', 0, 30], ['b', 30, 90]]);
    expect(cursors(pages)).toEqual([{ a: 70, b: 5 }, { a: 90, b: 5 }, { a: 90, b: 30 }, { a: 90, b: 90 }]);
  });

  it('clamps starts, and keeps polling up to now when unbounded until aborted', async () => {
    const reads: [string, number, number][] = [];
    const ac = new AbortController();
    let t = 100;
    await collect(
      {
        streams: ['a'],
        end: undefined,
        bounded: false,
        firstStart: 0,
        clampStart: (_s, from) => Math.max(from, 20),
        signal: ac.signal,
        now: () => (t += 50),
        async *read(stream, from, to) {
          reads.push([stream, from, to]);
          if (reads.length === 3) ac.abort();
          yield { events: [] };
        },
      },
      reads,
    );
    expect(reads).toEqual([['a', 20, 150], ['a', 140, 200], ['a', 190, 250]]);
  });

  it('does not move the cursor past a read cut short by a stop', async () => {
    const ac = new AbortController();
    const pages = await collect({ streams: ['a'], signal: ac.signal, async *read() { ac.abort(); yield { events: [] }; } }, []);
    expect(pages.some((p) => p.checkpoint)).toBe(false);
  });

  it('polls again each poll interval on its clock (a fake clock: no real waiting), reporting progress per pass', async () => {
    const clock = new FakeClock(1_000);
    const reads: [string, number, number][] = [];
    const progress: [number, number][] = [];
    const ac = new AbortController();
    const it = pollRanges<'a'>({
      streams: ['a'],
      checkpoint: undefined,
      firstStart: 0,
      configuredStart: 0,
      lateness: 100,
      pollIntervalMs: 60_000,
      bounded: false,
      signal: ac.signal,
      now: clock.now,
      sleep: clock.sleep,
      onProgress: (d, t) => progress.push([d, t]),
      async *read(stream, from, to) {
        reads.push([stream, from, to]);
        yield { events: [] };
      },
    })[Symbol.asyncIterator]();
    await it.next(); // the read page
    await it.next(); // its checkpoint
    const next = it.next(); // now sleeping 60 s on the fake clock
    await clock.advance(59_999);
    expect(reads).toEqual([['a', 0, 1_000]]);
    await clock.advance(1);
    await next;
    // The second poll reaches back `lateness` before the cursor, up to the clock's now.
    expect(reads).toEqual([['a', 0, 1_000], ['a', 900, 61_000]]);
    expect(progress).toEqual([[0, 1], [1, 1], [0, 1]]);
    ac.abort();
    await it.return?.(undefined);
  });

  it('reaches back only as far as records read could have been listed late: a backfill part read long after its end is not read again', async () => {
    const reads: [string, number, number][] = [];
    // Part a ended at 50 and was read at 1000: nothing before 50 can still appear; b was read at 55, near its end.
    await collect({ checkpoint: { a: 50, b: 50, '@readAt': { a: 1000, b: 55 } }, end: 90 }, reads);
    expect(reads).toEqual([['a', 50, 90], ['b', 45, 90]]);
  });

  it('pages carry their place in the part; a restart resumes the interrupted part from there, then goes on', async () => {
    const reads: [string, number, number, unknown][] = [];
    const read = async function* (stream: string, from: number, to: number, resume?: unknown) {
      reads.push([stream, from, to, resume]);
      for (let page = ((resume as { page?: number } | undefined)?.page ?? 0) + 1; page <= 3; page++) yield { events: [], checkpoint: { page } };
    };
    const first = await collect({ streams: ['a'], end: 100, read }, []);
    const mid = first.find((p) => (p.checkpoint as { '@parts'?: { at: { page: number } }[] })['@parts']?.[0]?.at.page === 2)!;
    expect(mid.checkpoint).toMatchObject({ '@parts': [{ stream: 'a', start: 0, end: 100, at: { page: 2 } }] });
    // A crash after page 2 was acknowledged; the range grew meanwhile (end 150).
    reads.length = 0;
    const pages = await collect({ streams: ['a'], end: 150, checkpoint: mid.checkpoint as never, read }, []);
    expect(reads).toEqual([['a', 0, 100, { page: 2 }], ['a', 100, 150, undefined]]);
    expect(cursors(pages).at(-1)).toEqual({ a: 150 });
  });

  it('a retried part resumes after the last page the failed attempt yielded', async () => {
    const reads: unknown[] = [];
    let failures = 0;
    const pages = await collect(
      {
        streams: ['a'],
        sleep: async () => {},
        async *read(_stream, _from, _to, resume) {
          reads.push(resume);
          const from = (resume as { page?: number } | undefined)?.page ?? 0;
          for (let page = from + 1; page <= 3; page++) {
            if (page === 2 && failures++ === 0) throw new PipelineError('TEST_TRANSIENT', 'try again', { retriable: true });
            yield { events: [], checkpoint: { page } };
          }
        },
      },
      [],
    );
    expect(reads).toEqual([undefined, { page: 1 }]);
    expect(pages.filter((p) => (p.checkpoint as { '@parts'?: unknown })['@parts']).map((p) => (p.checkpoint as { '@parts': { at: unknown }[] })['@parts'][0]!.at)).toEqual([{ page: 1 }, { page: 2 }, { page: 3 }]);
  });

  it('a checkpoint taken before the interrupted part resumes still carries it (a stream already done comes first)', async () => {
    const read = async function* (_stream: string, _from: number, _to: number, resume?: unknown) {
      for (let page = ((resume as { page?: number } | undefined)?.page ?? 0) + 1; page <= 3; page++) yield { events: [], checkpoint: { page } };
    };
    const restored = { a: 100, '@readAt': { a: 1000 }, '@parts': [{ stream: 'b' as const, start: 0, end: 100, at: { page: 2 } }] };
    const pages = await collect({ checkpoint: restored as never, end: 100, read }, []);
    // The first checkpoint is stream a's (nothing to read): it must not drop b's place.
    expect(pages[0]!.checkpoint).toMatchObject({ a: 100, '@parts': [{ stream: 'b', at: { page: 2 } }] });
    // Nor may a part of a read while b's waits: with new data for a, a's pages carry both.
    const both = await collect({ checkpoint: { a: 50, '@readAt': { a: 55 }, '@parts': restored['@parts'] } as never, end: 100, lateness: 0, read }, []);
    expect(both[0]!.checkpoint).toMatchObject({ '@parts': [{ stream: 'b', at: { page: 2 } }, { stream: 'a', at: { page: 1 } }] });
    expect(both.find((p) => (p.checkpoint as { a?: number }).a === 100)!.checkpoint).toMatchObject({ '@parts': [{ stream: 'b', at: { page: 2 } }] });
  });

  it('with startOf, delivers each record once however often the lateness window is read, across a restart, and forgets ids no pass reaches', async () => {
    // A record at `t` is listed by every range that covers t: the service lists late records again.
    const records = [{ id: 'r1', t: 900 }, { id: 'r2', t: 950 }, { id: 'r3', t: 1050 }];
    let now = 1000;
    const reads: [number, number][] = [];
    const skipped: string[] = [];
    const run = async (checkpoint: unknown) => {
      const pages = await collect(
        {
          streams: ['a'],
          checkpoint: checkpoint as never,
          end: undefined,
          lateness: 200,
          now: () => now,
          startOf: (e) => Number(e.attributes.t),
          async *read(_stream, from, to, _resume, seen) {
            reads.push([from, to]);
            const listed = records.filter((r) => r.t >= from && r.t < to && r.t <= now);
            skipped.push(...listed.filter((r) => seen(r.id)).map((r) => r.id));
            yield { events: listed.map((r) => ({ id: r.id, source: 's', kind: 'call', time: '2026-01-01T00:00:00Z', attributes: { t: r.t } })), checkpoint: { page: 1 } };
          },
        },
        [],
      );
      return { ids: pages.flatMap((p) => p.events.map((e) => e.id)), last: pages.at(-1)!.checkpoint as Record<string, unknown> };
    };
    const first = await run(undefined);
    expect(first.ids).toEqual(['r1', 'r2']);
    now = 1100;
    const second = await run(first.last);
    expect(reads.at(-1)).toEqual([800, 1100]);
    expect(second.ids).toEqual(['r3']);
    // The source was told which ids it need not work on (Plum skips their detail requests).
    expect(skipped).toEqual(['r1', 'r2']);
    // A restart from that checkpoint: the ids delivered are in it.
    now = 1150;
    expect((await run(second.last)).ids).toEqual([]);
    // Once no pass can reach them, the checkpoint no longer carries them.
    now = 5000;
    const late = await run(second.last);
    expect(late.ids).toEqual([]);
    expect(late.last['@seen']).toBeUndefined();
  });

  describe('an idle account (quietCheckpointMs)', () => {
    /** Polls `passes` times a minute apart (no real waiting); `busy`: the passes whose listing has an event. Returns the pass of each checkpoint handed on. */
    const polls = async (o: { passes: number; busy: number[]; quietMs: number; bounded?: boolean; random?: number; bad?: number[] }) => {
      const ac = new AbortController();
      let t = 1_000_000;
      let pass = 0;
      const handedOn: number[] = [];
      const delivered: string[] = [];
      const it = pollRanges<'a'>({
        streams: ['a'],
        checkpoint: undefined,
        firstStart: 0,
        configuredStart: 0,
        // Bounded: an `end` three minutes on, reached by the fourth pass.
        end: o.bounded ? 1_000_000 + 3 * 60_000 : undefined,
        lateness: 0,
        startOf: (e) => Date.parse(e.time),
        pollIntervalMs: 60_000,
        bounded: o.bounded ?? false,
        signal: ac.signal,
        now: () => t,
        clockMs: () => t,
        quietCheckpointMs: o.quietMs,
        random: () => o.random ?? 0.999_999,
        sleep: async (ms) => {
          t += ms;
        },
        async *read(_stream, from, to) {
          pass++;
          if (pass > o.passes) return ac.abort();
          const events = o.busy.includes(pass) ? [{ id: `e${pass}`, source: 's', kind: 'k', time: new Date(to - 1).toISOString(), attributes: {} }].filter((e) => Date.parse(e.time) >= from) : [];
          yield { events, ...(o.bad?.includes(pass) ? { dead: [{ code: 'PARSE_FAILED', reason: 'unreadable line', record: `line ${pass}` }] } : {}) };
        },
      });
      for await (const page of it) {
        delivered.push(...page.events.map((e) => e.id), ...(page.dead ?? []).map((d) => String(d.record)));
        if (page.checkpoint) handedOn.push(pass);
      }
      return { handedOn: [...new Set(handedOn)], delivered };
    };

    it('hands on no checkpoint for a pass that listed nothing, until the quiet time passed; a pass with an event hands on at once', async () => {
      // A minute a pass, 5 minutes quiet: pass 1 (the first of a read) hands on; 2–5 are quiet; 6 is 5 minutes after 1; 8 has an event.
      const r = await polls({ passes: 12, busy: [8], quietMs: 5 * 60_000 });
      expect(r.handedOn).toEqual([1, 6, 8]);
      expect(r.delivered).toEqual(['e8']);
    });

    it('a quiet pass that read a bad record hands its dead letter on (with its checkpoint): nothing is dropped', async () => {
      const r = await polls({ passes: 5, busy: [], bad: [3], quietMs: 10 * 60_000 });
      expect(r.delivered).toEqual(['line 3']);
      expect(r.handedOn).toEqual([1, 3]);
    });

    it('each quiet stretch is jittered between half and all of quietCheckpointMs (thousands of accounts do not write in one minute)', async () => {
      // 10 minutes at its shortest: 5 minutes; a pass a minute.
      expect((await polls({ passes: 14, busy: [], quietMs: 10 * 60_000, random: 0 })).handedOn).toEqual([1, 6, 11]);
    });

    it('a bounded run (an end) hands on every pass: its final position is always stored', async () => {
      expect((await polls({ passes: 10, busy: [], quietMs: 10 * 60_000, bounded: true })).handedOn).toEqual([1, 2, 3, 4]);
    });

    it('without quietCheckpointMs (one account; default) every pass hands on its checkpoint', async () => {
      expect((await polls({ passes: 4, busy: [], quietMs: 0 })).handedOn).toEqual([1, 2, 3, 4]);
    });
  });
});
