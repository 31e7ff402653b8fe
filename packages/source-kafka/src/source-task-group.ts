import { checkTopics, taskGroupId, type TaskGroup } from '@plumline/kafka-client/support';
import type { KafkaSourceConfig } from './kafka-source-config.js';

/** `task_per_partition`: the group `<group_id>.tasks` on the source's topics, which must exist. */
export function sourceTaskGroup(c: KafkaSourceConfig, sourceId: string): TaskGroup {
  return {
    connection: c,
    groupId: taskGroupId(c.group_id),
    sessionTimeoutMs: c.session_timeout,
    topics: c.topics ?? new RegExp(c.topic_pattern!),
    prepare: async (admin) => {
      if (c.topics) await checkTopics(admin, c.topics, c.brokers, sourceId);
    },
  };
}
