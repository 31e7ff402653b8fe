// The limit the operator rows are measured against: one hand-written Node program doing what
// plumline's `stdin → enrich → correlate → mask → dedupe → file` does (bench/operators-bench.mjs's
// (d4), with the same configs), and the hand-written (d0) loop `stdin → dedupe → file`.
//   node bench/hand-chain.mjs chain|d0 OUT.ndjson < input.ndjson
// Same libphonenumber-js and HMAC calls, cached per value as plumline caches them; the same
// correlate rule, eviction at max_pending and end-of-input flush; events changed in place (they
// are this program's alone); synchronous reads and writes, no fsync. Its output is byte-identical
// to plumline's: events leave correlate in plumline's batch order (below), which
// bench/chain-bench.mjs checks on every run.
import { createHmac, createSecretKey } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const [mode, outPath] = process.argv.slice(2);
if (mode !== 'chain' && mode !== 'd0') throw new Error('usage: hand-chain.mjs chain|d0 OUT.ndjson < input');
const chain = mode === 'chain';

// The stdin source's batches: 1,000 events each (what plumline's stdin source emits from a file).
const BATCH = 1000;
const MAX_PENDING = 100_000;
const ZONE = 'America/New_York';

// ---- enrich: phones (libphonenumber-js/max, region US) and local time with business hours.
const { parsePhoneNumberFromString } = await import(new URL('../packages/operators/node_modules/libphonenumber-js/max/index.js', import.meta.url).href);
const TYPES = { MOBILE: 'mobile', FIXED_LINE: 'fixed_line', FIXED_LINE_OR_MOBILE: 'fixed_line_or_mobile', TOLL_FREE: 'toll_free', PREMIUM_RATE: 'premium_rate', SHARED_COST: 'shared_cost', VOIP: 'voip', PERSONAL_NUMBER: 'personal_number', PAGER: 'pager', UAN: 'uan', VOICEMAIL: 'voicemail' };
function parsePhone(text) {
  if (text.includes('@')) return { notANumber: true, reason: 'an e-mail address, not a phone number' };
  if (!/\d/.test(text)) return { notANumber: true, reason: 'no digits' };
  const p = parsePhoneNumberFromString(text, 'US');
  if (!p || !p.isPossible()) return { notANumber: true, reason: 'not a possible phone number' };
  const info = { e164: p.number };
  if (p.country) info.country = p.country;
  const type = p.getType();
  if (type) info.type = TYPES[type] ?? type.toLowerCase();
  if (p.countryCallingCode === '1' && p.nationalNumber.length === 10) info.areaCode = p.nationalNumber.slice(0, 3);
  return info;
}

// ---- mask: keyed HMAC-SHA256, 32 hex characters; numbers hashed by their digits.
const key = createSecretKey(Buffer.from(process.env.PLUMLINE_MASK_KEY ?? 'bench-mask-key-0123456789'));
const hmac = (text) => `hmac:${createHmac('sha256', key).update(text).digest('hex').slice(0, 32)}`;
const hashes = new Map();
function hashNumber(written) {
  let h = hashes.get(written);
  if (h === undefined) {
    h = hmac(written.includes('@') ? written : written.replace(/\D/g, '') || written);
    hashes.set(written, h);
  }
  return h;
}
/** Per number as written: its enrich result, already masked (e164 hashed). */
const phones = new Map();
function maskedPhone(text) {
  let m = phones.get(text);
  if (m === undefined) {
    const info = parsePhone(text);
    m = {};
    for (const k of Object.keys(info)) m[k] = k === 'e164' ? hashNumber(info[k]) : info[k];
    phones.set(text, m);
  }
  return m;
}

