import { secret, z } from '@plumline/core';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

/** The keys that reach a schema registry: shared by the source (decoding) and the sink (encoding). */
export const registryConnectionShape = {
  url: z.url().describe('Base URL of a Confluent-compatible schema registry, e.g. http://127.0.0.1:8081.'),
  username: z.string().min(1).optional().describe('Basic auth user.'),
  password: secret('Basic auth password.').optional(),
};

/** A registry's connection as validated. */
export interface RegistryConnection {
  url: string;
  username?: string;
  password?: string;
}

/** What is wrong with a Kafka component's `encoding` and `schema_registry` together, with the key to blame. */
export function encodingProblems(c: { encoding: string; schema_registry?: RegistryConnection }): { path: string[]; message: string }[] {
  const problems: { path: string[]; message: string }[] = [];
  if (c.encoding !== 'json' && !c.schema_registry) problems.push({ path: ['schema_registry'], message: `encoding ${c.encoding} needs schema_registry (its url); or use encoding: json` });
  if (c.encoding === 'json' && c.schema_registry) problems.push({ path: ['encoding'], message: 'schema_registry is set but encoding is json: set encoding to avro or json_schema, or remove schema_registry' });
  if (c.schema_registry && (c.schema_registry.username === undefined) !== (c.schema_registry.password === undefined)) problems.push({ path: ['schema_registry', 'password'], message: 'set both username and password, or neither' });
  return problems;
}

/** A connected registry and its library, as {@link registryClient} gives them. */
export interface RegistryClient {
  registry: SchemaRegistry;
  lib: typeof import('@kafkajs/confluent-schema-registry');
}

/** A registry client; the library (avsc, ajv, protobufjs: ≈ 18 MB) loads only when a registry encoding is used. */
export async function registryClient(c: RegistryConnection, clientId: string): Promise<RegistryClient> {
  const lib = await import('@kafkajs/confluent-schema-registry');
  const auth = c.username !== undefined ? { username: c.username, password: c.password ?? '' } : undefined;
  return { lib, registry: new lib.SchemaRegistry({ host: c.url, clientId, auth, retry: { retries: 2 } }) };
}
