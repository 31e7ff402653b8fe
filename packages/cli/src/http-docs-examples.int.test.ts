import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { PlumEmulator } from '@plumline/source-plum/emulator';
import { runCli } from './test-support/run-cli.js';

/** The YAML block after `<!-- http-example: name -->` in docs/sources.md, as a reader copies it. */
const DOC = readFileSync(fileURLToPath(new URL('../../../docs/sources.md', import.meta.url)), 'utf8');
const example = (name: string): string => new RegExp(`<!-- http-example: ${name} -->\\n\`\`\`yaml\\n([\\s\\S]*?)\`\`\``).exec(DOC)![1]!;

const NOW = Date.now();
/** Calls of the last day, one every 20 minutes; a few within the last minutes. */
const CALLS = Array.from({ length: 70 }, (_, i) => ({ id: `zc${i}`, start: new Date(NOW - 86_000_000 + 1_200_000 * i) }));
const LOGS = Array.from({ length: 45 }, (_, i) => ({ uuid: `ok-${i}`, published: new Date(NOW - 80_000_000 + 1_700_000 * i).toISOString(), eventType: i % 2 ? 'user.session.start' : 'user.session.end', actor: { alternateId: `user${i}@example.com` }, outcome: { result: 'SUCCESS' } }));

let server: Server;
let base = '';
const plum = new PlumEmulator({ seed: 5, sessionsPerSecond: 0.01, username: 'pu', password: 'pp' });
let plumUrl = '';

/** Zoom-shaped: bearer token, from/to, next_page_token, at most 25 calls a page whatever page_size says. */
function zoom(url: URL, req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.authorization !== 'Bearer zt') return void res.writeHead(401).end('{"code":124,"message":"Invalid access token."}');
  const from = Date.parse(url.searchParams.get('from')!);
  const to = Date.parse(url.searchParams.get('to')!);
  const all = CALLS.filter((c) => c.start.getTime() >= from && c.start.getTime() < to);
  const at = Number(url.searchParams.get('next_page_token') ?? 0);
  const page = all.slice(at, at + 25).map((c, i) => ({ id: c.id, call_id: `7${i}`, direction: i % 2 ? 'inbound' : 'outbound', caller_did_number: '+16175550100', callee_did_number: '+18005550199', start_time: c.start.toISOString().replace('.000', ''), end_time: new Date(c.start.getTime() + 60_000).toISOString().replace('.000', ''), duration: 60 }));
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ from: url.searchParams.get('from'), to: url.searchParams.get('to'), page_size: 25, total_records: all.length, next_page_token: at + 25 < all.length ? String(at + 25) : '', call_logs: page }));
}

/** Okta-shaped: SSWS token, since/until, 20 events a page, an absolute `Link: <…&after=…>; rel="next"`. */
function okta(url: URL, req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.authorization !== 'SSWS ot') return void res.writeHead(401).end('{"errorCode":"E0000011"}');
  const since = Date.parse(url.searchParams.get('since')!);
  const until = Date.parse(url.searchParams.get('until')!);
  const all = LOGS.filter((l) => Date.parse(l.published) >= since && Date.parse(l.published) < until);
  const at = Number(url.searchParams.get('after') ?? 0);
  const next = new URL(`${base}${url.pathname}${url.search}`);
  next.searchParams.set('after', String(at + 20));
  const links = [`<${base}${url.pathname}${url.search}>; rel="self"`, ...(at + 20 < all.length ? [`<${next.href}>; rel="next"`] : [])];
  res.writeHead(200, { 'content-type': 'application/json', link: links.join(', ') }).end(JSON.stringify(all.slice(at, at + 20)));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    (url.pathname.startsWith('/v2/') ? zoom : okta)(url, req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  plumUrl = await plum.start();
  plum.setFaults({ maxPageRows: 300 });
  Object.assign(process.env, { ZOOM_API_URL: base, ZOOM_TOKEN: 'zt', OKTA_URL: base, OKTA_API_TOKEN: 'ot', PLUM_URL: plumUrl, PLUM_USER: 'pu', PLUM_PASSWORD: 'pp' });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await plum.stop();
});

async function runExample(name: string): Promise<{ id: string; kind: string; time: string; [k: string]: unknown }[]> {
  const { dir, cleanup } = await tmpDir('plumline-http-doc-');
  try {
    await writeFile(join(dir, 'p.yaml'), example(name));
    const r = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], dir);
    expect(r.code, r.stderr).toBe(0);
    const text = await readFile(join(dir, 'out', `${name === 'plum' ? 'sessions' : name}.ndjson`), 'utf8');
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; kind: string; time: string });
  } finally {
    await cleanup();
  }
}

describe("docs/sources.md's http examples, run as written against servers in each API's shape", () => {
  it('cursor (Zoom Phone call history): every call of the last day, mapped', { timeout: 60_000 }, async () => {
    const events = await runExample('zoom');
    expect(events.map((e) => e.id).sort()).toEqual(CALLS.filter((c) => c.start.getTime() < Date.now()).map((c) => `zoom:${c.id}`).sort());
    expect(events[0]).toMatchObject({ source: 'zoom', kind: 'call', from: '+16175550100', to: '+18005550199', durationSec: 60 });
  });

  it('link header (Okta System Log): every event of the last day, pages followed by Link', { timeout: 60_000 }, async () => {
    const events = await runExample('okta');
    expect(events.map((e) => e.id).sort()).toEqual(LOGS.map((l) => l.uuid).sort());
    expect(events.find((e) => e.id === 'ok-1')).toMatchObject({ source: 'okta', kind: 'user.session.start', from: 'user1@example.com', attributes: { outcome: { result: 'SUCCESS' } } });
  });

  it('offset (Plum calls/sessions + plum_parse): session events, each once', { timeout: 60_000 }, async () => {
    const events = await runExample('plum');
    expect(events.length).toBeGreaterThan(400);
    expect(new Set(events.map((e) => e.kind))).toEqual(new Set(['session']));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });
});