const fmt = new Intl.DateTimeFormat('en-US', { timeZone: ZONE, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const offsets = new Map();
function offsetMin(ms) {
  const hour = Math.floor(ms / 3_600_000);
  let o = offsets.get(hour);
  if (o === undefined) {
    const p = {};
    for (const part of fmt.formatToParts(new Date(hour * 3_600_000))) p[part.type] = part.value;
    o = Math.round((Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - hour * 3_600_000) / 60_000);
    offsets.set(hour, o);
  }
  return o;
}
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const BUSINESS_DAYS = new Set(['mon', 'tue', 'wed', 'thu', 'fri']);
const mod = (a, b) => ((a % b) + b) % b;
let lastSecond = NaN;
let lastLocal;
function localOf(time) {
  const ms = Date.parse(time);
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    const off = offsetMin(ms);
    const local = ms + off * 60_000;
    const minuteOfDay = Math.floor(mod(local, 86_400_000) / 60_000);
    const weekday = WEEKDAYS[mod(Math.floor(local / 86_400_000) + 4, 7)];
    lastLocal = { time: new Date(local).toISOString().slice(0, 19), hour: Math.floor(minuteOfDay / 60), weekday, offsetMin: off, businessHours: BUSINESS_DAYS.has(weekday) && minuteOfDay >= 540 && minuteOfDay < 1020 };
    lastSecond = second;
  }
  return lastLocal;
}

/** enrich, in place, on arrival (its phone results already masked: mask hashes every e164). */
function enrich(e) {
  const a = e.attributes;
  if (e.durationSec === undefined && e.endTime) {
    const sec = (Date.parse(e.endTime) - Date.parse(e.time)) / 1000;
    if (Number.isFinite(sec) && sec >= 0) e.durationSec = sec;
  }
  let phone;
  if (typeof e.from === 'string' && e.from !== '') (phone ??= {}).from = maskedPhone(e.from);
  if (typeof e.to === 'string' && e.to !== '') (phone ??= {}).to = maskedPhone(e.to);
  if (phone) a.phone = phone;
  if (!Number.isNaN(Date.parse(e.time))) a.local = localOf(e.time);
}

/** mask, in place, on the way out: numbers hashed, content and raw dropped. */
function mask(e) {
  const a = e.attributes;
  if (typeof e.from === 'string') e.from = hashNumber(e.from);
  if (typeof e.to === 'string') e.to = hashNumber(e.to);
  if (a.message !== undefined) a.message = undefined;
  if (e.raw !== undefined) e.raw = undefined;
}

// ---- correlate: sessions wait for an error on their channel (first_partner); max_pending 100,000.
const anchors = new Map(); // channel → { items, head }
const partners = new Map();
const queue = [];
let qHead = 0;
let pending = 0;
const UNMATCHED = { rule: 'channel_errors', unmatched: true };
const NONE = [];
const listOf = (index, k) => {
  let l = index.get(k);
  if (!l) index.set(k, (l = { items: [], head: 0 }));
  return l;
};
const trim = (index, k) => {
  const l = index.get(k);
  if (!l) return;
  while (l.head < l.items.length && l.items[l.head].gone) l.head++;
  if (l.head >= l.items.length) index.delete(k);
};
/** Out of correlate, with the input batch whose checkpoint hold it stands for (-1: this batch). */
function release(h, out, outBatch) {
  h.gone = true;
  if (h.queued) pending--;
  for (const p of h.partners) if (p.queued) pending--;
  const a = h.e.attributes;
  if (h.anchor) a.channel_errors = h.partners.length ? h.partners.map((p) => p.e) : NONE;
  a.correlation = h.partners.length ? { rule: 'channel_errors', partners: h.partners.length } : UNMATCHED;
  let first = h.queued ? h.batch : -1;
  for (const p of h.partners) if (p.queued && (first === -1 || p.batch < first)) first = p.batch;
  out.push(h.e);
  outBatch.push(first);
}
function hold(h, out, outBatch) {
  h.queued = true;
  queue.push(h);
  pending++;
  while (pending > MAX_PENDING) {
    while (queue[qHead].gone) qHead++;
    const oldest = queue[qHead];
    release(oldest, overflow, overflowBatch);
    trim(oldest.anchor ? anchors : partners, oldest.k);
  }
}
let overflow = [];
let overflowBatch = [];
function accept(e, batch, out, outBatch) {
  const c = e.attributes.channel;
  const k = c === undefined || c === null || c === '' ? undefined : String(c);
  if (e.kind === 'session') {
    const h = { e, batch, k, anchor: true, partners: [], gone: false, queued: false };
    if (k === undefined) return release(h, out, outBatch);
    const waiting = partners.get(k);
    if (waiting) {
      for (let i = waiting.head; i < waiting.items.length; i++) {
        const p = waiting.items[i];
        if (!p.gone) {
          p.gone = true;
          h.partners.push(p);
        }
      }
      trim(partners, k);
    }
    if (h.partners.length) return release(h, out, outBatch);
    hold(h, out, outBatch);
    listOf(anchors, k).items.push(h);
  } else if (e.kind === 'error') {
    const p = { e, batch, k, anchor: false, partners: NONE, gone: false, queued: false };
    if (k === undefined) return release(p, out, outBatch);
    const list = anchors.get(k);
    if (list) {
      let a;
      for (let i = list.head; i < list.items.length && !a; i++) if (!list.items[i].gone) a = list.items[i];
      if (a) {
        p.gone = true;
        a.partners.push(p);
        release(a, out, outBatch);
        trim(anchors, k);
        return;
      }
    }
    hold(p, out, outBatch);
    listOf(partners, k).items.push(p);
  } else {
    out.push(e);
    outBatch.push(-1);
  }
}

// Named, so that profiles show the JSON work apart.
const parseLine = (line) => JSON.parse(line);
const jsonLine = (e) => JSON.stringify(e) + '\n';

// ---- dedupe by id, and the file.
const seen = new Set();
const fd = openSync(outPath, 'w');
let text = '';
function write(e) {
  if (seen.has(e.id)) return;
  seen.add(e.id);
  if (chain) maskTree(e);
  text += jsonLine(e);
}
/** Masks an event leaving the chain and the partners it carries. */
function maskTree(e) {
  const ps = e.attributes.channel_errors;
  if (ps) for (const p of ps) mask(p);
  mask(e);
}

/**
 * plumline's correlate sends events whose oldest held part came in an earlier input batch in
 * batches of their own, one per such batch, in order of first appearance, before the input
 * batch's own events: the file receives them in that order.
 */
function flush(out, outBatch, current) {
  const groups = new Map();
  for (let i = 0; i < out.length; i++) {
    const b = outBatch[i];
    if (b === -1 || b === current) continue;
    let g = groups.get(b);
    if (!g) groups.set(b, (g = []));
    g.push(out[i]);
  }
  for (const g of groups.values()) for (const e of g) write(e);
  for (let i = 0; i < out.length; i++) if (outBatch[i] === -1 || outBatch[i] === current) write(out[i]);
}

let batch = [];
let batchNo = 0;
function endBatch() {
  if (batch.length === 0) return;
  batchNo++;
  if (!chain) {
    for (const e of batch) write(e);
  } else {
    const out = [];
    const outBatch = [];
    for (const e of batch) {
      enrich(e);
      accept(e, batchNo, out, outBatch);
    }
    for (let i = 0; i < overflow.length; i++) {
      out.push(overflow[i]);
      outBatch.push(overflowBatch[i]);
    }
    overflow = [];
    overflowBatch = [];
    flush(out, outBatch, batchNo);
  }
  batch = [];
  if (text.length > 1 << 20) {
    writeSync(fd, text);
    text = '';
  }
}

const started = performance.now();
const cpu0 = process.cpuUsage();
const chunk = Buffer.alloc(1 << 20);
let rest = '';
let events = 0;
for (;;) {
  const n = readSync(0, chunk, 0, chunk.length, null);
  if (n === 0) break;
  const lines = (rest + chunk.toString('utf8', 0, n)).split('\n');
  rest = lines.pop();
  for (const line of lines) {
    if (!line) continue;
    batch.push(parseLine(line));
    events++;
    if (batch.length === BATCH) endBatch();
  }
}
if (rest) {
  batch.push(parseLine(rest));
  events++;
}
endBatch();
if (chain) {
  // End of input: every window closes, oldest first.
  const out = [];
  const outBatch = [];
  for (let i = qHead; i < queue.length; i++) if (!queue[i].gone) release(queue[i], out, outBatch);
  flush(out, outBatch, undefined);
}
writeSync(fd, text);
closeSync(fd);
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ events, ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
