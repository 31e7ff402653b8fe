import { PipelineError, type SpreadSettings, type TenantSpread } from '@plumline/core';
import type kafkajs from 'kafkajs';
import { createTopicsRacing } from './create-topics.js';
import { PartitionTaskMembership } from './partition-task-membership.js';
import { tenantPartition } from './tenant-partition.js';
import type { KafkaStateConfig } from './kafka-state-store.js';

/** The coordination topic holds no records: a day's retention keeps anything written there by mistake from piling up. */
const COORDINATION_RETENTION_MS = 24 * 3_600_000;

/**
 * `spread:` on the Kafka state store's cluster: the workers join a consumer group on the
 * coordination topic, whose partitions are the shares of tenants (task n: partition n), given out
 * and moved as by `task_per_partition` (sticky, a dead worker's after `session_timeout`). A
 * tenant's share is the partition Kafka's default partitioner gives its name (tenantPartition).
 */
export function kafkaTenantSpread(c: KafkaStateConfig, s: SpreadSettings): TenantSpread {
  return {
    membership: ({ logger }) =>
      new PartitionTaskMembership({ connection: c, groupId: s.group, sessionTimeoutMs: s.sessionTimeoutMs, topics: [s.topic], prepare: (admin) => ensureCoordinationTopic(admin, c, s) }, { logger }),
    shard: (task) => ({ task, count: s.partitions, owns: (tenant) => tenantPartition(tenant, s.partitions) === task }),
  };
}

/**
 * Creates the coordination topic with `partitions` partitions, or checks the one there has as
 * many: with another count every tenant's share would change, and its checkpoint (kept under the
 * share's id) would be left behind, so the start is refused with what to do.
 */
async function ensureCoordinationTopic(admin: kafkajs.Admin, c: KafkaStateConfig, s: SpreadSettings): Promise<void> {
  if (!(await admin.listTopics()).includes(s.topic)) {
    await createTopicsRacing(admin, { waitForLeaders: true, topics: [{ topic: s.topic, numPartitions: s.partitions, replicationFactor: c.replication, configEntries: [{ name: 'retention.ms', value: String(COORDINATION_RETENTION_MS) }] }] });
  }
  const found = (await admin.fetchTopicMetadata({ topics: [s.topic] })).topics[0]?.partitions.length ?? 0;
  if (found !== s.partitions) {
    throw new PipelineError(
      'KAFKA_SPREAD_PARTITIONS_CHANGED',
      `spread: partitions is ${s.partitions} but the coordination topic ${s.topic} has ${found}: the tenants' checkpoints are kept per share, so changing the count would lose them. Set partitions: ${found} again; to re-shard, run a new pipeline id (it starts from backfill) with a topic of its own`,
      { retriable: false, fields: { topic: s.topic, partitions: s.partitions, found } },
    );
  }
}
