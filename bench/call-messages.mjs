// The records both bare producers send (bench/bare-kafkajs.mjs, bench/confluent/bare-confluent.mjs),
// built as the kafka sink builds them: key = id, value = the event as JSON, its headers.
import { CallGenerator } from '../packages/core/dist/sources/index.js';

/** Batches of `size` messages, `total` in all, of one fixed generated sequence. */
export function* callMessageBatches(total, size = 1000) {
  const gen = new CallGenerator({ seed: 1, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'gen' });
  for (let i = 0; i < total; i += size) {
    const messages = [];
    for (let j = i; j < Math.min(total, i + size); j++) {
      const e = gen.event(j);
      messages.push({ key: e.id, value: JSON.stringify(e), headers: { source: e.source, kind: e.kind, schema_version: '1' } });
    }
    yield messages;
  }
}
