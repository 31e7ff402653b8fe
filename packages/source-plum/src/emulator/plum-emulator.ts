import type { IncomingMessage, ServerResponse } from 'node:http';
import { countIn, VendorEmulator, type EmulatorFaults, type EmulatorStats } from '@plumline/core/emulator';
import { systemClock, type Clock } from '@plumline/core/util';
import { PlumData, type SessionRecord } from './plum-data.js';

/** How long the Plum emulator keeps calls listed (as the API: 5 days). */
export const CALL_RETENTION_SEC = 5 * 86_400;
/** How long the Plum emulator keeps sessions. */
export const SESSION_RETENTION_SEC = 365 * 86_400;
/** The largest `limit` the Plum emulator accepts per page. */
export const MAX_LIMIT = 10_000;
/** The page size of the Plum emulator when a request gives no `limit`. */
export const DEFAULT_LIMIT = 1_000;

/** A fault to inject into one upcoming response. */
export type PlumFault = { status: 429 | 500 | 502 | 503; retryAfterSec?: number } | { truncate: true } | { delayMs: number } | { malformedLines: true };

/** Faults, switchable at any time (`emulator.setFaults`, or POST /_emulator/faults): core's (`next`, `latencyMs`) and Plum's. */
export interface PlumFaults extends EmulatorFaults<PlumFault> {
  /** Probability per request (0..1), for demos. */
  rate429?: number;
  rate500?: number;
  truncateRate?: number;
  /** Share of session/error lines served corrupted. */
  malformedLineRate?: number;
  /** Serve at most this many rows per page, whatever `limit` asked (the API may return fewer). */
  maxPageRows?: number;
}

/** Options of the Plum API emulator. */
export interface PlumEmulatorOptions {
  /** Times simulated latency and retries and stamps arrivals. Default: the system clock. */
  clock?: Clock;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  username?: string;
  password?: string;
  seed?: number;
  /** Simulated sessions per second; about 30% have a call log and 5% an error line. */
  sessionsPerSecond?: number;
  /** Epoch second where data begins. Default: 400 days before start-up. */
  originSec?: number;
  timeZone?: string;
  /** The emulator's clock (ms). Records exist once their start is in the past. */
  now?: () => number;
  /**
   * List a call in `calls/logs` only once it ended (a reading of the vendor page we cannot rule
   * out): it first appears up to the longest call after its start. Default: listed from its start.
   */
  listCallsAfterEnd?: boolean;
  faults?: PlumFaults;
}

type Service = 'logs' | 'log' | 'sessions' | 'errors';

