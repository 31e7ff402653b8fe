import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStateStore, type CallEvent } from '@plumline/core';
import { runSource, type SourceRun } from '@plumline/core/testing';
import { PlumEmulator, type PlumEmulatorOptions } from './emulator/index.js';
import { plumSource } from './plum-source.js';

let emulator: PlumEmulator | undefined;
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

async function startEmulator(opts: PlumEmulatorOptions = {}): Promise<string> {
  emulator = new PlumEmulator({ seed: 5, sessionsPerSecond: 0.02, username: 'u', password: 'p', ...opts });
  return emulator.start();
}

const CREDENTIALS = { username: 'u', password: 'p' };

function run(source: Record<string, unknown>, options: { once?: boolean; stopAfterMs?: number; dedupe?: boolean; state?: MemoryStateStore } = {}): Promise<SourceRun> {
  return runSource(plumSource, { ...CREDENTIALS, ...source }, { once: options.once, stopAfterMs: options.stopAfterMs, dedupe: options.dedupe, stateStore: options.state });
}

const nowSec = () => Math.floor(Date.now() / 1000);
// Streams are read each on its own loop: their pages interleave as they come (each stream's in order).
const byId = (a: CallEvent, b: CallEvent) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe('plum source against the emulator', () => {
  it('reads calls (list + detail), sessions and errors; JSON and XML give identical events', async () => {
    const base_url = await startEmulator();
    const range = { start: nowSec() - 3 * 86_400, end: nowSec() - 60 };
    const json = await run({ base_url, ...range, format: 'json' });
    const xml = await run({ base_url, ...range, format: 'xml' });
    expect(json.error).toBeUndefined();
    expect(xml.error).toBeUndefined();
    const kinds = new Set(json.events.map((e) => e.kind));
    expect(kinds).toEqual(new Set(['call', 'session', 'error']));
    // Exactly the sessions and calls the emulator's data holds for the range (errors are listed by
    // their own rules, so only their presence is checked here).
    const [lo, hi] = emulator!.data.indexRange(range.start, range.end);
    const count = (kind: string) => json.events.filter((e) => e.kind === kind).length;
    expect(count('session')).toBe(hi - lo);
    expect(count('call')).toBe(Array.from({ length: hi - lo }, (_, i) => lo + i).filter((i) => emulator!.data.hasCall(i)).length);
    expect(count('error')).toBeGreaterThan(0);
    expect(hi - lo).toBeGreaterThan(3000);
    expect([...xml.events].sort(byId)).toEqual([...json.events].sort(byId));
    const call = json.events.find((e) => e.kind === 'call')!;
    expect(call.attributes.log).toContain('\n');
    expect(call.attributes.location).toBeTruthy();
    // Each call joins its session.
    const sessions = new Set(json.events.filter((e) => e.kind === 'session').map((e) => e.attributes.sessionId));
    expect(sessions.has(call.attributes.sessionId)).toBe(true);
    expect(json.dead).toEqual([]);
  });

  it('pages by the rows that came back when the server returns fewer than limit', async () => {
    const base_url = await startEmulator();
    const range = { start: nowSec() - 86_400, end: nowSec() - 60, streams: ['sessions'], page_size: 50 };
    const full = await run({ base_url, ...range });
    emulator!.setFaults({ maxPageRows: 7 });
    const before = emulator!.stats.byService.sessions ?? 0;
    const short = await run({ base_url, ...range });
    expect(short.events).toEqual(full.events);
    expect((emulator!.stats.byService.sessions ?? 0) - before).toBe(Math.ceil(full.events.length / 7));
  });

  it('filters by number, one listing per number', async () => {
    const base_url = await startEmulator();
    const r = await run({ base_url, start: nowSec() - 86_400, end: nowSec() - 60, streams: ['calls'], numbers: ['6177123000', '8009957586'] });
    expect(r.events.length).toBeGreaterThan(0);
    expect(new Set(r.events.map((e) => e.to))).toEqual(new Set(['6177123000', '8009957586']));
  });

  it('a service that lists calls only once they end: polling with the default lateness delivers every ended call once, with one detail request each', { timeout: 60_000 }, async () => {
    // Calls last up to 15 minutes: most of those that end during the run started long before the
    // poll that first lists them.
    const base_url = await startEmulator({ sessionsPerSecond: 5, listCallsAfterEnd: true });
    const start = nowSec() - 1800;
    const startedSec = nowSec();
    const detailsBefore = emulator!.stats.byService.log ?? 0;
    const repeatedBefore = emulator!.stats.detailsRepeated;
    const polled = await run({ base_url, start, streams: ['calls'], poll_interval: '500ms' }, { once: false, stopAfterMs: 8_000 });
    const details = (emulator!.stats.byService.log ?? 0) - detailsBefore;
    const repeated = emulator!.stats.detailsRepeated - repeatedBefore;
    const stoppedSec = nowSec();
    // The expected set: a fault-free bounded run afterwards, over the same range.
    const full = await run({ base_url, start, end: stoppedSec, streams: ['calls'] }, { once: true });
    expect(polled.error).toBeUndefined();
    const cut = stoppedSec - 3;
    const endedBeforeCut = (e: CallEvent) => Date.parse(e.endTime!) / 1000 <= cut;
    const ids = polled.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    // One detail request per call: none asked for twice. The stop may cut off a page whose
    // details were fetched, so there can be more requests than delivered calls, never fewer.
    expect(repeated).toBe(0);
    expect(details).toBeGreaterThanOrEqual(ids.length);
    expect(polled.events.filter(endedBeforeCut).map((e) => e.id).sort()).toEqual(full.events.filter(endedBeforeCut).map((e) => e.id).sort());
    // Calls that were listed late while the source polled, having started more than 5 minutes before.
    const late = full.events.filter((e) => endedBeforeCut(e) && Date.parse(e.endTime!) / 1000 > startedSec + 1 && Date.parse(e.endTime!) - Date.parse(e.time) > 300_000);
    expect(late.length).toBeGreaterThan(0);
  });

  it('polls incrementally: new sessions arriving between polls are delivered exactly once, without dedupe, though each poll reads the lateness window again', async () => {
    const base_url = await startEmulator({ sessionsPerSecond: 20 });
    const start = nowSec() - 3;
    const state = new MemoryStateStore();
    const r = await run({ base_url, start, streams: ['sessions'], poll_interval: '300ms', lateness: '2s' }, { once: false, stopAfterMs: 2500, state });
    expect(r.error).toBeUndefined();
    // Cursors are epoch ms on whole seconds (checkpoint version 3).
    const cursorMs = (r.result!.checkpoints.plum!.position as { sessions: number }).sessions;
    expect(cursorMs % 1000).toBe(0);
    const cursor = cursorMs / 1000;
    const [lo, hi] = emulator!.data.indexRange(start, cursor);
    const expected = Array.from({ length: hi - lo }, (_, i) => `plum:session:${emulator!.data.session(lo + i).sessionId}`);
    const got = r.events.map((e) => e.id);
    expect(new Set(got).size).toBe(got.length);
    expect(got.sort()).toEqual(expected.sort());
    // Each poll read the last 2 s again (no dedupe here): the source delivered what it had not.
    expect(emulator!.stats.byService.sessions).toBeGreaterThan(3);
    expect(cursor).toBeGreaterThan(start + 1);
  });

  it('reads a version-2 checkpoint (epoch seconds) back at the same position: the range after its cursor, its seen ids not again', async () => {
    const base_url = await startEmulator({ sessionsPerSecond: 0.5 });
    const end = nowSec() - 60;
    const cursor = end - 3_600;
    const [lo, hi] = emulator!.data.indexRange(cursor, end);
    const session = (i: number) => emulator!.data.session(i);
    const id = (i: number) => `plum:session:${session(i).sessionId}`;
    expect(hi - lo).toBeGreaterThan(100);
    // As version 2 stored it: seconds; read long after the cursor (no reach-back), and the first
    // session of the range delivered already by a pass that read the lateness window.
    const v2 = { sessions: cursor, '@readAt': { sessions: cursor + 86_400 }, '@seen': { sessions: [[session(lo).startSec, id(lo)]] } };
    const state = new MemoryStateStore();
    await state.set('checkpoints', { plum: { seq: 1, position: v2, version: 2 } });
    const r = await run({ base_url, start: cursor - 86_400, end, streams: ['sessions'], lateness: '2h' }, { state });
    expect(r.error).toBeUndefined();
    expect(r.events.map((e) => e.id).sort()).toEqual(Array.from({ length: hi - lo - 1 }, (_, i) => id(lo + 1 + i)).sort());
    const stored = (await state.get('checkpoints')) as Record<string, { version: number; position: { sessions: number } }>;
    expect(stored.plum).toMatchObject({ version: 3, position: { sessions: end * 1000 } });
  });

  it('retries 429 after Retry-After, and 500s, then delivers everything', async () => {
    const base_url = await startEmulator();
    const range = { base_url, start: nowSec() - 86_400, end: nowSec() - 60, streams: ['sessions'] };
    const clean = await run(range);
    emulator!.setFaults({ next: [{ status: 429, retryAfterSec: 1 }, { status: 500 }, { status: 503 }] });
    const first = emulator!.stats.arrivals.length;
    const r = await run(range);
    expect([...r.events].sort(byId)).toEqual([...clean.events].sort(byId));
    expect(r.result!.stats.plum!.retries).toBe(3);
    const arrivals = emulator!.stats.arrivals.slice(first);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(950);
  });

  it('retries a slow response that times out, and a truncated body', async () => {
    const base_url = await startEmulator();
    const range = { base_url, start: nowSec() - 86_400, end: nowSec() - 60, streams: ['errors'], request_timeout: '300ms' };
    const clean = await run(range);
    emulator!.setFaults({ next: [{ delayMs: 1000 }, { truncate: true }] });
    const r = await run(range);
    expect([...r.events].sort(byId)).toEqual([...clean.events].sort(byId));
    expect(r.result!.stats.plum!.retries).toBe(2);
  });

  it('a body unreadable past the request\'s retries fails the range, which is read again: nothing dead-lettered, nothing lost', async () => {
    const base_url = await startEmulator();
    const range = { base_url, start: nowSec() - 86_400, end: nowSec() - 60, streams: ['sessions', 'errors'], max_retries: 1 };
    const clean = await run(range);
    emulator!.setFaults({ next: [{ truncate: true }, { truncate: true }] });
    const r = await run(range);
    expect(r.error).toBeUndefined();
    expect(r.dead).toHaveLength(0);
    expect([...r.events].sort(byId)).toEqual([...clean.events].sort(byId));
    expect(r.result!.stats.plum!.retries).toBeGreaterThanOrEqual(2);
  });

  it('dead-letters malformed lines with the raw text and delivers the rest', async () => {
    const base_url = await startEmulator();
    const range = { base_url, start: nowSec() - 86_400, end: nowSec() - 60, streams: ['sessions'] };
    const clean = await run(range);
    emulator!.setFaults({ malformedLineRate: 0.1 });
    const r = await run(range);
    expect(r.dead.length).toBeGreaterThan(0);
    expect(r.dead.length + r.events.length).toBe(clean.events.length);
    expect(r.dead[0]!.attributes).toMatchObject({ code: 'PLUM_LINE_UNPARSEABLE' });
    expect(String(r.dead[0]!.raw)).toMatch(/\?\?\?$/);
  });

  it('stops at once on a bad password, with the server error and no retries', async () => {
    const base_url = await startEmulator();
    const r = await run({ base_url, password: 'wrong', start: nowSec() - 3600, end: nowSec() - 60, streams: ['calls'] });
    expect(r.error).toMatchObject({ code: 'PLUM_AUTH_FAILED' });
    expect(String((r.error as Error).message)).toContain('Unauthorized access to logs service');
    expect(emulator!.stats.requests).toBe(1);
    expect(r.logs).not.toContain('"wrong"');
  });

  it('clamps a backfill past a retention window, says so once, and reads the rest', async () => {
    const base_url = await startEmulator();
    const r = await run({ base_url, backfill: '8d', streams: ['calls', 'sessions'] });
    expect(r.error).toBeUndefined();
    expect(r.logs.match(/keeps 5 days of call logs/g)).toHaveLength(1);
    const oldestCall = Math.min(...r.events.filter((e) => e.kind === 'call').map((e) => Date.parse(e.time) / 1000));
    const oldestSession = Math.min(...r.events.filter((e) => e.kind === 'session').map((e) => Date.parse(e.time) / 1000));
    expect(nowSec() - oldestCall).toBeLessThanOrEqual(5 * 86_400);
    expect(nowSec() - oldestSession).toBeGreaterThan(7 * 86_400);
  });
});
