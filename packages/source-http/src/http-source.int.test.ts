import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { corePlugins, createLogger, createPipeline, MemoryStateStore, PluginRegistry, type AnyPlugin } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { defineHttpSource, httpSource } from './index.js';

/**
 * A vendor API scripted per request, written for these tests alone: `respond` sees each request
 * (its number, URL and headers) and answers; `api` serves the records of a range in the shape of
 * each pagination strategy.
 */
type Answer = { status: number; body: string; headers?: Record<string, string> } | { reset: true } | { hang: true };
type Script = (req: { url: URL; n: number; headers: IncomingMessage['headers']; body: string }) => Answer;

const NOW_SEC = Math.floor(Date.now() / 1000);
const FROM = NOW_SEC - 7200;
const END = NOW_SEC - 600;
const rec = (i: number) => ({ call_id: `c${i}`, started_at: new Date((FROM + 60 * i + 5) * 1000).toISOString(), direction: i % 2 ? 'inbound' : 'outbound', caller: `+1617555${String(1000 + i)}`, callee: '+18005550100', duration: String(20 + i), agent: `a${i % 3}` });
let RECORDS = Array.from({ length: 57 }, (_, i) => rec(i));
const ids = () => RECORDS.map((r) => `acme:${r.call_id}`).sort();

let server: Server | undefined;
let requests: { url: URL; at: number; headers: IncomingMessage['headers'] }[] = [];
afterEach(async () => {
  server?.closeAllConnections();
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
  requests = [];
  RECORDS = Array.from({ length: 57 }, (_, i) => rec(i));
});

