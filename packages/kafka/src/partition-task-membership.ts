import { PipelineError, type Logger, type TaskMembership } from '@plumline/core';
import kafkajs from './kafkajs-client.js';
import { checkTopics, connectOrFail } from './check-topics.js';
import { kafkaClientConfig } from './kafka-connection.js';
import type { KafkaSourceConfig } from './kafka-source-config.js';
import { taskAssigner } from './task-assigner.js';

/** The group that shares the tasks out: beside the source's own group, whose members are the tasks' consumers. */
export const taskGroupId = (groupId: string): string => `${groupId}.tasks`;

/** A member of the task group reads nothing: the smallest fetch the broker allows, while it pauses. */
const MEMBER_FETCH_MAX_BYTES = 1;
const MEMBER_FETCH_MAX_WAIT_MS = 500;

type LifecycleState = 'new' | 'joined' | 'left';

/**
 * `task_per_partition`: this worker's membership of the group that shares the partition tasks
 * out (`<group_id>.tasks`). It reads no records (it pauses every partition it is given); it only
 * learns, at each rebalance, which partitions are this worker's, and tells the pipeline, which
 * runs a copy per partition. Each copy reads its partition as a member of `group_id` with a
 * fixed assignment, so a copy starting for a partition another worker still drains waits as a
 * standby until that one left — the handover the fixed-partition mode already makes safe.
 */
export class PartitionTaskMembership implements TaskMembership {
  private state: LifecycleState = 'new';
  private readonly kafka: kafkajs.Kafka;
  private readonly consumer: kafkajs.Consumer;
  /** The tasks of the latest assignment, announced to the leader at the next rebalance (stickiness). */
  private owned: number[] = [];
  private readonly unlisten: (() => void)[] = [];

  constructor(
    private readonly c: KafkaSourceConfig,
    private readonly ctx: { readonly logger: Logger; readonly sourceId: string },
  ) {
    this.kafka = new kafkajs.Kafka(kafkaClientConfig(c, ctx));
    this.consumer = this.kafka.consumer({
      groupId: taskGroupId(c.group_id),
      sessionTimeout: c.session_timeout,
      maxWaitTimeInMs: MEMBER_FETCH_MAX_WAIT_MS,
      maxBytes: MEMBER_FETCH_MAX_BYTES,
      maxBytesPerPartition: MEMBER_FETCH_MAX_BYTES,
      allowAutoTopicCreation: false,
      partitionAssigners: [taskAssigner(() => this.owned)],
    });
  }

  async join(listener: { assigned(tasks: readonly number[]): void; failed(error: unknown): void }): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'joined';
    const { GROUP_JOIN, CRASH } = this.consumer.events;
    this.unlisten.push(
      this.consumer.on(GROUP_JOIN, (e) => {
        this.owned = [...new Set(Object.values(e.payload.memberAssignment).flat())].sort((a, b) => a - b);
        listener.assigned(this.owned);
      }),
      this.consumer.on(CRASH, (e) => {
        if (e.payload.restart) return this.ctx.logger.warn({ err: e.payload.error }, 'kafka task group member failed; kafkajs restarts it');
        listener.failed(new PipelineError('KAFKA_CONSUMER_FAILED', `member of task group ${taskGroupId(this.c.group_id)} stopped: ${e.payload.error.message}`, { cause: e.payload.error, retriable: false }));
      }),
    );
    await connectOrFail(this.consumer, this.c.brokers);
    if (this.c.topics) {
      const admin = await connectOrFail(this.kafka.admin(), this.c.brokers);
      try {
        await checkTopics(admin, this.c.topics, this.c.brokers, this.ctx.sourceId);
      } finally {
        await admin.disconnect();
      }
    }
    await this.consumer.subscribe({ topics: this.c.topics ?? [new RegExp(this.c.topic_pattern!)] });
    // Records are the tasks' to read: a fetched batch only pauses its partition.
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async ({ pause }) => void pause() });
  }

  async leave(): Promise<void> {
    if (this.state === 'left') return;
    this.state = 'left';
    for (const off of this.unlisten.splice(0)) off();
    await this.consumer.disconnect();
  }
}