interface Stats extends EmulatorStats {
  byService: Record<string, number>;
  /** Detail requests (`calls/log/{id}`) for a call whose detail was asked for before. */
  detailsRepeated: number;
  faultsInjected: number;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** JSON as the vendor writes it: `/` escaped as `\/`. */
function vendorJson(value: unknown): string {
  return JSON.stringify(value).replace(/\//g, '\\/');
}

/**
 * A faithful emulator of Plum DEV's Call Log REST API (see docs/apis.md): the four GET
 * services, Basic auth, JSON or XML by `Accept`, the status/error/result envelope (including
 * the vendor's trailing-comma failure JSON and `\/` escapes), `number`/`offset`/`limit` with the
 * documented bounds, 5-day retention for call logs and 1 year for sessions and errors, and
 * deterministic data from a seed that keeps arriving as time passes. Faults are injectable.
 */
export class PlumEmulator extends VendorEmulator<PlumFault, PlumFaults, Stats> {
  readonly data: PlumData;
  /** Calls whose detail was asked for (bounded by the calls the data holds). */
  private readonly detailed = new Set<string>();
  private readonly now: () => number;
  private readonly username: string;
  private readonly password: string;
  private readonly cache = new Map<string, number[]>();
  private faultCounter = 0;

  constructor(private readonly options: PlumEmulatorOptions = {}) {
    super({ host: options.host, port: options.port, basePath: '/ws/', keepAliveTimeoutMs: 60_000, clock: options.clock }, options.faults, { requests: 0, arrivals: [], byService: {}, detailsRepeated: 0, faultsInjected: 0 });
    this.now = options.now ?? systemClock.now;
    this.username = options.username ?? 'demo';
    this.password = options.password ?? 'demo-password';
    const nowSec = Math.floor(this.now() / 1000);
    this.data = new PlumData({
      seed: options.seed ?? 1,
      sessionsPerSecond: options.sessionsPerSecond ?? 0.05,
      originSec: options.originSec ?? nowSec - 400 * 86_400,
      timeZone: options.timeZone ?? 'America/New_York',
    });
  }

  protected failureBody(message: string): string {
    return JSON.stringify({ status: 'failure', error: `emulator error: ${message}` });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const m = /^\/ws\/calls\/(logs|log|sessions|errors)\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    const service = (m?.[1] ?? 'sample') as Service;
    const xml = (req.headers.accept ?? '').includes('xml');
    this.arrived();
    countIn(this.stats.byService, service);
    if (service === 'log' && m) {
      if (this.detailed.has(m[2]!)) this.stats.detailsRepeated++;
      else this.detailed.add(m[2]!);
    }

    const fault = this.takeFault();
    await this.delay(fault);
    if (fault && 'status' in fault) {
      this.stats.faultsInjected++;
      res.writeHead(fault.status, { 'content-type': 'text/plain', ...(fault.retryAfterSec !== undefined ? { 'retry-after': String(fault.retryAfterSec) } : {}) });
      res.end(fault.status === 429 ? 'Too Many Requests' : 'Internal Server Error');
      return;
    }
    if (req.method !== 'GET') return this.fail(res, 405, service, xml, `Method ${req.method} not allowed`);
    if (!this.authorized(req)) return this.fail(res, 401, service, xml, `Unauthorized access to ${service} service`);
    if (!m) return this.fail(res, 404, service, xml, `Unknown service ${url.pathname}`);

    let result: string;
    try {
      result = service === 'log' ? this.logDetail(m[2]!, xml) : this.list(service, m[2]!, m[3], url.searchParams, xml, fault !== undefined && 'malformedLines' in fault);
    } catch (err) {
      const e = err as { status?: number; message: string };
      return this.fail(res, e.status ?? 400, service, xml, e.message);
    }
    let body = xml
      ? `<?xml version="1.0"?><${service}><status>success</status><error></error><result>${result}</result></${service}>`
      : `{"status":"success","error":"","result":${result}}`;
    if (fault && 'truncate' in fault) {
      this.stats.faultsInjected++;
      body = body.slice(0, Math.floor(body.length * 0.6));
    }
    res.writeHead(200, { 'content-type': xml ? 'application/xml' : 'application/json' });
    res.end(body);
  }

  private takeFault(): PlumFault | undefined {
    const next = this.nextFault();
    if (next) return next;
    const roll = () => ((this.faultCounter = (this.faultCounter * 1103515245 + 12345) >>> 0) % 10_000) / 10_000;
    if (this.faults.rate429 && roll() < this.faults.rate429) return { status: 429, retryAfterSec: 1 };
    if (this.faults.rate500 && roll() < this.faults.rate500) return { status: 500 };
    if (this.faults.truncateRate && roll() < this.faults.truncateRate) return { truncate: true };
    return undefined;
  }

  private authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Basic ')) return false;
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i > 0 && decoded.slice(0, i) === this.username && decoded.slice(i + 1) === this.password;
  }

  private fail(res: ServerResponse, status: number, service: string, xml: boolean, error: string): void {
    res.writeHead(status, { 'content-type': xml ? 'application/xml' : 'application/json' });
    // The vendor's failure sample ends with a trailing comma; so do we.
    res.end(xml ? `<?xml version="1.0"?><${service}><status>failure</status><error>${xmlEscape(error)}</error></${service}>` : `{"status":"failure","error":${JSON.stringify(error)},}`);
  }

  private nowSec(): number {
    return Math.floor(this.now() / 1000);
  }

  private logDetail(logId: string, xml: boolean): string {
    const s = this.data.sessionOfLog(logId);
    if (!s || s.startSec >= this.nowSec() || s.startSec < this.nowSec() - CALL_RETENTION_SEC) throw Object.assign(new Error(`Log ${logId} not found`), { status: 404 });
    const d = this.data.callDetail(s);
    if (!xml) return vendorJson(d);
    return Object.entries(d)
      .map(([k, v]) => `<${k}>${xmlEscape(v).replace(/\//g, '\\/')}</${k}>`)
      .join('');
  }

  private list(service: Exclude<Service, 'log'>, startText: string, endText: string | undefined, q: URLSearchParams, xml: boolean, corrupt: boolean): string {
    const start = Number(startText);
    const end = Number(endText);
    if (!Number.isInteger(start) || !Number.isInteger(end)) throw new Error('start_timestamp and end_timestamp must be UNIX timestamps');
    if (end <= start) throw new Error('end_timestamp must be after start_timestamp');
    const now = this.nowSec();
    const retention = service === 'logs' ? CALL_RETENTION_SEC : SESSION_RETENTION_SEC;
    if (start < now - retention) throw new Error(`start_timestamp must be within the last ${service === 'logs' ? '5 days' : 'year'}`);
    const limit = q.has('limit') ? Number(q.get('limit')) : DEFAULT_LIMIT;
    const offset = q.has('offset') ? Number(q.get('offset')) : 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new Error(`limit must be between 1 and ${MAX_LIMIT}`);
    if (!Number.isInteger(offset) || offset < 0) throw new Error('offset must be 0 or more');
    const number = q.get('number') ?? undefined;
    const matching = this.matching(service, start, Math.min(end, now), number);
    const indexes = service === 'logs' && this.options.listCallsAfterEnd ? matching.filter((i) => this.data.session(i).endSec <= now) : matching;
    const take = Math.min(limit, this.faults.maxPageRows ?? MAX_LIMIT);
    const page = indexes.slice(offset, offset + take).map((i) => this.data.session(i));
    const malformedRate = this.faults.malformedLineRate ?? 0;
    const corruptLine = (line: string, s: SessionRecord): string => {
      if (!corrupt && !(malformedRate > 0 && (s.index * 2654435761) % 1000 < malformedRate * 1000)) return line;
      this.stats.faultsInjected++;
      return line.split(' ').slice(0, 4).join(' ') + ' ???';
    };
    if (service === 'logs') {
      const rows = page.map((s) => this.data.call(s));
      if (!xml) return vendorJson({ total_logs: String(indexes.length), logs: rows });
      return `<total_logs>${indexes.length}</total_logs><logs>${rows.map((r) => `<log>${Object.entries(r).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('')}</log>`).join('')}</logs>`;
    }
    const lines = page.map((s) => corruptLine(service === 'sessions' ? this.data.sessionLine(s) : this.data.errorLine(s), s));
    const key = service === 'sessions' ? 'session' : 'error';
    if (!xml) return vendorJson({ [`total_${service}`]: String(indexes.length), [service]: lines });
    return `<total_${service}>${indexes.length}</total_${service}><${service}>${lines.map((l) => `<${key}>${xmlEscape(l).replace(/\//g, '\\/')}</${key}>`).join('')}</${service}>`;
  }

  /** Indexes of the sessions behind a listing, in listing order; cached so paging stays cheap. */
  private matching(service: Exclude<Service, 'log'>, start: number, end: number, number: string | undefined): number[] {
    const key = `${service}|${start}|${end}|${number ?? ''}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const out: number[] = [];
    if (end > start) {
      const lookBack = service === 'errors' ? PlumData.maxDurationSec : 0;
      const [lo, hi] = this.data.indexRange(start - lookBack, end);
      const times: number[] = [];
      for (let i = lo; i < hi; i++) {
        if (service === 'logs' && !this.data.hasCall(i)) continue;
        if (service === 'errors' && !this.data.hasError(i)) continue;
        if (service === 'sessions' && !number) {
          out.push(i);
          continue;
        }
        const s = this.data.session(i);
        if (service === 'errors') {
          const t = this.data.errorTimeOf(s);
          if (t < start || t >= end) continue;
          times.push(t);
        }
        if (number) {
          const c = service === 'logs' ? this.data.call(s) : undefined;
          const hit = c ? c.dest === number : s.number === number || s.peer === number;
          if (!hit) {
            if (service === 'errors') times.pop();
            continue;
          }
        }
        out.push(i);
      }
      if (service === 'errors') {
        const order = out.map((i, j) => [times[j]!, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        out.splice(0, out.length, ...order.map(([, i]) => i));
      }
    }
    if (this.cache.size >= 32) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, out);
    return out;
  }
}
