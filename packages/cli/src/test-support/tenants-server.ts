import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How one account of {@link TenantsServer} answers. */
export type AccountBehaviour = 'ok' | 'reject' | 503;

/** Options of {@link TenantsServer}. */
export interface TenantsServerOptions {
  /** Account names; each logs in as `user-<name>` with password `pw-<name>`. */
  accounts: readonly string[];
  /** How an account answers (default: `ok`). */
  behaviour?: (account: string) => AccountBehaviour;
  /** Seconds between two sessions of an account (173 a day ≈ 500 s). */
  sessionEverySec?: number;
  /** Seconds between two calls with a detail (52 a day ≈ 1,660 s). */
  callEverySec?: number;
  /** Added to every answer, milliseconds (a vendor's latency). */
  latencyMs?: number;
}

/** What the server saw of one account. */
export interface AccountRequests {
  /** Requests answered with data. */
  served: number;
  /** Requests refused (401, 503). */
  refused: number;
  /** When each listing of the account's first stream began (epoch ms): its polls. */
  polls: number[];
  /** The range (epoch s) of each of those listings. */
  ranges: { from: number; to: number }[];
}

const user = (account: string): string => `user-${account}`;
/** The password `account` logs in with. */
export const passwordOf = (account: string): string => `pw-${account}`;

/**
 * A scripted Plum Call Log API for many accounts (written for the tenants tests and benchmark,
 * not the emulator's reading code path): Basic auth per account, JSON envelopes, sessions and
 * calls (with their detail) at fixed intervals per account, offset by account so they differ;
 * an account can refuse its login (401) or answer 503. Records what each account was asked.
 */
export class TenantsServer {
  private server: Server | undefined;
  private readonly byAuth = new Map<string, string>();
  readonly requests = new Map<string, AccountRequests>();
  /** No record starts at or after this (epoch s): from then on the accounts are idle. Settable while serving. */
  quietFromSec: number | undefined;
  /** Sessions added by {@link addSession}, by account (epoch s): listed whatever `quietFromSec` says. */
  private readonly added = new Map<string, number[]>();
  private readonly o: Required<Omit<TenantsServerOptions, 'behaviour'>> & Pick<TenantsServerOptions, 'behaviour'>;

  constructor(o: TenantsServerOptions) {
    this.o = { sessionEverySec: 500, callEverySec: 1_660, latencyMs: 0, ...o };
    for (const a of o.accounts) this.add(a);
  }

  /** Serves `account` too (an account added while a pipeline runs). */
  add(account: string): void {
    this.byAuth.set(`Basic ${Buffer.from(`${user(account)}:${passwordOf(account)}`).toString('base64')}`, account);
    if (!this.requests.has(account)) this.requests.set(account, { served: 0, refused: 0, polls: [], ranges: [] });
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.answer(req, res));
    this.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ws/`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The accounts file entries (YAML) of `accounts` against `url`. */
  static accountsYaml(accounts: readonly string[], url: string): string {
    return accounts.map((a) => `- { name: ${a}, base_url: "${url}", username: ${user(a)}, password: ${passwordOf(a)} }\n`).join('');
  }

  /** Sessions `account` has whose start is in [from, to) (epoch s). */
  sessionsIn(account: string, from: number, to: number): number[] {
    const extra = (this.added.get(account) ?? []).filter((t) => t >= from && t < to);
    return [...this.times(account, this.o.sessionEverySec, from, to), ...extra].sort((a, b) => a - b);
  }

  /** A session of `account` starting at `startSec` (one account gets a record while the others stay idle). */
  addSession(account: string, startSec: number): void {
    this.added.set(account, [...(this.added.get(account) ?? []), startSec]);
  }

  private times(account: string, every: number, from: number, to: number): number[] {
    if (this.quietFromSec !== undefined) to = Math.min(to, this.quietFromSec);
    const offset = hash(account) % every;
    const out: number[] = [];
    for (let t = Math.ceil((from - offset) / every) * every + offset; t < to; t += every) out.push(t);
    return out;
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.o.latencyMs) await new Promise((r) => setTimeout(r, this.o.latencyMs));
    const account = this.byAuth.get(req.headers.authorization ?? '');
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://x');
    const behaviour = account === undefined ? 'reject' : (this.o.behaviour?.(account) ?? 'ok');
    const seen = account === undefined ? undefined : this.requests.get(account);
    if (behaviour === 'reject') {
      if (seen) seen.refused++;
      return send(401, { status: 'failure', error: 'Unauthorized' });
    }
    if (behaviour === 503) {
      seen!.refused++;
      return send(503, { status: 'failure', error: 'Service Unavailable' });
    }
    seen!.served++;
    const parts = url.pathname.split('/').filter(Boolean); // ws, calls, sessions|logs|log, ...
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 1000);
    if (parts[2] === 'log') {
      const t = Number(parts[3]!.split('-').pop());
      return send(200, { status: 'success', error: '', result: { dest: '8005550100', src: '6175550100', type: 'inbound', timestamp: String(t + 1), location: 'Boston', log: `call ${parts[3]} answered` } });
    }
    const from = Number(parts[3]);
    const to = Number(parts[4]);
    if (offset === 0 && parts[2] === 'sessions') {
      seen!.polls.push(Date.now());
      seen!.ranges.push({ from: Number(parts[3]), to: Number(parts[4]) });
    }
    if (parts[2] === 'sessions') {
      const all = this.sessionsIn(account!, from, to);
      const lines = all.slice(offset, offset + limit).map((t) => `inbound 6175550100 3 [07/Dec/2026:10:00:00 -0500] 8005550100 1;3;${t} ${t} ${t + 60} 00:01:00`);
      return send(200, { status: 'success', error: '', result: { total_sessions: String(all.length), sessions: lines } });
    }
    if (parts[2] === 'logs') {
      const all = this.times(account!, this.o.callEverySec, from, to);
      const rows = all.slice(offset, offset + limit).map((t) => ({ log_id: `${account}-${t}`, session_id: `1;3;${t}`, dest: '8005550100', type: 'inbound', src: '6175550100', start: String(t), end: String(t + 60) }));
      return send(200, { status: 'success', error: '', result: { total_logs: String(all.length), logs: rows } });
    }
    if (parts[2] === 'errors') return send(200, { status: 'success', error: '', result: { total_errors: '0', errors: [] } });
    send(404, { status: 'failure', error: `no such service ${url.pathname}` });
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
