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

/** A 32-bit mix of (seed, index, salt): the same triple always gives the same value. */
function mix(seed: number, index: number, salt: number): number {
  let x = (Math.imul(seed ^ salt, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca6b) ^ Math.imul(Math.floor(index / 4294967296), 0xc2b2ae35)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

const PHONE_POOL_SIZE = 8192;

/**
 * Deterministic synthetic call events: event `i` depends only on (seed, i), so a generator
 * resumed from a checkpoint produces exactly the events a run without interruption would.
 * Phone numbers come from a pool built from the seed, so generation stays cheap enough to
 * benchmark the engine rather than the generator.
 */
export class CallGenerator {
  private readonly phones: string[];
  private readonly idPrefix: Record<string, string>;

  constructor(private readonly s: GeneratorSettings) {
    this.phones = Array.from({ length: PHONE_POOL_SIZE }, (_, i) => {
      const r = mix(s.seed, i, 0x70686f6e);
      return `+1${AREA_CODES[r % AREA_CODES.length]}${2000000 + ((r >>> 4) % 7999999)}`;
    });
    this.idPrefix = { session: `${s.source}:session:`, call: `${s.source}:call:`, error: `${s.source}:error:` };
  }

  /** The event at `index`. */
  event(index: number): CallEvent {
    const seed = this.s.seed;
    if (this.s.duplicateRatio > 0 && index > 0) {
      const d = mix(seed, index, 0x64757065);
      if (d / 4294967296 < this.s.duplicateRatio) return this.event(index - 1 - ((d >>> 7) % Math.min(index, 1000)));
    }
    const r = mix(seed, index, 0);
    const r2 = mix(seed, index, 1);
    const kindRoll = r % 10;
    const kind = kindRoll < 7 ? 'session' : kindRoll < 9 ? 'call' : 'error';
    const inbound = (r >>> 8) % 3 !== 0;
    const startMs = this.s.startMs + index * this.s.spacingMs;
    const durationSec = kind === 'error' ? 0 : 5 + (r2 % 900);
    const caller = this.phones[(r2 >>> 10) & (PHONE_POOL_SIZE - 1)]!;
    const ours = OUR_NUMBERS[(r >>> 12) % OUR_NUMBERS.length]!;
    const channel = (r >>> 16) % 48;
    return {
      id: this.idPrefix[kind]! + index,
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
  }
}
