import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corePlugins, createLogger, createPipeline, MemoryStateStore, PluginRegistry, type CallEvent } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { httpSource } from '@plumline/source-http';
import { plumParseOperator, plumSource } from '@plumline/source-plum';
import { PlumEmulator } from '@plumline/source-plum/emulator';

/**
 * The proof that the `http` source carries a vendor's listing as the vendor's own plugin does:
 * Plum's calls/sessions described in YAML (offset/limit, result.total_sessions, result.sessions,
 * Basic auth), followed by plum_parse, against the same emulator, with pages capped below the
 * limit (a short page mid-listing).
 */
const emulator = new PlumEmulator({ seed: 21, sessionsPerSecond: 0.03, username: 'u', password: 'p' });
let base = '';
beforeAll(async () => {
  base = await emulator.start();
  emulator.setFaults({ maxPageRows: 70, next: [{ status: 503 }, { truncate: true }] });
});
afterAll(() => emulator.stop());

async function read(sources: Record<string, unknown>, transforms: Record<string, unknown>, input: string): Promise<CallEvent[]> {
  const sink = memorySink({ type: 'mem' });
  const p = await createPipeline({ sources, transforms, sinks: { out: { type: 'mem', inputs: [input] } } }, { plugins: new PluginRegistry([...corePlugins, httpSource, plumSource, plumParseOperator, sink.plugin]), logger: createLogger({ level: 'silent' }), once: true, stateStore: new MemoryStateStore() });
  await p.start();
  await p.done;
  return sink.record.events;
}

describe('Plum sessions as an http source + plum_parse = the plum source', () => {
  it('gives exactly the session events the plum source gives, on the same server', { timeout: 60_000 }, async () => {
    const end = Math.floor(Date.now() / 1000) - 60;
    const start = end - 86_400;
    const viaHttp = await read(
      {
        plum: {
          type: 'http',
          url: `${base}calls/sessions/{{from}}/{{to}}?offset={{offset}}&limit={{limit}}`,
          auth: { type: 'basic', username: 'u', password: 'p' },
          time_format: 'unix',
          pagination: { type: 'offset', limit: 100, total: 'result.total_sessions' },
          records: 'result.sessions',
          map: { id: { copy: 'value' }, time: start, time_format: 'unix' },
          include_raw: true,
          start,
          end,
        },
      },
      { parsed: { type: 'plum_parse', inputs: ['plum'] } },
      'parsed',
    );
    const viaPlum = await read({ plum: { type: 'plum', base_url: base, username: 'u', password: 'p', streams: ['sessions'], page_size: 100, start, end } }, {}, 'plum');
    expect(viaPlum.length).toBeGreaterThan(500);
    const byId = (a: CallEvent, b: CallEvent) => (a.id < b.id ? -1 : 1);
    expect(viaHttp.sort(byId)).toEqual(viaPlum.sort(byId));
  });
});
