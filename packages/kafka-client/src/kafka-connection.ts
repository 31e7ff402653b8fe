import { readFileSync } from 'node:fs';
import { ConfigError, secret, z, type ComponentContext, type PreflightContext, type PreflightProblem } from '@plumline/core';
import { unreadableFileProblem } from '@plumline/core/util';
import type kafkajs from 'kafkajs';
import type { LoggedRefusals } from './kafka-errors.js';
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

const SSL_FILES = ['ca', 'cert', 'key'] as const;

/** Why the PEM file `ssl.<key>` names cannot be read (as the client reads it: relative to the working directory), or undefined. */
function sslFileProblem(key: (typeof SSL_FILES)[number], file: string): string | undefined {
  const problem = unreadableFileProblem(file);
  return problem && `ssl.${key}: ${problem}: give the path of a readable PEM file (a relative one is from the working directory)`;
}

/**
 * What a Kafka component's `create` would fail on in its connection settings, for `preflight`:
 * TLS files that cannot be read (the client reads them at start; a missing one died with a raw
 * ENOENT and a stack). Files of the machine: not checked without the environment.
 */
export function kafkaConnectionProblems(c: KafkaConnection, ctx: PreflightContext): PreflightProblem[] {
  if (ctx.env === undefined || c.ssl === undefined || typeof c.ssl === 'boolean') return [];
  const ssl = c.ssl;
  const problems: PreflightProblem[] = [];
  for (const key of SSL_FILES) {
    const file = ssl[key];
    const problem = file === undefined ? undefined : sslFileProblem(key, file);
    if (problem) problems.push({ code: 'CONFIG_FILE_UNREADABLE', path: ['ssl', key], message: problem });
  }
  return problems;
}

/** Reads `ssl.<key>`'s PEM file, or says which one cannot be read (the file may have gone since validation). */
function readSslFile(key: (typeof SSL_FILES)[number], file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError('CONFIG_FILE_UNREADABLE', sslFileProblem(key, file) ?? `cannot read the ssl.${key} file ${file}: ${(err as Error).message}`, { cause: err, fields: { key: `ssl.${key}`, file } });
  }
}

/**
 * The kafkajs client settings (brokers, TLS, SASL, logging through `logger`) of a source's, sink's
 * or state store's config; shared so all connect alike. Warns when TLS does not verify the
 * brokers (`reject_unauthorized: false`): anyone between the client and the brokers can read and
 * change what passes.
 */
export function kafkaClientConfig(c: KafkaConnection, ctx: Pick<ComponentContext, 'logger'>, refusals?: LoggedRefusals): kafkajs.KafkaConfig {
  const ssl = c.ssl === undefined || typeof c.ssl === 'boolean' ? c.ssl : { ca: c.ssl.ca ? [readSslFile('ca', c.ssl.ca)] : undefined, cert: c.ssl.cert ? readSslFile('cert', c.ssl.cert) : undefined, key: c.ssl.key ? readSslFile('key', c.ssl.key) : undefined, rejectUnauthorized: c.ssl.reject_unauthorized };
  if (typeof c.ssl === 'object' && !c.ssl.reject_unauthorized) {
    ctx.logger.warn({ brokers: c.brokers, code: 'KAFKA_TLS_UNVERIFIED' }, 'ssl.reject_unauthorized is false: the brokers\' certificates are not verified, so anyone on the path can read and change what passes; give ssl.ca instead');
  }
  return {
    clientId: c.client_id,
    brokers: c.brokers,
    ssl,
    sasl: c.sasl ? ({ mechanism: c.sasl.mechanism, username: c.sasl.username, password: c.sasl.password } as kafkajs.SASLOptions) : undefined,
    requestTimeout: c.request_timeout,
    logCreator: kafkaLogCreator(ctx.logger, refusals),
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
  };
}