async function serve(script: Script): Promise<string> {
  let n = 0;
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push({ url, at: Date.now(), headers: req.headers });
      const a = script({ url, n: n++, headers: req.headers, body });
      if ('reset' in a) return void req.socket.destroy();
      if ('hang' in a) return;
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

/** The records whose start lies in [from, to) of the request (ISO query values). */
function inRange(url: URL): typeof RECORDS {
  const from = Date.parse(url.searchParams.get('from') ?? '1970-01-01T00:00:00Z');
  const to = Date.parse(url.searchParams.get('to') ?? '2100-01-01T00:00:00Z');
  // A record whose time does not parse is listed with the range it sits in (by its place in the list).
  return RECORDS.filter((r, i) => {
    const t = Number.isFinite(Date.parse(r.started_at)) ? Date.parse(r.started_at) : (FROM + 60 * i) * 1000;
    return t >= from && t < to;
  });
}
const ok = (body: unknown, headers?: Record<string, string>): Extract<Answer, { status: number }> => ({ status: 200, body: JSON.stringify(body), headers });

/** The five strategies' servers, each serving at most `cap` records a page whatever the limit. */
const apis = {
  offset: (url: URL, cap = 1000) => {
    const all = inRange(url);
    const offset = Number(url.searchParams.get('offset'));
    return ok({ data: { total: all.length, items: all.slice(offset, offset + Math.min(cap, Number(url.searchParams.get('limit')))) } });
  },
  page: (url: URL) => {
    const all = inRange(url);
    const size = Number(url.searchParams.get('per_page'));
    const page = Number(url.searchParams.get('page'));
    return ok({ items: all.slice((page - 1) * size, page * size), meta: { total_pages: Math.ceil(all.length / size) } });
  },
  cursor: (url: URL) => {
    const all = inRange(url);
    const at = url.searchParams.has('cursor') ? Number(Buffer.from(url.searchParams.get('cursor')!, 'base64url').toString()) : 0;
    const next = at + 10 < all.length ? Buffer.from(String(at + 10)).toString('base64url') : null;
    return ok({ data: all.slice(at, at + 10), meta: { next_cursor: next } });
  },
  link: (url: URL) => {
    const all = inRange(url);
    const at = Number(url.searchParams.get('start') ?? 0);
    const next = new URL(url.href.replace('http://x', ''), 'http://x');
    next.searchParams.set('start', String(at + 10));
    const headers: Record<string, string> = at + 10 < all.length ? { link: `<${next.pathname}${next.search}>; rel="next", </calls>; rel="first"` } : {};
    return ok(all.slice(at, at + 10), headers);
  },
  short: (url: URL) => {
    const all = inRange(url);
    const offset = Number(url.searchParams.get('skip'));
    return ok({ results: all.slice(offset, offset + Number(url.searchParams.get('top'))) });
  },
};

const MAP = { id: { template: 'acme:{{call_id}}' }, time: { copy: 'started_at' }, direction: { copy: 'direction' }, from: { copy: 'caller' }, to: { copy: 'callee' }, duration_sec: { copy: 'duration' } };
const configs = {
  offset: { url: '{{base}}/calls?from={{from}}&to={{to}}&offset={{offset}}&limit={{limit}}', records: 'data.items', pagination: { type: 'offset', limit: 10, total: 'data.total' } },
  page: { url: '{{base}}/calls', query: { from: '{{from}}', to: '{{to}}', page: '{{page}}', per_page: '{{limit}}' }, records: 'items', pagination: { type: 'page', limit: 10, total_pages: 'meta.total_pages' } },
  cursor: { url: '{{base}}/calls', query: { from: '{{from}}', to: '{{to}}', cursor: '{{cursor}}' }, records: 'data', pagination: { type: 'cursor', next: 'meta.next_cursor' } },
  link: { url: '{{base}}/calls?from={{from}}&to={{to}}', records: '', pagination: { type: 'link' } },
  short: { url: '{{base}}/calls?from={{from}}&to={{to}}&skip={{offset}}&top={{limit}}', records: 'results', pagination: { type: 'offset', limit: 10 } },
};
type Strategy = keyof typeof configs;

function sourceConfig(base: string, strategy: Strategy, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const c = JSON.parse(JSON.stringify(configs[strategy]).replaceAll('{{base}}', base)) as Record<string, unknown>;
  return { type: 'http', ...c, map: MAP, start: FROM, end: END, max_retries: 2, ...extra };
}

async function run(config: Record<string, unknown>, o: { once?: boolean; state?: MemoryStateStore; extra?: AnyPlugin[]; logs?: string[] } = {}) {
  const sink = memorySink({ type: 'mem' });
  const dead = memorySink({ type: 'dead' });
  const p = await createPipeline(
    { sources: { api: config }, sinks: { out: { type: 'mem', inputs: ['api'] }, dl: { type: 'dead', inputs: ['dead_letter'] } } },
    { plugins: new PluginRegistry([...corePlugins, httpSource, ...(o.extra ?? []), sink.plugin, dead.plugin]), logger: o.logs ? createLogger({ level: 'warn', destination: new Writable({ write: (c: Buffer, _e, cb) => (o.logs!.push(c.toString()), cb()) }) }) : createLogger({ level: 'silent' }), once: o.once ?? true, stateStore: o.state ?? new MemoryStateStore() },
  );
  await p.start();
  return { p, sink, dead, delivered: () => sink.record.events.map((e) => e.id).sort() };
}

describe('http source: each pagination strategy against a scripted server', () => {
  it.each(Object.keys(configs) as Strategy[])('%s: reads exactly the served records of the range, mapped', async (strategy) => {
    const base = await serve(({ url }) => apis[strategy](url));
    const { p, sink, delivered } = await run(sourceConfig(base, strategy));
    await p.done;
    expect(delivered()).toEqual(ids());
    const e = sink.record.events.find((x) => x.id === 'acme:c3')!;
    expect(e).toMatchObject({ source: 'http', kind: 'call', time: RECORDS[3]!.started_at, direction: 'inbound', from: '+16175551003', to: '+18005550100', durationSec: 23, attributes: { agent: 'a0' } });
    expect(e.attributes).not.toHaveProperty('call_id');
  });

  it('offset with a total: a server that serves fewer records than the limit is paged by what came back', async () => {
    const base = await serve(({ url }) => apis.offset(url, 7));
    const { p, delivered } = await run(sourceConfig(base, 'offset'));
    await p.done;
    expect(delivered()).toEqual(ids());
    expect(requests.map((r) => r.url.searchParams.get('offset')).slice(0, 3)).toEqual(['0', '7', '14']);
  });

  it('until a short page: a page with fewer records than the limit ends the listing (no request after it)', async () => {
    const base = await serve(({ url }) => apis.short(url));
    const { p, delivered } = await run(sourceConfig(base, 'short'));
    await p.done;
    expect(delivered()).toEqual(ids());
    expect(requests.map((r) => r.url.searchParams.get('skip'))).toEqual(['0', '10', '20', '30', '40', '50']);
  });

  it('an empty page before the reported total is asked for again, and then every record arrives', async () => {
    const base = await serve(({ url, n }) => (n === 2 ? ok({ data: { total: 57, items: [] } }) : apis.offset(url)));
    const { p, delivered } = await run(sourceConfig(base, 'offset'));
    await p.done;
    expect(delivered()).toEqual(ids());
    expect(requests.filter((r) => r.url.searchParams.get('offset') === '20')).toHaveLength(2);
  });

  it('page numbers with total_pages: an empty page before the last is asked for again', async () => {
    const base = await serve(({ url, n }) => (n === 2 ? ok({ items: [], meta: { total_pages: 6 } }) : apis.page(url)));
    const { p, delivered } = await run(sourceConfig(base, 'page'));
    await p.done;
    expect(delivered()).toEqual(ids());
    expect(requests.map((r) => r.url.searchParams.get('page'))).toEqual(['1', '2', '3', '3', '4', '5', '6']);
  });

  it('cursor: a page served again under a new token delivers nothing twice', async () => {
    const base = await serve(({ url, n }) => {
      const a = apis.cursor(url);
      if (n !== 2) return a;
      // The third answer repeats the second page's records, with the token of the third page.
      const again = JSON.parse(apis.cursor(new URL(`http://x/calls?${new URLSearchParams({ from: url.searchParams.get('from')!, to: url.searchParams.get('to')!, cursor: Buffer.from('10').toString('base64url') })}`)).body) as { data: unknown[] };
      const third = JSON.parse(a.body) as { data: unknown[]; meta: unknown };
      return ok({ data: [...again.data, ...third.data], meta: third.meta });
    });
    const { p, sink, delivered } = await run(sourceConfig(base, 'cursor'));
    await p.done;
    expect(delivered()).toEqual(ids());
    expect(sink.record.events).toHaveLength(57);
  });

  it('cursor: a next-token path that no response holds (a typo) is told once, naming the keys that are there', async () => {
    const base = await serve(({ url }) => apis.cursor(url));
    const logs: string[] = [];
    const { p, delivered } = await run(sourceConfig(base, 'cursor', { pagination: { type: 'cursor', next: 'meta.next_cursr' } }), { logs });
    await p.done;
    // One page per range is all a wrong path can read; what matters is that someone is told.
    expect(delivered().length).toBeLessThan(ids().length);
    const told = logs.filter((l) => l.includes('HTTP_SOURCE_NEXT_NOT_FOUND'));
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('pagination.next \\"meta.next_cursr\\" is not in the response (keys there: next_cursor)');
    // The right path is never warned about, also on the last page where the token is null.
    const quiet: string[] = [];
    const ok = await run(sourceConfig(base, 'cursor'), { logs: quiet });
    await ok.p.done;
    expect(ok.delivered()).toEqual(ids());
    expect(quiet.join('')).not.toContain('HTTP_SOURCE_NEXT_NOT_FOUND');
  });

  it('a listing that stays short of its total fails with HTTP_SOURCE_SHORT_LISTING and delivers nothing it did not get', async () => {
    const base = await serve(({ url }) => (Number(url.searchParams.get('offset')) >= 30 ? ok({ data: { total: 57, items: [] } }) : apis.offset(url)));
    const { p, delivered } = await run(sourceConfig(base, 'offset', { max_retry_duration: '1s', max_retries: 1 }));
    await expect(p.done).rejects.toMatchObject({ code: 'HTTP_SOURCE_SHORT_LISTING' });
    expect(new Set(delivered())).toEqual(new Set(ids().filter((id) => Number(id.slice(6)) < 30)));
  });

  it('a total that grows while reading is followed to its new end; a page served again (records shifted) delivers nothing twice', async () => {
    const base = await serve(({ url, n }) => {
      // After the second page, 5 more records of the range arrive (sorted in), so the total
      // grows and what was at offsets 15..19 moves to 20..24: the third page repeats 5 records.
      if (n === 2) RECORDS = [...RECORDS.slice(0, 15), ...Array.from({ length: 5 }, (_, i) => ({ ...rec(100 + i), started_at: new Date((FROM + 60 * 14 + 10 + i) * 1000).toISOString() })), ...RECORDS.slice(15)];
      return apis.offset(url);
    });
    const { p, sink, delivered } = await run(sourceConfig(base, 'offset'));
    await p.done;
    expect(sink.record.events.length).toBe(new Set(delivered()).size);
    // Records that moved past the read offsets are all read; the 5 sorted in before the offset
    // read so far are not (a later poll's lateness covers them, as for any listing).
    expect(new Set(delivered())).toEqual(new Set(ids().filter((id) => !/acme:c10\d/.test(id))));
    expect(requests.length).toBe(7);
  });

  it('XML: records at a path under the root, one record a list too', async () => {
    const xml = (rs: typeof RECORDS) => `<?xml version="1.0"?><response><calls>${rs.map((r) => `<call><call_id>${r.call_id}</call_id><started_at>${r.started_at}</started_at><caller>${r.caller}</caller></call>`).join('')}</calls><total>${RECORDS.length}</total></response>`;
    const base = await serve(({ url }) => {
      const offset = Number(url.searchParams.get('offset'));
      const limit = offset === 50 ? 1 : 10;
      return { status: 200, body: xml(inRange(url).slice(offset, offset + limit)), headers: { 'content-type': 'application/xml' } };
    });
    const { p, delivered } = await run({ ...sourceConfig(base, 'offset'), format: 'xml', records: 'response.calls.call', pagination: { type: 'offset', limit: 10, total: 'response.total' }, map: { id: { template: 'acme:{{call_id}}' }, time: { copy: 'started_at' }, from: { copy: 'caller' } } });
    await p.done;
    expect(delivered()).toEqual(ids());
    expect(requests[0]!.headers.accept).toBe('application/xml');
  });
});

describe('http source: faults are ridden out, never dropped', () => {
  it('503 with Retry-After, 429 with Retry-After, an HTML page with status 200, a truncated body, a reset connection and a request that times out, then good answers: every record delivered, Retry-After honoured', { timeout: 30_000 }, async () => {
    const base = await serve(({ url, n }) => {
      if (n === 1) return { status: 503, body: 'unavailable', headers: { 'retry-after': '1' } };
      if (n === 3) return { status: 429, body: '{"error":"slow down"}', headers: { 'retry-after': '1' } };
      if (n === 5) return { status: 200, body: '<html><body>Gateway maintenance</body></html>', headers: { 'content-type': 'text/html' } };
      if (n === 7) return { status: 200, body: '{"data": {"total": 57, "items": [{"call_id"' };
      if (n === 9) return { reset: true };
      if (n === 10) return { hang: true };
      return apis.cursor(url);
    });
    const { p, dead, delivered } = await run(sourceConfig(base, 'cursor', { max_retries: 5, request_timeout: '500ms' }));
    await p.done;
    expect(delivered()).toEqual(ids());
    expect(dead.record.events).toEqual([]);
    expect(requests[2]!.at - requests[1]!.at).toBeGreaterThanOrEqual(900);
    expect(requests[4]!.at - requests[3]!.at).toBeGreaterThanOrEqual(900);
    expect(requests.length).toBe(12);
  });

  it('an unreadable body after every retry of the request fails the range, which is read again from its last page: nothing dropped', { timeout: 30_000 }, async () => {
    const base = await serve(({ url, n }) => (n >= 2 && n <= 4 ? { status: 200, body: '<html>oops</html>' } : apis.offset(url)));
    const { p, dead, delivered } = await run(sourceConfig(base, 'offset', { max_retries: 1 }));
    await p.done;
    expect(delivered()).toEqual(ids());
    expect(dead.record.events).toEqual([]);
    // The retried range resumed at the page that failed, not at the range's start.
    expect(requests.filter((r) => r.url.searchParams.get('offset') === '0')).toHaveLength(1);
  });

  it('a record that does not map is dead-lettered with its reason; the rest are delivered', async () => {
    const expected = ids().filter((id) => !['acme:c4', 'acme:c9', 'acme:c12'].includes(id));
    RECORDS[4] = { ...RECORDS[4]!, started_at: 'yesterday' };
    RECORDS[9] = { ...RECORDS[9]!, duration: 'long' };
    RECORDS[12] = { ...RECORDS[12]!, call_id: undefined } as unknown as (typeof RECORDS)[number];
    const base = await serve(({ url }) => apis.offset(url));
    const { p, dead, delivered } = await run(sourceConfig(base, 'offset'));
    await p.done;
    expect(delivered()).toEqual(expected);
    const reasons = dead.record.events.map((e) => [e.attributes.code, e.attributes.reason]);
    expect(reasons).toEqual([
      ['HTTP_SOURCE_UNMAPPED', 'record acme:c4: time "yesterday" is not a time in format iso (zone UTC when it has no offset)'],
      ['HTTP_SOURCE_UNMAPPED', 'record acme:c9: duration_sec "long" at { copy: duration } is not a number of seconds'],
      ['HTTP_SOURCE_UNMAPPED', 'the record has no id at { template: "acme:{{call_id}}" }'],
    ]);
  });

  it('401 stops the source at once with what to check, without retrying', async () => {
    const base = await serve(() => ({ status: 401, body: '{"error":"bad token"}' }));
    const { p } = await run(sourceConfig(base, 'cursor', { auth: { type: 'bearer', token: 'nope' } }));
    await expect(p.done).rejects.toMatchObject({ code: 'HTTP_SOURCE_STATUS', message: expect.stringContaining('check auth') });
    expect(requests).toHaveLength(1);
  });
});

describe('http source: auth, signing and rate limit', () => {
  it('basic, bearer, api_key in a header and in the query are sent; the key never reaches a checkpoint', async () => {
    const seen: string[] = [];
    const base = await serve(({ url, headers }) => {
      seen.push(`${headers.authorization ?? ''}|${headers['x-api-key'] ?? ''}|${url.searchParams.get('api_key') ?? ''}`);
      return apis.link(url);
    });
    for (const auth of [{ type: 'basic', username: 'u', password: 'p' }, { type: 'bearer', token: 't0k' }, { type: 'api_key', name: 'X-API-Key', value: 'k1' }, { type: 'api_key', in: 'query', name: 'api_key', value: 'k2' }]) {
      const state = new MemoryStateStore();
      const { p } = await run(sourceConfig(base, 'link', { auth }), { state });
      await p.done;
      expect(JSON.stringify(await state.get('checkpoints'))).not.toContain('k2');
    }
    expect(new Set(seen)).toEqual(new Set([`Basic ${Buffer.from('u:p').toString('base64')}||`, 'Bearer t0k||', '|k1|', '||k2']));
  });

  it('an API key in the query reaches no log line, not even URL-encoded, through retries and a failure', { timeout: 30_000 }, async () => {
    const key = 'k 2+/=secret';
    const base = await serve(({ url, n }) => (n === 0 ? { status: 503, body: '' } : n === 1 ? { status: 200, body: '<html>' } : n === 2 ? ({ status: 404, body: '' }) : apis.cursor(url)));
    const lines: string[] = [];
    const sink = memorySink({ type: 'mem' });
    const p = await createPipeline(
      { sources: { api: sourceConfig(base, 'cursor', { auth: { type: 'api_key', in: 'query', name: 'api_key', value: key } }) }, sinks: { out: { type: 'mem', inputs: ['api'] } } },
      { plugins: new PluginRegistry([...corePlugins, httpSource, sink.plugin]), logger: createLogger({ level: 'debug', pretty: false, destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) }), once: true, stateStore: new MemoryStateStore() },
    );
    await p.start();
    await expect(p.done).rejects.toMatchObject({ code: 'HTTP_SOURCE_STATUS' });
    expect(requests[0]!.url.searchParams.get('api_key')).toBe(key);
    const text = lines.join('');
    expect(text).toContain('api_key=***');
    for (const form of [key, encodeURIComponent(key), new URLSearchParams({ k: key }).toString().slice(2)]) expect(text).not.toContain(form);
  });

  it('a signing plugin made with defineHttpSource signs every attempt (an HMAC of method, path and time)', async () => {
    const signed = defineHttpSource({
      type: 'hmac_http',
      sign: (req, params, nowMs) => {
        const ts = String(Math.floor(nowMs / 1000));
        req.headers['x-timestamp'] = ts;
        req.headers['x-signature'] = createHmac('sha256', params.secret!).update(`${req.method}\n${req.url.pathname}${req.url.search}\n${ts}`).digest('hex');
      },
    });
    const base = await serve(({ url, headers, n }) => {
      const want = createHmac('sha256', 's3cret').update(`GET\n${url.pathname}${url.search}\n${String(headers['x-timestamp'])}`).digest('hex');
      if (headers['x-signature'] !== want) return { status: 403, body: 'bad signature' };
      return n === 0 ? { status: 503, body: '' } : apis.cursor(url);
    });
    const { p, delivered } = await run({ ...sourceConfig(base, 'cursor'), type: 'hmac_http', auth: { type: 'signed', params: { secret: 's3cret' } } }, { extra: [signed] });
    await p.done;
    expect(delivered()).toEqual(ids());
    expect(requests.length).toBe(7);
    const { type: _type, ...plain } = sourceConfig(base, 'cursor');
    expect(httpSource.configSchema.safeParse({ ...plain, auth: { type: 'signed', params: {} } }).error?.issues[0]?.message).toContain('needs a signer');
  });

  it('rate_limit spaces requests evenly', async () => {
    const base = await serve(({ url }) => apis.cursor(url));
    const { p, delivered } = await run(sourceConfig(base, 'cursor', { rate_limit: { requests: 10, per: '1s' } }));
    await p.done;
    expect(delivered()).toEqual(ids());
    // 10 a second: the 6 requests span 5 spacings of 100 ms. Arrival times carry transit, which a
    // busy machine stretches for the first request alone (479 ms was seen): a bound of 4 spacings
    // still tells a limiter from none (unlimited, the 6 arrive within a few ms).
    expect(requests).toHaveLength(6);
    expect(requests.at(-1)!.at - requests[0]!.at).toBeGreaterThanOrEqual(400);
  });
});

