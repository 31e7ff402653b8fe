import { duration, z } from '@plumline/core';
import { kafkaConnectionShape } from '@plumline/kafka-client';
import { encodingProblems, isValidTopicName, registryConnectionShape } from '@plumline/kafka-client/support';

/** Largest page the source hands the pipeline: records of one partition, in offset order. */
export const DEFAULT_MAX_BATCH_EVENTS = 1_000;
/** kafkajs's session timeout: a worker silent this long leaves the group and its partitions move. */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;

/** The config schema of the `kafka` source. */
export const kafkaSourceConfigSchema = z
  .strictObject({
    ...kafkaConnectionShape('plumline'),
    topics: z
      .array(
        z
          .string()
          .min(1)
          .refine(isValidTopicName, 'not a Kafka topic name: use 1–249 of a-z A-Z 0-9 . _ -'),
      )
      .min(1)
      .optional()
      .describe('Topics to consume. Set this or `topic_pattern`.'),
    topic_pattern: z
      .string()
      .min(1)
      .refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression')
      .optional()
      .describe('A regular expression (JavaScript syntax) over topic names: every existing topic that matches when the source starts is consumed. Set this or `topics`.'),
    partitions: z
      .array(z.int().min(0))
      .min(1)
      .refine((p) => new Set(p).size === p.length, 'list each partition once')
      .optional()
      .describe('Read only these partitions of each topic, never others (static assignment, like a Kafka Connect task): one worker per set of partitions, each with its own pipeline `id`, so its state and its transactions are its own and exactly-once holds with many workers. Workers of one group must all set it or none; a second worker for the same partitions waits as a standby. Absent: the group shares the partitions out and moves them between workers (at-least-once across workers).'),
    task_per_partition: z
      .boolean()
      .default(false)
      .describe('Run a copy of the pipeline per partition this worker is given (a task, as Kafka Streams runs them), each with its own id (`<id>-p<partition>`), so its own checkpoint, dedupe keys and transactions. The group shares the partitions out and moves them when workers come and go, and each partition\'s state goes with it: with `state: kafka` and an exactly-once kafka sink, exactly-once holds across rebalances and deaths. A partition taken away is drained and committed before its new owner reads it. Needs this source to be the pipeline\'s only one; runs until stopped (no `--once`, no stop_at_end).'),
    keyed_by: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('The event fields the records are keyed by (what the producer put in the key, e.g. the kafka sink\'s `key: "{{id}}"` is [id]). A `dedupe` on the same fields then sees every repeat of a record in one worker, a `correlate` joining on that one field every partner of an anchor; either on other fields is refused unless it sets per_partition.'),
    group_id: z.string().min(1).describe('Consumer group. Workers with the same group_id share the partitions; the group\'s offsets mirror the committed checkpoint (for lag tools and the next owner of a partition).'),
    start_from: z.enum(['earliest', 'latest']).default('earliest').describe('Where a partition starts when neither the checkpoint nor the group has an offset for it.'),
    encoding: z.enum(['json', 'avro', 'json_schema']).default('json').describe('Record values: json (a CallEvent as JSON, as the kafka sink writes it), or avro / json_schema in Confluent\'s wire format, decoded through `schema_registry`.'),
    schema_registry: z
      .strictObject(registryConnectionShape)
      .optional()
      .describe('Schema registry for the avro and json_schema encodings (schemas are looked up by the id in each record).'),
    stop_at_end: z
      .boolean()
      .default(false)
      .describe('End once every partition this worker is assigned reached the end offset it had when the source started (like `kcat -e`): for backfills, tests and `--once`. Counted in offsets: transaction markers and aborted records at the end of a topic written in transactions count as read.'),
    max_batch_events: z.int().min(1).default(DEFAULT_MAX_BATCH_EVENTS).describe('Most records per page handed to the pipeline.'),
    session_timeout: duration('How long the group waits for a silent worker before it moves its partitions to the others.', `${DEFAULT_SESSION_TIMEOUT_MS / 1000}s`),
  })
  .superRefine((c, ctx) => {
    if ((c.topics === undefined) === (c.topic_pattern === undefined)) ctx.addIssue({ code: 'custom', path: ['topics'], message: 'set exactly one of topics and topic_pattern' });
    if (c.task_per_partition && c.partitions) ctx.addIssue({ code: 'custom', path: ['task_per_partition'], message: 'task_per_partition takes the partitions the group gives; partitions fixes them: set one of the two' });
    if (c.task_per_partition && c.stop_at_end) ctx.addIssue({ code: 'custom', path: ['task_per_partition'], message: 'a pipeline with task_per_partition runs until stopped (partitions move between workers), so stop_at_end cannot end it: remove stop_at_end, or task_per_partition for a bounded read' });
    for (const p of encodingProblems(c)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  });

/** The `kafka` source's config, validated. */
export type KafkaSourceConfig = z.output<typeof kafkaSourceConfigSchema>;
