import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PipelineError } from '../errors.js';
import { createLogger } from '../logger.js';
import { VendorHttpClient, type TransportFailure } from './vendor-http-client.js';

let server: Server | undefined;
let client: VendorHttpClient | undefined;
afterEach(async () => {
  await client?.close();
  await new Promise((r) => server?.close(r));
  server = client = undefined;
});

/** A server scripted per request (its number from 0): status, headers, body, or no answer at all. */
async function serve(script: (n: number) => { status: number; headers?: Record<string, string>; body?: string } | 'hang'): Promise<{ url: string; arrivals: number[] }> {
  const arrivals: number[] = [];
  server = createServer((_req, res) => {
    const r = script(arrivals.length);
    arrivals.push(Date.now());
    if (r === 'hang') return;
    res.writeHead(r.status, r.headers).end(r.body ?? '');
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/api/`, arrivals };
}

const failures: TransportFailure['kind'][] = [];
function make(url: string, maxRetries: number, requestTimeoutMs = 5_000): VendorHttpClient {
  client = new VendorHttpClient({
    baseUrl: url,
    vendor: 'Test',
    connections: 1,
    requestTimeoutMs,
    maxRetries,
    logger: createLogger({ level: 'silent' }),
    failure: (f, path) => {
      failures.push(f.kind);
      return Object.assign(new PipelineError(`TEST_${f.kind.toUpperCase()}`, f.message, { retriable: true, fields: { path } }), { retryAfterMs: f.kind === 'status' ? f.retryAfterMs : undefined });
    },
  });
  return client;
}
const get = (c: VendorHttpClient, read = (r: { status: number; body: string }) => r.body) => c.request(() => ({ path: '/api/x', method: 'GET', headers: {}, name: 'test GET x' }), read);

describe('VendorHttpClient (a scripted node:http server)', () => {
  it('retries 503 and honours Retry-After, then returns what read makes of the answer', async () => {
    const { url, arrivals } = await serve((n) => (n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200, body: 'ok' }));
    expect(await get(make(url, 2))).toBe('ok');
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(950);
  });

  it('once closed, answers nothing and opens nothing: a request fails as a connection failure and reaches no server', async () => {
    const { url, arrivals } = await serve(() => ({ status: 200, body: 'ok' }));
    const c = make(url, 0);
    await c.close();
    await c.close();
    await expect(get(c)).rejects.toMatchObject({ code: 'TEST_CONNECTION' });
    expect(arrivals.length).toBe(0);
  });

  it('names a timeout and gives up after maxRetries with the client’s own error', async () => {
    const { url, arrivals } = await serve(() => 'hang');
    await expect(get(make(url, 1, 200))).rejects.toMatchObject({ code: 'TEST_TIMEOUT' });
    expect(arrivals.length).toBe(2);
  });

  it('an error read throws that the client did not name becomes a connection failure (retried), not a bare TypeError', async () => {
    const { url, arrivals } = await serve(() => ({ status: 200, body: 'x' }));
    const c = make(url, 1);
    await expect(
      get(c, () => {
        throw new TypeError('boom');
      }),
    ).rejects.toMatchObject({ code: 'TEST_CONNECTION' });
    expect(arrivals.length).toBe(2);
  });
});
