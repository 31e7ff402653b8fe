import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * Starts a single-node Kafka on a port of its own for the Kafka integration tests
 * (`*.kafka.int.test.ts`) and stops it afterwards, so `pnpm test` needs nothing running.
 * Skipped when no such test file is part of the run. `PLUMLINE_KAFKA_TEST_PORT` moves every test
 * broker (this one, the compatibility brokers and the test files' own, at +100…+300) so that two
 * checkouts can run the Kafka tests side by side.
 */
export const KAFKA_TEST_PORT = Number(process.env.PLUMLINE_KAFKA_TEST_PORT ?? 39092);
/** Older Kafka lines the compatibility suite also runs against, each on a port of its own. */
export const KAFKA_COMPAT = [{ version: '3.9.2', port: KAFKA_TEST_PORT + 100 }];

export default function setup(project: TestProject): (() => void) | undefined {
  // `vitest run [filters…]`: without filters every test runs; with filters, only if one names Kafka.
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('-') && a !== 'run' && !a.endsWith('vitest.mjs'));
  // vitest.config.ts left the Kafka tests out (no JDK or Maven here): no broker to start.
  const wantsKafka = process.env.PLUMLINE_SKIP_KAFKA_TESTS !== '1' && (filters.length === 0 || filters.some((f) => /kafka/i.test(f)));
  if (!wantsKafka) return undefined;
  // With its SASL and TLS listeners too (the security tests), credentials made up for this run.
  const password = `test-${randomBytes(6).toString('hex')}`;
  const env = { ...process.env, KAFKA_PORT: String(KAFKA_TEST_PORT), KAFKA_SECURED: '1', KAFKA_SASL_USER: 'plumline-test', KAFKA_SASL_PASSWORD: password };
  execFileSync('bash', ['scripts/kafka.sh', 'up'], { env, stdio: 'inherit' });
  project.provide('kafkaBrokers', [`127.0.0.1:${KAFKA_TEST_PORT}`]);
  project.provide('kafkaSecured', {
    saslBrokers: [`127.0.0.1:${KAFKA_TEST_PORT + 2}`],
    sslBrokers: [`127.0.0.1:${KAFKA_TEST_PORT + 3}`],
    caFile: resolve(`.kafka/run-${KAFKA_TEST_PORT}/ca.pem`),
    username: 'plumline-test',
    password,
  });
  const compatEnv = (port: number, version: string) => ({ ...process.env, KAFKA_PORT: String(port), KAFKA_VERSION: version, KAFKA_SECURED: '0' });
  for (const { version, port } of KAFKA_COMPAT) execFileSync('bash', ['scripts/kafka.sh', 'up'], { env: compatEnv(port, version), stdio: 'inherit' });
  project.provide('kafkaCompat', KAFKA_COMPAT.map(({ version, port }) => ({ version, brokers: [`127.0.0.1:${port}`] })));
  return () => {
    execFileSync('bash', ['scripts/kafka.sh', 'down'], { env, stdio: 'inherit' });
    for (const { version, port } of KAFKA_COMPAT) execFileSync('bash', ['scripts/kafka.sh', 'down'], { env: compatEnv(port, version), stdio: 'inherit' });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    kafkaCompat: { version: string; brokers: string[] }[];
    kafkaSecured: { saslBrokers: string[]; sslBrokers: string[]; caFile: string; username: string; password: string };
  }
}
