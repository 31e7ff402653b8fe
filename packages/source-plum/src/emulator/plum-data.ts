import type { PlumLogRow } from '../plum-envelope.js';
import { formatClf } from '../parse/zoned-time.js';

/** Everything the emulator serves is a function of (seed, index): the same seed always gives the same data. */
export interface PlumDataOptions {
  seed: number;
  /** Sessions per second of simulated traffic (may be fractional). */
  sessionsPerSecond: number;
  /** Epoch second at which data begins. */
  originSec: number;
  /** Zone of the platform's wall clock in lines. */
  timeZone: string;
}

const SERVERS = ['100025', '200035', '300024', '400050', '000020'];
const DNIS = ['6177123000', '8009957586', '8885550100', '2125550199'];
const LOGINS = ['test@login.com', 'ops@acme-voice.com', 'ivr@acme-voice.com'];
const AREA = ['212', '617', '718', '415', '312', '202', '305', '404', '646', '857'];
const CITIES = ['Boston', 'New York', 'Chicago', 'Atlanta', 'San Francisco'];
const ERRORS = ['Max Disconnect Count Exceeded', 'errno: 210 message Maximum loop count exceeded', 'ReferenceError: d is not defined line 1', 'TypeError: cannot read property "x" of undefined at line 14: 3 retries'];
const MAX_DURATION_SEC = 900;

function mix(seed: number, index: number, salt: number): number {
  let x = (Math.imul(seed ^ salt, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca6b) ^ Math.imul(Math.floor(index / 4294967296), 0xc2b2ae35)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** A session as the Plum emulator holds it. */
export interface SessionRecord {
  index: number;
  direction: 'inbound' | 'outbound';
  number: string;
  channel: number;
  peer: string;
  sessionId: string;
  server: string;
  startSec: number;
  endSec: number;
}

/** A `calls/logs` row as the emulator serves it: the same wire shape the client reads. */
export type CallRecord = PlumLogRow;

/** The Plum emulator's deterministic data: calls, sessions and errors from a seed and the clock. */
export class PlumData {
  constructor(readonly o: PlumDataOptions) {}

  startOf(index: number): number {
    return this.o.originSec + Math.floor(index / this.o.sessionsPerSecond);
  }

  /** Session indexes whose start lies in [fromSec, toSec), as a half-open index range. */
  indexRange(fromSec: number, toSec: number): [number, number] {
    const r = this.o.sessionsPerSecond;
    const lo = Math.max(0, Math.ceil((fromSec - this.o.originSec) * r - 1e-9));
    const hi = Math.max(lo, Math.ceil((toSec - this.o.originSec) * r - 1e-9));
    return [lo, hi];
  }

  session(index: number): SessionRecord {
    const r = mix(this.o.seed, index, 1);
    const r2 = mix(this.o.seed, index, 2);
    const inbound = r % 3 !== 0;
    const channel = (r >>> 4) % 48;
    const server = SERVERS[(r >>> 10) % SERVERS.length]!;
    const startSec = this.startOf(index);
    const duration = 5 + (r2 % (MAX_DURATION_SEC - 5));
    const phone = `${AREA[(r2 >>> 10) % AREA.length]}${2000000 + ((r2 >>> 4) % 7999999)}`;
    return {
      index,
      direction: inbound ? 'inbound' : 'outbound',
      number: inbound ? phone : `1${phone}`,
      channel,
      peer: inbound ? DNIS[(r >>> 16) % DNIS.length]! : LOGINS[(r >>> 16) % LOGINS.length]!,
      server,
      // The id's epoch part is unique per session, as real Plum ids are (at or before the start
      // while there is at most one session a second).
      sessionId: `${server};${pad(channel, 3)};${this.o.originSec + index}`,
      startSec,
      endSec: startSec + duration,
    };
  }

  hasCall(index: number): boolean {
    return mix(this.o.seed, index, 3) % 10 < 3;
  }

  hasError(index: number): boolean {
    return mix(this.o.seed, index, 4) % 20 === 0;
  }

  sessionLine(s: SessionRecord): string {
    const d = s.endSec - s.startSec;
    const hms = `${pad(Math.floor(d / 3600), 2)}:${pad(Math.floor((d % 3600) / 60), 2)}:${pad(d % 60, 2)}`;
    // The vendor prints -0500 on session lines whatever the season (docs/apis.md).
    return `${s.direction} ${s.number} ${s.channel} [${formatClf(s.startSec * 1000, this.o.timeZone, '-0500')}] ${s.peer} ${s.sessionId} ${s.startSec} ${s.endSec} ${hms}`;
  }

  errorTimeOf(s: SessionRecord): number {
    return s.startSec + (mix(this.o.seed, s.index, 5) % Math.max(1, s.endSec - s.startSec));
  }

  errorLine(s: SessionRecord): string {
    const dnis = s.direction === 'inbound' ? s.peer : DNIS[s.channel % DNIS.length]!;
    const msg = ERRORS[mix(this.o.seed, s.index, 6) % ERRORS.length]!;
    // And -0400 on error lines.
    return `error ${s.number} ${s.channel} [${formatClf(this.errorTimeOf(s) * 1000, this.o.timeZone, '-0400')}] ${dnis} ${s.sessionId} ${msg}`;
  }

  call(s: SessionRecord): CallRecord {
    const inbound = s.direction === 'inbound';
    return {
      log_id: String(400000000 + s.index),
      session_id: s.sessionId,
      dest: inbound ? s.peer : s.number,
      type: s.direction,
      src: inbound ? s.number : DNIS[s.channel % DNIS.length]!,
      start: String(s.startSec),
      end: String(s.endSec),
    };
  }

  /** The session behind a log id, or undefined when the id is not one of ours. */
  sessionOfLog(logId: string): SessionRecord | undefined {
    const index = Number(logId) - 400000000;
    if (!Number.isInteger(index) || index < 0 || !this.hasCall(index)) return undefined;
    return this.session(index);
  }

  callDetail(s: SessionRecord): { dest: string; src: string; type: string; timestamp: string; location: string; log: string } {
    const c = this.call(s);
    const t = s.startSec;
    const lines = [
      `[${t}] session ${s.sessionId} started on server ${s.server} channel ${s.channel}`,
      `[${t}] ANI=${c.src} DNIS=${c.dest} direction=${s.direction}`,
      `[${t + 1}] fetching http://apps.example.com/ivr/main.vxml`,
      `[${t + 2}] <prompt> "Thank you for calling."`,
      `[${s.endSec}] disconnect: ${s.direction === 'inbound' ? 'caller hangup' : 'far end hangup'}`,
    ];
    return { dest: c.dest, src: c.src, type: c.type, timestamp: String(t), location: CITIES[s.channel % CITIES.length]!, log: lines.join('\n') };
  }

  /** Largest duration, so that error listings can look back far enough. */
  static readonly maxDurationSec = MAX_DURATION_SEC;
}
