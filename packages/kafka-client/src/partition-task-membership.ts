import { PipelineError, type Logger, type TaskMembership } from '@plumline/core';
import kafkajs from './kafkajs-client.js';
import { connectOrFail } from './check-topics.js';
import { kafkaClientConfig } from './kafka-connection.js';
import type { KafkaConnection } from './kafka-connection.js';
import { taskAssigner } from './task-assigner.js';

/** The group that shares the tasks out: beside the source's own group, whose members are the tasks' consumers. */
export const taskGroupId = (groupId: string): string => `${groupId}.tasks`;

/** A member of the task group reads nothing: the smallest fetch the broker allows, while it pauses. */
const MEMBER_FETCH_MAX_BYTES = 1;
const MEMBER_FETCH_MAX_WAIT_MS = 500;

type LifecycleState = 'new' | 'joined' | 'left';

/** What a task group is: who joins it, on which topics, and what to do before (check or create the topics). */
export interface TaskGroup {
  readonly connection: KafkaConnection;
  /** The group's id. */
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  /** The topics whose partitions are the tasks (task n: partition n of each). */
  readonly topics: readonly string[] | RegExp;
  /** Runs once before joining, with a connected admin: refuses or creates what the group needs (a missing topic). */
  prepare(admin: kafkajs.Admin): Promise<void>;
}

/**
 * A worker's membership of a group that shares tasks out, a task per partition number: for
 * `task_per_partition` the group `<group_id>.tasks` on the source's topics, for `spread:` the
 * spread group on its coordination topic. It reads no records (it pauses every partition it is
 * given); it only learns, at each rebalance, which partitions are this worker's, and tells the
 * pipeline, which runs a copy per partition. What keeps two copies of a task from both writing is
 * the copies' own: under `task_per_partition` each reads its partition as a member of `group_id`
 * with a fixed assignment, so it waits as a standby until the previous owner left; under both,
 * the copy's state store claims the task's id and fences the previous owner's transactions.
 */
export class PartitionTaskMembership implements TaskMembership {
  private state: LifecycleState = 'new';
  private readonly kafka: kafkajs.Kafka;
  private readonly consumer: kafkajs.Consumer;
  /** The tasks of the latest assignment, announced to the leader at the next rebalance (stickiness). */
  private owned: number[] = [];
  private readonly unlisten: (() => void)[] = [];

  constructor(
    private readonly group: TaskGroup,
    private readonly ctx: { readonly logger: Logger },
  ) {
    this.kafka = new kafkajs.Kafka(kafkaClientConfig(group.connection, ctx));
    this.consumer = this.kafka.consumer({
      groupId: group.groupId,
      sessionTimeout: group.sessionTimeoutMs,
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
        listener.failed(new PipelineError('KAFKA_CONSUMER_FAILED', `member of task group ${this.group.groupId} stopped: ${e.payload.error.message}`, { cause: e.payload.error, retriable: false }));
      }),
    );
    const brokers = this.group.connection.brokers;
    await connectOrFail(this.consumer, brokers);
    const admin = await connectOrFail(this.kafka.admin(), brokers);
    try {
      await this.group.prepare(admin);
    } finally {
      await admin.disconnect();
    }
    const topics = this.group.topics;
    await this.consumer.subscribe({ topics: topics instanceof RegExp ? [topics] : [...topics] });
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
