import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { sourceContract } from '@plumline/core/testing';
import { httpSource } from './http-source.js';

/** A cursor-paginated API of 45 calls, 10 a page, answering 401 without the token. */
const NOW_SEC = Math.floor(Date.now() / 1000);
const CALLS = Array.from({ length: 45 }, (_, i) => ({ id: `k${i}`, at: NOW_SEC - 3000 + 60 * i }));
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.headers.authorization !== 'Bearer good') return void res.writeHead(401).end('{"error":"unauthorized"}');
    const url = new URL(req.url ?? '/', 'http://x');
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    const all = CALLS.filter((c) => c.at >= from && c.at < to);
    const at = Number(url.searchParams.get('cursor') || 0);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ calls: all.slice(at, at + 10), next: at + 10 < all.length ? String(at + 10) : null }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise((r) => server.close(r));
});

const config = (token: string) => ({
  url: `${base}/calls?from={{from}}&to={{to}}&cursor={{cursor}}`,
  auth: { type: 'bearer', token },
  time_format: 'unix',
  records: 'calls',
  pagination: { type: 'cursor', next: 'next' },
  map: { id: { copy: 'id' }, time: { copy: 'at' }, time_format: 'unix' },
  start: NOW_SEC - 3600,
  end: NOW_SEC - 60,
});

sourceContract({ plugin: httpSource, config: () => config('good'), failingConfig: () => config('bad') });
