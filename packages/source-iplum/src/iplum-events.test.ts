import { describe, expect, it } from 'vitest';
import { parseLength, recordingEvent, usageEvent } from './iplum-events.js';

describe('iPlum records as events', () => {
  it('maps the documented usage example (verbatim: start = end, duration "2" minutes)', () => {
    const r = JSON.parse('{"source":"iPlum", "clientReferenceId":"1234", "usage":"call", "recordId":"0UmFAs73cwKbyqUtmz7ltLI.nGlAD.0Dgjdhpm", "from":"+14081231234", "to":"test@iplum.com", "startTimeUTC":"2023-03-24T00:00:00Z", "endTimeUTC":"2023-03-24T00:00:00Z", "duration":"2", "direction":"in", "type":"external", "iPlumCredits":2, "userId":"test@test.com"}') as Parameters<typeof usageEvent>[0];
    expect(usageEvent(r)).toEqual({
      id: 'iplum:0UmFAs73cwKbyqUtmz7ltLI.nGlAD.0Dgjdhpm',
      source: 'iplum',
      kind: 'call',
      time: '2023-03-24T00:00:00.000Z',
      endTime: '2023-03-24T00:00:00.000Z',
      direction: 'inbound',
      from: '+14081231234',
      to: 'test@iplum.com',
      durationSec: 120,
      attributes: { recordId: r.recordId, usageType: 'external', durationMinutes: 2, credits: 2, userId: 'test@test.com', clientReferenceId: '1234' },
      raw: r,
    });
  });

  it('reads zone-less times as UTC, whatever the process time zone', () => {
    const e = usageEvent({ recordId: 'z', usage: 'call', startTimeUTC: '2023-03-24 00:00:00.000', endTimeUTC: '2023-03-24 00:01:30.000', direction: 'in' });
    expect([e.time, e.endTime, e.durationSec]).toEqual(['2023-03-24T00:00:00.000Z', '2023-03-24T00:01:30.000Z', 90]);
    expect(recordingEvent({ recordId: 'r', phonenumber: '1', dateTimeUTC: '2023-03-22 00:24:00' }).time).toBe('2023-03-22T00:24:00.000Z');
  });

  it('puts callback content under content or mediaUrl', () => {
    const base = { recordId: 'x', usage: 'text', startTimeUTC: '2023-03-24T00:00:00Z', direction: 'out' };
    expect(usageEvent({ ...base, content: 'Hello' }).attributes.content).toBe('Hello');
    expect(usageEvent({ ...base, content: 'http://media.iplum.com/a.jpg' }).attributes.mediaUrl).toBe('http://media.iplum.com/a.jpg');
  });

  it('maps the documented recording example, size parsed and kept as text', () => {
    const e = recordingEvent({ source: 'iPlum', clientReferenceId: '1234', recordId: 'ae0b4e3e', phonenumber: '+14081231234', dateTimeUTC: '2023-03-22T00:24:00Z', duration: '3', direction: 'in', length: '434.2 KB', userId: 'test@test.com', content: 'http://media.iplum.com/ae0b4e3e.mp3' });
    expect(e).toMatchObject({ id: 'iplum:ae0b4e3e', kind: 'recording', time: '2023-03-22T00:24:00.000Z', direction: 'inbound', from: '+14081231234', attributes: { sizeText: '434.2 KB', sizeBytes: 444621, durationMinutes: 3, recordingUrl: 'http://media.iplum.com/ae0b4e3e.mp3' } });
    expect(parseLength('1.2 MB')).toBe(1258291);
    expect(parseLength('big')).toBeUndefined();
  });

  it('refuses records without their required fields, with a code', () => {
    expect(() => usageEvent({ recordId: 'x', usage: 'call' } as never)).toThrow(expect.objectContaining({ code: 'IPLUM_BAD_RECORD' }));
    expect(() => usageEvent({ recordId: 'x', usage: 'telex', startTimeUTC: '2023-03-24T00:00:00Z' })).toThrow(expect.objectContaining({ code: 'IPLUM_BAD_RECORD' }));
    expect(() => recordingEvent({ recordId: 'x', phonenumber: '1', dateTimeUTC: 'yesterday' })).toThrow(expect.objectContaining({ code: 'IPLUM_BAD_RECORD' }));
  });
});
