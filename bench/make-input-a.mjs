// Input A for the chain benchmarks: call events as a contact centre's logs look, where most
// sessions wait for a partner. 70% sessions, 20% calls, 10% errors on 1,024 channels (so an
// error rarely finds its session and correlate runs at max_pending), 10% of lines repeat a
// recent one, and callers drawn from ~70,000 distinct numbers (written as E.164, national or
// dotted forms, some international) so enrich's and mask's caches miss as in real traffic.
// Deterministic: the same count gives the same file.
//   node bench/make-input-a.mjs OUT.ndjson COUNT
import { createWriteStream } from 'node:fs';

/** A 32-bit hash of (index, salt). */
function mix(index, salt) {
  let x = (Math.imul(index ^ salt, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

export const DISTINCT_CALLERS = 70_000;
const AREA_CODES = [212, 617, 718, 415, 312, 202, 305, 404, 512, 206, 646, 773, 857, 929, 347, 213, 310, 469, 602, 720];
const INTL = [['+44 20 7946 ', 4], ['+49 30 901820', 2], ['+33 1 70 36 ', 4], ['+61 2 9374 ', 4]];
const OURS = ['+18009957586', '+16177123000', '+18885550100', '+12125550199', '+14155550123'];
const LOGINS = ['ops@example.com', 'sales@example.com', 'ivr@example.com'];
const ERRORS = ['Max Disconnect Count Exceeded', 'ReferenceError: d is not defined line 1', 'errno: 210 message Maximum loop count exceeded'];

/** Caller number `i` of the pool, in one of the ways numbers are written in call logs. */
function caller(i) {
  const r = mix(i, 0x70686f6e);
  const form = r % 20;
  if (form === 0) {
    const [prefix, digits] = INTL[(r >>> 5) % INTL.length];
    return prefix + String(1000 + ((r >>> 8) % 9000)).slice(0, digits);
  }
  const area = AREA_CODES[(r >>> 5) % AREA_CODES.length];
  const exchange = 200 + ((r >>> 10) % 800);
  const line = String((r >>> 3) % 10000).padStart(4, '0');
  if (form < 14) return `+1${area}${exchange}${line}`;
  if (form < 18) return `(${area}) ${exchange}-${line}`;
  return `${area}.${exchange}.${line}`;
}

function event(index, startMs) {
  const d = mix(index, 0x64757065);
  if (index > 0 && d / 4294967296 < 0.1) return event(index - 1 - ((d >>> 7) % Math.min(index, 1000)), startMs);
  const r = mix(index, 0);
  const r2 = mix(index, 1);
  const kindRoll = r % 10;
  const kind = kindRoll < 7 ? 'session' : kindRoll < 9 ? 'call' : 'error';
  const inbound = (r >>> 8) % 3 !== 0;
  const t = startMs + index * 250;
  const durationSec = kind === 'error' ? 0 : 5 + (r2 % 900);
  const from = caller(r2 % DISTINCT_CALLERS);
  const ours = OURS[(r >>> 12) % OURS.length];
  const channel = (r >>> 16) % 1024;
  return {
    id: `a:${kind}:${index}`,
    source: 'bench-a',
    kind,
    time: new Date(t).toISOString(),
    endTime: new Date(t + durationSec * 1000).toISOString(),
    direction: inbound ? 'inbound' : 'outbound',
    from: inbound ? from : LOGINS[channel % LOGINS.length],
    to: inbound ? ours : from,
    durationSec,
    attributes: kind === 'error' ? { channel, index, message: ERRORS[channel % ERRORS.length] } : { channel, index, queue: `q${channel % 16}` },
  };
}

export async function makeInputA(path, count) {
  const out = createWriteStream(path);
  const startMs = Date.parse('2026-11-02T13:00:00Z');
  let buf = '';
  for (let i = 0; i < count; i++) {
    buf += JSON.stringify(event(i, startMs)) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise((r) => out.end(r));
}

if (import.meta.url === `file://${process.argv[1]}`) await makeInputA(process.argv[2], Number(process.argv[3] ?? 300_000));
