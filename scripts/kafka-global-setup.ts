import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';

/**
 * Starts a single-node Kafka on a port of its own for the Kafka integration tests
 * (`*.kafka.int.test.ts`) and stops it afterwards, so `pnpm test` needs nothing running.
 * Skipped when no such test file is part of the run.
 */
export const KAFKA_TEST_PORT = 39092;

export default function setup(project: TestProject): (() => void) | undefined {
  // `vitest run [filters…]`: without filters every test runs; with filters, only if one names Kafka.
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('-') && a !== 'run' && !a.endsWith('vitest.mjs'));
  const wantsKafka = filters.length === 0 || filters.some((f) => /kafka/i.test(f));
  if (!wantsKafka) return undefined;
  const env = { ...process.env, KAFKA_PORT: String(KAFKA_TEST_PORT) };
  execFileSync('bash', ['scripts/kafka.sh', 'up'], { env, stdio: 'inherit' });
  project.provide('kafkaBrokers', [`127.0.0.1:${KAFKA_TEST_PORT}`]);
  return () => {
    execFileSync('bash', ['scripts/kafka.sh', 'down'], { env, stdio: 'inherit' });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}
