import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExactAfterKills } from './test-support/exact-restarts.js';

/** Per strategy: 12 kills in all (each run is a process start: ≈ 1 s on an idle machine). */
const TRIALS = 1;
const KILLS_PER_TRIAL = 3;
const END = Math.floor(Date.now() / 1000) - 600;
const START = END - 86_400;
/** 400 calls over the day, served by a scripted API per strategy, 8 a page, 30 ms a request (a run takes ≈ 1.5 s, so kills land mid-run). */
const CALLS = Array.from({ length: 400 }, (_, i) => ({ id: `r${i}`, at: START + 200 * i + 7, from: `+1617555${1000 + i}`, seq: Math.floor(i / 3) }));

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    const all = CALLS.filter((c) => c.at >= from && c.at < to);
    const send = (body: unknown, headers: Record<string, string> = {}) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body)), 30);
    if (url.pathname === '/offset') {
      const offset = Number(url.searchParams.get('offset'));
      return send({ total: all.length, calls: all.slice(offset, offset + Number(url.searchParams.get('limit'))) });
    }
    if (url.pathname === '/seq') {
      // Records at or after `since` (three share each value), in order, paged by offset.
      const since = url.searchParams.get('since');
      const after = CALLS.filter((c) => since === null || c.seq >= Number(since));
      const offset = Number(url.searchParams.get('offset'));
      return send({ total: after.length, calls: after.slice(offset, offset + Number(url.searchParams.get('limit'))) });
    }
    if (url.pathname === '/cursor') {
      const at = Number(url.searchParams.get('after') || 0);
      return send({ calls: all.slice(at, at + 8), next: at + 8 < all.length ? String(at + 8) : '' });
    }
    const at = Number(url.searchParams.get('start') ?? 0);
    return send(all.slice(at, at + 8), at + 8 < all.length ? { link: `</link?from=${from}&to=${to}&start=${at + 8}>; rel="next"` } : {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise((r) => server.close(r));
});

const PAGINATION = {
  offset: { url: '/offset?from={{from}}&to={{to}}&offset={{offset}}&limit={{limit}}', pagination: '{ type: offset, limit: 8, total: total }', records: 'calls' },
  cursor: { url: '/cursor?from={{from}}&to={{to}}&after={{cursor}}', pagination: '{ type: cursor, next: next }', records: 'calls' },
  link: { url: '/link?from={{from}}&to={{to}}', pagination: '{ type: link }', records: '""' },
  // A monotonic field instead of time ranges: later runs poll again from the largest value, whose records came already.
  cursor_field: { url: '/seq?since={{from}}&offset={{offset}}&limit={{limit}}', pagination: '{ type: offset, limit: 8, total: total }', records: 'calls', range: 'cursor_field: seq' },
};

describe('http source restart (real process, SIGKILL mid-backfill, no dedupe)', () => {
  it.each(Object.keys(PAGINATION) as (keyof typeof PAGINATION)[])(`%s: the file holds every record exactly once after ${TRIALS * KILLS_PER_TRIAL} kills, as a fault-free run writes it`, { timeout: 120_000 }, async (strategy) => {
    const s = PAGINATION[strategy];
    const { expected, kills } = await checkExactAfterKills(
      `runtime: { commit_interval: 20ms }
sources:
  api:
    type: http
    url: "${base}${s.url}"
    time_format: unix
    pagination: ${s.pagination}
    records: ${s.records}
    map: { id: { copy: id }, time: { copy: at }, time_format: unix, from: { copy: from } }
    ${'range' in s ? s.range : `start: ${START}\n    end: ${END}`}
sinks:
  files: { type: file, inputs: [api], path: "out/calls.ndjson" }
`,
      { trials: TRIALS, killsPerTrial: KILLS_PER_TRIAL },
    );
    expect(expected).toEqual(CALLS.map((c) => c.id).sort());
    console.log(`http restart (${strategy}): ${kills} kills mid-run over ${TRIALS} backfills of ${expected.length} records`);
    expect(kills).toBeGreaterThanOrEqual(2);
  });
});
