import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { createLogger, type TaskMembership } from '@plumline/core';
import { kafkaStateConfigSchema } from './kafka-state-store.js';
import { kafkaTenantSpread } from './kafka-tenant-spread.js';

const brokers = inject('kafkaBrokers');
const logger = createLogger({ level: 'silent' });
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;

/** Joins `membership` and keeps the shares it is given. */
async function join(membership: TaskMembership): Promise<{ shares: () => readonly number[] }> {
  let shares: readonly number[] = [];
  await membership.join({ assigned: (s) => void (shares = s), failed: (err) => { throw err; } });
  return { shares: () => shares };
}

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !check(); await sleep(100)) if (Date.now() > end) throw new Error('timed out');
}

describe('spread: on the Kafka state store (real broker)', () => {
  const config = kafkaStateConfigSchema.parse({ brokers });

  it('creates the coordination topic, shares its partitions out among the workers of the group, and refuses another partition count', { timeout: 90_000 }, async () => {
    const topic = unique('tenants');
    const settings = { partitions: 6, topic, group: unique('spread'), sessionTimeoutMs: 6_000 };
    const a = kafkaTenantSpread(config, settings).membership({ logger, pipelineId: 'ingest' });
    const b = kafkaTenantSpread(config, settings).membership({ logger, pipelineId: 'ingest' });
    try {
      const first = await join(a);
      await until(() => first.shares().length === 6);
      const second = await join(b);
      // Sticky: the newcomer takes half, the first keeps the rest; no share is run twice or left out.
      await until(() => second.shares().length === 3 && first.shares().length === 3);
      expect([...first.shares(), ...second.shares()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      const other = kafkaTenantSpread(config, { ...settings, partitions: 8 }).membership({ logger, pipelineId: 'ingest' });
      await expect(other.join({ assigned: () => {}, failed: () => {} })).rejects.toMatchObject({ code: 'KAFKA_SPREAD_PARTITIONS_CHANGED', retriable: false });
      await other.leave();
    } finally {
      await a.leave();
      await b.leave();
    }
  });

  it("gives each tenant one share, the partition Kafka's default partitioner gives its name", () => {
    const spread = kafkaTenantSpread(config, { partitions: 12, topic: 't', group: 'g', sessionTimeoutMs: 6_000 });
    const shares = Array.from({ length: 12 }, (_, n) => spread.shard(n));
    for (const tenant of ['acct-0001', 'foobar', 'Ünïcode-tenant']) expect(shares.filter((s) => s.owns(tenant)).map((s) => s.task)).toHaveLength(1);
    // Values of Apache kafka-clients (tenant-partition.test.ts).
    expect(shares.find((s) => s.owns('acct-0001'))?.task).toBe(11);
    expect(shares.find((s) => s.owns('foobar'))?.task).toBe(6);
  });
});
