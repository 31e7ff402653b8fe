import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseErrorLine, parsePlumLine, parseSessionLine } from './plum-line-parser.js';
import { formatClf } from './zoned-time.js';

describe('Plum session lines (every sample in docs/apis.md and the vendor page)', () => {
  it('outbound: number is the dialled number, peer the login', () => {
    const e = parseSessionLine('outbound 12125551234 26 [03/Nov/2017:00:10:42 -0500] test@login.com 300024;026;1509673023 1509682242 1509682255 00:00:13');
    expect(e).toMatchObject({
      id: 'plum:session:300024;026;1509673023',
      source: 'plum',
      kind: 'session',
      time: '2017-11-03T04:10:42.000Z',
      endTime: '2017-11-03T04:10:55.000Z',
      direction: 'outbound',
      from: 'test@login.com',
      to: '12125551234',
      durationSec: 13,
      attributes: { channel: 26, server: '300024', sessionEpoch: 1509673023, durationText: '00:00:13', durationTextSec: 13, sessionChannelMatches: true, localTime: '03/Nov/2017:00:10:42 -0500' },
    });
  });

  it('inbound: number is the caller (ANI), peer the dialled number (DNIS)', () => {
    const e = parseSessionLine('inbound 7185551234 3 [03/Nov/2017:14:38:30 -0500] 6177123000 200035;003;1509734279 1509734310 1509734339 00:00:29');
    expect(e).toMatchObject({ direction: 'inbound', from: '7185551234', to: '6177123000', durationSec: 29, time: '2017-11-03T18:38:30.000Z' });
    const e2 = parseSessionLine('inbound 6175551234 1 [03\\/Nov\\/2017:18:11:07 -0500] 8009957586 400050;001;1509747051 1509747067 1509747180 00:01:53');
    expect(e2).toMatchObject({ from: '6175551234', to: '8009957586', durationSec: 113, attributes: { durationTextSec: 113, localTime: '03/Nov/2017:18:11:07 -0500' } });
  });

  it('bracketed session time matches the start epoch when read as New York wall-clock time', () => {
    for (const line of [
      'outbound 12125551234 26 [03/Nov/2017:00:10:42 -0500] test@login.com 300024;026;1509673023 1509682242 1509682255 00:00:13',
      'inbound 7185551234 3 [03/Nov/2017:14:38:30 -0500] 6177123000 200035;003;1509734279 1509734310 1509734339 00:00:29',
    ]) {
      const e = parseSessionLine(line);
      expect(formatClf(Date.parse(e.time), 'America/New_York', '-0500')).toBe(e.attributes.localTime);
    }
  });
});

describe('Plum error lines', () => {
  it('reads the bracketed time in the configured zone (the printed offset is not trusted)', () => {
    const e = parseErrorLine('error 2125551234 6 [17/Nov/2016:14:40:46 -0400] 6177123000 100025;006;1479411625 Max Disconnect Count Exceeded');
    // 14:40:46 EST = 19:40:46 UTC = epoch 1479411646, 21 s after the session id's epoch (docs/apis.md).
    expect(e).toMatchObject({ kind: 'error', time: '2016-11-17T19:40:46.000Z', from: '2125551234', to: '6177123000', attributes: { sessionId: '100025;006;1479411625', channel: 6, message: 'Max Disconnect Count Exceeded' } });
    expect(e.id).toMatch(/^plum:error:100025;006;1479411625:[0-9a-f]{16}$/);
    expect(parseErrorLine('error 2125551234 6 [17/Nov/2016:14:40:46 -0400] 6177123000 100025;006;1479411625 Max Disconnect Count Exceeded', 'UTC').time).toBe('2016-11-17T14:40:46.000Z');
  });

  it('keeps messages with spaces, colons and digits whole', () => {
    expect(parseErrorLine('error 7185551234 1 [20\\/Nov\\/2016:21:28:46 -0400] 8009957586 100037;001;1479692314 errno: 210 message Maximum loop count exceeded').attributes.message).toBe('errno: 210 message Maximum loop count exceeded');
    expect(parseErrorLine('error 6175551234 0 [09/Jan/2017:08:33:31 -0400] 8009957586 000020;000;1483968637 ReferenceError: d is not defined line 1').attributes).toMatchObject({ message: 'ReferenceError: d is not defined line 1', channel: 0, server: '000020' });
  });

  it('two errors of one session get different ids; the same line always the same id', () => {
    const a = parseErrorLine('error 6175551234 0 [09/Jan/2017:08:33:31 -0400] 8009957586 000020;000;1483968637 first');
    const b = parseErrorLine('error 6175551234 0 [09/Jan/2017:08:33:31 -0400] 8009957586 000020;000;1483968637 second');
    expect(a.id).not.toBe(b.id);
    expect(parseErrorLine(String(a.raw)).id).toBe(a.id);
  });
});

