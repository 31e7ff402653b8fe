import { describe, expect, it } from 'vitest';
import { MemoryStateStore } from '../../state/directory-state-store.js';
import { decodeFrames, isFramed } from '../../state/checked-log.js';
import { runOperator, testEvent } from '../../testing/index.js';
import { dedupeOperator } from './dedupe-operator.js';
import { hashKey } from './key-hash.js';
import { encodeKeyBlocks } from './key-log.js';

/** dedupe under a type of its own: runOperator registers it beside the core plugins (which hold `dedupe`). */
const dedupe = { ...dedupeOperator, type: 'dedupe_under_test' };

describe("dedupe's key log across the upgrade to checked logs", () => {
  it('a key log of the release before (unframed blocks) is read for the pipeline that wrote it, then rewritten checked', async () => {
    const store = new MemoryStateStore();
    const h = new Uint32Array(2);
    hashKey('a', h);
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    await store.append('dedupe_under_test/keys', encodeKeyBlocks([{ positions: [], keys: Uint32Array.from([h[0]!, h[1]!, expiry]) }]));

    const first = await runOperator(dedupe, { key: ['id'] }, [[testEvent('a'), testEvent('b')]], { stateStore: store });
    expect(first.events.map((e) => e.id)).toEqual(['b']);
    const log = await store.readLog('dedupe_under_test/keys');
    expect(isFramed(log)).toBe(true);
    expect(decodeFrames(log).problem).toBeUndefined();
    // The head of the checked log is committed with the checkpoints.
    expect(await store.get('dedupe_under_test/keys.head')).toMatchObject({ bytes: log.byteLength });

    // The source resumes after its first page (read before): the next page repeats a and b.
    const second = await runOperator(dedupe, { key: ['id'] }, [[testEvent('a'), testEvent('b')], [testEvent('a'), testEvent('b'), testEvent('c')]], { stateStore: store });
    expect(second.events.map((e) => e.id)).toEqual(['c']);
  });
});
