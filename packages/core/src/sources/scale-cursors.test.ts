import { describe, expect, it } from 'vitest';
import { scaleCursors } from './scale-cursors.js';

// A checkpoint of pollRanges as version 2 of the plum source stored it (epoch seconds), and the same in ms.
const seconds = {
  calls: 1_795_000_000,
  sessions: 1_795_000_100,
  '@readAt': { calls: 1_795_000_200, sessions: 1_795_000_300 },
  '@parts': [{ stream: 'sessions', start: 1_795_000_100, end: 1_795_003_700, at: { n: 0, offset: 2_000 } }],
  // -Infinity (a chunk of ids without a start) is stored as null.
  '@seen': { calls: [[1_794_999_990, 'plum:call:1', 'plum:call:2'], [null, 'plum:call:3']] },
};
const ms = {
  calls: 1_795_000_000_000,
  sessions: 1_795_000_100_000,
  '@readAt': { calls: 1_795_000_200_000, sessions: 1_795_000_300_000 },
  '@parts': [{ stream: 'sessions', start: 1_795_000_100_000, end: 1_795_003_700_000, at: { n: 0, offset: 2_000 } }],
  '@seen': { calls: [[1_794_999_990_000, 'plum:call:1', 'plum:call:2'], [null, 'plum:call:3']] },
};

describe('scaleCursors: a polling checkpoint in another cursor unit', () => {
  it('scales the cursors, @readAt, the parts’ start and end and the seen chunks’ starts, not a part’s listing position nor the ids', () => {
    expect(scaleCursors(seconds, 1000)).toEqual(ms);
  });

  it('scales each account of an accounts source’s record of checkpoints', () => {
    expect(scaleCursors({ acme: seconds, globex: { sessions: 5, '@readAt': { sessions: 6 } } }, 1000)).toEqual({ acme: ms, globex: { sessions: 5_000, '@readAt': { sessions: 6_000 } } });
  });

  it('leaves what has no time as it is: no checkpoint yet, an empty record, an account without one', () => {
    expect(scaleCursors(null, 1000)).toBeNull();
    expect(scaleCursors({}, 1000)).toEqual({});
    expect(scaleCursors({ acme: null }, 1000)).toEqual({ acme: null });
  });
});
