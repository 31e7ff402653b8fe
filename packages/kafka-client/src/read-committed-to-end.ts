import type { Clock, Timer } from '@plumline/core/util';
import type kafkajs from './kafkajs-client.js';

/** Per partition of a topic: the first offset kept (`low`) and the end (`high`). */
export type EndOffsets = Map<number, { low: number; high: number }>;

/**
 * The offsets the admin client lists for each partition of `topic`. kafkajs asks for them
 * read_committed: `high` is the last stable offset, short of records after a transaction still
 * open. The one place the Kafka packages ask for a topic's ends (the source's stop_at_end, the
 * state store's claim and load).
 */
export async function endOffsets(admin: kafkajs.Admin, topic: string): Promise<EndOffsets> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
}

/** What {@link readCommittedToEnd} reads, and what it says while waiting. */
export interface ReadToEnd {
  topic: string;
  /** The consumer group of this read; a new one each time, since the read starts from the beginning. */
  groupId: string;
  /** Read at least to these offsets (partitions at 0 are not read). */
  ends: EndOffsets;
  /** Also read to each partition's high watermark at its first fetch (see below). */
  toHighWatermark: boolean;
  /** Once the read takes this long, `onSlow` is told the offsets it waits for. */
  slowAfterMs: number;
  onSlow: (targets: Record<number, number>) => void;
  /** The read fails with `onTimeout()` after this long. */
  timeoutMs: number;
  /** Times the slow notice and the timeout (the pipeline's clock). */
  clock: Clock;
  onTimeout: () => Error;
}

/**
 * Calls `visit` with every committed record of `r.topic`, in order, from the beginning to `r.ends`
 * and, with `toHighWatermark`, to the high watermark of the read's first fetch of each partition.
 *
 * Its own read_committed consumer, not a group member's read: a partition counts as read when a
 * fetch's last offset (END_BATCH_PROCESS) reaches its target, batches whose records were all
 * filtered (transaction markers, aborted records) included, so a transactional topic's end — a
 * commit marker, never a record — is reached too. A fetch waits for every transaction open
 * before the target to end; `slowAfterMs` and `timeoutMs` bound that wait. A consumer that stops
 * for good (kafkajs does not restart it: an authorization refused, say) fails the read at once.
 */
export async function readCommittedToEnd(kafka: kafkajs.Kafka, r: ReadToEnd, visit: (key: string, value: Buffer | null) => void): Promise<void> {
  const consumer = kafka.consumer({ groupId: r.groupId, readUncommitted: false });
  const remaining = new Set([...r.ends].filter(([, end]) => end.high > 0).map(([p]) => p));
  let done!: () => void;
  let fail!: (err: unknown) => void;
  const reached = new Promise<void>((resolve, reject) => ((done = resolve), (fail = reject)));
  // A crash before the wait below begins is still its outcome, not an unhandled rejection.
  reached.catch(() => {});
  const targets = new Map<number, number>();
  const passed = (partition: number, highWatermark: string, lastOffset: string | number | undefined): void => {
    if (!targets.has(partition)) targets.set(partition, Math.max(r.ends.get(partition)?.high ?? 0, r.toHighWatermark ? Number(highWatermark) : 0));
    if (lastOffset !== undefined && Number(lastOffset) + 1 >= targets.get(partition)!) remaining.delete(partition);
    if (remaining.size === 0) done();
  };
  const unlisten = [
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => passed(payload.partition, payload.highWatermark, payload.lastOffset)),
    consumer.on(consumer.events.CRASH, ({ payload }) => payload.restart || fail(payload.error)),
  ];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: r.topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => visit(message.key?.toString() ?? '', message.value) });
    const slow = r.clock.setTimeout(() => r.onSlow(Object.fromEntries(targets)), r.slowAfterMs);
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = r.clock.setTimeout(() => reject(r.onTimeout()), r.timeoutMs);
    });
    try {
      await Promise.race([reached, timeout]);
    } finally {
      timer?.cancel();
      slow.cancel();
    }
  } finally {
    for (const off of unlisten) off();
    await consumer.disconnect().catch(() => {});
  }
}
