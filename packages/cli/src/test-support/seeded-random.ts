import { inject } from 'vitest';

/** Streams handed out so far, by label: the n-th stream of a label is the same in every run of a seed. */
const used = new Map<string, number>();

/** 32 bits of (seed, text), FNV-1a: a stream's starting state. */
function mix(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A stream of random numbers for a fault schedule (kill after, pause for, wait between), drawn
 * from the run's seed (scripts/test-seed.ts prints it; PLUMLINE_TEST_SEED sets it) instead of
 * `Math.random`, so that a schedule that found a bug can be drawn again. Each call gives a new
 * stream, named by `label` and how many streams of that label came before: loops running side by
 * side (a killer and a pauser) each draw from their own, unaffected by how the other interleaves.
 */
export function seededRandom(label: string): RandomStream {
  const n = used.get(label) ?? 0;
  used.set(label, n + 1);
  return randomStream(testSeed(), `${label}#${n}`);
}

/** Numbers in [0, 1), and whole numbers in [minMs, minMs + spreadMs). */
export interface RandomStream {
  next(): number;
  between(minMs: number, spreadMs: number): number;
}

/** The stream of (seed, name): mulberry32 from a hash of both. The same pair always gives the same numbers. */
export function randomStream(seed: number, name: string): RandomStream {
  let state = mix(seed, name);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, between: (minMs, spreadMs) => minMs + Math.floor(next() * spreadMs) };
}

/** The run's seed, as scripts/test-seed.ts chose it. */
function testSeed(): number {
  const seed = inject('testSeed') as number | undefined;
  if (seed === undefined) throw new Error('no test seed: run the tests with vitest.config.ts, whose global setup scripts/test-seed.ts chooses it');
  return seed;
}
