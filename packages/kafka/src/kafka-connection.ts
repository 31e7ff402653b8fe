import { readFileSync } from 'node:fs';
import { secret, z, type ComponentContext } from '@plumline/core';
import type kafkajs from 'kafkajs';
import { kafkaLogCreator } from './kafka-log.js';

/** TLS to the brokers (shared by the source, the sink and the kafka state store). */
export const kafkaSslSchema = z
  .union([
    z.boolean(),
    z.strictObject({
      ca: z.string().optional().describe('PEM file of the CA(s) that signed the brokers’ certificates (default: the system CAs).'),
      cert: z.string().optional().describe('PEM client certificate, for mutual TLS.'),
      key: z.string().optional().describe('PEM private key of the client certificate.'),
      reject_unauthorized: z.boolean().default(true).describe('Refuse brokers whose certificate cannot be verified (default true).'),
    }),
  ])
  .optional()
  .describe('TLS to the brokers: true, or PEM file paths.');

/** SASL authentication (shared by the source, the sink and the kafka state store). */
export const kafkaSaslSchema = z
  .strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism.'),
    username: z.string().min(1).describe('SASL user.'),
    password: secret('SASL password.'),
  })
  .optional()
  .describe('SASL authentication.');

/**
 * The keys every Kafka component (source, sink, state store) connects with: one schema, so a
 * pipeline's Kafka blocks read alike and `kafkaClientConfig` turns any of them into a client.
 */
export function kafkaConnectionShape(defaultClientId: string) {
  return {
    brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1).describe('Bootstrap brokers, e.g. ["127.0.0.1:9092"].'),
    client_id: z.string().min(1).default(defaultClientId).describe('Kafka client id.'),
    ssl: kafkaSslSchema,
    sasl: kafkaSaslSchema,
  };
}

/** The connection part of a Kafka component's validated config. */
export interface KafkaConnection {
  brokers: string[];
  client_id: string;
  ssl?: z.output<typeof kafkaSslSchema>;
  sasl?: z.output<typeof kafkaSaslSchema>;
  request_timeout?: number;
}

/** The kafkajs client settings (brokers, TLS, SASL, logging through `logger`) of a source's, sink's or state store's config; shared so all connect alike. */
export function kafkaClientConfig(c: KafkaConnection, ctx: Pick<ComponentContext, 'logger'>): kafkajs.KafkaConfig {
  const ssl = c.ssl === undefined || typeof c.ssl === 'boolean' ? c.ssl : { ca: c.ssl.ca ? [readFileSync(c.ssl.ca)] : undefined, cert: c.ssl.cert ? readFileSync(c.ssl.cert) : undefined, key: c.ssl.key ? readFileSync(c.ssl.key) : undefined, rejectUnauthorized: c.ssl.reject_unauthorized };
  return {
    clientId: c.client_id,
    brokers: c.brokers,
    ssl,
    sasl: c.sasl ? ({ mechanism: c.sasl.mechanism, username: c.sasl.username, password: c.sasl.password } as kafkajs.SASLOptions) : undefined,
    requestTimeout: c.request_timeout,
    logCreator: kafkaLogCreator(ctx.logger),
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
  };
}

