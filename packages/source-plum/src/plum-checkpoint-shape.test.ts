import { describe, expect, it } from 'vitest';
import { corePlugins, createLogger, createPipeline, MemoryStateStore, PluginRegistry, type JsonValue } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { plumSource } from './plum-source.js';

// Version 3 stores epoch ms on whole seconds (version 2 stored epoch seconds).
const ts = 1_767_225_600_000;
const sec = 1_767_225_600;

describe('plum checkpointSchema (version 3: the position in epoch ms, or one per account)', () => {
  it.each<[string, JsonValue]>([
    ['one account', { calls: ts, sessions: ts - 60_000, '@readAt': { calls: ts + 5_000 }, '@parts': [{ stream: 'errors', start: ts - 600_000, end: ts, at: 40 }], '@seen': { calls: [[ts - 10_000, 'call:a', 'call:b']] } }],
    ['accounts', { acme: { calls: ts }, globex: { sessions: ts, '@readAt': { sessions: ts } } }],
    ['nothing read yet', {}],
  ])('accepts what the source writes: %s', (_, position) => {
    expect(plumSource.checkpointSchema!.safeParse(position).success).toBe(true);
  });

  it.each<[string, JsonValue, JsonValue]>([
    ['one account', { calls: sec, '@readAt': { calls: sec + 5 }, '@parts': [{ stream: 'errors', start: sec - 600, end: sec, at: 40 }], '@seen': { calls: [[sec - 10, 'call:a']] } }, { calls: ts, '@readAt': { calls: ts + 5_000 }, '@parts': [{ stream: 'errors', start: ts - 600_000, end: ts, at: 40 }], '@seen': { calls: [[ts - 10_000, 'call:a']] } }],
    ['accounts', { acme: { calls: sec }, globex: { sessions: sec, '@readAt': { sessions: sec } } }, { acme: { calls: ts }, globex: { sessions: ts, '@readAt': { sessions: ts } } }],
  ])('a version-2 position (epoch seconds) migrates to the same position in ms, which the schema accepts: %s', (_, v2, v3) => {
    const migrated = plumSource.migrateCheckpoint!(v2, 2);
    expect(migrated).toEqual(v3);
    expect(plumSource.checkpointSchema!.safeParse(migrated).success).toBe(true);
  });

  it.each<[string, JsonValue]>([
    ['a cursor that is not a number', { calls: 'yesterday' }],
    ['an unknown stream', { voicemail: ts }],
    ['a negative cursor', { calls: -ts }],
    ['a part without an end', { '@parts': [{ stream: 'calls', start: ts, at: 0 }] }],
    ['an account whose position is not one', { acme: { calls: 'yesterday' } }],
  ])('refuses a position of another shape: %s', (_, position) => {
    expect(plumSource.checkpointSchema!.safeParse(position).success).toBe(false);
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
