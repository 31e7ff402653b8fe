import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CallEvent } from '@plumline/core';
import { CallGenerator } from '@plumline/core/sources';
import { tmpDir } from '@plumline/core/testing';
import { runWithRandomKills } from './test-support/run-cli.js';
import { storedCheckpoints } from './test-support/stored-checkpoints.js';

const TRIALS = 8;
const EVENTS = 6_000;
const DURABLE_AFTER = ['0s', '50ms', '1h', '50ms'];

/** Every id in the output, top-level or nested in an anchor by correlate, with how often it appears. */
async function idsOut(file: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const text = await readFile(file, 'utf8');
  for (const line of text.split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as CallEvent;
    for (const id of [e.id, ...((e.attributes.errors as CallEvent[] | undefined) ?? []).map((p) => p.id)]) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('correlate across crashes (real process, SIGKILL at random points)', () => {
  it(`no event is lost: each comes out, alone or inside its anchor, after ${TRIALS} trials of two kills`, { timeout: 240_000 }, async () => {
    const gen = new CallGenerator({ seed: 23, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'gen' });
    const expected = new Set(Array.from({ length: EVENTS }, (_, i) => gen.event(i).id));
    let kills = 0;
    let duplicates = 0;
    let joined = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const { dir, cleanup } = await tmpDir('plumline-correlate-crash-');
      try {
        // Errors join the session on their channel; a short window and a small max_pending keep
        // events moving in and out of the held set while the kills land. durable_after varies:
        // every held event logged (0s), only those held past 50ms, or none (held under checkpoint holds only).
        await writeFile(
          join(dir, 'p.yaml'),
          `runtime: { commit_interval: 20ms }
sources:
  gen: { type: generate, seed: 23, count: ${EVENTS}, batch_size: 50, rate: 15000 }
transforms:
  joined:
    type: correlate
    inputs: [gen]
    window: 150ms
    durable_after: ${DURABLE_AFTER[trial % DURABLE_AFTER.length]}
    max_pending: ${trial % 2 ? 200 : 5000}
    rules: [{ name: channel_errors, anchor: { kind: session }, partner: { kind: error }, anchor_key: attributes.channel, partner_key: attributes.channel, as: errors, emit: ${trial % 3 ? 'first_partner' : 'window'} }]
sinks:
  out: { type: file, inputs: [joined], path: out.ndjson }
`,
        );
        kills += await runWithRandomKills(dir, { attempts: 2, minMs: 150, spreadMs: 400 });
        const got = await idsOut(join(dir, 'out.ndjson'));
        const missing = [...expected].filter((id) => !got.has(id));
        expect(missing, `trial ${trial}: lost ${missing.length}`).toEqual([]);
        expect([...got.keys()].filter((id) => !expected.has(id))).toEqual([]);
        for (const n of got.values()) duplicates += n - 1;
        // No hold outlives the run: the last checkpoint covers every generated event.
        const checkpoints = await storedCheckpoints<{ gen: { position: { next: number } } }>(dir, 'p');
        expect(checkpoints.gen.position.next).toBe(EVENTS);
        joined += [...got.entries()].length;
      } finally {
        await cleanup();
      }
    }
    expect(kills).toBeGreaterThan(TRIALS / 2);
    // At-least-once: an event released just before a kill can come out again after the restart.
    console.log(`correlate crash test: ${kills} kills, ${duplicates} duplicate appearances in ${joined} distinct ids`);
  });
});