describe('unparseable lines', () => {
  it.each([
    ['', 'PLUM_LINE_UNPARSEABLE'],
    ['inbound 7185551234 3 [03/Nov/2017:14:38:30 -0500] 6177123000 200035;003;1509734279 1509734310', 'PLUM_LINE_UNPARSEABLE'],
    ['sideways 7185551234 3 [03/Nov/2017:14:38:30 -0500] 6177123000 200035;003;1509734279 1509734310 1509734339 00:00:29', 'PLUM_LINE_UNPARSEABLE'],
    ['inbound 7185551234 3 [03/Nov/2017:14:38:30 -0500] 6177123000 200035;003;1509734279 1509734339 1509734310 00:00:29', 'PLUM_LINE_UNPARSEABLE'],
    ['error 2125551234 6 [17/Nov/2016 14:40:46] 6177123000 100025;006;1479411625 msg', 'PLUM_LINE_UNPARSEABLE'],
    ['error 2125551234 6 [17/Nox/2016:14:40:46 -0400] 6177123000 100025;006;1479411625 msg', 'PLUM_LINE_UNPARSEABLE'],
  ])('%j → %s', (line, code) => {
    expect(() => parsePlumLine(line)).toThrow(expect.objectContaining({ code }));
  });
});

describe('round trip (property)', () => {
  const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[1-9][0-9]{${min - 1},${max - 1}}$`));
  it('session fields written into a line come back out', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('inbound', 'outbound'),
        digits(10, 11),
        fc.integer({ min: 0, max: 95 }),
        fc.oneof(digits(10, 10), fc.constantFrom('a@b.com', 'ops@acme-voice.com')),
        fc.integer({ min: 1_400_000_000, max: 1_900_000_000 }),
        fc.integer({ min: 0, max: 86_399 }),
        fc.integer({ min: 0, max: 999_999 }),
        (direction, number, channel, peer, start, duration, server) => {
          const end = start + duration;
          const hms = [Math.floor(duration / 3600), Math.floor((duration % 3600) / 60), duration % 60].map((n) => String(n).padStart(2, '0')).join(':');
          const sid = `${String(server).padStart(6, '0')};${String(channel).padStart(3, '0')};${start - 5}`;
          const line = `${direction} ${number} ${channel} [${formatClf(start * 1000, 'America/New_York', '-0500')}] ${peer} ${sid} ${start} ${end} ${hms}`;
          const e = parseSessionLine(line);
          expect(e.id).toBe(`plum:session:${sid}`);
          expect(Date.parse(e.time) / 1000).toBe(start);
          expect(e.durationSec).toBe(duration);
          expect(e.attributes.durationTextSec).toBe(duration);
          expect(e.attributes.channel).toBe(channel);
          expect(direction === 'inbound' ? [e.from, e.to] : [e.to, e.from]).toEqual([number, peer]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a wall time in the hour repeated when DST ends names its first instant, also at the hour\'s first second; a skipped one reads as the earlier of its two readings', () => {
    // 2016-10-30 in Berlin: 02:00–02:59 is lived twice (CEST, then CET). Found by the property below (seed 434633568).
    const read = (clf: string, zone: string) => Date.parse(parseErrorLine(`error 6175551234 0 [${clf}] 8009957586 000020;000;1 x`, zone).time) / 1000;
    expect(read('30/Oct/2016:02:00:00 -0400', 'Europe/Berlin')).toBe(1477785600);
    expect(read('30/Oct/2016:02:59:59 -0400', 'Europe/Berlin')).toBe(1477789199);
    expect(read('30/Oct/2016:03:00:00 -0400', 'Europe/Berlin')).toBe(1477792800);
    expect(read('06/Nov/2016:01:00:00 -0400', 'America/New_York')).toBe(1478408400);
    expect(read('27/Mar/2016:02:30:00 -0400', 'Europe/Berlin')).toBe(Date.parse('2016-03-27T00:30:00Z') / 1000);
  });

  it('error times written in a zone read back to the same instant (outside the repeated DST hour)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_400_000_000, max: 1_900_000_000 }), fc.constantFrom('America/New_York', 'UTC', 'Europe/Berlin'), // `\/` reads as `/` (the JSON escape Plum leaves in XML), so a message cannot carry it literally.
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && !s.includes('\n') && !s.includes('\\/')), (t, zone, msg) => {
        const line = `error 6175551234 0 [${formatClf(t * 1000, zone, '-0400')}] 8009957586 000020;000;${t} ${msg}`;
        const back = Date.parse(parseErrorLine(line, zone).time) / 1000;
        // In the hour repeated when DST ends, a wall-clock time names two instants; we take the first.
        expect(back === t || back === t - 3600).toBe(true);
        expect(parseErrorLine(line, zone).attributes.message).toBe(msg);
      }),
      { numRuns: 300 },
    );
  });
});
