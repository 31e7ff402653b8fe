import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../event.js';
import { testContext } from '../../testing/test-context.js';
import { stdoutSink } from './stdout-sink.js';

describe('stdout sink', () => {
  it('dead-letters an event JSON cannot represent and writes the rest', async () => {
    const sink = await stdoutSink.create(stdoutSink.configSchema.parse({}), testContext({ id: 'console', kind: 'sink' }));
    const ok: CallEvent = { id: 'ok-1', source: 's', kind: 'call', time: '2026-01-01T00:00:00Z', attributes: {} };
    const bad = { ...ok, id: 'big-1', attributes: { n: 1n } } as unknown as CallEvent;
    const result = await sink.write({ events: [ok, bad], positions: [] });
    await sink.close?.();
    expect(result?.dead?.map((d) => [d.code, (d.record as CallEvent).id])).toEqual([['STDOUT_ENCODING_FAILED', 'big-1']]);
  });
});
