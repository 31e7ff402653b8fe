import { duration, secret, templateProblems, z } from '@plumline/core';

export const DEFAULT_MAX_RECORD_BYTES = 1_000_000;
export const DEFAULT_MAX_IN_FLIGHT = 5;

const template = (description: string) =>
  z
    .string()
    .min(1)
    .superRefine((t, ctx) => {
      for (const m of templateProblems(t)) ctx.addIssue({ code: 'custom', message: m });
    })
    .describe(description);

export const kafkaSinkConfigSchema = z
  .strictObject({
    brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1).describe('Bootstrap brokers, e.g. ["127.0.0.1:9092"].'),
    client_id: z.string().min(1).default('plumline').describe('Kafka client id.'),
    topic: template('Topic template over event fields, e.g. `calls.{{kind}}`.'),
    key: template('Record key template.').default('{{id}}'),
    headers: z.record(z.string().min(1), template('Header value template.')).default({}).describe('Extra headers (templates). `source`, `kind` and `schema_version` are always set.'),
    encoding: z.enum(['json']).default('json').describe('Value encoding. (avro and json_schema through a schema registry are not built yet.)'),
    compression: z.enum(['none', 'gzip', 'snappy']).default('none').describe('Batch compression: none, gzip or snappy (lz4 and zstd: not yet).'),
    acks: z.union([z.literal('all'), z.literal(1), z.literal(0)]).default('all').describe('Acknowledgements required: all (default), 1 or 0.'),
    idempotent: z.boolean().default(true).describe('Idempotent producer: retries never duplicate or reorder records.'),
    max_in_flight: z.int().min(1).max(5).default(DEFAULT_MAX_IN_FLIGHT).describe('Requests in flight per broker connection (≤ 5 keeps order with idempotence).'),
    max_record_bytes: z.int().min(1).default(DEFAULT_MAX_RECORD_BYTES).describe("Records larger than this (key + value + headers) go to the dead-letter output; keep it at or below the broker's message.max.bytes."),
    request_timeout: duration('Timeout of one produce request.', '30s'),
    create_topics: z
      .strictObject({
        partitions: z.int().min(1).default(1),
        replication: z.int().min(1).default(1),
        cleanup_policy: z.enum(['delete', 'compact']).default('delete'),
      })
      .optional()
      .describe('Create missing topics with these settings. Absent: a missing topic fails the sink at start (when the topic has no template fields) or on first write.'),
    ssl: z.union([z.boolean(), z.strictObject({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional(), reject_unauthorized: z.boolean().default(true) })]).optional().describe('TLS to the brokers: true, or PEM file paths.'),
    exactly_once: z
      .boolean()
      .default(false)
      .describe('Write each batch and the checkpoint after it in one Kafka transaction (needs `state: { type: kafka }` on the same cluster and `state_topic`; this must be the only sink). Consumers must read with isolation.level=read_committed.'),
    state_topic: z.string().min(1).default('plumline-state').describe('With exactly_once: the state topic of the pipeline (`state.topic`), where checkpoints are committed.'),
    sasl: z
      .strictObject({ mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']), username: z.string().min(1), password: secret('SASL password.') })
      .optional()
      .describe('SASL authentication.'),
  })
  .superRefine((c, ctx) => {
    if (c.exactly_once && (!c.idempotent || c.acks !== 'all')) ctx.addIssue({ code: 'custom', path: ['exactly_once'], message: 'exactly_once needs idempotent: true and acks: all' });
    if (c.idempotent && c.acks !== 'all') ctx.addIssue({ code: 'custom', path: ['acks'], message: 'an idempotent producer needs acks: all; set idempotent: false to use acks 0 or 1' });
  });

export type KafkaSinkConfig = z.output<typeof kafkaSinkConfigSchema>;
