import type { CallEvent } from '../../event.js';
import { isoFromMs } from '../../util/fast-iso.js';

const AREA_CODES = [212, 617, 718, 415, 312, 202, 305, 404, 512, 206, 646, 773, 857, 929, 347];
const OUR_NUMBERS = ['+18009957586', '+16177123000', '+18885550100', '+12125550199', '+14155550123'];
const LOGINS = ['ops@example.com', 'sales@example.com', 'ivr@example.com'];
const ERRORS = ['Max Disconnect Count Exceeded', 'ReferenceError: d is not defined line 1', 'errno: 210 message Maximum loop count exceeded'];

export interface GeneratorSettings {
  seed: number;
  /** Event time of index 0, ms since epoch. */
  startMs: number;
  /** Simulated time between consecutive events. */
  spacingMs: number;
  /** 0..1: share of events that repeat a recent one (same id and content). */
  duplicateRatio: number;
  /** The `source` field of events. */
  source: string;
}

/** A small, fast PRNG state derived from (seed, index): the same pair always gives the same draws. */
function mix(seed: number, index: number): number {
  let x = (Math.imul(seed, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca6b) ^ Math.imul(Math.floor(index / 4294967296), 0xc2b2ae35)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0 || 0x6d2b79f5;
}

function phone(r: number): string {
  const area = AREA_CODES[r % AREA_CODES.length]!;
  const rest = 2000000 + ((r >>> 4) % 7999999);
  return `+1${area}${rest}`;
}

/**
 * Deterministic synthetic call events: event `i` depends only on (seed, i), so a generator
 * resumed from a checkpoint produces exactly the events a run without interruption would.
 */
export class CallGenerator {
  constructor(private readonly s: GeneratorSettings) {}

  /** The event at `index`. */
  event(index: number): CallEvent {
    let x = mix(this.s.seed, index);
    const next = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>>= 0);
    };
    if (this.s.duplicateRatio > 0 && index > 0 && next() / 4294967296 < this.s.duplicateRatio) {
      const back = 1 + (next() % Math.min(index, 1000));
      return this.event(index - back);
    }
    const r = next();
    const kindRoll = r % 10;
    const kind = kindRoll < 7 ? 'session' : kindRoll < 9 ? 'call' : 'error';
    const inbound = (r >>> 8) % 3 !== 0;
    const startMs = this.s.startMs + index * this.s.spacingMs;
    const durationSec = kind === 'error' ? 0 : 5 + (next() % 900);
    const caller = phone(next());
    const ours = OUR_NUMBERS[next() % OUR_NUMBERS.length]!;
    const channel = next() % 48;
    const event: CallEvent = {
      id: `${this.s.source}:${kind}:${index}`,
      source: this.s.source,
      kind,
      time: isoFromMs(startMs),
      endTime: isoFromMs(startMs + durationSec * 1000),
      direction: inbound ? 'inbound' : 'outbound',
      from: inbound ? caller : LOGINS[channel % LOGINS.length]!,
      to: inbound ? ours : caller,
      durationSec,
      attributes: kind === 'error' ? { channel, index, message: ERRORS[channel % ERRORS.length]! } : { channel, index },
    };
    return event;
  }
}