describe('http source: many accounts', () => {
  it('each account with its own auth and base_url: its events tagged with attributes.account, none refused', async () => {
    const base = await serve(({ url, headers }) => (headers.authorization === 'Bearer a1' ? apis.cursor(url) : { status: 401, body: '' }));
    // The second account's server holds other calls (ids b0..b14) and another token.
    const other = createServer((req, res) => {
      if (req.headers.authorization !== 'Bearer b2') return void res.writeHead(401).end();
      const calls = Array.from({ length: 15 }, (_, i) => ({ ...rec(i), call_id: `b${i}` }));
      const at = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('cursor') ?? 0);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: calls.slice(at, at + 10), meta: { next_cursor: at + 10 < calls.length ? String(at + 10) : null } }));
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/`;
      const { p, sink, delivered } = await run(sourceConfig(base, 'cursor', { accounts: [{ name: 'acme', auth: { type: 'bearer', token: 'a1' } }, { name: 'globex', auth: { type: 'bearer', token: 'b2' }, base_url: otherUrl }] }));
      await p.done;
      expect(delivered()).toEqual([...ids(), ...Array.from({ length: 15 }, (_, i) => `acme:b${i}`)].sort());
      expect(new Set(sink.record.events.filter((e) => e.id.startsWith('acme:b')).map((e) => e.attributes.account))).toEqual(new Set(['globex']));
      expect(new Set(sink.record.events.filter((e) => e.id.startsWith('acme:c')).map((e) => e.attributes.account))).toEqual(new Set(['acme']));
    } finally {
      other.closeAllConnections();
      await new Promise((r) => other.close(r));
    }
  });

  it('auth beside accounts is refused at auth, with what to do', () => {
    const { type: _t, ...c } = sourceConfig('http://127.0.0.1:1', 'cursor', { auth: { type: 'bearer', token: 'x' }, accounts: [{ name: 'a', auth: { type: 'bearer', token: 'y' } }] });
    expect(httpSource.configSchema.safeParse(c).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['auth: auth is per account when accounts is set: move it into each account']);
  });
});

describe('http source: incremental reading', () => {
  it('cursor_field: each poll asks from the largest value delivered; records at that value are not delivered twice, across a restart too', { timeout: 30_000 }, async () => {
    let seq = RECORDS.map((r, i) => ({ ...r, seq: Math.floor(i / 2) }));
    const base = await serve(({ url }) => {
      const since = url.searchParams.has('since') ? Number(url.searchParams.get('since')) : -1;
      return ok({ data: seq.filter((r) => r.seq >= since).slice(0, 200) });
    });
    const cfg = { type: 'http', url: `${base}/events?since={{from}}`, records: 'data', cursor_field: 'seq', map: MAP };
    const state = new MemoryStateStore();
    const first = await run(cfg, { state });
    await first.p.done;
    expect(first.delivered()).toEqual(ids());
    seq = [...seq, ...[200, 201, 202].map((i) => ({ ...rec(i), seq: 28 + Math.floor((i - 200) / 2) }))];
    const second = await run(cfg, { state });
    await second.p.done;
    expect(second.delivered()).toEqual(['acme:c200', 'acme:c201', 'acme:c202']);
    expect(requests.at(-1)!.url.searchParams.get('since')).toBe('28');
  });

  it('time ranges with lateness: a record listed late is delivered once, the earlier ones not again', { timeout: 30_000 }, async () => {
    const t0 = Math.floor(Date.now() / 1000);
    // The late record starts 40 s ago but is listed only from the third request on.
    RECORDS = [0, 1, 2].map((i) => ({ ...rec(i), started_at: new Date((t0 - 100 + 20 * i) * 1000).toISOString() }));
    const late = { ...rec(9), started_at: new Date((t0 - 40) * 1000).toISOString() };
    const base = await serve(({ url, n }) => {
      if (n === 2) RECORDS.push(late);
      return apis.cursor(url);
    });
    const { p, delivered } = await run({ ...sourceConfig(base, 'cursor'), start: undefined, end: undefined, backfill: '5m', lateness: '2m', poll_interval: '300ms' }, { once: false });
    await expect.poll(() => delivered().includes('acme:c9'), { timeout: 10_000 }).toBe(true);
    // Two more polls read the lateness window again (waited for as requests the server answered).
    const answered = requests.length;
    await expect.poll(() => requests.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(answered + 2);
    await p.stop();
    expect(delivered()).toEqual(['acme:c0', 'acme:c1', 'acme:c2', 'acme:c9']);
  });
});

describe('http source: config errors are located and say what to do', () => {
  const base = 'http://127.0.0.1:1';
  const issues = (extra: Record<string, unknown>, strategy: Strategy = 'offset') => {
    const { type: _t, ...c } = sourceConfig(base, strategy, extra);
    return httpSource.configSchema.safeParse(c).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  };
  it.each([
    [{ pagination: { type: 'cursor', next: 'meta.next' } }, 'pagination: pagination cursor needs {{cursor}}'],
    [{ cursor_field: 'seq' }, 'start: start is for time ranges'],
    [{ method: 'GET', body: '{"from":"{{from}}"}' }, 'body: a GET request has no body'],
    [{ url: `${base}/calls?offset={{offset}}&limit={{limit}}&since={{form}}` }, 'url: "{{form}}" is not a request placeholder'],
    [{ url: `${base}/calls?offset={{offset}}&limit={{limit}}` }, 'url: the request never names {{from}}'],
    [{ start: undefined, backfill: '1d', end: undefined, cursor_start: 5 }, 'cursor_start: cursor_start needs cursor_field'],
    [{ url: `${base}/calls?from={{from}}&to={{to}}&skip={{offset}}`, pagination: { type: 'offset', limit: 10 } }, 'pagination.end_on: without {{limit}} in the request the server chooses the page size'],
    [{ url: `${base}/calls?from={{from}}&to={{to}}&p={{page}}`, pagination: { type: 'page', total: 'n' } }, 'pagination.total: pages are counted from total with limit'],
  ])('%j → %s', (extra, message) => {
    expect(issues(extra).join('\n')).toContain(message);
  });
});
