import { duration, z } from '@plumline/core';
import { templateParts, templateProblems, TEMPLATE_ISSUE } from '@plumline/core/util';
import { kafkaConnectionShape } from '@plumline/kafka-client';
import { encodingProblems, isValidTopicName, kafkaDriverSchema, registryConnectionShape } from '@plumline/kafka-client/support';

export const DEFAULT_MAX_RECORD_BYTES = 1_000_000;
export const DEFAULT_MAX_IN_FLIGHT = 5;

/**
 * Why no event can give `template` a topic name Kafka takes, or undefined: a fixed name must be
 * valid, and the fixed text around the fields may not hold a character a topic never has (`/`)
 * nor be longer than a topic may be.
 */
function topicTemplateProblem(template: string): string | undefined {
  if (!template.includes('{{')) return isValidTopicName(template) ? undefined : `"${template}" is not a Kafka topic name: use 1–249 of a-z A-Z 0-9 . _ -`;
  // A template that does not parse is reported as such.
  if (templateProblems(template).length) return undefined;
  const fixed = templateParts(template).literals.join('');
  const bad = /[^a-zA-Z0-9._-]/.exec(fixed);
  if (bad) return `"${template}" can never be a topic: "${bad[0]}" is in its fixed text, and a Kafka topic name holds only a-z A-Z 0-9 . _ -`;
  if (fixed.length > 249) return `"${template}" can never be a topic: its fixed text alone is ${fixed.length} characters, longer than 249 (Kafka's limit)`;
  return undefined;
}

const template = (description: string) =>
  z
    .string()
    .min(1)
    .superRefine((t, ctx) => {
      for (const m of templateProblems(t)) ctx.addIssue({ code: 'custom', message: m, params: TEMPLATE_ISSUE });
    })
    .describe(description);

/** The config schema of the `kafka` sink. */
export const kafkaSinkConfigSchema = z
  .strictObject({
    ...kafkaConnectionShape('plumline'),
    topic: template('Topic template over event fields, e.g. `calls.{{kind}}`. A rendered name Kafka would refuse (over 249 characters, characters other than a-z A-Z 0-9 . _ -) sends the event to the dead-letter output (KAFKA_TOPIC_INVALID); fixed text that makes every name invalid is refused at validate.').superRefine((t, ctx) => {
      const problem = topicTemplateProblem(t);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    missing_field: z
      .string()
      .min(1)
      .optional()
      .describe('Value a `topic` or `key` template field renders as when an event lacks it. Absent: such an event goes to the dead-letter output (KAFKA_TEMPLATE_FIELD_MISSING). Header templates render a missing field as an empty string.'),
    key: template('Record key template.').default('{{id}}'),
    headers: z.record(z.string().min(1), template('Header value template.')).default({}).describe('Extra headers (templates). `source`, `kind` and `schema_version` are always set.'),
    encoding: z.enum(['json', 'avro', 'json_schema']).default('json').describe('Value encoding: json (plain JSON), or avro / json_schema in Confluent\'s wire format through `schema_registry`.'),
    schema_registry: z
      .strictObject({
        ...registryConnectionShape,
        subject_strategy: z.enum(['topic_name', 'record_name', 'topic_record_name']).default('topic_name').describe('Subject naming: `{topic}-value` (topic_name), `io.plumline.CallEvent` (record_name) or `{topic}-io.plumline.CallEvent`.'),
        compatibility: z.enum(['NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE']).default('BACKWARD').describe("Compatibility level set on a subject the sink creates; an existing subject's level must match."),
      })
      .optional()
      .describe('Schema registry for the avro and json_schema encodings (the event schema is registered at first use of each subject).'),
    driver: kafkaDriverSchema,
    compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none').describe('Batch compression: none, gzip, snappy, lz4 or zstd.'),
    acks: z.union([z.literal('all'), z.literal(1), z.literal(0)]).default('all').describe('Acknowledgements required: all (default), 1 or 0.'),
    idempotent: z.boolean().default(true).describe('Idempotent producer: retries never duplicate or reorder records.'),
    max_in_flight: z.int().min(1).max(5).default(DEFAULT_MAX_IN_FLIGHT).describe('Requests in flight per broker connection (≤ 5 keeps order with idempotence).'),
    max_record_bytes: z.int().min(1).default(DEFAULT_MAX_RECORD_BYTES).describe("Records larger than this (key + value + headers) go to the dead-letter output; keep it at or below the broker's message.max.bytes."),
    request_timeout: duration('Timeout of one produce request.', '30s'),
    create_topics: z
      .strictObject({
        partitions: z.int().min(1).default(1).describe('Partitions of a created topic.'),
        replication: z.int().min(1).default(1).describe('Replication factor of a created topic.'),
        cleanup_policy: z.enum(['delete', 'compact']).default('delete').describe('cleanup.policy of a created topic.'),
      })
      .optional()
      .describe('Create missing topics with these settings. Absent: a missing topic fails the sink at start (when the topic has no template fields) or on first write.'),
    exactly_once: z
      .boolean()
      .default(false)
      .describe('Write each batch, the checkpoints after it and the operator state it changed (dedupe keys) in one Kafka transaction of the state store (needs `state: { type: kafka }` on the same brokers; this must be the only sink). Consumers must read with isolation.level=read_committed.'),
    state_topic: z.string().min(1).optional().describe('Deprecated: with exactly_once the state store\'s topic is used. If set, it must equal `state.topic`.'),
  })
  .superRefine((c, ctx) => {
    if (c.exactly_once && (!c.idempotent || c.acks !== 'all')) ctx.addIssue({ code: 'custom', path: ['exactly_once'], message: 'exactly_once needs idempotent: true and acks: all' });
    for (const p of encodingProblems(c)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
    if (c.idempotent && c.acks !== 'all') ctx.addIssue({ code: 'custom', path: ['acks'], message: 'an idempotent producer needs acks: all; set idempotent: false to use acks 0 or 1' });
  });

/** The `kafka` sink's config, validated. */
export type KafkaSinkConfig = z.output<typeof kafkaSinkConfigSchema>;
