import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fake Plum DEV service for many accounts, scripted here (not the emulator's code): only `calls/sessions`. */
export interface PlumTenantsServer {
  /** The base URL (`…/ws/`). */
  readonly url: string;
  /** Every account: its name, login and password. */
  readonly accounts: readonly { name: string; username: string; password: string }[];
  /** The event id (`plum:session:<session id>`) of every session served, for the checker. */
  readonly expectedIds: ReadonlySet<string>;
  /** Listing requests answered, by account. */
  readonly requests: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export interface PlumTenantsOptions {
  accounts: number;
  sessionsPerAccount: number;
  /** Each answer waits this long (a vendor's latency). */
  latencyMs: number;
  /** Sessions start in the hour before this (UNIX seconds). */
  nowSec: number;
}

/**
 * Serves `calls/sessions/{start}/{end}?offset&limit` with HTTP Basic auth per account, in the
 * documented JSON envelope (numbers as strings). Account i (`acct-0007`) has sessions on server
 * `1<i padded to 5>`, so every session id is unique across accounts; its sessions start every 60 s
 * from an hour before `nowSec`, each listed in start order.
 */
export async function startPlumTenantsServer(o: PlumTenantsOptions): Promise<PlumTenantsServer> {
  const accounts = Array.from({ length: o.accounts }, (_, i) => {
    const name = `acct-${String(i).padStart(4, '0')}`;
    return { name, username: name, password: `pw-${name}` };
  });
  const sessions = new Map<string, { start: number; line: string; id: string }[]>();
  const expectedIds = new Set<string>();
  accounts.forEach((a, i) => {
    const list = Array.from({ length: o.sessionsPerAccount }, (_, k) => {
      const start = o.nowSec - 3600 + (i % 60) + k * 60;
      const duration = 10 + (k % 40);
      const sessionId = `${100000 + i};${String(k % 1000).padStart(3, '0')};${start}`;
      const line = `inbound 617555${String(i).padStart(4, '0')} ${k % 1000} [01/Jan/2026:00:00:00 -0500] 6177123000 ${sessionId} ${start} ${start + duration} 00:00:${String(duration).padStart(2, '0')}`;
      expectedIds.add(`plum:session:${sessionId}`);
      return { start, line, id: sessionId };
    });
    sessions.set(`Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`, list);
  });
  const names = new Map(accounts.map((a) => [`Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`, a.name]));
  const requests = new Map<string, number>();

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const auth = req.headers.authorization ?? '';
    const list = sessions.get(auth);
    if (!list) return send(401, { status: 'failure', error: 'Unauthorized access to sample service' });
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/ws\/calls\/sessions\/(\d+)\/(\d+)$/.exec(url.pathname);
    if (!m) return send(404, { status: 'failure', error: `no such service: ${url.pathname}` });
    const name = names.get(auth)!;
    requests.set(name, (requests.get(name) ?? 0) + 1);
    const [from, to] = [Number(m[1]), Number(m[2])];
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 1000);
    const inRange = list.filter((s) => s.start >= from && s.start < to);
    send(200, { status: 'success', error: '', result: { total_sessions: String(inRange.length), sessions: inRange.slice(offset, offset + limit).map((s) => s.line) } });
  };

  const server = createServer((req, res) => {
    setTimeout(() => answer(req, res), o.latencyMs);
  });
  // Hundreds of tenants' pools keep sockets open: no per-server cap below theirs.
  server.maxConnections = 100_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ws/`,
    accounts,
    expectedIds,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
