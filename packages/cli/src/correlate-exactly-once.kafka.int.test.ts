import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { CallEvent } from '@plumline/core';
import { CallGenerator } from '@plumline/core/sources';
import { tmpDir } from '@plumline/core/testing';
import { runWithRandomKills } from './test-support/run-cli.js';
import { readCommitted } from './test-support/read-committed.js';

const EVENTS = 20_000;
const SEED = 23;
/** Kills are armed once the first checkpoint of a run was committed, so they land mid-run. */
const ARM_ON = /first checkpoint committed/;

const brokers = () => inject('kafkaBrokers');

/** Every id in `topic`, top-level or nested in an anchor by correlate (`as: errors`), with how often, read by Apache's Java consumer with read_committed. */
async function idsOut(topic: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const r of await readCommitted(brokers(), [topic])) {
    const e = JSON.parse(r.value) as CallEvent;
    for (const id of [e.id, ...((e.attributes.errors as CallEvent[] | undefined) ?? []).map((p) => p.id)]) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('correlate behind an exactly-once Kafka sink (real broker, SIGKILL after start-up, Java read_committed reader)', () => {
  it(`every event exactly once, alone or inside its anchor, while correlate holds events across kills (${EVENTS} events)`, { timeout: 400_000 }, async () => {
    const s = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const gen = new CallGenerator({ seed: SEED, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'gen' });
    const expected = new Set(Array.from({ length: EVENTS }, (_, i) => gen.event(i).id));
    const { dir, cleanup } = await tmpDir('plumline-correlate-eos-');
    let kills: number;
    try {
      // Errors join the session on their channel within a short window, so events keep moving in
      // and out of the held set (and its log in the state topic) while the kills land.
      await writeFile(
        join(dir, 'p.yaml'),
        `id: correlate-eos-${s}
state: { type: kafka, brokers: ${JSON.stringify(brokers())}, topic: state-${s} }
runtime: { commit_interval: 50ms, max_in_flight_batches: 4 }
sources:
  gen: { type: generate, seed: ${SEED}, count: ${EVENTS}, batch_size: 50, rate: 4000 }
transforms:
  joined:
    type: correlate
    inputs: [gen]
    window: 300ms
    max_pending: 2000
    rules: [{ name: channel_errors, anchor: { kind: session }, partner: { kind: error }, anchor_key: attributes.channel, partner_key: attributes.channel, as: errors, emit: first_partner }]
sinks:
  out: { type: kafka, inputs: [joined], brokers: ${JSON.stringify(brokers())}, topic: out-${s}, exactly_once: true, create_topics: { partitions: 3 } }
`,
      );
      kills = await runWithRandomKills(dir, { attempts: 6, minMs: 200, spreadMs: 1500, logLevel: 'info', armOn: ARM_ON });
    } finally {
      await cleanup();
    }
    const got = await idsOut(`out-${s}`);
    const missing = [...expected].filter((id) => !got.has(id)).length;
    const twice = [...got.values()].filter((n) => n > 1).length;
    const joined = [...got.keys()].length;
    console.log(`correlate exactly-once: ${kills} kills mid-run, ${joined} ids out, ${twice} more than once, ${missing} missing`);
    expect({ missing, twice, unknown: [...got.keys()].filter((id) => !expected.has(id)).length }).toEqual({ missing: 0, twice: 0, unknown: 0 });
    expect(kills).toBeGreaterThanOrEqual(3);
  });
});
