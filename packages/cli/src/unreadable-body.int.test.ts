import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { startCli } from './test-support/run-cli.js';

/**
 * A proxy in front of the vendor answers 200 with its own HTML page for a while (a maintenance
 * page, a captive portal), then the API answers normally. A daemon must ride that out as it rides
 * out a 503: retried, not ready meanwhile, the cursor kept before the range, every record
 * delivered once. The servers are scripted per request for these tests (not the emulators).
 */
const OUTAGE_MS = 8_000;
const PROXY_PAGE = '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Please try again later</h1></body></html>';
const HOUR_MS = 3_600_000;

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r));
  server = undefined;
});

/** Serves `answer` until `OUTAGE_MS` after the first request, and the proxy page before; counts the requests of each kind. */
async function serve(answer: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<{ url: string; served: { html: number; good: number } }> {
  const served = { html: 0, good: 0 };
  let first: number | undefined;
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      first ??= Date.now();
      if (Date.now() - first < OUTAGE_MS) {
        served.html++;
        res.writeHead(200, { 'content-type': 'text/html' }).end(PROXY_PAGE);
        return;
      }
      served.good++;
      answer(req, body, res);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, served };
}

/**
 * Runs `pipeline` as a daemon with the CLI (`--http` for /readyz) until `out.ndjson` holds
 * `expected` lines and the server answered two more good requests (a later poll: nothing may be
 * delivered again); checks /readyz said not ready during the outage and a warning was logged.
 * Returns the ids in the file, read after the process stopped.
 */
async function runDaemon(pipeline: string, expected: number, served: { good: number }): Promise<{ ids: string[]; stderr: string; notReady: boolean }> {
  const work = await tmpDir('plumline-proxy-page-');
  try {
    await writeFile(join(work.dir, 'p.yaml'), pipeline);
    const cli = startCli(['run', 'p.yaml', '--http', '127.0.0.1:0', '--log-level', 'info'], work.dir);
    try {
      await cli.waitFor(/"ready":"(http:[^"]+)"/);
      const ready = /"ready":"(http:[^"]+)"/.exec(cli.stderr())![1]!;
      let notReady = false;
      const lines = async () => (await readFile(join(work.dir, 'out.ndjson'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
      const deadline = Date.now() + OUTAGE_MS + 45_000;
      while ((await lines()) < expected && Date.now() < deadline) {
        if ((await fetch(ready)).status === 503) notReady = true;
        await new Promise((r) => setTimeout(r, 250));
      }
      // A later poll (two more answers, the next 5 s on): nothing is delivered again. Waited for
      // by what the server saw, not for a fixed time.
      const answered = served.good;
      while (served.good < answered + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(served.good, 'a poll after every record was delivered').toBeGreaterThanOrEqual(answered + 2);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
      const ids = (await readFile(join(work.dir, 'out.ndjson'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
      return { ids, stderr: cli.stderr(), notReady };
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    }
  } finally {
    await work.cleanup();
  }
}

describe('a 200 with an HTML proxy page for 8 s, then good answers, in a daemon (poll_interval 5s, the real CLI)', () => {
  it('plum sessions: retried as an outage, not ready meanwhile, every one of 31 sessions delivered exactly once', { timeout: 150_000 }, async () => {
    // Older than the default lateness (2h): a later poll does not read the range again by itself.
    const fromSec = Math.floor((Date.now() - 4 * HOUR_MS) / 1000);
    const lines = Array.from({ length: 31 }, (_, i) => {
      const start = fromSec + 60 * i + 10;
      return `inbound 71855512${String(i).padStart(2, '0')} 3 [03/Nov/2017:14:38:30 -0500] 6177123000 2000${String(i).padStart(2, '0')};003;${start} ${start} ${start + 29} 00:00:29`;
    });
    const startOf = (l: string) => Number(l.split(' ')[7]);
    const { url, served } = await serve((req, _body, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const m = /\/calls\/sessions\/(\d+)\/(\d+)$/.exec(u.pathname);
      const inRange = m ? lines.filter((l) => startOf(l) >= Number(m[1]) && startOf(l) < Number(m[2])) : [];
      const offset = Number(u.searchParams.get('offset') ?? 0);
      const limit = Number(u.searchParams.get('limit') ?? 1000);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', error: '', result: { total_sessions: String(inRange.length), sessions: inRange.slice(offset, offset + limit) } }));
    });
    const { ids, stderr, notReady } = await runDaemon(
      `id: proxy-plum
sources:
  plum: { type: plum, base_url: "${url}/ws/", username: u, password: p, streams: [sessions], start: ${fromSec}, poll_interval: 5s, page_size: 10 }
sinks:
  out: { type: file, inputs: [plum], path: out.ndjson }
`,
      lines.length,
      served,
    );
    expect(served.html).toBeGreaterThan(3);
    expect(ids.length).toBe(lines.length);
    expect(new Set(ids)).toEqual(new Set(lines.map((l) => `plum:session:${l.split(' ')[6]}`)));
    expect(stderr).toMatch(/"code":"PLUM_BAD_BODY".*source read failed; retrying the range/);
    expect(notReady).toBe(true);
  });

  it('iplum recordings over three windows: retried as an outage, not ready meanwhile, every one of 24 recordings delivered exactly once', { timeout: 150_000 }, async () => {
    const startMs = Math.floor((Date.now() - 6 * HOUR_MS) / 60_000) * 60_000;
    const utc = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
    const recordings = Array.from({ length: 24 }, (_, i) => ({ source: 'iPlum', recordId: `rec-${i}`, phonenumber: '+14081231234', dateTimeUTC: utc(startMs + i * 7 * 60_000 + 1000), duration: '3', direction: 'in', length: '434.2 KB' }));
    const { url, served } = await serve((req, body, res) => {
      const { StartDate, EndDate } = JSON.parse(body) as { StartDate: string; EndDate: string };
      const ms = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);
      const inWindow = req.url === '/callrecordings/getrecordings' ? recordings.filter((r) => ms(r.dateTimeUTC) >= ms(StartDate) && ms(r.dateTimeUTC) < ms(EndDate)) : [];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(inWindow));
    });
    const { ids, stderr, notReady } = await runDaemon(
      `id: proxy-iplum
sources:
  iplum: { type: iplum, base_url: "${url}/", access_key: K, secret_key: S, username: admin@example.com, streams: [recordings], start: "${new Date(startMs).toISOString()}", window: 1h, poll_interval: 5s }
sinks:
  out: { type: file, inputs: [iplum], path: out.ndjson }
`,
      recordings.length,
      served,
    );
    expect(served.html).toBeGreaterThan(3);
    expect(ids.length).toBe(recordings.length);
    expect(new Set(ids)).toEqual(new Set(recordings.map((r) => `iplum:${r.recordId}`)));
    expect(stderr).toMatch(/"code":"IPLUM_BAD_BODY".*source read failed; retrying the range/);
    expect(notReady).toBe(true);
  });
});
