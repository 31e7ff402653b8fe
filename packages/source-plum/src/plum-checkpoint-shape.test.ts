import { describe, expect, it } from 'vitest';
import { corePlugins, createLogger, createPipeline, MemoryStateStore, PluginRegistry, type JsonValue } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { plumSource } from './plum-source.js';

const ts = 1_767_225_600;

describe('plum checkpointSchema (version 2: the position, or one per account)', () => {
  it.each<[string, JsonValue]>([
    ['one account', { calls: ts, sessions: ts - 60, '@readAt': { calls: ts + 5 }, '@parts': [{ stream: 'errors', start: ts - 600, end: ts, at: 40 }], '@seen': { calls: [[ts - 10, 'call:a', 'call:b']] } }],
    ['accounts', { acme: { calls: ts }, globex: { sessions: ts, '@readAt': { sessions: ts } } }],
    ['nothing read yet', {}],
  ])('accepts what the source writes: %s', (_, position) => {
    expect(plumSource.checkpointSchema!.safeParse(position).success).toBe(true);
  });

  it('a stored checkpoint of the wrong shape stops the start with STATE_CORRUPT, before any request', async () => {
    const state = new MemoryStateStore();
    await state.set('checkpoints', { plum: { seq: 4, version: 2, position: { calls: 'yesterday' } } });
    const sink = memorySink({ type: 'mem' });
    const start = (async () => {
      const p = await createPipeline(
        // Nothing listens there: a request would be an error of another code.
        { sources: { plum: { type: 'plum', base_url: 'http://127.0.0.1:9', username: 'u', password: 'p', streams: ['calls'] } }, sinks: { out: { type: 'mem', inputs: ['plum'] } } },
        { plugins: new PluginRegistry([...corePlugins, plumSource, sink.plugin]), logger: createLogger({ level: 'silent' }), once: true, stateStore: state },
      );
      await p.start();
      await p.done;
    })();
    await expect(start).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('calls') });
  });
});
