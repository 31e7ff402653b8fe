import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { firstValueFrom, from, Subject, toArray } from 'rxjs';
import { detachedReceipt, type Batch, type CallEvent, type OperatorContext } from '@plumline/core';
import { FakeClock, runOperator, testEvent } from '@plumline/core/testing';
import { enrichOperator } from './enrich-operator.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function dir() {
  const d = await mkdtemp(join(tmpdir(), 'plumline-enrich-'));
  dirs.push(d);
  return d;
}
const call = (id: string, o: Partial<CallEvent> = {}) => testEvent(id, { kind: 'call', from: '12125550100', to: '(800) 555-0199', ...o });
const reportErrors: unknown[] = [];
const ctx = (baseDir = '.', clock = new FakeClock()) => ({ baseDir, clock, logger: { info() {}, warn() {} }, reportError: (e: unknown) => reportErrors.push(e) }) as unknown as OperatorContext;
const batch = (events: CallEvent[]): Batch => ({ events, receipt: detachedReceipt() });

describe('enrich', () => {
  it('adds E.164, country, type and area code for from/to; non-numbers stay as they were, with the reason', async () => {
    const run = await runOperator(enrichOperator, {}, [[call('a'), call('b', { from: 'admin@acme-voice.com' })]]);
    const [a, b] = run.events;
    expect(a!.from).toBe('12125550100');
    expect(a!.attributes.phone).toEqual({
      from: { e164: '+12125550100', country: 'US', type: 'fixed_line_or_mobile', areaCode: '212' },
      to: { e164: '+18005550199', country: 'US', type: 'toll_free', areaCode: '800' },
    });
    expect(b!.from).toBe('admin@acme-voice.com');
    expect((b!.attributes.phone as Record<string, unknown>).from).toEqual({ notANumber: true, reason: expect.any(String) });
    expect(run.dead).toEqual([]);
  });

  it('computes durationSec where it is missing, and local time with a business-hours flag across a DST change', async () => {
    const cfg = { phone: false, local_time: { zone: 'America/New_York', business_hours: { start: '09:00', end: '17:00', holidays: ['2026-12-25'] } } };
    const run = await runOperator(enrichOperator, cfg, [
      [
        call('summer', { time: '2026-07-01T13:30:00.000Z', endTime: '2026-07-01T13:31:30.000Z' }), // 09:30 EDT, Wednesday
        call('winter', { time: '2026-01-07T13:30:00.000Z', durationSec: 5 }), // 08:30 EST, Wednesday
        call('weekend', { time: '2026-07-04T15:00:00.000Z' }), // Saturday
        call('holiday', { time: '2026-12-25T15:00:00.000Z' }),
        call('same-second', { time: '2026-12-25T15:00:00.999Z' }),
        call('next-second', { time: '2026-12-25T15:00:01.000Z' }),
      ],
    ]);
    const local = (i: number) => run.events[i]!.attributes.local as Record<string, unknown>;
    expect(run.events[0]!.durationSec).toBe(90);
    expect(run.events[1]!.durationSec).toBe(5);
    expect(local(0)).toMatchObject({ time: '2026-07-01T09:30:00', hour: 9, weekday: 'wed', offsetMin: -240, businessHours: true });
    expect(local(1)).toMatchObject({ time: '2026-01-07T08:30:00', hour: 8, offsetMin: -300, businessHours: false });
    expect(local(2)).toMatchObject({ weekday: 'sat', businessHours: false });
    expect(local(3)).toMatchObject({ time: expect.stringMatching(/^2026-12-25T/), businessHours: false });
    expect(local(4)).toEqual(local(3));
    expect(local(5)).toMatchObject({ time: '2026-12-25T10:00:01' });
  });

  it('merges lookup rows (CSV and JSON), uses the default on a miss, and picks up a changed file', async () => {
    const d = await dir();
    await writeFile(join(d, 'lines.csv'), 'number,campaign,customer\n+18005550199,"Spring, 2026",acme\n');
    await writeFile(join(d, 'agents.json'), JSON.stringify([{ login: 'admin@acme-voice.com', team: 'support' }]));
    const cfg = {
      lookups: [
        { file: 'lines.csv', key: 'number', match: 'attributes.phone.to.e164', as: 'attributes.line', default: { campaign: 'unknown' }, reload_interval: '50ms' },
        { file: 'agents.json', key: 'login', match: 'from', as: 'attributes.agent' },
      ],
    };
    // The reload interval runs on the clock: each look below moves it one interval on.
    const clock = new FakeClock();
    const op = await enrichOperator.create(enrichOperator.configSchema.parse(cfg), ctx(d, clock));
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    input.pipe(op.apply).subscribe((b) => out.push(b));
    input.next(batch([call('a'), call('b', { to: '+1 212 555 0111', from: 'admin@acme-voice.com' })]));
    expect(out[0]!.events[0]!.attributes.line).toEqual({ number: '+18005550199', campaign: 'Spring, 2026', customer: 'acme' });
    expect(out[0]!.events[1]!.attributes.line).toEqual({ campaign: 'unknown' });
    expect(out[0]!.events[1]!.attributes.agent).toEqual({ login: 'admin@acme-voice.com', team: 'support' });
    expect(out[0]!.events[0]!.attributes.agent).toBeUndefined();

    await writeFile(join(d, 'lines.csv'), 'number,campaign,customer\n+18005550199,Summer,acme\n+12125550111,Direct,globex\n');
    // Not before the interval passed: the table is read on the clock's ticks only.
    await new Promise((r) => setTimeout(r, 100));
    input.next(batch([call('c0', { to: '+12125550111' })]));
    expect(out.at(-1)!.events[0]!.attributes.line).toEqual({ campaign: 'unknown' });
    await expect.poll(async () => {
      await clock.advance(50);
      input.next(batch([call('c', { to: '+12125550111' })]));
      return out.at(-1)!.events[0]!.attributes.line;
    }).toEqual({ number: '+12125550111', campaign: 'Direct', customer: 'globex' });

    // A broken file: the previous rows stay in use and the error is reported, retriable.
    await writeFile(join(d, 'lines.csv'), 'number,campaign\n"unterminated,x,y,z\n');
    await expect.poll(async () => {
      await clock.advance(50);
      return reportErrors.length;
    }).toBeGreaterThan(0);
    expect(reportErrors[0]).toMatchObject({ code: 'LOOKUP_RELOAD_FAILED', retriable: true });
    input.next(batch([call('d', { to: '+12125550111' })]));
    expect(out.at(-1)!.events[0]!.attributes.line).toMatchObject({ campaign: 'Direct' });
    input.complete();
    await op.close?.();
  });

  it('fails at start with a located error when a lookup file is missing or lacks the key column', async () => {
    const d = await dir();
    await expect(enrichOperator.create(enrichOperator.configSchema.parse({ lookups: [{ file: 'nope.csv', key: 'k', match: 'to', as: 'attributes.x' }] }), ctx(d))).rejects.toMatchObject({ code: 'LOOKUP_FILE_UNREADABLE' });
    await writeFile(join(d, 'bad.csv'), 'a,b\n1,2\n');
    await expect(enrichOperator.create(enrichOperator.configSchema.parse({ lookups: [{ file: 'bad.csv', key: 'k', match: 'to', as: 'attributes.x' }] }), ctx(d))).rejects.toMatchObject({ code: 'LOOKUP_FILE_INVALID', fields: { line: 1 } });
  });

  it('reads a CSV as spreadsheets write it: a byte-order mark, CRLF, quoted commas, doubled quotes, a line break in a field, blank lines; a short row is located', async () => {
    const d = await dir();
    await writeFile(join(d, 'excel.csv'), '\uFEFFnumber,campaign,note\r\n+18005550199,"Spring, 2026","say ""hi""\r\nthen hang up"\r\n\r\n+12125550111,Direct,\r\n');
    const run = await runOperator(enrichOperator, { lookups: [{ file: join(d, 'excel.csv'), key: 'number', match: 'attributes.phone.to.e164', as: 'attributes.line' }] }, [[call('a'), call('b', { to: '+12125550111' })]]);
    expect(run.events.map((e) => e.attributes.line)).toEqual([
      { number: '+18005550199', campaign: 'Spring, 2026', note: 'say "hi"\r\nthen hang up' },
      { number: '+12125550111', campaign: 'Direct', note: '' },
    ]);
    await writeFile(join(d, 'short.csv'), 'number,campaign\n+1,a\n\n+2\n');
    await expect(enrichOperator.create(enrichOperator.configSchema.parse({ lookups: [{ file: 'short.csv', key: 'number', match: 'to', as: 'attributes.x' }] }), ctx(d))).rejects.toMatchObject({ code: 'LOOKUP_FILE_INVALID', fields: { line: 4 } });
  });

  it('rejects an unknown zone and business hours that end before they start, naming the key', () => {
    const issues = (c: unknown) => {
      const r = enrichOperator.configSchema.safeParse(c);
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };
    expect(issues({ local_time: { zone: 'Mars/Olympus' } })).toEqual(['local_time.zone']);
    expect(issues({ local_time: { zone: 'UTC', business_hours: { start: '18:00', end: '09:00' } } })).toEqual(['local_time.business_hours.end']);
    expect(issues({ phone: { region: 'US' } })).toEqual(['phone']);
  });

  it('refuses to write anywhere but under attributes (a lookup `as: id` would replace every event\'s id), naming the key', () => {
    const issues = (c: unknown) => {
      const r = enrichOperator.configSchema.safeParse(c);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    const lookup = { file: 'lines.csv', key: 'number', match: 'attributes.phone.to.e164' };
    expect(issues({ lookups: [{ ...lookup, as: 'id' }] })).toEqual([expect.stringMatching(/^lookups\.0\.as: enrich writes under attributes\./)]);
    expect(issues({ phone: { target: 'time' } }).map((m) => m.split(':')[0])).toEqual(['phone.target']);
    expect(issues({ local_time: { zone: 'UTC', target: 'attributes' } }).map((m) => m.split(':')[0])).toEqual(['local_time.target']);
    expect(issues({ lookups: [{ ...lookup, as: 'attributes.line' }], local_time: { zone: 'UTC', target: 'attributes.local' } })).toEqual([]);
  });

  describe('RxJS edge cases', () => {
    it('empty input completes with nothing; an error passes through; a synchronous source works', async () => {
      const op = await enrichOperator.create(enrichOperator.configSchema.parse({}), ctx());
      expect(await firstValueFrom(from([] as Batch[]).pipe(op.apply, toArray()))).toEqual([]);
      const sync = await firstValueFrom(from([batch([call('a')]), batch([call('b')])]).pipe(op.apply, toArray()));
      expect(sync.map((b) => b.events[0]!.id)).toEqual(['a', 'b']);
      const failing = new Subject<Batch>();
      const seen: unknown[] = [];
      failing.pipe(op.apply).subscribe({ error: (e) => seen.push(e) });
      failing.error(new Error('upstream'));
      expect(seen).toHaveLength(1);
    });

    it('early unsubscribe stops the work, and does not change the input events', async () => {
      const op = await enrichOperator.create(enrichOperator.configSchema.parse({}), ctx());
      const input = new Subject<Batch>();
      const out: Batch[] = [];
      const sub = input.pipe(op.apply).subscribe((b) => out.push(b));
      const e = call('a');
      input.next(batch([e]));
      sub.unsubscribe();
      input.next(batch([call('b')]));
      expect(out).toHaveLength(1);
      expect(e.attributes).toEqual({});
    });
  });
});
