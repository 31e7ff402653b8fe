/** Deterministic iPlum records: record `k` is a function of (seed, k) only. */
export interface IplumDataOptions {
  seed: number;
  /** Usage records per second of simulated traffic. */
  recordsPerSecond: number;
  /** Epoch ms at which data begins. */
  originMs: number;
}

/** A usage record as iPlum returns it. */
export interface UsageRecord {
  source: 'iPlum';
  clientReferenceId: string;
  recordId: string;
  usage: 'call' | 'text' | 'fax';
  type: 'iplum' | 'external';
  from: string;
  to: string;
  startTimeUTC: string;
  endTimeUTC: string;
  duration: string;
  direction: 'in' | 'out';
  iPlumCredits: number;
  userId: string;
}

/** A call recording record as iPlum returns it. */
export interface RecordingRecord {
  source: 'iPlum';
  clientReferenceId: string;
  recordId: string;
  phonenumber: string;
  dateTimeUTC: string;
  duration: string;
  direction: 'in' | 'out';
  length: string;
  userId: string;
}

const USERS = ['alice@acme-voice.com', 'bob@acme-voice.com', 'carol@acme-voice.com', 'dan@acme-voice.com'];
const AREA = ['408', '212', '617', '415', '312', '646', '305'];
const TEXTS = ['Hello', 'Running 10 min late', 'Can you call me back?', 'Invoice attached', 'See you at 3'];
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.';

function mix(seed: number, index: number, salt: number): number {
  let x = (Math.imul(seed ^ salt, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

function token(seed: number, index: number, salt: number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[mix(seed, index, salt + i * 7919) % ALPHABET.length];
  return out;
}

const isoSec = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** Which `Usage` filter value selects a record. */
export function usageTypeOf(r: { usage: string; type: string }): string {
  if (r.usage === 'fax') return 'fax';
  return `${r.type === 'iplum' ? 'iplum' : 'external'}${r.usage}`;
}

/** The iPlum emulator's deterministic data: usage records and recordings from a seed and the clock. */
export class IplumData {
  constructor(readonly o: IplumDataOptions) {}

  timeOf(index: number): number {
    return this.o.originMs + Math.floor((index * 1000) / this.o.recordsPerSecond);
  }

  /** Indexes of records whose time is in [fromMs, toMs). */
  indexRange(fromMs: number, toMs: number): [number, number] {
    const r = this.o.recordsPerSecond / 1000;
    const lo = Math.max(0, Math.ceil((fromMs - this.o.originMs) * r - 1e-9));
    const hi = Math.max(lo, Math.ceil((toMs - this.o.originMs) * r - 1e-9));
    return [lo, hi];
  }

  phone(index: number, salt: number): string {
    const r = mix(this.o.seed, index, salt);
    return `+1${AREA[r % AREA.length]}${2000000 + ((r >>> 3) % 7999999)}`;
  }

  usage(index: number): UsageRecord {
    const r = mix(this.o.seed, index, 11);
    const roll = r % 20;
    const usage = roll < 11 ? 'call' : roll < 18 ? 'text' : 'fax';
    const type = (r >>> 5) % 4 === 0 && usage !== 'fax' ? 'iplum' : 'external';
    const direction = (r >>> 8) % 2 === 0 ? 'in' : 'out';
    const user = USERS[(r >>> 10) % USERS.length]!;
    const other = type === 'iplum' ? USERS[((r >>> 10) + 1) % USERS.length]! : this.phone(index, 12);
    const start = this.timeOf(index);
    const minutes = usage === 'call' ? 1 + ((r >>> 14) % 30) : 1;
    const end = usage === 'call' ? start + minutes * 60_000 - ((r >>> 3) % 59) * 1000 : start;
    return {
      source: 'iPlum',
      clientReferenceId: String(1000 + (r % 9)),
      recordId: token(this.o.seed, index, 13, 38),
      usage,
      type,
      from: direction === 'in' ? other : user,
      to: direction === 'in' ? user : other,
      startTimeUTC: isoSec(start),
      endTimeUTC: isoSec(end),
      duration: String(minutes),
      direction,
      iPlumCredits: usage === 'call' ? minutes : 1,
      userId: user,
    };
  }

  hasRecording(index: number): boolean {
    const u = this.usage(index);
    return u.usage === 'call' && mix(this.o.seed, index, 14) % 5 < 2;
  }

  recording(index: number): RecordingRecord {
    const u = this.usage(index);
    const r = mix(this.o.seed, index, 15);
    const kb = 50 + (r % 4000);
    return {
      source: 'iPlum',
      clientReferenceId: u.clientReferenceId,
      recordId: `${token(this.o.seed, index, 16, 8)}-${token(this.o.seed, index, 17, 4)}-rec`,
      phonenumber: u.direction === 'in' ? u.from : u.to,
      dateTimeUTC: u.startTimeUTC,
      duration: u.duration,
      direction: u.direction,
      length: kb >= 1024 ? `${(kb / 1024).toFixed(1)} MB` : `${kb}.${r % 10} KB`,
      userId: u.userId,
    };
  }

  contentOf(index: number): string {
    const u = this.usage(index);
    if (u.usage === 'fax') return `http://media.iplum.com/${u.recordId.toLowerCase().replace(/\./g, '-')}.pdf`;
    const r = mix(this.o.seed, index, 18);
    return r % 7 === 0 ? `http://media.iplum.com/${u.recordId.toLowerCase().replace(/\./g, '-')}.jpg` : TEXTS[r % TEXTS.length]!;
  }

  recordingUrlOf(index: number): string {
    return `http://media.iplum.com/${this.recording(index).recordId}.mp3`;
  }
}
