import { describe, expect, it } from 'vitest';
import { corePlugins, createLogger, createPipeline, MemoryStateStore, PluginRegistry, type JsonValue } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { iplumSource } from './iplum-source.js';

const ts = 1_767_225_600_000;

describe('iplum checkpointSchema (version 2: the position, or one per account)', () => {
  it.each<[string, JsonValue]>([
    ['one account', { usage: ts, recordings: ts - 60, '@readAt': { usage: ts + 5 }, '@parts': [{ stream: 'recordings', start: ts - 600, end: ts, at: 40 }], '@seen': { usage: [[ts - 10, 'usage:a', 'usage:b']] } }],
    ['accounts', { acme: { usage: ts }, globex: { recordings: ts, '@readAt': { recordings: ts } } }],
    ['nothing read yet', {}],
  ])('accepts what the source writes: %s', (_, position) => {
    expect(iplumSource.checkpointSchema!.safeParse(position).success).toBe(true);
  });

  it('a stored checkpoint of the wrong shape stops the start with STATE_CORRUPT, before any request', async () => {
    const state = new MemoryStateStore();
    await state.set('checkpoints', { plum: { seq: 4, version: 2, position: { usage: 'yesterday' } } });
    const sink = memorySink({ type: 'mem' });
    const start = (async () => {
      const p = await createPipeline(
        // Nothing listens there: a request would be an error of another code.
        { sources: { plum: { type: 'iplum', base_url: 'http://127.0.0.1:9', access_key: 'a', secret_key: 's', username: 'u@example.com' } }, sinks: { out: { type: 'mem', inputs: ['plum'] } } },
        { plugins: new PluginRegistry([...corePlugins, iplumSource, sink.plugin]), logger: createLogger({ level: 'silent' }), once: true, stateStore: state },
      );
      await p.start();
      await p.done;
    })();
    await expect(start).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('usage') });
  });
});
