import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corePlugins, createLogger, createPipeline, MemoryStateStore, PluginRegistry } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { iplumSource } from './iplum-source.js';
import { IplumClient } from './iplum-client.js';

/**
 * An iPlum server written for this test alone (not the emulator), following the readings of the
 * vendor page the emulator does not: the signature's username lower-cased as the prose says,
 * `getcontent` / `getrecordingfile` answering a bare string (`Hello`, as shown), times without a
 * zone, and a 500 with the documented error body.
 */
const SECRET = 'prose-secret';
const ACCESS = 'PROSEKEY';
let server: Server;
let base: string;
const seen: { path: string; username: string }[] = [];

function proseSignature(method: string, headers: Record<string, string | string[] | undefined>, path: string): string {
  const rep = [method.toLowerCase(), String(headers['x-iplumauth-accesskey']), String(headers['x-iplumauth-username']).toLowerCase(), String(headers['x-iplumauth-version']).toLowerCase(), String(headers['x-iplumauth-epochdatetime']), path.toLowerCase()].join('\n');
  return createHmac('sha256', SECRET).update(rep).digest('base64');
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      seen.push({ path, username: String(req.headers['x-iplumauth-username']) });
      if (req.headers.authorization !== `iPlumAuth ${proseSignature(req.method ?? 'POST', req.headers, path)}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errorCode: 'ERR_UNAUTHORIZED', errorDescription: 'Bad signature' }));
        return;
      }
      const json = (v: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      const text = (v: string) => res.writeHead(200, { 'content-type': 'text/plain' }).end(v);
      if (path === '/usage/getusage') {
        json([
          { source: 'iPlum', recordId: 'call-1', usage: 'call', type: 'external', from: '+14081231234', to: 'a@b.com', startTimeUTC: '2023-03-24 00:00:00.000', endTimeUTC: '2023-03-24 00:00:00.000', duration: '2', direction: 'in' },
          { source: 'iPlum', recordId: 'text-1', usage: 'text', type: 'external', from: '+14081231234', to: 'a@b.com', startTimeUTC: '2023-03-24 00:05:00.000', duration: '1', direction: 'out' },
        ]);
      } else if (path === '/usage/getcontent') text('Hello');
      else if (path === '/callrecordings/getrecordings') json([{ source: 'iPlum', recordId: 'rec-1', phonenumber: '+14081231234', dateTimeUTC: '2023-03-22 00:24:00', duration: '3', direction: 'in', length: '434.2 KB' }]);
      else if (path === '/callrecordings/getrecordingfile') text('http://media.iplum.com/rec-1.mp3');
      else if (path === '/fail') res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errorCode: 'ERR_INTERNAL', errorDescription: 'Database unavailable' }));
      else if (path === '/portal') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html><body>Sign in to the network</body></html>');
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe('iplum source against a server that follows the vendor prose (not the emulator)', () => {
  it('under TZ=America/New_York: signed as the prose says (a mixed-case username), bare-string content and recording URLs, zone-less times read as UTC, a call duration from its minutes', async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const sink = memorySink({ type: 'mem' });
      const p = await createPipeline(
        {
          sources: { iplum: { type: 'iplum', base_url: base, access_key: ACCESS, secret_key: SECRET, username: 'Admin@Acme-Voice.com', start: '2023-03-20T00:00:00Z', end: '2023-03-25T00:00:00Z', content: true, recording_urls: true } },
          sinks: { out: { type: 'mem', inputs: ['iplum'] } },
        },
        { plugins: new PluginRegistry([...corePlugins, iplumSource, sink.plugin]), logger: createLogger({ level: 'silent' }), once: true, stateStore: new MemoryStateStore() },
      );
      await p.start();
      await p.done;
      const byId = new Map(sink.record.events.map((e) => [e.id, e]));
      expect([...byId.keys()].sort()).toEqual(['iplum:call-1', 'iplum:rec-1', 'iplum:text-1']);
      expect(byId.get('iplum:call-1')).toMatchObject({ time: '2023-03-24T00:00:00.000Z', durationSec: 120 });
      expect(byId.get('iplum:text-1')).toMatchObject({ time: '2023-03-24T00:05:00.000Z', attributes: { content: 'Hello' } });
      expect(byId.get('iplum:rec-1')).toMatchObject({ time: '2023-03-22T00:24:00.000Z', attributes: { recordingUrl: 'http://media.iplum.com/rec-1.mp3' } });
      expect(seen.every((s) => s.username === 'admin@acme-voice.com')).toBe(true);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('an HTML page (a proxy, a portal) is never taken for a bare-string answer: retriable IPLUM_BAD_BODY', async () => {
    const client = new IplumClient({ baseUrl: base, accessKey: ACCESS, secretKey: SECRET, username: 'admin@acme-voice.com', version: 'v1', requestTimeoutMs: 5000, maxRetries: 0, connections: 1, logger: createLogger({ level: 'silent' }) });
    try {
      await expect(client.post('/portal', {}, true)).rejects.toMatchObject({ code: 'IPLUM_BAD_BODY', retriable: true, message: expect.stringContaining('HTML page') });
    } finally {
      await client.close();
    }
  });

  it('a 5xx says the errorCode and errorDescription the body carries', async () => {
    const client = new IplumClient({ baseUrl: base, accessKey: ACCESS, secretKey: SECRET, username: 'admin@acme-voice.com', version: 'v1', requestTimeoutMs: 5000, maxRetries: 0, connections: 1, logger: createLogger({ level: 'silent' }) });
    try {
      await expect(client.post('/fail', {})).rejects.toMatchObject({ code: 'IPLUM_HTTP_STATUS', retriable: true, fields: { errorCode: 'ERR_INTERNAL' }, message: expect.stringContaining('Database unavailable') });
    } finally {
      await client.close();
    }
  });
});
